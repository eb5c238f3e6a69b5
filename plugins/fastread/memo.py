"""Typogrify memo: typogrify's output kept by a hash of its input and options.

Pelican runs typogrify on every text after its reader cache, so on every
build; the memo answers for each text seen in the previous build. It is kept
in memory (the dev server's builds) and in CACHE_PATH (`make build`), holding
only the texts the last build used.

Where the memo has no answer, typogrify runs without its smartypants step on a
text that step would leave as it is: Markdown's `smarty` extension has already
made the quotes, dashes and ellipses of every post, and smartypants was two
thirds of typogrify's time (README, "Performance").
"""

import hashlib
import logging
import os
import pickle
import re

import smartypants
import typogrify
import typogrify.filters

log = logging.getLogger(__name__)

FILE_NAME = "fastread-typogrify"
_VERSION = (getattr(typogrify, "__version__", ""), smartypants.__version__, 1)
_original = typogrify.filters.typogrify

# What smartypants changes, outside tags and outside the tags it skips (smartypants's
# own list). It reads a comment holding "--" as text, so a text with one runs in full.
_SMARTYPANTS_CHANGES = ('"', "'", "`", "\\", "--", "...", ". . .", "&quot;")
_SMARTYPANTS_SKIPS = re.compile(
    r"<(pre|samp|code|tt|kbd|script|style|math)\b[^>]*>.*?</\1\s*>", re.S | re.IGNORECASE
)
_TAG = re.compile(r"<[^>]*>")


def smartypants_idle(text) -> bool:
    """Whether smartypants, with Pelican's options, would return `text` unchanged."""
    if smartypants.Attr.default & smartypants.Attr.mask_o:  # it would convert entities
        return False
    if "<!--" in text:
        return False
    words = _TAG.sub("", _SMARTYPANTS_SKIPS.sub("", text))
    return not any(sign in words for sign in _SMARTYPANTS_CHANGES)


def _typogrify(text, ignore_tags, filters):
    skip = _memo.skip_idle_smartypants and filters.get("smartypants", True)
    if skip and smartypants_idle(str(text)):
        filters = {**filters, "smartypants": False}
    return _original(text, ignore_tags, **filters)


class _Memo:
    def __init__(self):
        self.previous = None  # {key: result} of the last build; None until loaded
        self.current = {}  # what this build used or made
        self.path = None
        self.save = False
        self.ran = 0  # texts typogrify itself ran on in this process, this build
        self.skip_idle_smartypants = True

    def load(self, settings):
        self.path = os.path.join(settings["CACHE_PATH"], FILE_NAME)
        self.save = bool(settings.get("CACHE_CONTENT"))
        if self.previous is not None:
            return  # kept in memory since the last build of this process
        self.previous = {}
        if not settings.get("LOAD_CONTENT_CACHE"):
            return
        try:
            with open(self.path, "rb") as handle:
                version, stored = pickle.load(handle)
            if version == _VERSION:
                self.previous = stored
        except (OSError, pickle.PickleError, EOFError, ValueError, TypeError) as error:
            log.debug("fastread: no typogrify memo at %s (%s)", self.path, error)


_memo = _Memo()


def memoized_typogrify(text, ignore_tags=None, **filters):
    """typogrify.filters.typogrify, answered from the memo when the same text was seen."""
    if _memo.previous is None:
        return _original(text, ignore_tags, **filters)
    digest = hashlib.blake2b(digest_size=20)
    # smartypants.Attr.default is set by Pelican before each call (TYPOGRIFY_DASHES).
    options = (smartypants.Attr.default, tuple(ignore_tags or ()), sorted(filters.items()))
    digest.update(repr(options).encode())
    digest.update(b"\0")
    digest.update(str(text).encode("utf-8", "surrogatepass"))
    key = digest.digest()
    result = _memo.current.get(key)
    if result is None:
        result = _memo.previous.get(key)
        if result is None:
            result = _typogrify(text, ignore_tags, filters)
            _memo.ran += 1
        _memo.current[key] = result
    return result


def active():
    """Whether this build's typogrify calls go through the memo."""
    return _memo.previous is not None and typogrify.filters.typogrify is memoized_typogrify


def take_new():
    """The results this process made or used since the last call, and forget them.

    A reading worker sends them to its parent, whose typogrify then finds them.
    """
    new, _memo.current = _memo.current, {}
    return new


def remember(results):
    """Add results a reading worker made (see take_new)."""
    _memo.current.update(results)


def install(settings, skip_idle_smartypants=True):
    """Answer Pelican's typogrify calls from the memo (signal `initialized`).

    Relies on: Readers.read_file imports typogrify.filters.typogrify at each call,
    so replacing the module attribute reaches it (checked by the private-API test).
    """
    _memo.load(settings)
    _memo.skip_idle_smartypants = skip_idle_smartypants
    typogrify.filters.typogrify = memoized_typogrify


def on_finalized(pelican):
    """Keep what this build used for the next one, in memory and on disk."""
    if _memo.previous is None:
        return
    log.debug("fastread: typogrify ran on %d texts in the build process", _memo.ran)
    _memo.ran = 0
    changed = _memo.current.keys() != _memo.previous.keys()
    _memo.previous, _memo.current = _memo.current, {}
    if not (_memo.save and changed):
        return
    try:
        os.makedirs(os.path.dirname(_memo.path), exist_ok=True)
        with open(_memo.path + ".part", "wb") as handle:
            pickle.dump((_VERSION, _memo.previous), handle, pickle.HIGHEST_PROTOCOL)
        os.replace(_memo.path + ".part", _memo.path)
    except OSError as error:
        log.warning("fastread: could not save the typogrify memo %s: %s", _memo.path, error)
