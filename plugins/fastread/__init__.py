"""fastread: read content on every core and run typogrify once per text.

Reader-level speed and memory work, all leaving the output byte for byte identical:

* Parallel reading. When a generator starts, the Markdown files whose reader
  cache entry is missing or stale are read by Pelican's own loop from one end
  of the list and by a forked worker from the other (the same reader objects,
  so the same output). The worker's results reach Pelican through its reader
  cache, where Pelican's own `read_file` finds them. Anything a worker could
  not read cleanly (an exception or any warning) is left for Pelican to read
  itself, so errors and warnings appear once, as usual.
* Typogrify cache. typogrify's output for each text (content, title, summary)
  is remembered per source file with its cache entry, so a warm rebuild skips
  typogrify, not only Markdown.
* A reader cache on disk. Each file's entry is one compressed record in a
  file beside Pelican's cache file (`...-Readers.records`); Pelican's own
  file holds only the index, as plain data, and memory holds only where each
  record lies. Pelican without fastread finds no entries and reads everything.
* One Tag, Category and Author object per name, shared by every post.

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
