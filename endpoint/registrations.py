"""One training's registrations for its organizers: the counts and a sign-in sheet.

`python -m endpoint registrations SLUG [--format html|csv] [--output FILE]` (and
`invoke registrations SLUG`) print how many are registered, waitlisted and cancelled,
and write a sign-in sheet: everyone registered, by name, with their organization and an
empty column to tick at the door, then the waitlist in the order places would go.
"""

from __future__ import annotations

import csv
import io
from html import escape

from .export import neutralise
from .storage import CANCELLED, REGISTERED, WAITLISTED

FORM_ID = "training-registration"
SHEET_COLUMNS = ("Name", "Organization", "Here")


def registrations_of(storage, slug: str) -> list:
    """Every registration for the training `slug`, oldest first."""
    return [s for s in storage.submissions(FORM_ID) if s.about == slug]


def counts(registrations) -> dict[str, int]:
    """{registered, waitlisted, cancelled: how many}."""
    return {
        status: sum(1 for s in registrations if s.status == status)
        for status in (REGISTERED, WAITLISTED, CANCELLED)
    }


def _people(registrations, status: str, by_name: bool) -> list[tuple[str, str]]:
    people = [
        (s.fields.get("name", ""), s.fields.get("organization", ""))
        for s in registrations
        if s.status == status
    ]
    return sorted(people, key=lambda person: person[0].casefold()) if by_name else people


def sign_in_csv(registrations) -> str:
    """The sign-in sheet as CSV: the registered by name, then the waitlist in order."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("Status", *SHEET_COLUMNS))
    for status, by_name in ((REGISTERED, True), (WAITLISTED, False)):
        for name, organization in _people(registrations, status, by_name):
            writer.writerow((status, neutralise(name), neutralise(organization), ""))
    return out.getvalue()


def sign_in_html(registrations, title: str) -> str:
    """The sign-in sheet as a printable HTML page."""

    def table(caption: str, people) -> str:
        rows = "".join(
            f"<tr><td>{escape(name)}</td><td>{escape(organization)}</td><td></td></tr>"
            for name, organization in people
        )
        head = "".join(f'<th scope="col">{column}</th>' for column in SHEET_COLUMNS)
        return (
            f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )

    registered = _people(registrations, REGISTERED, by_name=True)
    waitlist = _people(registrations, WAITLISTED, by_name=False)
    parts = [table(f"Registered ({len(registered)})", registered)]
    if waitlist:
        parts.append(table(f"Waitlist, in order ({len(waitlist)})", waitlist))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sign-in sheet: {escape(title)}</title>
<style>
body {{ font: 12pt/1.4 system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 2em; }}
caption {{ text-align: left; font-weight: bold; padding-bottom: .5em; }}
th, td {{ border: 1px solid #000; padding: .4em .6em; text-align: left; }}
th:last-child, td:last-child {{ width: 4em; }}
</style>
</head>
<body>
<h1>Sign-in sheet: {escape(title)}</h1>
{"".join(parts)}
</body>
</html>
"""
