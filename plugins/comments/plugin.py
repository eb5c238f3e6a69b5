"""Comments on posts: which posts take them, the approved ones on each page, and feeds.

Setting (every key optional)::

    COMMENTS = {
        "close_after_days": 90,  # a post stops taking comments this long after its Date
                                 # (None: never by itself)
        "moderation": "all",     # or "first" (the endpoint's COMMENTS_MODERATION decides;
                                 # the form's note says what readers can expect)
        "source": "database",    # "https" (the endpoint, with COMMENTS_TOKEN) or "none"
        "now": None,             # None: SITE_NOW, then the build time
        "read_early": True,      # a `pelican` build reads and renders them in a forked
                                 # process from its start (False: when the posts are read)
    }

A post's `Comments: open | closed | none` field (default open; trainings and intern
calls none) sets `article.comments_state`; an open post closes by itself
close_after_days after its date. Posts that take or show comments get
`article.comments` (approved ones, replies one level under the comment they answer),
`article.comment_count`, and a feed at feeds/comments/<slug>.atom.xml; the latest
comments of the whole site go to feeds/comments.atom.xml.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from feedgenerator import Atom1Feed
from pelican import signals

from plugins.content_meta import (
    helper_result,
    may_fork_helpers,
    merged_setting,
    now_setting,
    one_shot_build,
    plain,
    start_helper,
    write_bytes,
)
from plugins.forms.plugin import check_settings as forms_settings

from .source import CommentsUnavailable, from_database, from_endpoint

logger = logging.getLogger(__name__)

DEFAULTS = {
    "close_after_days": 90,
    "moderation": "all",
    "source": "database",
    "now": None,
    "read_early": True,
}
STATES = ("open", "closed", "none")
POST_FEED = "feeds/comments/{slug}.atom.xml"
SITE_FEED = "feeds/comments.atom.xml"


class CommentsSettingsError(ValueError):
    """The COMMENTS setting is wrong; the message says which key and how to fix it."""


def check_settings(settings) -> dict:
    """COMMENTS merged over the defaults, with "now" resolved; raises CommentsSettingsError."""
    config = merged_setting(settings, "COMMENTS", "comments", DEFAULTS, CommentsSettingsError)
    days = config["close_after_days"]
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
        raise CommentsSettingsError(
            f"comments: COMMENTS['close_after_days'] must be a whole number of days "
            f"(or None for never), not {days!r}"
        )
    choices = {"moderation": ("all", "first"), "source": ("database", "https", "none")}
    for key, allowed in choices.items():
        if config[key] not in allowed:
            raise CommentsSettingsError(
                f"comments: COMMENTS[{key!r}] must be one of {', '.join(allowed)}, "
                f"not {config[key]!r}"
            )
    if not isinstance(config["read_early"], bool):
        raise CommentsSettingsError(
            f"comments: COMMENTS['read_early'] must be True or False, not {config['read_early']!r}"
        )
    config["now"] = now_setting(settings, "COMMENTS", "comments", CommentsSettingsError)
    return config


def comments_state(article, config) -> tuple[str, datetime | None]:
    """(state, closes_at) of one article: its Comments field or the default for its kind,
    closed once closes_at has passed (closes_at is None unless the post is open)."""
    is_post = getattr(article, "event", None) is None and not getattr(article, "intern_call", None)
    state = str(article.metadata.get("comments") or ("open" if is_post else "none")).lower()
    if state not in STATES:
        # Logged as an error: a `--fatal errors` build stops here, naming the file.
        logger.error("comments: %s: Comments must be open, closed or none", article.source_path)
        state = "none"
    if state != "open" or config["close_after_days"] is None:
        return state, None
    closes_at = article.date + timedelta(days=config["close_after_days"])
    return ("open", closes_at) if config["now"] < closes_at else ("closed", None)


def _thread(comments: list[dict], zone, date_format: str) -> list[dict]:
    """Top-level comments, oldest first, each with its "replies" (one level).

    A reply to a reply goes under the top-level comment; a reply whose comment is not
    shown (removed) stands on its own, marked "orphan".
    """
    top, home_of = [], {}  # home_of: comment id -> the top-level comment it sits under
    for comment in sorted(comments, key=lambda item: item["created"]):
        created = datetime.fromisoformat(comment["created"].replace("Z", "+00:00"))
        local = created.astimezone(zone)
        view = {
            "id": str(comment["id"]),
            "name": comment["name"],
            "html": comment["html"],
            "created": created,
            "date": local,
            "date_text": local.strftime(date_format),
            "orphan": False,
            "replies": [],
        }
        parent_id = str(comment.get("parent") or "")
        home = home_of.get(parent_id)
        if home is not None:
            home["replies"].append(view)
        else:
            view["orphan"] = bool(parent_id)
            top.append(view)
            home = view
        home_of[view["id"]] = home
    return top


def _read_and_render(config, settings) -> dict[str, list[dict]]:
    """{post slug: [approved comment dicts, each with its "html"]}; may raise
    CommentsUnavailable."""
    from webforms.comment_text import render_comment

    if config["source"] == "database":
        comments = from_database()
    elif config["source"] == "https":
        comments = from_endpoint(forms_settings(settings)["endpoint"])
    else:
        comments = []
    by_post: dict[str, list[dict]] = {}
    for comment in comments:
        comment["html"] = render_comment(comment["text"])
        by_post.setdefault(comment["post"], []).append(comment)
    return by_post


# A one-shot build reads and renders the comments in a forked process from its start,
# on the core left idle while the content is checked (README, "Performance"). The
# process leaves its answer in a temporary file and ends, so its memory is freed while
# the posts are read: (settings, process id, file).
_early = None
# How long the build waits for that process once it needs the comments; past this it
# stops it and reads them itself, so a stuck helper never holds up a build.
EARLY_WAIT_SECONDS = 60


def _start_early(config, settings):
    """Start reading and rendering the comments in a forked process."""
    global _early
    _early = (settings, *start_helper(lambda: _read_early(config, settings)))


def _read_early(config, settings):  # pragma: no cover - runs in the child
    try:
        return "read", _read_and_render(config, settings)
    except CommentsUnavailable as error:
        return "unavailable", str(error)


def _early_answer(settings):
    """What the forked process read for this build; None if none was started or it failed
    (the build then reads again itself, and reports what went wrong)."""
    global _early
    if _early is None or _early[0] is not settings:
        return None
    _, pid, answer = _early
    _early = None
    late = "comments: the early reading took over %d s; reading the comments now"
    ended, result = helper_result((pid, answer), EARLY_WAIT_SECONDS, logger, late)
    if not ended:
        return None
    kind, value = result
    if kind == "unavailable":
        raise CommentsUnavailable(value)
    return value


def read_comments(config, settings) -> dict[str, list[dict]]:
    """{post slug: [approved comment dicts, each with its "html"]}; {} when the source
    cannot be read (warned)."""
    try:
        by_post = _early_answer(settings)
        if by_post is None:
            by_post = _read_and_render(config, settings)
    except CommentsUnavailable as error:
        logger.warning(
            "comments: could not read the approved comments (%s); the pages are built "
            "WITHOUT comments",
            error,
        )
        return {}
    return by_post


def attach_comments(generator):
    """Give every listed article its comments state, comments and count.

    Drafts and hidden posts get none: the manifest (plugins/forms) lists only these,
    so the endpoint would refuse a comment on any other.
    """
    config = check_settings(generator.settings)
    settings = generator.settings
    articles = generator.articles
    by_post = read_comments(config, settings) if articles else {}
    zone = ZoneInfo(settings.get("TIMEZONE") or "UTC")
    date_format = settings.get("DEFAULT_DATE_FORMAT", "%Y-%m-%d")
    endpoint = forms_settings(settings)["endpoint"]
    total = 0
    for article in articles:
        article.comments_state, article.comments_closes_at = comments_state(article, config)
        found = by_post.get(article.slug, []) if article.comments_state != "none" else []
        article.comments = _thread(found, zone, date_format) if found else []
        article.comment_count = len(found)
        article.comments_newest = max((c["created"] for c in found), default="")
        article.comments_api = f"{endpoint}/forms/comment/approved?post={quote(article.slug)}"
        article.comments_moderation = config["moderation"]
        # A feed once there is something in it (feed readers and validators want entries).
        article.comments_feed = POST_FEED.format(slug=article.slug) if found else None
        total += len(found)
    logger.debug("comments: %d approved comment(s) on %d article(s)", total, len(articles))


def _feed(settings, title: str, link: str, save_as: str, entries) -> bytes:
    """An Atom feed of (comment view, post address, post title) entries, newest first."""
    domain = (settings.get("FEED_DOMAIN") or settings["SITEURL"]).rstrip("/")
    feed = Atom1Feed(
        title=title,
        link=link,
        feed_url=f"{domain}/{save_as}",
        description="",
        language=settings.get("DEFAULT_LANG", "en"),
    )
    for comment, page, post_title in sorted(
        entries, key=lambda entry: entry[0]["created"], reverse=True
    ):
        url = f"{page}#comment-{comment['id']}"
        feed.add_item(
            title=f"{comment['name']} on {post_title}",
            link=url,
            unique_id=url,
            description=comment["html"],
            author_name=comment["name"],
            pubdate=comment["created"],
        )
    return feed.writeString("utf-8").encode("utf-8")


def _flat(article):
    for comment in article.comments:
        yield comment
        yield from comment["replies"]


# (article generator, writer) whose comment feeds are written at `finalized`.
_feeds_to_write: list = []


def feeds_now_or_at_the_end(generator, writer):
    """article_writer_finalized: a `pelican` build writes the comment feeds at the end,
    while Pagefind writes the search index on the other core (plugins/search); the dev
    server now, before its incremental writer settles what the build wrote."""
    if one_shot_build():
        _feeds_to_write[:] = [(generator, writer)]
    else:
        write_feeds(generator, writer)


def write_feeds_at_the_end(pelican):
    """finalized: write the comment feeds kept for the end (feeds_now_or_at_the_end)."""
    if _feeds_to_write:
        write_feeds(*_feeds_to_write.pop())


def write_feeds(generator, writer):
    """Write each commented post's comment feed and the site's latest comments (if any)."""
    settings = generator.settings
    site = settings["SITEURL"].rstrip("/")
    latest = []
    for article in generator.articles:
        if not getattr(article, "comments_feed", None):
            continue
        # The post's address and title once, not per comment: article.url is worked out
        # from the URL settings on every access.
        page, post_title = f"{site}/{article.url}", plain(article.title)
        entries = [(comment, page, post_title) for comment in _flat(article)]
        latest.extend(entries)
        data = _feed(settings, f"Comments on {post_title}", page, article.comments_feed, entries)
        write_bytes(writer, generator.output_path, article.comments_feed, data)
    latest.sort(key=lambda entry: entry[0]["created"], reverse=True)
    latest = latest[: settings.get("FEED_MAX_ITEMS") or None]
    if not latest:
        return
    title = f"{plain(settings.get('SITENAME', ''))}: latest comments"
    data = _feed(settings, title, f"{site}/", SITE_FEED, latest)
    write_bytes(writer, generator.output_path, SITE_FEED, data)


def check_at_start(pelican):
    """Stop the build at start-up, with a clear message, on a bad COMMENTS setting; a
    `pelican` build starts reading the comments."""
    config = check_settings(pelican.settings)
    if config["read_early"] and config["source"] != "none" and may_fork_helpers():
        _start_early(config, pelican.settings)


def register():
    """Connect the plugin's signals."""
    signals.initialized.connect(check_at_start)
    signals.article_generator_finalized.connect(attach_comments)
    signals.article_writer_finalized.connect(feeds_now_or_at_the_end)
    signals.finalized.connect(write_feeds_at_the_end)
