"""Signal handlers of the scheduled plugin.

A post or page whose Date is later than "now" becomes a draft when Pelican makes it,
so every generator and plugin that leaves drafts out (listings, feeds, the sitemap,
calendars) leaves it out too, and it gets `scheduled_for` (the aware moment it goes
out) and `scheduled_for_text` for the theme's banner.
"""

from __future__ import annotations

import logging

from pelican import signals
from pelican.contents import Article, Page

from .schedule import check_settings, goes_out_text, now

logger = logging.getLogger(__name__)

# "Now" for the build in progress, keyed by its settings object.
_run: dict = {}


def initialized(pelican):
    """Check SCHEDULED before anything is read, so a mistake stops the build at once."""
    config = check_settings(pelican.settings)
    logger.debug("scheduled: now is %s", config["now"].isoformat())


def start_build(pelican):
    """Fix "now" once a build (get_generators is sent as every build starts).

    So posts and pages are compared with the same moment, and a long-running dev
    server moves a post out of the drafts once its time has come.
    """
    _run.update(key=id(pelican.settings), now=now(pelican.settings))


def _now(settings):
    if _run.get("key") != id(settings):
        _run.update(key=id(settings), now=now(settings))
    return _run["now"]


def content_object_init(instance):
    """Make a post or page dated after "now" a draft until then."""
    if not isinstance(instance, (Article, Page)):
        return
    # An author's own draft stays a plain draft; "skip" is never built.
    if instance.status not in ("published", "hidden"):
        return
    date = getattr(instance, "date", None)
    if date is None or date <= _now(instance.settings):
        return
    instance.status = "draft"
    # A Save_as/URL field, or a section's own address (events, intern_calls), is the
    # published address: until it goes out the file lives at its draft address only.
    for name in ("override_url", "override_save_as"):
        if name in instance.__dict__:
            delattr(instance, name)
    instance.scheduled_for = date
    instance.scheduled_for_text = goes_out_text(date)
    logger.info(
        "scheduled: %s goes out on %s",
        instance.relative_source_path,
        instance.scheduled_for_text,
    )


def _count(items) -> int:
    return sum(1 for item in items if getattr(item, "scheduled_for", None))


def article_generator_finalized(generator):
    """Say how many posts wait for their date."""
    count = _count(generator.drafts) + _count(generator.drafts_translations)
    if count:
        logger.info("scheduled: %d post(s) held back until their date", count)


def page_generator_finalized(generator):
    """Say how many pages wait for their date."""
    count = _count(generator.draft_pages) + _count(generator.draft_translations)
    if count:
        logger.info("scheduled: %d page(s) held back until their date", count)


def register():
    """Connect the plugin's signals."""
    signals.initialized.connect(initialized)
    signals.get_generators.connect(start_build)
    signals.content_object_init.connect(content_object_init)
    signals.article_generator_finalized.connect(article_generator_finalized)
    signals.page_generator_finalized.connect(page_generator_finalized)
