"""Match open help requests with knowledge donors (`invoke match`, `invoke introduce`).

Which requests: every help-request submission whose key date has not passed. The key
date is the form's free-text `deadline`; the latest date written in it counts
("2027-03-01", "March 1", "1 March 2027", "Mar. 1st, 2027"). A date without a year
is the first such day on or after the day the request was sent. A request whose key
date is today is still open; one with no key date, or none that can be read as a date,
stays open (the organizer sees the text as written). Open requests are listed by key
date, soonest first (those without one last), then oldest request first, then by id.

Which donors: every knowledge-donor submission that ticks at least one skill the
request ticks ("other" counts as a skill: both free-text descriptions are shown, for the
organizer to judge). A person who signed up more than once (same e-mail address) is
one donor: their newest signup counts. Donors who asked to be forgotten (`forget`) have
no rows left, so they never appear.

Ranking, for each request, first difference wins:

1. skills covered: more of the skills the request needs, first;
2. hours a month: 20+, then 11-20, 5-10, 1-4;
3. how soon they can start: now, then within a month, three months, later;
4. region: the same place first (the two regions are equal, or share a comma-separated
   part: "Brooklyn, NY" and "NY"; case, spaces and punctuation ignored), then donors who
   said they work anywhere or remotely, then everyone else. When the request says
   "remote" or gave no region, region does not separate donors;
5. how recently they signed up: newest first;
6. the donor's submission id, so that equal donors always come in the same order.

Each donor is shown with the number of open introductions they already have (recorded
by `introduce`; open while its request is open), so one volunteer is not asked by five
fights at once. The count does not change the ranking: it is for the organizer to weigh.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

from .export import neutralise

REQUEST_FORM = "help-request"
DONOR_FORM = "knowledge-donor"

HOURS_ORDER = ("20+", "11-20", "5-10", "1-4")
START_ORDER = ("now", "month", "quarter", "later")
REMOTE_WORDS = frozenset({"anywhere", "remote", "remotely", "online", "everywhere", "virtual"})
# Region fit, best first; ANY_REGION: the request is remote or gave no place, so every
# donor fits it alike.
SAME_PLACE, ANYWHERE, ELSEWHERE, ANY_REGION = 2, 1, 0, -1

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(\d{4}))?"
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+{_DAY}\b{_YEAR}", re.IGNORECASE)
_DAY_MONTH = re.compile(rf"\b{_DAY}(?:\s+of)?\s+{_MONTH}(?![a-z]){_YEAR}", re.IGNORECASE)


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def key_date(text: str, sent: date) -> date | None:
    """The latest date written in a request's key date, or None (see the docstring)."""
    found = []
    for match in _ISO_DATE.finditer(text or ""):
        found.append(_day(*(int(part) for part in match.groups())))
    for pattern, month_first in ((_MONTH_DAY, True), (_DAY_MONTH, False)):
        for match in pattern.finditer(text or ""):
            first, second, year = match.groups()
            month, day = (first, second) if month_first else (second, first)
            month_number = _MONTHS[month.lower()]
            if year:
                found.append(_day(int(year), month_number, int(day)))
                continue
            # No year: the first such day on or after the day the request was sent.
            for candidate_year in (sent.year, sent.year + 1):
                moment = _day(candidate_year, month_number, int(day))
                if moment and moment >= sent:
                    found.append(moment)
                    break
    found = [moment for moment in found if moment]
    return max(found) if found else None


def _places(region: str) -> tuple[str, set[str]]:
    """A region as (whole, comma-separated parts), lower case, punctuation and spaces folded."""
    parts = []
    for part in (region or "").lower().split(","):
        words = re.findall(r"[^\W_]+", part)
        if words:
            parts.append(" ".join(words))
    return " ".join(parts), set(parts)


def is_remote(region: str) -> bool:
    """True for a region that says the work can be done from anywhere."""
    return bool(set(re.findall(r"[^\W_]+", (region or "").lower())) & REMOTE_WORDS)


