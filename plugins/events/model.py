"""Trainings and events read from a content file's metadata, with every problem collected.

Pure Python (no Pelican): the events plugin builds pages and calendars from `Event`,
and the content check reports the problems `parse_event` finds, in words a writer
understands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from plugins.content_meta import Problem, is_web_address, link_or_form, parse_zone, text
from plugins.content_meta import lines as _lines

STATUSES = ("scheduled", "cancelled", "postponed", "full")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}$")


def lines(meta, name) -> list[str]:
    """A list value: one item per continuation line, or items separated by semicolons."""
    return _lines(meta, name, ";")


def parse_local(value: str) -> date | datetime | None:
    """'2013-08-21' -> date, '2013-08-21 09:30' -> naive datetime, anything else -> None."""
    value = value.strip()
    try:
        if _DATE.match(value):
            return date.fromisoformat(value)
        if _DATETIME.match(value):
            day, clock = re.split(r"[ T]", value)
            hour, minute = clock.split(":")
            return datetime.combine(date.fromisoformat(day), time(int(hour), int(minute)))
    except ValueError:
        return None
    return None


@dataclass
class Address:
    """Where a place is; every part is optional except what the writer gave."""

    street: list[str] = field(default_factory=list)
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    @classmethod
    def from_meta(cls, meta) -> Address:
        return cls(
            street=lines(meta, "street"),
            city=text(meta, "city"),
            region=text(meta, "region"),
            postal_code=text(meta, "postal_code"),
            country=text(meta, "country"),
        )

    def __bool__(self):
        return bool(self.street or self.city or self.region or self.postal_code)

    def one_line(self) -> str:
        """'275 Seventh Avenue, 16th Floor, New York, NY 10001'."""
        locality = " ".join(part for part in (self.region, self.postal_code) if part)
        parts = [*self.street, self.city, locality]
        if self.country and self.country.upper() not in ("US", "USA"):
            parts.append(self.country)
        return ", ".join(part for part in parts if part)

    def json_ld(self) -> dict:
        """schema.org PostalAddress."""
        data = {"@type": "PostalAddress"}
        if self.street:
            data["streetAddress"] = ", ".join(self.street)
        for key, value in (
            ("addressLocality", self.city),
            ("addressRegion", self.region),
            ("postalCode", self.postal_code),
            ("addressCountry", self.country),
        ):
            if value:
                data[key] = value
        return data


@dataclass
class Event:
    """A training or event, with times as aware datetimes (or dates, all day)."""

    title: str
    zone: ZoneInfo
    start: date | datetime
    end: date | datetime
    status: str = "scheduled"
    venue: str = ""
    address: Address = field(default_factory=Address)
    online_url: str = ""
    audience: str = ""
    trainers: list[str] = field(default_factory=list)
    sponsors: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    bring: list[str] = field(default_factory=list)
    registration: tuple | None = None
    capacity: int | None = None

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def zone_name(self) -> str:
        return self.zone.key

    @property
    def starts_at(self) -> datetime:
        """The start as an aware datetime (midnight local for all-day events)."""
        if self.all_day:
            return datetime.combine(self.start, time(0), self.zone)
        return self.start

    @property
    def ends_at(self) -> datetime:
        """The end as an aware datetime (midnight after the last day for all-day events)."""
        if self.all_day:
            return datetime.combine(self.end + timedelta(days=1), time(0), self.zone)
        return self.end

    @property
    def in_person(self) -> bool:
        return bool(self.venue or self.address)

    @property
    def online(self) -> bool:
        return bool(self.online_url)

    def is_past(self, now: datetime) -> bool:
        """Past once it has ended."""
        return self.ends_at <= now

    def registration_open(self, now: datetime) -> bool:
        """Readers can register: there is a way to, it is not over, cancelled or full."""
        return (
            self.registration is not None
            and not self.is_past(now)
            and self.status not in ("cancelled", "postponed", "full")
        )

    @property
    def location_text(self) -> str:
        """Venue and address on one line, or the online address."""
        parts = [part for part in (self.venue, self.address.one_line()) if part]
        if self.online_url:
            parts.append(f"Online: {self.online_url}")
        return ", ".join(parts)

    @property
    def place(self) -> str:
        """Where, in a word or two for lists: the city, else the venue, else 'Online'."""
        return self.address.city or self.venue or ("Online" if self.online_url else "")

    def when_text(self) -> str:
        """'Wednesday, August 21, 2013, 9:30 AM to 5:00 PM EDT (America/New_York time)'."""
        start, end = self.start, self.end
        if self.all_day:
            if start == end:
                return f"{_day(start)} (all day)"
            return f"{_day(start)} to {_day(end)} (all day)"
        zone = f"{end.tzname()} ({self.zone_name} time)"
        if start.date() == end.date():
            return f"{_day(start)}, {_clock(start)} to {_clock(end)} {zone}"
        return f"{_day(start)}, {_clock(start)} to {_day(end)}, {_clock(end)} {zone}"


def _day(value) -> str:
    return f"{value:%A, %B} {value.day}, {value.year}"


def _clock(value: datetime) -> str:
    hour = value.hour % 12 or 12
    return f"{hour}:{value:%M} {'AM' if value.hour < 12 else 'PM'}"


def parse_event(meta, default_zone: str, form_ids=None, default_form="training-registration"):
    """Read an event from metadata; returns (Event or None, [Problem, ...]).

    `form_ids` is the set of known form ids (None skips that check).
    """
    problems: list[Problem] = []
    title = text(meta, "title")

    zone_name = text(meta, "timezone") or default_zone
    zone = parse_zone(zone_name)
    if zone is None:
        problems.append(
            Problem(
                "timezone",
                f"{zone_name!r} is not a time zone we know — use a name from the IANA "
                "list, such as America/New_York, America/Chicago or Europe/London",
            )
        )

    moments = {}
    for name, example in (("start", "2026-09-15 09:30"), ("end", "2026-09-15 17:00")):
        value = text(meta, name)
        if not value:
            problems.append(
                Problem(
                    name,
                    f"missing — add `{name.title()}: {example}` (local date and time, "
                    "or just the date for an all-day event)",
                )
            )
            continue
        parsed = parse_local(value)
        if parsed is None:
            problems.append(
                Problem(
                    name,
                    f"{value!r} is not a date we can read — write it as YYYY-MM-DD HH:MM "
                    f"(24-hour clock), for example {example}, or YYYY-MM-DD for all day",
                )
            )
            continue
        moments[name] = parsed

    start, end = moments.get("start"), moments.get("end")
    if start is not None and end is not None:
        if isinstance(start, datetime) != isinstance(end, datetime):
            problems.append(
                Problem(
                    "end",
                    "Start and End must both have a time, or both be just dates "
                    "(an all-day event) — add or remove the time on one of them",
                )
            )
            start = end = None
        else:
            # Compare local times: both are in the same zone, whatever it is.
            if (end < start) if not isinstance(start, datetime) else (end <= start):
                problems.append(
                    Problem(
                        "end",
                        f"the event ends ({text(meta, 'end')}) before it starts "
                        f"({text(meta, 'start')}) — check the End date and time",
                    )
                )
            if zone is not None and isinstance(start, datetime):
                start, end = start.replace(tzinfo=zone), end.replace(tzinfo=zone)

    status = (text(meta, "event_status") or "scheduled").lower()
    if status == "canceled":  # American spelling, same meaning
        status = "cancelled"
    if status not in STATUSES:
        problems.append(
            Problem(
                "event_status",
                f"{text(meta, 'event_status')!r} is not a status we know — use one of: "
                + ", ".join(STATUSES),
            )
        )

    address = Address.from_meta(meta)
    venue = text(meta, "venue")
    online_url = text(meta, "online_url")
    if online_url and not is_web_address(online_url):
        problems.append(
            Problem(
                "online_url",
                f"{online_url!r} is not a complete web address — write it in full, "
                "starting with https://",
            )
        )
    if not (venue or address or online_url):
        problems.append(
            Problem(
                "venue",
                "missing — add `Venue:` with the place's name (and Street, City, Region, "
                "Postal_Code, Country), or `Online_URL:` for an online event",
            )
        )
    if address.street and not address.city:
        problems.append(Problem("city", "missing — the address has a Street, so add `City:` too"))

    capacity = None
    if text(meta, "capacity"):
        raw = text(meta, "capacity")
        if raw.isdigit() and int(raw) > 0:
            capacity = int(raw)
        else:
            problems.append(
                Problem(
                    "capacity",
                    f"{raw!r} is not a number of places — write a whole number such as 40, "
                    "or remove the line",
                )
            )

    registration = None
    value = text(meta, "registration")
    if value and value.lower() != "none":  # `Registration: none` means no registration
        registration = link_or_form(value, "registration", default_form, form_ids, problems)

    if problems or start is None or end is None or zone is None:
        return None, problems
    return (
        Event(
            title=title,
            zone=zone,
            start=start,
            end=end,
            status=status,
            venue=venue,
            address=address,
            online_url=online_url,
            audience=text(meta, "audience"),
            trainers=lines(meta, "trainers"),
            sponsors=lines(meta, "sponsors"),
            topics=lines(meta, "topics"),
            bring=lines(meta, "bring"),
            registration=registration,
            capacity=capacity,
        ),
        problems,
    )
