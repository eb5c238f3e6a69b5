"""Signal handlers of the events plugin.

Articles in the trainings section (content/trainings/) become events: their own
template and URL, an .ics file each, a subscribable calendar of all of them,
schema.org Event JSON-LD, and the /trainings/ listing split into upcoming and past.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pelican import signals
from pelican.contents import Article

from plugins.content_meta import (
    by_year,
    forget_folders,
    in_section,
    merged_setting,
    now_setting,
    plain,
    set_address,
    unlisted_articles,
    write_bytes,
    write_listing,
)

from . import calendar
from .model import parse_event

logger = logging.getLogger(__name__)

DEFAULTS = {
    # Content folder holding trainings and events (its name is also their category).
    "section": "trainings",
    # "Now" for upcoming/past: an ISO date-time (site time zone if no offset), or None for
    # the build time. The SITE_NOW environment variable is used when this is None.
    "now": None,
    "url": "trainings/{slug}/",
    "save_as": "trainings/{slug}/index.html",
    "ics_save_as": "trainings/{slug}/{slug}.ics",
    "listing_save_as": "trainings/index.html",
    # Past events by year, so the listing stays short; it shows the latest `past_recent`.
    "past_save_as": "trainings/past/{year}/index.html",
    "past_recent": 5,
    "calendar_save_as": "trainings/calendar.ics",
    "calendar_name": "Organizing 2.0 trainings and events",
    # The host part of every event's UID; never change it, or calendars duplicate events.
    "uid_domain": "organizing20.org",
    # Our own registration form (forms/<id>.toml), used by `Registration: form`.
    "registration_form": "training-registration",
    # How many upcoming trainings the home page shows.
    "home_count": 3,
}


class EventsConfigurationError(Exception):
    """The EVENTS setting is wrong; the message says how to fix it."""


def check_settings(settings) -> dict:
    """Merge EVENTS over the defaults and check it (raises EventsConfigurationError)."""
    config = merged_setting(settings, "EVENTS", "events", DEFAULTS, EventsConfigurationError)
    config["now"] = parse_now(settings)
    for key in ("home_count", "past_recent"):
        if not isinstance(config[key], int) or config[key] < 0:
            raise EventsConfigurationError(f"events: EVENTS['{key}'] must be a whole number")
    return config


def parse_now(settings) -> datetime:
    """The moment that splits upcoming from past: EVENTS['now'], then SITE_NOW, then the clock."""
    return now_setting(settings, "EVENTS", "events", EventsConfigurationError)


_config: dict = {}


def config_for(settings) -> dict:
    """The checked EVENTS config for these settings (checked once per settings object)."""
    key = id(settings)
    if _config.get("key") != key:
        _config.update(key=key, value=check_settings(settings))
    return _config["value"]


def initialized(pelican):
    """Check EVENTS before anything is read, so a mistake stops the build at once."""
    config = config_for(pelican.settings)
    logger.debug("events: now is %s", config["now"].isoformat())


def content_object_init(instance):
    """Turn an article of the trainings section into an event page."""
    if not isinstance(instance, Article):
        return
    config = config_for(instance.settings)
    if not in_section(instance, config["section"]):
        return
    event, problems = parse_event(
        instance.metadata,
        instance.settings.get("TIMEZONE") or "UTC",
        default_form=config["registration_form"],
    )
    if event is None:
        # The content check reports these with line numbers before reading starts;
        # this only happens when it is switched off.
        for problem in problems:
            logger.error("events: %s: %s: %s", instance.source_path, problem.field, problem.message)
        return
    # The title as readers see it, without typogrify's markup.
    event.title = plain(instance.title)
    instance.event = event
    if "template" not in instance.metadata:
        instance.template = "training"
    set_address(instance, config["url"], config["save_as"])


def _absolute(settings, path: str) -> str:
    return f"{settings['SITEURL'].rstrip('/')}/{path}"


def event_json_ld(article, settings) -> dict:
    """schema.org Event for one event page (dates carry their UTC offset)."""
    event = article.event
    page_url = _absolute(settings, article.url)
    attendance = (
        "Mixed" if event.online and event.in_person else "Online" if event.online else "Offline"
    )
    places = []
    if event.in_person:
        place = {"@type": "Place", "name": event.venue or event.address.one_line()}
        if event.address:
            place["address"] = event.address.json_ld()
        places.append(place)
    if event.online:
        places.append({"@type": "VirtualLocation", "url": event.online_url})
    data = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": plain(article.title),
        "url": page_url,
        "description": plain(article.summary),
        "startDate": event.start.isoformat(),
        "endDate": event.end.isoformat(),
        "eventStatus": "https://schema.org/"
        + {
            "scheduled": "EventScheduled",
            "full": "EventScheduled",
            "postponed": "EventPostponed",
            "cancelled": "EventCancelled",
        }[event.status],
        "eventAttendanceMode": f"https://schema.org/{attendance}EventAttendanceMode",
        "location": places[0] if len(places) == 1 else places,
        "organizer": {
            "@type": "Organization",
            "name": settings["SITENAME"],
            "url": settings["SITEURL"].rstrip("/") + "/",
        },
    }
    if event.sponsors:
        data["sponsor"] = [{"@type": "Organization", "name": name} for name in event.sponsors]
    if event.audience:
        data["audience"] = {"@type": "Audience", "audienceType": event.audience}
    if event.capacity:
        data["maximumAttendeeCapacity"] = event.capacity
    if event.registration:
        kind, target = event.registration
        # What the build knows; the places-left line on the page tells the live state.
        availability = "InStock" if article.registration_open else "SoldOut"
        if event.status == "postponed":
            availability = "OutOfStock"  # registration opens again with the new date
        if event.status == "cancelled" or article.event_past:
            availability = "Discontinued"
        data["offers"] = {
            "@type": "Offer",
            "url": page_url + "#register" if kind == "form" else target,
            "availability": f"https://schema.org/{availability}",
            "validFrom": article.date.isoformat(),
        }
    return data


def _events(generator) -> list:
    return [article for article in generator.articles if getattr(article, "event", None)]


def article_generator_finalized(generator):
    """Work out upcoming/past, JSON-LD and calendar links; share them with every template."""
    settings = generator.settings
    config = config_for(settings)
    # Worked out on every build, so a long-running dev server never goes stale.
    now = parse_now(settings)
    events = _events(generator)
    # Drafts, hidden posts and translations get their pages too, but stay out of lists.
    others = unlisted_articles(generator, "event")
    for article in events + others:
        event = article.event
        article.event_past = event.is_past(now)
        article.registration_open = event.registration_open(now)
        # Only published events get a calendar file (drafts and hidden ones do not).
        listed = any(article is published for published in events)
        article.ics_url = config["ics_save_as"].format(slug=article.slug) if listed else None
        article.event_when = event.when_text()
        details = f"{plain(article.summary)}\n\n{_absolute(settings, article.url)}"
        article.google_calendar_url = calendar.google_calendar_url(event, details)
        article.event_json_ld = event_json_ld(article, settings)
    upcoming = sorted((a for a in events if not a.event_past), key=lambda a: a.event.starts_at)
    past = sorted(
        (a for a in events if a.event_past), key=lambda a: a.event.starts_at, reverse=True
    )
    generator.context["upcoming_trainings"] = upcoming
    generator.context["past_trainings"] = past
    generator.context["past_training_years"] = by_year(
        past, lambda a: a.event.start.year, config["past_save_as"]
    )
    # Templates read home_count and the like; "now" stays out of the shared context,
    # so pages that do not depend on it are not re-rendered on every build.
    generator.context["EVENTS"] = {k: v for k, v in config.items() if k != "now"}
    generator.context["trainings_calendar_url"] = config["calendar_save_as"]
    logger.info("events: %d upcoming, %d past", len(upcoming), len(past))


# Serialised calendars kept between builds in a long-lived process (the dev
# server's warm worker), keyed by everything that goes into them; icalendar's
# time zone rules and serialising are the slow part.
_single_calendars: dict = {}
_feeds: dict = {}


def _single_calendar(key, title: str, prodid: str, component_args) -> bytes:
    data = _single_calendars.get(key)
    if data is None:
        single = calendar.new_calendar(title, prodid)
        single.add_component(calendar.vevent(*component_args))
        data = calendar.finish(single, [component_args[0]])
        _single_calendars[key] = data
    return data


def _calendar_parts(article, settings):
    """(component key, component args, single calendar key, title, prodid) of one event."""
    config = config_for(settings)
    prodid = f"-//{settings['SITENAME']}//Trainings and events//EN"
    stamp = getattr(article, "modified", None) or article.date
    description = f"{plain(article.summary)}\n\n{_absolute(settings, article.url)}"
    component_args = (
        article.event,
        f"{article.slug}@{config['uid_domain']}",
        _absolute(settings, article.url),
        description,
        stamp,
    )
    # The event's repr names every field; the rest are the other arguments.
    component_key = (repr(article.event), *component_args[1:4], repr(stamp))
    title = plain(article.title)
    return component_key, component_args, (component_key, title, prodid), title, prodid


def single_event_calendar(article, settings) -> bytes:
    """The .ics of one event, as the site publishes it at `article.ics_url`.

    The forms manifest carries the same bytes, so the confirmation e-mail's attachment
    is the site's calendar event (same UID).
    """
    _key, component_args, single_key, title, prodid = _calendar_parts(article, settings)
    return _single_calendar(single_key, title, prodid, component_args)


def article_writer_finalized(generator, writer):
    """Write the /trainings/ listing, one .ics per event and the calendar feed."""
    settings = generator.settings
    config = config_for(settings)
    events = _events(generator)
    write_listing(generator, writer, config["listing_save_as"], "trainings")
    for group in generator.context["past_training_years"]:
        write_listing(generator, writer, group["save_as"], "trainings_past", past_year=group)
    prodid = f"-//{settings['SITENAME']}//Trainings and events//EN"
    feed_parts = []
    single_keys = set()
    for article in sorted(events, key=lambda a: a.event.starts_at):
        component_key, component_args, single_key, _title, _prodid = _calendar_parts(
            article, settings
        )
        single_keys.add(single_key)
        data = single_event_calendar(article, settings)
        write_bytes(writer, generator.output_path, article.ics_url, data)
        feed_parts.append((component_key, component_args))
    feed_key = (config["calendar_name"], prodid, tuple(key for key, _args in feed_parts))
    data = _feeds.get(feed_key)
    if data is None:
        feed = calendar.new_calendar(config["calendar_name"], prodid)
        for _key, component_args in feed_parts:
            feed.add_component(calendar.vevent(*component_args))
        data = calendar.finish(feed, [article.event for article in events])
        _feeds.clear()
        _feeds[feed_key] = data
    write_bytes(writer, generator.output_path, config["calendar_save_as"], data)
    # Keep only what this build used, so the caches do not grow without end.
    for key in set(_single_calendars) - single_keys:
        del _single_calendars[key]
    logger.info(
        "events: wrote %d event calendar(s) and %s", len(events), config["calendar_save_as"]
    )


def register():
    """Connect the plugin's signals."""
    signals.initialized.connect(initialized)
    signals.article_generator_init.connect(forget_folders)
    signals.content_object_init.connect(content_object_init)
    signals.article_generator_finalized.connect(article_generator_finalized)
    signals.article_writer_finalized.connect(article_writer_finalized)