def region_fit(request_region: str, donor_region: str) -> int:
    """SAME_PLACE, ANYWHERE or ELSEWHERE; ANY_REGION when the request has no place."""
    whole, parts = _places(request_region)
    if not whole or is_remote(request_region):
        return ANY_REGION
    donor_whole, donor_parts = _places(donor_region)
    if donor_whole and (donor_whole == whole or parts & donor_parts):
        return SAME_PLACE
    return ANYWHERE if is_remote(donor_region) else ELSEWHERE


REGION_FIT_LABELS = {
    SAME_PLACE: "same place",
    ANYWHERE: "works anywhere",
    ELSEWHERE: "elsewhere",
    ANY_REGION: "any (request is remote or gave no place)",
}


@dataclass
class Candidate:
    """One donor for one request, with what ranked them."""

    donor: object  # the donor's newest Submission
    covered: list[str]
    region_fit: int
    open_introductions: int
    introduced_here: bool

    @property
    def sort_key(self) -> tuple:
        fields = self.donor.fields
        hours = fields.get("hours", "")
        start = fields.get("start", "")
        return (
            -len(self.covered),
            HOURS_ORDER.index(hours) if hours in HOURS_ORDER else len(HOURS_ORDER),
            START_ORDER.index(start) if start in START_ORDER else len(START_ORDER),
            -self.region_fit,
            _negated(self.donor.submitted_at),
            self.donor.id,
        )


def _negated(text: str) -> tuple[int, ...]:
    """A sort key that puts later stored times (sortable text) first."""
    return tuple(-ord(character) for character in text)


@dataclass
class Match:
    """One open help request and its ranked donors (empty: no donor fits)."""

    request: object  # the request's Submission
    key_date: date | None
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def needed(self) -> list[str]:
        return list(self.request.fields.get("skills", []))


def _sent_day(submission) -> date:
    return date.fromisoformat(submission.submitted_at[:10])


def request_key_date(request) -> date | None:
    """The key date of a help-request submission (None: none given or none readable)."""
    return key_date(request.fields.get("deadline", ""), _sent_day(request))


def is_open(request, today: date) -> bool:
    """True while a help request's key date has not passed (or it has none)."""
    moment = request_key_date(request)
    return moment is None or moment >= today


def newest_per_person(donors) -> list:
    """Each donor's newest signup (by e-mail address), one per person."""
    newest = {}
    for donor in donors:
        key = donor.email or donor.id
        if key not in newest or (donor.submitted_at, donor.id) > (
            newest[key].submitted_at,
            newest[key].id,
        ):
            newest[key] = donor
    return list(newest.values())


def match(requests, donors, introductions, today: date) -> list[Match]:
    """The open requests, soonest key date first, each with its donors ranked.

    `requests` and `donors` are Submissions of the two forms; `introductions` is
    [(request id, donor id, introduced_at)] as Storage.introductions() gives them.
    """
    open_requests = [request for request in requests if is_open(request, today)]
    open_ids = {request.id for request in open_requests}
    email_of = {donor.id: donor.email or donor.id for donor in donors}
    open_count: dict[str, int] = {}
    introduced = set()
    for request_id, donor_id, _ in introductions:
        person = email_of.get(donor_id)
        if person is None:
            continue
        introduced.add((request_id, person))
        if request_id in open_ids:
            open_count[person] = open_count.get(person, 0) + 1
    people = newest_per_person(donors)
    matches = []
    for request in open_requests:
        needed = request.fields.get("skills", [])
        region = request.fields.get("region", "")
        result = Match(request, request_key_date(request))
        for donor in people:
            offered = donor.fields.get("skills", [])
            covered = [skill for skill in needed if skill in offered]
            if not covered:
                continue
            person = donor.email or donor.id
            result.candidates.append(
                Candidate(
                    donor,
                    covered,
                    region_fit(region, donor.fields.get("region", "")),
                    open_count.get(person, 0),
                    (request.id, person) in introduced,
                )
            )
        result.candidates.sort(key=lambda candidate: candidate.sort_key)
        matches.append(result)
    matches.sort(
        key=lambda item: (
            item.key_date is None,
            item.key_date or date.max,
            item.request.submitted_at,
            item.request.id,
        )
    )
    return matches


def _skills(skills, fields) -> str:
    """Skills as text; "other" with its free-text description."""
    other = (fields.get("skills_other") or "").strip()
    return ", ".join(
        f"other ({other})" if skill == "other" and other else skill for skill in skills
    )


