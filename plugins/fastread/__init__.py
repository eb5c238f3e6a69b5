"""fastread: read stale content on every core, and run typogrify once per text.

Three pieces, each leaving the output byte for byte identical (README, "Performance"):

* Parallel reading (reading.py). When a generator starts with at least
  `min_files` Markdown files missing from the reader cache or changed, forked
  workers read them and Pelican finds their results in its reader cache. A
  file that fails or warns in a worker is left to Pelican, so its message
  appears once, as usual.
* Typogrify memo (memo.py). typogrify's output for each text is kept by a
  hash of the text and typogrify's options, in memory between the dev
  server's builds and in the cache folder between `make build` runs. The
  reading workers fill it, so typogrify runs on every core too.
* Idle smartypants skipped (memo.py). Where the memo has no answer, typogrify
  runs without smartypants on a text it would not change.

Once each generator has saved its reader cache, fastread empties it in memory
(peak memory, README "Performance").

Setting (all keys optional):

    FASTREAD = {
        "workers": 0,        # reading processes; 0 = one per CPU core, 1 = off
        "min_files": 40,     # below this many stale files, Pelican reads alone
        "typogrify_memo": True,
        "skip_idle_smartypants": True,  # needs the memo
    }
"""

import ctypes

from pelican import signals

from plugins import pelican_private

from . import memo, reading

__all__ = ["register"]

DEFAULTS = {"workers": 0, "min_files": 40, "typogrify_memo": True, "skip_idle_smartypants": True}


class FastreadSettingsError(ValueError):
    """FASTREAD holds an unknown key or a value of the wrong type."""


def options(settings):
    """FASTREAD merged over the defaults."""
    return {**DEFAULTS, **(settings.get("FASTREAD") or {})}


def check_settings(pelican):
    """Fail at start-up, naming the key, if FASTREAD is malformed; set up the memo."""
    given = pelican.settings.get("FASTREAD") or {}
    if not isinstance(given, dict):
        raise FastreadSettingsError("fastread: FASTREAD must be a dict")
    for key, value in given.items():
        if key not in DEFAULTS:
            raise FastreadSettingsError(
                f"fastread: unknown FASTREAD key {key!r}; known keys: {sorted(DEFAULTS)}"
            )
        expected = type(DEFAULTS[key])
        if type(value) is not expected or (expected is int and value < 0):
            raise FastreadSettingsError(
                f"fastread: FASTREAD[{key!r}] must be a {expected.__name__}"
                + (" >= 0" if expected is int else "")
                + f", not {value!r}"
            )
    chosen = options(pelican.settings)
    if chosen["typogrify_memo"] and pelican.settings.get("TYPOGRIFY"):
        memo.install(pelican.settings, skip_idle_smartypants=chosen["skip_idle_smartypants"])


def on_generator_init(generator):
    """Read the generator's stale files on every core before Pelican's loop starts."""
    chosen = options(generator.settings)
    reading.read_stale(generator, chosen["workers"], chosen["min_files"])


def on_generator_finalized(generator):
    """Empty the generator's reader cache once Pelican has saved it.

    Pelican keeps it (every post's HTML as read, 26 MB at 5000 posts) until the
    build ends, though nothing reads it after the save; the dev server's next
    build makes new Readers, which load the saved file.
    """
    pelican_private.empty_reader_cache(generator.readers)
    # glibc keeps the freed pages; Python's new small objects come from fresh
    # mmap'd arenas, so the writing would grow the build beside them.
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except AttributeError:  # not glibc
        pass


def register():
    """Connect fastread to Pelican's signals."""
    signals.initialized.connect(check_settings)
    signals.article_generator_init.connect(on_generator_init)
    signals.page_generator_init.connect(on_generator_init)
    signals.article_generator_finalized.connect(on_generator_finalized)
    signals.page_generator_finalized.connect(on_generator_finalized)
    signals.finalized.connect(memo.on_finalized)
