"""Export submissions for organizers: CSV, JSON, or OSDI (Action Network) signups.

Filters: `since` (a date), `source` (a partner's code, as recorded at signup from the
link's ?source=CODE; compared exactly) and `event` (a training's slug). Registrations
carry a `status` column: registered, waitlisted or cancelled.

CSV cells that a spreadsheet would run as a formula (starting with =, +, -, @, a tab
or a carriage return) are prefixed with an apostrophe, so `=HYPERLINK(...)` typed into
a form stays text when an organizer opens the file.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
RECORD_COLUMNS = ("id", "form_id", "submitted_at")
TRAILING_COLUMNS = (
    "source",
    "page_url",
    "consent_at",
    "consent_version",
    "consent_sha256",
    "notify_state",
)
# Fields mapped to OSDI person properties rather than custom fields.
OSDI_PERSON_FIELDS = ("name", "email", "phone", "region")


def neutralise(cell) -> str:
    """A CSV cell that a spreadsheet will show as text, never run as a formula."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def parse_since(text: str | None) -> datetime | None:
    """A --since value (YYYY-MM-DD or an ISO date-time; UTC unless it says otherwise)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--since {text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _flat(value) -> str:
    return "; ".join(value) if isinstance(value, list) else ("" if value is None else str(value))


def record_columns(form) -> tuple[str, ...]:
    """The columns before the form's fields: a registration's status comes with them."""
    if form.about and form.about[0] == "training":
        return (*RECORD_COLUMNS, "status")
    return RECORD_COLUMNS


def records(form, submissions) -> list[dict]:
    """One plain dict per submission: record columns, the form's fields, then provenance."""
    rows = []
    for submission in submissions:
        row = {name: getattr(submission, name) for name in record_columns(form)}
        for field in form.fields:
            if field.name != "source":
                row[field.name] = submission.fields.get(
                    field.name, [] if field.type == "checkboxes" else ""
                )
        for name in TRAILING_COLUMNS:
            row[name] = getattr(submission, name)
        rows.append(row)
    return rows


def to_csv(form, submissions) -> str:
    """CSV with a header row; lists joined with "; "; every cell neutralised."""
    columns = (
        list(record_columns(form))
        + [field.name for field in form.fields if field.name != "source"]
        + list(TRAILING_COLUMNS)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(column) for column in columns])
    for row in records(form, submissions):
        writer.writerow([neutralise(_flat(row[column])) for column in columns])
    return buffer.getvalue()


def to_json(form, submissions) -> str:
    """A JSON array of records (checkbox groups stay lists)."""
    return json.dumps(records(form, submissions), ensure_ascii=False, indent=2) + "\n"


def osdi_signup(form, submission) -> dict:
    """One submission as Action Network's person signup helper body (OSDI).

    {"person": {given_names, family_name, email_addresses, phone_numbers,
    postal_addresses, custom_fields}, "add_tags": [...]}
    """
    fields = submission.fields
    person: dict = {}
    name = _flat(fields.get("name", "")).strip()
    if name:
        given, _, family = name.rpartition(" ")
        person["given_names"] = given or family
        if given:
            person["family_name"] = family
    if fields.get("email"):
        person["email_addresses"] = [{"address": fields["email"], "primary": True}]
    if fields.get("phone"):
        person["phone_numbers"] = [{"number": fields["phone"], "primary": True}]
    if fields.get("region"):
        person["postal_addresses"] = [{"locality": fields["region"], "primary": True}]
    custom = {}
    for field in form.fields:
        if field.name in OSDI_PERSON_FIELDS or field.name == "source":
            continue
        value = _flat(fields.get(field.name, ""))
        if value:
            custom[f"{form.id.replace('-', '_')}_{field.name}"] = value
    if submission.source:
        custom["source"] = submission.source
    custom["consent_version"] = submission.consent_version
    custom["submitted_at"] = submission.submitted_at
    person["custom_fields"] = custom
    tags = [form.id]
    for field in form.fields:
        if field.type == "checkboxes":
            tags += [f"{field.name}: {value}" for value in fields.get(field.name, [])]
    return {"person": person, "add_tags": tags}


def to_osdi(form, submissions) -> str:
    """A JSON array of OSDI person signup helper bodies, one per submission."""
    bodies = [osdi_signup(form, submission) for submission in submissions]
    return json.dumps(bodies, ensure_ascii=False, indent=2) + "\n"


FORMATS = {"csv": to_csv, "json": to_json, "osdi": to_osdi}


def has_event(form) -> bool:
    """True for a form whose submissions name a training (training-registration)."""
    return bool(form.about) and form.about[0] == "training"


def select(
    storage,
    form,
    since: datetime | None = None,
    source: str | None = None,
    event: str | None = None,
) -> list:
    """The submissions of `form`, oldest first, narrowed by the filters given."""
    if event is not None and not has_event(form):
        raise ValueError(f"form {form.id!r} is not about trainings: no event to filter on")
    submissions = storage.submissions(form.id, since, source=source)
    if event is not None:
        submissions = [s for s in submissions if s.about == event]
    return submissions


def describe_filter(
    since: datetime | None = None, source: str | None = None, event: str | None = None
) -> str:
    """The filters of an export in words, for its summary line."""
    parts = []
    if source is not None:
        parts.append(f"source {source!r}")
    if event is not None:
        parts.append(f"event {event!r}")
    if since is not None:
        parts.append(f"since {since.isoformat()}")
    return "filter: " + ", ".join(parts) if parts else "no filter"


def export(
    storage,
    form,
    fmt: str,
    since: datetime | None = None,
    source: str | None = None,
    event: str | None = None,
) -> str:
    """The submissions of `form` (since `since`, from `source`, for `event`) as csv, json, osdi."""
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return FORMATS[fmt](form, select(storage, form, since, source, event))
