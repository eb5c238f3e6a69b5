"""fastread: read content on every core and run typogrify once per text.

Two reader-level speed-ups, both leaving the output byte for byte identical:

* Parallel reading. When a generator starts, the Markdown files whose reader
  cache entry is missing or stale are parsed by a pool of forked worker
  processes (the same reader objects, so the same output). Their results are
  put in the generator's reader cache, where Pelican's own `read_file` finds
  them. Anything a worker could not read cleanly (an exception or any warning)
  is left for Pelican to read itself, so errors and warnings appear once, as usual.
* Typogrify cache. typogrify's output for each text (content, title, summary)
  is remembered per source file and saved with Pelican's reader content cache,
  so a warm rebuild skips typogrify, not only Markdown.

Setting (all keys optional):

    FASTREAD = {
        "workers": 0,        # processes for reading; 0 = one per CPU core
        "min_files": 40,     # below this many stale files, read in-process
        "typogrify_cache": True,
    }
"""

from pelican import signals

from .reader import check_settings, on_generator_init, on_readers_init

__all__ = ["register"]


def register():
    """Connect fastread to Pelican's signals."""
    signals.initialized.connect(check_settings)
    signals.readers_init.connect(on_readers_init)
    signals.article_generator_init.connect(on_generator_init)
    signals.page_generator_init.connect(on_generator_init)