def _key_date_text(item: Match) -> str:
    written = (item.request.fields.get("deadline") or "").strip()
    if item.key_date is None:
        return f"{written!r} (not a date we can read; kept open)" if written else "none given"
    return f"{item.key_date.isoformat()} ({written})"


def to_text(matches: list[Match]) -> str:
    """The matches as the screen shows them."""
    if not matches:
        return "No open help requests.\n"
    lines = []
    for item in matches:
        fields = item.request.fields
        lines += [
            f"Help request {item.request.id}",
            f"  {fields.get('organization', '')}: {fields.get('name', '')} "
            f"<{fields.get('email', '')}>, sent {item.request.submitted_at[:10]}",
            f"  needs: {_skills(item.needed, fields)}",
            f"  where: {fields.get('region') or 'not given'}",
            f"  key date: {_key_date_text(item)}",
        ]
        if not item.candidates:
            lines.append("  No knowledge donor offers any of the skills this request needs.")
        for rank, candidate in enumerate(item.candidates, start=1):
            donor = candidate.donor.fields
            notes = [f"{candidate.open_introductions} open introduction(s)"]
            if candidate.introduced_here:
                notes.append("already introduced to this request")
            lines += [
                f"  {rank}. {donor.get('name', '')} <{donor.get('email', '')}>"
                f"  donor {candidate.donor.id}",
                f"     covers {len(candidate.covered)} of {len(item.needed)}: "
                f"{_skills(candidate.covered, donor)}",
                f"     {donor.get('hours', '?')} hours a month, start: {donor.get('start', '?')};"
                f" {donor.get('region', '')} ({REGION_FIT_LABELS[candidate.region_fit]});"
                f" signed up {candidate.donor.submitted_at[:10]}",
                f"     {'; '.join(notes)}",
            ]
        lines.append("")
    return "\n".join(lines)


CSV_COLUMNS = (
    "request_id",
    "organization",
    "contact_name",
    "contact_email",
    "skills_needed",
    "request_region",
    "key_date",
    "deadline_as_written",
    "rank",
    "donor_id",
    "donor_name",
    "donor_email",
    "skills_covered",
    "covered",
    "hours",
    "start",
    "donor_region",
    "region_fit",
    "signed_up",
    "open_introductions",
    "introduced_here",
    "note",
)


def csv_rows(matches: list[Match]) -> list[dict]:
    """One row per request and donor; a request no donor fits gets one row saying so."""
    rows = []
    for item in matches:
        fields = item.request.fields
        base = {
            "request_id": item.request.id,
            "organization": fields.get("organization", ""),
            "contact_name": fields.get("name", ""),
            "contact_email": fields.get("email", ""),
            "skills_needed": _skills(item.needed, fields),
            "request_region": fields.get("region", ""),
            "key_date": item.key_date.isoformat() if item.key_date else "",
            "deadline_as_written": fields.get("deadline", ""),
        }
        if not item.candidates:
            rows.append({**base, "note": "no knowledge donor offers these skills"})
        for rank, candidate in enumerate(item.candidates, start=1):
            donor = candidate.donor.fields
            rows.append(
                {
                    **base,
                    "rank": rank,
                    "donor_id": candidate.donor.id,
                    "donor_name": donor.get("name", ""),
                    "donor_email": donor.get("email", ""),
                    "skills_covered": _skills(candidate.covered, donor),
                    "covered": f"{len(candidate.covered)} of {len(item.needed)}",
                    "hours": donor.get("hours", ""),
                    "start": donor.get("start", ""),
                    "donor_region": donor.get("region", ""),
                    "region_fit": REGION_FIT_LABELS[candidate.region_fit],
                    "signed_up": candidate.donor.submitted_at,
                    "open_introductions": candidate.open_introductions,
                    "introduced_here": "yes" if candidate.introduced_here else "",
                }
            )
    return rows


def to_csv(matches: list[Match]) -> str:
    """CSV for a spreadsheet: a header row, every cell neutralised (see export.py)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(matches):
        writer.writerow([neutralise(row.get(column, "")) for column in CSV_COLUMNS])
    return buffer.getvalue()


FORMATS = {"text": to_text, "csv": to_csv}
