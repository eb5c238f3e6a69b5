"""Export submissions for organizers: CSV, JSON, xlsx, or OSDI (Action Network) signups.

Filters: `since` (a date), `source` (a partner's code, as recorded at signup from the
link's ?source=CODE; compared exactly) and `event` (a training's slug). Registrations
carry a `status` column: registered, waitlisted or cancelled (comments: held, approved
or rejected). A double opt-in form's
signups (the newsletter, confirm.py) carry `confirmed_at`, empty until the address is
confirmed, and its OSDI export holds only the confirmed people, each with the e-mail
status "subscribed". Unconfirmed ones are left out rather than sent as "unsubscribed":
importing that would unsubscribe someone already on the list whose address a stranger
typed.

CSV cells that a spreadsheet would run as a formula (starting with =, +, -, @, a tab
or a carriage return) get an apostrophe in front, so `=HYPERLINK(...)` typed into a
form stays text when an organizer opens the file. A spreadsheet may split a cell again
wherever its list separator is (a semicolon in many European locales, a comma, a tab)
or at a line break, so every such place inside a cell is neutralised the same way:
`x;=cmd|...` is written `x;'=cmd|...`.

xlsx (openpyxl, imported only for it) has the form's labels as headers, option labels
instead of codes and every cell typed as text (number format "@"), so "1-4" never
becomes a date nor a phone number a number; internal columns come last.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The start of the cell, or just after a place a spreadsheet may start a new one (comma,
# semicolon, tab, line break), then spaces, then a formula's first character.
_FORMULA_START = re.compile(r"(^|[,;\t\r\n])( *)(?=[=+\-@\t\r])")
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
    """A CSV cell that a spreadsheet will show as text, never run as a formula.

    An apostrophe goes before a formula's first character at the start of the cell and
    after every separator or line break inside it: whichever separator the spreadsheet
    splits on, no piece starts with =, +, -, @, a tab or a carriage return.
    """
    text = "" if cell is None else str(cell)
    return _FORMULA_START.sub(r"\1\2'", text)


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
    """The columns before the form's fields: a registration's or comment's status comes
    with them."""
    if form.about_kind == "training" or form.id == "comment":
        return (*RECORD_COLUMNS, "status")
    if form.double_opt_in:
        return (*RECORD_COLUMNS, "confirmed_at")
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

    {"person": {given_name, family_name, email_addresses: [{address}],
    phone_numbers: [{number}], postal_addresses: [{locality}], custom_fields},
    "add_tags": [...]}, as the helper documents it (given_name, not OSDI's given_names).
    The helper subscribes the person to the e-mail list: see README before importing.
    """
    fields = submission.fields
    person: dict = {}
    name = _flat(fields.get("name", "")).strip()
    if name:
        given, _, family = name.rpartition(" ")
        person["given_name"] = given or family
        if given:
            person["family_name"] = family
    if fields.get("email"):
        person["email_addresses"] = [{"address": fields["email"]}]
        if form.double_opt_in:  # only confirmed people reach here (`select`)
            person["email_addresses"][0]["status"] = "subscribed"
    if fields.get("phone"):
        person["phone_numbers"] = [{"number": fields["phone"]}]
    if fields.get("region"):
        person["postal_addresses"] = [{"locality": fields["region"]}]
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


# xlsx headers of the columns that are not the form's fields; internal ones come last.
XLSX_HEADERS = {
    "id": "Submission id",
    "form_id": "Form",
    "submitted_at": "Submitted at (UTC)",
    "status": "Status",
    "confirmed_at": "Confirmed at (UTC)",
    "source": "Source (partner code)",
    "page_url": "Page address",
    "consent_at": "Consent given at (UTC)",
    "consent_version": "Consent version",
    "consent_sha256": "Consent text SHA-256",
    "notify_state": "Notification state",
}
XLSX_INTERNAL_COLUMNS = ("consent_sha256", "notify_state")


def xlsx_rows(form, submissions) -> list[list[str]]:
    """The xlsx sheet as text: a header row of labels, then one row per submission.

    Options show their labels ("Social media", not social-media), lists joined with "; ".
    """
    fields = [field for field in form.fields if field.name != "source"]
    trailing = [name for name in TRAILING_COLUMNS if name not in XLSX_INTERNAL_COLUMNS]
    columns = [*record_columns(form), *(f.name for f in fields), *trailing]
    columns += XLSX_INTERNAL_COLUMNS
    labels = {field.name: field.label for field in fields}
    options = {field.name: {o.value: o.label for o in field.options} for field in fields}
    rows = [[labels.get(name) or XLSX_HEADERS.get(name, name) for name in columns]]
    for record in records(form, submissions):
        row = []
        for name in columns:
            value = record[name]
            names = options.get(name)
            if names and isinstance(value, list):
                value = [names.get(item, item) for item in value]
            elif names:
                value = names.get(value, value)
            row.append(_flat(value))
        rows.append(row)
    return rows


def to_xlsx(form, submissions) -> bytes:
    """An xlsx workbook: one sheet, every cell text (number format "@"), never a formula."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = form.id[:31]
    bold = Font(bold=True)
    for number, row in enumerate(xlsx_rows(form, submissions), start=1):
        for column, text in enumerate(row, start=1):
            cell = sheet.cell(number, column, value=ILLEGAL_CHARACTERS_RE.sub("", text))
            cell.data_type = "s"  # openpyxl would take "=..." for a formula
            cell.number_format = "@"
            # Text even when someone edits the cell and presses Enter.
            cell.quotePrefix = text.lstrip(" ").startswith(FORMULA_STARTS)
            if number == 1:
                cell.font = bold
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


FORMATS = {"csv": to_csv, "json": to_json, "osdi": to_osdi, "xlsx": to_xlsx}
# Formats that are bytes, not text: written to a file only.
BINARY_FORMATS = ("xlsx",)


def select(
    storage,
    form,
    since: datetime | None = None,
    source: str | None = None,
    event: str | None = None,
    fmt: str = "",
) -> list:
    """The submissions of `form`, oldest first, narrowed by the filters given.

    For `fmt` osdi, a double opt-in form's only once confirmed.
    """
    if event is not None and form.about_kind != "training":
        raise ValueError(f"form {form.id!r} is not about trainings: no event to filter on")
    submissions = storage.submissions(form.id, since, source=source)
    if event is not None:
        submissions = [s for s in submissions if s.about == event]
    if fmt == "osdi" and form.double_opt_in:
        submissions = [s for s in submissions if s.confirmed_at]
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
) -> str | bytes:
    """The submissions of `form` (since, from `source`, for `event`) as csv, json, osdi, xlsx.

    xlsx is bytes; the others are text.
    """
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return FORMATS[fmt](form, select(storage, form, since, source, event, fmt))
