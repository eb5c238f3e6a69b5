"""Parallel reading: forked workers fill Pelican's reader cache before its loop runs.

Each worker reads every n-th stale file exactly as Readers.read_file would
before its cache lookup (the reader, then the metadata Pelican keeps) and,
when the typogrify memo is on, runs typogrify on the content, title and
summary as read_file will. It writes the results to a temporary file; the
parent puts them in the reader cache and the memo, where Pelican's own
`read_file` finds them and does everything else (signals, the content
object) as always.
"""

import io
import logging
import multiprocessing
import os
import pickle
import struct
import sys
import tempfile

from pelican.urlwrappers import URLWrapper
from pelican.utils import file_suffix

from plugins import pelican_private
from plugins.content_meta import helper_ended

from . import memo

log = logging.getLogger(__name__)
# Each result: its length, then (path, stamp, content, metadata, typogrify memo entries) pickled.
_HEAD = struct.Struct("<I")


class _Pickler(pickle.Pickler):
    """Leaves the settings behind (every Tag and Category holds them); the parent uses its own."""

    def __init__(self, handle, settings):
        super().__init__(handle, protocol=pickle.HIGHEST_PROTOCOL)
        self.settings = settings

    def persistent_id(self, obj):
        return "settings" if obj is self.settings else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, handle, settings):
        super().__init__(handle)
        self.settings = settings

    def persistent_load(self, pid):
        if pid == "settings":
            return self.settings
        raise pickle.UnpicklingError(f"fastread: unknown reference {pid!r}")


class _Warned(logging.Handler):
    """Notes whether anything at WARNING or above was logged."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.warned = False

    def emit(self, record):
        self.warned = True


def _quiet():
    # A worker prints nothing: a file that warns is read again by Pelican itself.
    catcher = _Warned()
    root = logging.getLogger()
    root.handlers[:] = [catcher]
    root.setLevel(logging.WARNING)
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.filters[:] = []
        logger.propagate = True
    return catcher


def _typogrify_texts(typogrify, content, metadata):
    """Run typogrify on what read_file will, so the memo holds the results."""
    if content:
        typogrify(content)
    for name in ("title", "summary"):
        if name in metadata:
            typogrify(metadata[name])
    return memo.take_new()


def _work(readers, paths, handle):  # pragma: no cover - runs in the child
    catcher = _quiet()
    settings = readers.settings
    typogrify = None
    if settings.get("TYPOGRIFY") and memo.active():
        typogrify = pelican_private.typogrify_as_read_file(settings)
    memo.take_new()  # what the parent already has
    for path in paths:
        catcher.warned = False
        try:
            stamp = pelican_private.file_stamp(readers, path)
            content, metadata = readers.readers[file_suffix(path)].read(path)
            metadata = pelican_private.cacheable_metadata(metadata)
            texts = _typogrify_texts(typogrify, content, metadata) if typogrify else {}
            if catcher.warned:
                continue
            buffer = io.BytesIO()
            _Pickler(buffer, settings).dump((path, stamp, content, metadata, texts))
        except Exception:  # noqa: BLE001, S112 - Pelican reads it again and reports it
            continue
        handle.write(_HEAD.pack(buffer.tell()) + buffer.getvalue())
    handle.flush()


def _worker_count(workers):
    if workers:
        return workers
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _stale(generator):
    """Absolute paths of the Markdown files Pelican would read rather than take from its cache."""
    settings, readers = generator.settings, generator.readers
    if generator.__class__.__name__ == "ArticlesGenerator":
        paths, exclude = settings["ARTICLE_PATHS"], settings["ARTICLE_EXCLUDES"]
    else:
        paths, exclude = settings["PAGE_PATHS"], settings["PAGE_EXCLUDES"]
    stale = []
    for relative in generator.get_files(paths, exclude=exclude):
        full = os.path.abspath(os.path.join(generator.path, relative))
        if file_suffix(full) not in readers.readers:
            continue
        if readers.get_cached_data(full, None) is not None:
            continue
        stale.append(full)
    return stale


def _shared(value, seen):
    """The same Tag, Category or Author object for every post naming it.

    Each result is unpickled apart, so each post would get its own objects, as
    Pelican gives them; one per name is 5 fewer objects a post to keep and for
    Pelican's save of the reader cache to go through (about 10 MB at 5000 posts).
    """
    if isinstance(value, URLWrapper):
        return seen.setdefault((type(value), value.name), value)
    if isinstance(value, list):
        return [_shared(item, seen) for item in value]
    return value


# How long the build waits for each reading worker; past this it stops the worker and
# Pelican reads its files, so a stuck helper never holds up a build.
WORKER_WAIT_SECONDS = 600


def read_stale(generator, workers, min_files):
    """Read the generator's stale files in `workers` forked processes (0: one per core)."""
    count = _worker_count(workers)
    if count < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return
    stale = _stale(generator)
    if len(stale) < min_files:
        return
    readers, settings = generator.readers, generator.settings
    children = {}
    for at in range(count):
        results = tempfile.TemporaryFile(prefix="fastread-")
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            status = 1
            try:
                _work(readers, stale[at::count], results)
                status = 0
            finally:
                os._exit(status)
        children[pid] = results
    done = 0
    seen = {}
    for pid, results in children.items():
        with results:
            # Pelican reads the files of a worker that failed or was stopped (it reports
            # a file's own problem itself).
            late = "fastread: a reading worker took over %d s; Pelican reads its files"
            if not helper_ended(pid, WORKER_WAIT_SECONDS, log, late):
                log.debug("fastread: worker %d did not finish its files", pid)
                continue
            results.seek(0)
            while head := results.read(_HEAD.size):
                data = io.BytesIO(results.read(_HEAD.unpack(head)[0]))
                path, stamp, content, metadata, texts = _Unpickler(data, settings).load()
                metadata = {sys.intern(k): _shared(v, seen) for k, v in metadata.items()}
                pelican_private.put_cached(readers, path, stamp, content, metadata)
                memo.remember(texts)
                done += 1
    log.debug("fastread: workers read %d of %d stale files, Pelican the rest", done, len(stale))
