"""iCalendar (RFC 5545) files for events, built with the icalendar library."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from icalendar import Calendar
from icalendar import Event as VEvent

ICS_STATUS = {
    "scheduled": "CONFIRMED",
    "full": "CONFIRMED",
    "postponed": "TENTATIVE",
    "cancelled": "CANCELLED",
}


def new_calendar(name: str, prodid: str) -> Calendar:
    """An empty calendar that calendar apps can subscribe to."""
    calendar = Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    return calendar


def vevent(event, uid: str, url: str, description: str, stamp: datetime) -> VEvent:
    """One VEVENT: stable UID, DTSTAMP, times with TZID (or dates when all day)."""
    component = VEvent()
    component.add("uid", uid)
    component.add("dtstamp", stamp.astimezone(UTC))
    component.add("last-modified", stamp.astimezone(UTC))
    component.add("summary", event.title)
    if event.all_day:
        # DTEND of an all-day event is the day after the last day (RFC 5545 3.6.1).
        component.add("dtstart", event.start)
        component.add("dtend", event.ends_at.date())
    else:
        component.add("dtstart", event.start)
        component.add("dtend", event.end)
    if event.location_text:
        component.add("location", event.location_text)
    component.add("url", url)
    component.add("description", description)
    component.add("status", ICS_STATUS[event.status])
    return component


def finish(calendar: Calendar, events=()) -> bytes:
    """Add a VTIMEZONE for every zone used, covering the events' years, then serialise."""
    if events:
        first = min(event.starts_at for event in events).date()
        last = max(event.ends_at for event in events).date()
        # A year's margin either side keeps the zone rules short but complete.
        calendar.add_missing_timezones(
            first_date=first.replace(year=first.year - 1, month=1, day=1),
            last_date=last.replace(year=last.year + 2, month=1, day=1),
        )
        # Zones first, in name order (icalendar adds them in set order), so the
        # file is byte for byte the same on every build.
        calendar.subcomponents.sort(
            key=lambda part: (
                part.name != "VTIMEZONE",
                str(part.get("TZID", "")) if part.name == "VTIMEZONE" else "",
            )
        )
    return calendar.to_ical()


def google_calendar_url(event, details: str) -> str:
    """A Google Calendar "add event" template link (opens only if the reader clicks it)."""
    if event.all_day:
        dates = f"{event.start:%Y%m%d}/{event.ends_at:%Y%m%d}"
    else:
        fmt = "%Y%m%dT%H%M%SZ"
        dates = f"{event.starts_at.astimezone(UTC):{fmt}}/{event.ends_at.astimezone(UTC):{fmt}}"
    query = {
        "action": "TEMPLATE",
        "text": event.title,
        "dates": dates,
        "details": details,
        "location": event.location_text,
        "ctz": event.zone_name,
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(query)
