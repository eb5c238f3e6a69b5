"""The manifest the form endpoint reads: the site's trainings and intern calls.

Written at `FORMS["manifest_save_as"]` (forms/manifest.json) on every build, from the
same content the pages come from, so the endpoint never needs a training's capacity,
dates or status typed a second time (endpoint/manifest.py reads it). Only published
trainings and calls that take our own form are listed: drafts and scheduled posts
never take registrations.
"""

from __future__ import annotations

import json

from plugins.content_meta import plain, write_bytes

VERSION = 1


def training_entry(article, site_url: str, settings=None) -> dict:
    """What the endpoint needs to know about one training.

    With the build's `settings`, "ics" is the text of the training's own .ics file
    (the confirmation e-mail attaches it); without them it is None.
    """
    event = article.event
    ics = None
    if settings is not None and article.ics_url:
        from plugins.events.plugin import single_event_calendar

        ics = single_event_calendar(article, settings).decode("utf-8")
    return {
        "title": plain(article.title),
        "url": f"{site_url}/{article.url}",
        "start": event.starts_at.isoformat(),
        "end": event.ends_at.isoformat(),
        "zone": event.zone_name,
        "when": event.when_text(),
        "where": event.location_text,
        "bring": event.bring,
        "status": event.status,
        "capacity": event.capacity,
        "ics_url": f"{site_url}/{article.ics_url}" if article.ics_url else None,
        "ics": ics,
    }


def internship_entry(article, site_url: str) -> dict:
    """What the endpoint needs to know about one intern call."""
    call = article.intern_call
    return {
        "title": plain(article.title),
        "url": f"{site_url}/{article.url}",
        "apply_by": call.apply_by.isoformat(),
        "apply_by_text": call.apply_by_text,
        "closes_at": call.closes_at.isoformat(),
    }


def post_entry(article, site_url: str) -> dict:
    """What the endpoint needs to know to take a comment on one post (plugins/comments)."""
    closes_at = article.comments_closes_at
    return {
        "title": plain(article.title),
        "url": f"{site_url}/{article.url}",
        "comments": article.comments_state,
        "closes_at": closes_at.isoformat() if closes_at else None,
    }


def build_manifest(articles, site_url: str, endpoint: str = "", settings=None) -> dict:
    """{"version", "endpoint", "trainings", "internships", "posts"}: each {slug: entry}.

    "posts" lists the posts whose comments are open or closed (never "none").

    "endpoint" is the form endpoint's public address (FORMS["endpoint"]): the endpoint
    writes its cancel links with it.
    """
    trainings, internships, posts = {}, {}, {}
    for article in articles:
        if getattr(article, "comments_state", "none") != "none":
            posts[article.slug] = post_entry(article, site_url)
        event = getattr(article, "event", None)
        call = getattr(article, "intern_call", None)
        if event is not None and event.registration and event.registration[0] == "form":
            trainings[article.slug] = training_entry(article, site_url, settings)
        elif call is not None and call.application[0] == "form":
            internships[article.slug] = internship_entry(article, site_url)
    return {
        "version": VERSION,
        "endpoint": endpoint,
        "trainings": trainings,
        "internships": internships,
        "posts": posts,
    }


def write_manifest(generator, writer, save_as: str, endpoint: str = "") -> None:
    """Write the manifest of the generator's published articles."""
    site_url = generator.settings["SITEURL"].rstrip("/")
    data = build_manifest(generator.articles, site_url, endpoint, generator.settings)
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    write_bytes(writer, generator.output_path, save_as, text.encode("utf-8"))
