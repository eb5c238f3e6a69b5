"""When a post or page goes out: the SCHEDULED setting, "now" and a file's Date.

No Pelican import at module level: the content check lists scheduled files with
`goes_out_at` without building anything, using the same "now" as the build.
"""

from __future__ import annotations

from datetime import date, datetime, time

from plugins.content_meta import merged_setting, now_setting, parse_zone

DEFAULTS = {
    # "Now": an ISO date-time (site time zone if no offset), or None for the build
    # time. The SITE_NOW environment variable is used when this is None.
    "now": None,
}


class ScheduledConfigurationError(Exception):
    """The SCHEDULED setting is wrong; the message says how to fix it."""


def check_settings(settings) -> dict:
    """SCHEDULED merged over the defaults, with "now" resolved to an aware date-time.

    Raises ScheduledConfigurationError for an unknown key or a "now" that is not a
    date-time.
    """
    config = merged_setting(
        settings, "SCHEDULED", "scheduled", DEFAULTS, ScheduledConfigurationError
    )
    config["now"] = now(settings)
    return config


def now(settings) -> datetime:
    """The moment scheduled files are compared with: SCHEDULED['now'], SITE_NOW, the clock."""
    return now_setting(settings, "SCHEDULED", "scheduled", ScheduledConfigurationError)


def _parse(value) -> datetime | None:
    """A Date value as Pelican's reader reads it (pelican.utils.get_date), or None."""
    from pelican.utils import get_date

    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        # Pelican's reader turns "_" into spaces before it parses the date.
        return get_date(value.replace("_", " ").strip())
    except (OverflowError, ValueError):
        return None


def goes_out_at(date_value, settings, timezone: str | None = None) -> datetime | None:
    """The aware moment a file whose Date is `date_value` goes out; None if not in the future.

    `date_value` is the Date field as written in the file ("2027-01-05 09:00"), or a
    date or date-time. Without an offset it is in `timezone` (the file's Timezone
    field, which Pelican also applies to its Date) or else the site's TIMEZONE.
    "Now" is the build's: SCHEDULED['now'], then SITE_NOW, then the clock. A Date or
    Timezone that cannot be read gives None (the content check reports those fields).
    A file goes out once "now" reaches its Date, so a Date equal to "now" gives None.
    """
    moment = _parse(date_value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        zone = parse_zone(timezone or settings.get("TIMEZONE") or "UTC")
        if zone is None:
            return None
        moment = moment.replace(tzinfo=zone)
    return moment if moment > now(settings) else None


def goes_out_text(moment: datetime) -> str:
    """'Tuesday, January 5, 2027, 9:00 AM EST (America/New_York time)' for the banner."""
    hour = moment.hour % 12 or 12
    clock = f"{hour}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"
    key = getattr(moment.tzinfo, "key", None)
    if key:
        zone = f"{moment.tzname()} ({key} time)"
    else:
        # A fixed offset written in the Date itself ("...T09:00-05:00").
        offset = moment.isoformat()[-6:] if moment.utcoffset() else ""
        zone = f"UTC{offset}"
    return f"{moment:%A, %B} {moment.day}, {moment.year}, {clock} {zone}"
