"""A reader's comment, from the small Markdown it is typed in to HTML safe to show.

The site build and the endpoint (its e-mails to moderators, the live fetch of new
comments) share this module, so a comment looks the same everywhere. Markdown and nh3
are imported on first use: the endpoint's cold start never pays for them.

The subset: paragraphs (a single line break stays a line break), emphasis, links,
lists, quotes and inline code. HTML a reader types is shown as text, never run; links
keep only http, https and mailto addresses and carry rel="nofollow ugc noopener".
"""

from __future__ import annotations

import re
import threading

ALLOWED_TAGS = {"p", "em", "strong", "a", "ul", "ol", "li", "blockquote", "code", "br"}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"
# Markdown parts outside the subset, turned off so what they would eat stays text
# ("#union" is not a heading, "---" not a rule, "![x](y)" not an image).
_UNUSED_BLOCKS = ("hashheader", "setextheader", "hr")
_UNUSED_INLINE = ("html", "entity", "image_link", "image_reference", "short_image_ref")
# What count_links counts: every web or mail address, linked or bare.
_ADDRESS = re.compile(r"\b(?:https?://|mailto:|www\.)", re.IGNORECASE)

_cleaner = None
# One Markdown per thread: an instance keeps state between conversions and is not safe
# across threads (the endpoint serves several requests at once), and building one costs
# far more than converting a comment (the site build renders thousands).
_local = threading.local()


def _markdown():
    import markdown

    md = markdown.Markdown(extensions=["markdown.extensions.nl2br"], output_format="html")
    # Raw HTML is not passed through: with these gone, Markdown escapes it as text.
    md.preprocessors.deregister("html_block")
    for name in _UNUSED_BLOCKS:
        md.parser.blockprocessors.deregister(name)
    for name in _UNUSED_INLINE:
        if name in md.inlinePatterns:
            md.inlinePatterns.deregister(name)
    return md


def _clean(html: str) -> str:
    global _cleaner
    if _cleaner is None:
        import nh3

        _cleaner = nh3.Cleaner(
            tags=ALLOWED_TAGS,
            attributes={"a": {"href"}},
            link_rel=LINK_REL,
            url_schemes=URL_SCHEMES,
            # "/path" or "//host" would point somewhere no scheme was checked for.
            url_relative="deny",
        )
    return _cleaner.clean(html)


def render_comment(text: str) -> str:
    """The comment's Markdown as HTML: only the subset's tags, cleaned by nh3."""
    md = getattr(_local, "markdown", None)
    if md is None:
        md = _local.markdown = _markdown()
    # Reset first: nothing a previous comment left (even one that raised) carries over.
    md.reset()
    return _clean(md.convert(text or ""))


def count_links(text: str) -> int:
    """How many web or mail addresses the comment holds, as links or bare text."""
    return len(_ADDRESS.findall(text or ""))
