"""Intern calls read from a content file's metadata, with every problem collected.

Pure Python (no Pelican): the intern_calls plugin builds pages from `InternCall`, and
the content check reports the problems `parse_intern_call` finds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from plugins.content_meta import Problem, lines, link_or_form, text

YES = ("yes", "true", "1")
NO = ("no", "false", "0", "")


@dataclass
class Testimonial:
    """What a former intern said, with their name and one line of background."""

    name: str
    background: str
    quote: str


@dataclass
class InternCall:
    """One call for interns: open until the end of its apply-by day."""

    title: str
    role: str
    term: str
    supervisor: str
    apply_by: date
    zone: ZoneInfo
    application: tuple  # ("form", form id) or ("url", address)
    duties: list[str] = field(default_factory=list)
    testimonials: list[Testimonial] = field(default_factory=list)
    remote: bool = False
    city: str = ""
    region: str = ""
    country: str = ""

    @property
    def closes_at(self) -> datetime:
        """Midnight after the apply-by day, in the site's time zone."""
        return datetime.combine(self.apply_by + timedelta(days=1), time(0), self.zone)

    def is_open(self, now: datetime) -> bool:
        return now < self.closes_at

    @property
    def apply_by_text(self) -> str:
        return f"{self.apply_by:%A, %B} {self.apply_by.day}, {self.apply_by.year}"

    @property
    def location_text(self) -> str:
        place = ", ".join(part for part in (self.city, self.region) if part)
        if self.remote:
            return f"Remote, or in person in {place}" if place else "Remote"
        return place


def parse_intern_call(meta, zone_name: str, form_ids=None, default_form="intern-application"):
    """Read an intern call from metadata; returns (InternCall or None, [Problem, ...])."""
    problems: list[Problem] = []
    required = {
        "role": "Communications intern",
        "term": "Fall 2026",
        "supervisor": "the name of the person the intern works with",
    }
    values = {}
    for name, example in required.items():
        values[name] = text(meta, name)
        if not values[name]:
            problems.append(Problem(name, f"missing — add `{name.title()}: {example}`"))

    apply_by = None
    raw = text(meta, "apply_by")
    if not raw:
        problems.append(
            Problem("apply_by", "missing — add `Apply_By: 2026-09-01`, the last day to apply")
        )
    elif not re.match(r"^\d{4}-\d{2}-\d{2}$", raw):
        problems.append(
            Problem(
                "apply_by",
                f"{raw!r} is not a date we can read — write it as YYYY-MM-DD, "
                "for example 2026-09-01",
            )
        )
    else:
        try:
            apply_by = date.fromisoformat(raw)
        except ValueError:
            problems.append(
                Problem(
                    "apply_by",
                    f"{raw!r} is not a real date — check the month and day (YYYY-MM-DD)",
                )
            )

    application = None
    raw = text(meta, "application")
    if not raw:
        problems.append(
            Problem(
                "application",
                "missing — add `Application: form` to use our own application form, "
                "or a full web address starting with https://",
            )
        )
    else:
        application = link_or_form(raw, "application", default_form, form_ids, problems)

    testimonials = []
    for number, line in enumerate(lines(meta, "testimonials"), start=1):
        parts = [part.strip() for part in line.split("|")]
        if len(parts) != 3 or not all(parts):
            problems.append(
                Problem(
                    "testimonials",
                    f"testimonial {number} needs three parts separated by | — write "
                    "`Name | one line of background | what they said`",
                )
            )
            continue
        testimonials.append(Testimonial(*parts))

    remote_raw = text(meta, "remote").lower()
    if remote_raw not in YES + NO:
        problems.append(
            Problem("remote", f"{remote_raw!r} is not yes or no — write `Remote: yes` or `no`")
        )
    remote = remote_raw in YES
    city = text(meta, "city")
    if not remote and not city:
        problems.append(
            Problem(
                "city",
                "missing — add `City:` (and Region, Country) for where the intern works, "
                "or `Remote: yes` if they can work from anywhere",
            )
        )

    if problems:
        return None, problems
    return (
        InternCall(
            title=text(meta, "title"),
            role=values["role"],
            term=values["term"],
            supervisor=values["supervisor"],
            apply_by=apply_by,
            zone=ZoneInfo(zone_name),
            application=application,
            duties=lines(meta, "duties"),
            testimonials=testimonials,
            remote=remote,
            city=city,
            region=text(meta, "region"),
            country=text(meta, "country"),
        ),
        problems,
    )
