"""Make feeds readable in a browser while they stay plain, valid XML for feed readers.

After Pelican writes each Atom or RSS feed, this plugin inserts an
``<?xml-stylesheet type="text/xsl" href="..."?>`` processing instruction, and it
writes the stylesheet itself to the output. A browser that opens a feed applies
the stylesheet and shows a page explaining what a feed is and how to follow it;
a feed reader ignores the instruction. The href is relative to each feed, so the
stylesheet is always fetched from the feed's own origin (browsers insist on that)
and the site works under any domain or sub-folder.

(We checked the pelican-feed-stylesheet package, 0.0.1: it replaces Pelican's
whole Writer through the get_writer signal with a copy of older Pelican code, so
it loses newer behaviour such as FEED_APPEND_REF, its RSS class throws away the
feed's language and subtitle, it takes one stylesheet URL for feeds at every
depth, and only one plugin can own get_writer. Hence this small plugin.)

Setting (all keys optional)::

    FEED_STYLESHEET = {
        "save_as": "feeds/pretty-feed.xsl",  # where the stylesheet is written
        "source": None,  # our own XSL file instead of the bundled pretty-feed.xsl
    }
"""

import logging
import os
import posixpath
import re
import shutil
from pathlib import Path

from pelican import signals

logger = logging.getLogger(__name__)

BUNDLED_STYLESHEET = Path(__file__).with_name("pretty-feed.xsl")
DEFAULTS = {"save_as": "feeds/pretty-feed.xsl", "source": None}
XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>\s*")


class FeedStylesheetSettingsError(ValueError):
    """FEED_STYLESHEET is malformed; the message says which key and how to fix it."""


def check_settings(settings):
    """Return FEED_STYLESHEET merged over the defaults, or raise FeedStylesheetSettingsError."""
    configured = settings.get("FEED_STYLESHEET") or {}
    if not isinstance(configured, dict):
        raise FeedStylesheetSettingsError(
            f"feed_stylesheet: FEED_STYLESHEET must be a dict, got {type(configured).__name__}"
        )
    unknown = sorted(set(configured) - set(DEFAULTS))
    if unknown:
        raise FeedStylesheetSettingsError(
            f"feed_stylesheet: unknown FEED_STYLESHEET key(s) {unknown}; "
            f"allowed: {sorted(DEFAULTS)}"
        )
    merged = {**DEFAULTS, **configured}
    save_as = merged["save_as"]
    if not isinstance(save_as, str) or not save_as.endswith(".xsl"):
        raise FeedStylesheetSettingsError(
            f"feed_stylesheet: FEED_STYLESHEET['save_as'] must be a path ending in .xsl, "
            f"got {save_as!r}"
        )
    if save_as.startswith("/") or ".." in save_as.split("/"):
        raise FeedStylesheetSettingsError(
            f"feed_stylesheet: FEED_STYLESHEET['save_as'] must stay inside the output "
            f"folder: {save_as!r}"
        )
    source = Path(merged["source"]) if merged["source"] else BUNDLED_STYLESHEET
    if not source.is_file():
        raise FeedStylesheetSettingsError(
            f"feed_stylesheet: FEED_STYLESHEET['source'] {str(source)!r} is not a file"
        )
    merged["source"] = source
    return merged


def stylesheet_href(feed_path, output_path, save_as):
    """The stylesheet's URL relative to the feed at `feed_path` (both in `output_path`)."""
    feed_folder = os.path.relpath(os.path.dirname(os.path.abspath(feed_path)), output_path)
    feed_folder = feed_folder.replace(os.sep, "/")
    return posixpath.relpath(save_as, "." if feed_folder == "." else feed_folder)


def add_stylesheet_instruction(xml_text, href):
    """`xml_text` with an xml-stylesheet instruction right after the XML declaration."""
    instruction = f'<?xml-stylesheet type="text/xsl" href="{href}"?>\n'
    if "<?xml-stylesheet" in xml_text:
        return xml_text
    match = XML_DECLARATION.match(xml_text)
    if not match:
        return instruction + xml_text
    declaration = match.group(0).strip()
    return f"{declaration}\n{instruction}{xml_text[match.end() :]}"


def style_feed(path, context=None, feed=None):
    """feed_written: point the feed just written at the stylesheet."""
    settings = context or {}
    options = check_settings(settings)
    output_path = settings.get("OUTPUT_PATH") or os.path.dirname(path)
    output_path = os.path.abspath(output_path)
    href = stylesheet_href(path, output_path, options["save_as"])
    text = Path(path).read_text(encoding="utf-8")
    Path(path).write_text(add_stylesheet_instruction(text, href), encoding="utf-8")
    logger.debug("feed_stylesheet: styled %s with %s", path, href)


def write_stylesheet(pelican):
    """finalized: copy the XSL file into the output."""
    options = check_settings(pelican.settings)
    target = Path(pelican.output_path, *options["save_as"].split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(options["source"], target)
    logger.info("feed_stylesheet: wrote %s", target)


def check_at_start(pelican):
    """Fail the build at start-up, with a clear message, on a bad FEED_STYLESHEET."""
    check_settings(pelican.settings)


def register():
    """Connect the plugin to Pelican's signals."""
    signals.initialized.connect(check_at_start)
    signals.feed_written.connect(style_feed)
    signals.finalized.connect(write_stylesheet)
