"""Write a JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/) of the whole site.

Setting (all keys optional)::

    JSON_FEED = {
        "save_as": "feeds/all.json",  # path in the output; "" or None turns the feed off
        "max_items": None,            # None: use FEED_MAX_ITEMS (None there: every post)
    }

Links are absolute: items use SITEURL, the feed's own address uses FEED_DOMAIN,
as Pelican's Atom and RSS feeds do.
"""

import json
import logging
import os

from markupsafe import Markup
from pelican import signals

logger = logging.getLogger(__name__)

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
DEFAULTS = {"save_as": "feeds/all.json", "max_items": None}


class JsonFeedSettingsError(ValueError):
    """The JSON_FEED setting is malformed; the message says which key and how to fix it."""


def check_settings(settings):
    """Return JSON_FEED merged over the defaults, or raise JsonFeedSettingsError."""
    configured = settings.get("JSON_FEED", {})
    if configured is None:
        configured = {}
    if not isinstance(configured, dict):
        raise JsonFeedSettingsError(
            f"json_feed: JSON_FEED must be a dict, got {type(configured).__name__}"
        )
    unknown = sorted(set(configured) - set(DEFAULTS))
    if unknown:
        raise JsonFeedSettingsError(
            f"json_feed: unknown JSON_FEED key(s) {unknown}; allowed: {sorted(DEFAULTS)}"
        )
    merged = {**DEFAULTS, **configured}
    save_as = merged["save_as"]
    if save_as is not None and not isinstance(save_as, str):
        raise JsonFeedSettingsError("json_feed: JSON_FEED['save_as'] must be a path string")
    if save_as and (save_as.startswith("/") or ".." in save_as.split("/")):
        raise JsonFeedSettingsError(
            f"json_feed: JSON_FEED['save_as'] must stay inside the output folder: {save_as!r}"
        )
    max_items = merged["max_items"]
    if max_items is None:
        max_items = settings.get("FEED_MAX_ITEMS")
    if max_items is not None and (
        isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1
    ):
        raise JsonFeedSettingsError(
            f"json_feed: JSON_FEED['max_items'] must be a positive whole number, got {max_items!r}"
        )
    merged["max_items"] = max_items
    return merged


def _plain(text):
    """Text without tags or entities (typogrify adds spans to titles)."""
    return Markup(text or "").striptags()


def feed_document(articles, settings):
    """The JSON Feed as a dict, newest `articles` first."""
    options = check_settings(settings)
    site_url = settings["SITEURL"].rstrip("/")
    feed_domain = (settings.get("FEED_DOMAIN") or site_url).rstrip("/")
    newest_first = sorted(articles, key=lambda article: article.date, reverse=True)
    items = []
    for article in newest_first[: options["max_items"]]:
        url = f"{site_url}/{article.url}"
        item = {
            "id": url,
            "url": url,
            "title": _plain(article.title),
            "content_html": article.get_content(site_url),
            "date_published": article.date.isoformat(),
        }
        summary = _plain(getattr(article, "summary", ""))
        if summary:
            item["summary"] = summary
        modified = getattr(article, "modified", None)
        if modified:
            item["date_modified"] = modified.isoformat()
        authors = getattr(article, "authors", None) or []
        if authors:
            item["authors"] = [
                {"name": str(author), "url": f"{site_url}/{author.url}"} for author in authors
            ]
        tags = getattr(article, "tags", None) or []
        if tags:
            item["tags"] = [str(tag) for tag in tags]
        items.append(item)
    document = {
        "version": JSON_FEED_VERSION,
        "title": _plain(settings.get("SITENAME", "")),
        "home_page_url": f"{site_url}/",
        "feed_url": f"{feed_domain}/{options['save_as']}",
        "language": settings.get("DEFAULT_LANG", "en"),
        "items": items,
    }
    description = settings.get("SITESUBTITLE") or settings.get("SITE_DESCRIPTION")
    if description:
        document["description"] = _plain(description)
    if settings.get("AUTHOR"):
        document["authors"] = [{"name": settings["AUTHOR"]}]
    return document


def write_json_feed(generator, writer=None):
    """Write the feed once the articles are written (article_writer_finalized)."""
    options = check_settings(generator.settings)
    if not options["save_as"]:
        return
    document = feed_document(generator.articles, generator.settings)
    path = os.path.join(generator.output_path, *options["save_as"].split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    logger.info("json_feed: wrote %s (%d items)", path, len(document["items"]))


def check_at_start(pelican):
    """Fail the build at start-up, with a clear message, on a bad JSON_FEED."""
    check_settings(pelican.settings)


def register():
    """Connect the plugin to Pelican's signals."""
    signals.initialized.connect(check_at_start)
    signals.article_writer_finalized.connect(write_json_feed)
