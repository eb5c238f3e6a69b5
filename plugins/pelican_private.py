"""Every use of Pelican's private API in this project, in one place.

Pelican is pinned exactly (requirements.txt); an upgrade may remove or change
any of these without notice. Each function says what it relies on, and
tests/plugins/test_pelican_private.py fails naming the attribute when a
Pelican release no longer has it.
"""

from pelican.contents import Content
from pelican.log import FatalLogger, LimitFilter
from pelican.readers import _filter_discardable_metadata

# (owner, attribute) pairs checked by the test; kept beside the code using them.
RELIED_ON = [
    ("pelican.readers", "_filter_discardable_metadata"),
    ("pelican.readers.Readers", "_cache"),
    ("pelican.readers.Readers", "_cache_path"),
    ("pelican.readers.Readers", "_get_file_stamp"),
    ("pelican.writers.Writer", "_written_files"),
    ("pelican.writers.Writer", "_overridden_files"),
    ("pelican.contents.Content", "_content"),
    ("pelican.contents.Content", "_context"),
    ("pelican.contents.Content", "_get_intrasite_link_regex"),
    ("pelican.contents.Content.get_content", "cache"),
    ("pelican.contents.Content.get_summary", "cache"),
    ("pelican.log.FatalLogger", "fatal_lvl"),
    ("pelican.log.LimitFilter", "_raised_messages"),
    ("pelican.log.LimitFilter", "_group_count"),
]


# --- reader cache (plugins/fastread, plugins/content_check) -------------------


def cache_path(readers):
    """The reader cache's file. Relies on: FileDataCacher._cache_path."""
    return getattr(readers, "_cache_path", None)


def file_stamp(readers, path):
    """What Pelican compares to see a file changed.

    Relies on: FileStampDataCacher._get_file_stamp.
    """
    return readers._get_file_stamp(path)


def cacheable_metadata(metadata):
    """The reader metadata as Pelican caches it. Relies on: readers._filter_discardable_metadata."""
    return _filter_discardable_metadata(metadata)


def put_cached(readers, path, stamp, content, metadata):
    """Store a file's reader output where Readers.read_file looks it up first.

    Relies on: FileStampDataCacher._cache maps a path to (stamp, (content, metadata)),
    and get_cached_data reads it whether or not the cache is saved.
    """
    readers._cache[path] = (stamp, (content, metadata))


def typogrify_as_read_file(settings):
    """A function applying typogrify to a text exactly as Readers.read_file does.

    Relies on: read_file sets smartypants.Attr.default from TYPOGRIFY_DASHES (plus
    Attr.w), then calls typogrify.filters.typogrify(text, TYPOGRIFY_IGNORE_TAGS,
    one False keyword per TYPOGRIFY_OMIT_FILTERS) on the content, the title and
    the summary. tests/plugins/test_pelican_private.py compares the two on every
    TYPOGRIFY_DASHES value.
    """
    import smartypants  # noqa: PLC0415 - only builds with TYPOGRIFY import them
    import typogrify.filters  # noqa: PLC0415

    attrs = {"oldschool": smartypants.Attr.set2, "oldschool_inverted": smartypants.Attr.set3}
    smartypants.Attr.default = attrs.get(settings["TYPOGRIFY_DASHES"], smartypants.Attr.set1)
    smartypants.Attr.default |= smartypants.Attr.w
    ignore_tags = settings["TYPOGRIFY_IGNORE_TAGS"]
    omit = dict.fromkeys(settings["TYPOGRIFY_OMIT_FILTERS"], False)

    def apply(text):
        # Looked up at each call, as read_file does, so fastread's memo answers it.
        return typogrify.filters.typogrify(text, ignore_tags, **omit)

    return apply


def empty_reader_cache(readers):
    """Forget the reader cache in memory; its saved file is untouched.

    Relies on: FileDataCacher._cache, read only by get_cached_data and save_cache.
    Each build makes new Readers, which load the cache from its file.
    """
    readers._cache = {}


# --- writer (devserver/incremental.py, plugins/events) ---------------------------


def written_files(writer):
    """Paths this build wrote so far. Relies on: Writer._written_files (a set)."""
    return writer._written_files


def overridden_files(writer):
    """Paths written with override_output. Relies on: Writer._overridden_files (a set)."""
    return writer._overridden_files


# --- content objects (devserver/fingerprint.py) ---------------------------------


def raw_content(content):
    """The HTML as read, before links are replaced. Relies on: Content._content."""
    return content._content


def has_intrasite_links(content):
    """Whether its HTML holds {filename}-style links.

    Relies on: Content._get_intrasite_link_regex.
    """
    text = content._content
    return bool(text) and bool(content._get_intrasite_link_regex().search(text))


# Attributes of a content object shared by every page of a build (the context,
# the settings) or digested apart (the HTML). Relies on: Content._context, _content.
SHARED_CONTENT_ATTRIBUTES = frozenset({"_context", "settings", "_content"})


def clear_memoized_content():
    """Empty the class-wide memo of rendered content (a long-lived process keeps every build).

    Relies on: Content.get_content and get_summary are pelican.utils.memoized, whose
    wrapper exposes its dict as `.cache`.
    """
    for name in ("get_content", "get_summary"):
        cache = getattr(Content.__dict__.get(name), "cache", None)
        if cache is not None:
            cache.clear()


# --- logging (devserver/worker.py, plugins/content_check/pelican_log.py) --------


def forget_logged_messages():
    """Let Pelican's LimitFilter show again a message it showed in an earlier build.

    Relies on: LimitFilter._raised_messages and _group_count (class-wide containers).
    """
    for name in ("_raised_messages", "_group_count"):
        seen = getattr(LimitFilter, name, None)
        if hasattr(seen, "clear"):
            seen.clear()


def fatal_level():
    """Pelican's --fatal level.

    Relies on: FatalLogger._log raises at or above FatalLogger.fatal_lvl.
    """
    return FatalLogger.fatal_lvl


def set_fatal_level(level):
    """Change Pelican's --fatal level (see fatal_level)."""
    FatalLogger.fatal_lvl = level
