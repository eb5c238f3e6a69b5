"""The machinery behind the fastread plugin (see the package docstring)."""

import ctypes
import ctypes.util
import gc
import gzip
import hashlib
import logging
import mmap
import multiprocessing
import os
import pickle
import struct
import tempfile
import zlib

import smartypants
import typogrify
import typogrify.filters
from pelican.readers import _filter_discardable_metadata  # what Pelican caches
from pelican.urlwrappers import Author, Category, Tag
from pelican.utils import file_suffix

log = logging.getLogger(__name__)

DEFAULTS = {"workers": 0, "min_files": 40, "typogrify_cache": True}
# Stored in the reader cache beside the per-file entries; bump on format change.
MEMO_KEY = "fastread:typogrify:v1"
_VERSION = getattr(typogrify, "__version__", "") + "/" + smartypants.__version__

_original_typogrify = typogrify.filters.typogrify
# (previous memo, memo being built) of the file Pelican is reading right now.
_active = None


class FastreadSettingsError(ValueError):
    """FASTREAD holds an unknown key or a value of the wrong type."""


def fastread_settings(settings):
    """FASTREAD merged over the defaults."""
    return {**DEFAULTS, **(settings.get("FASTREAD") or {})}


def check_settings(pelican):
    """Fail at start-up, naming the key, if FASTREAD is malformed; adapt an old cache."""
    _uncompress_old_cache(pelican.settings)
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


def _uncompress_old_cache(settings):
    """Rewrite gzip cache files uncompressed when GZIP_CACHE is off.

    Pelican would warn that it cannot unpickle them (failing a `--fatal warnings`
    build) and start from an empty cache; their content is still good.
    """
    if settings.get("GZIP_CACHE", True) or not settings.get("LOAD_CONTENT_CACHE"):
        return
    folder = settings.get("CACHE_PATH")
    if not folder or not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        try:
            with open(path, "rb") as handle:
                if handle.read(2) != b"\x1f\x8b":
                    continue
            with gzip.open(path, "rb") as handle:
                data = handle.read()
            with open(path + ".tmp", "wb") as handle:
                handle.write(data)
            os.replace(path + ".tmp", path)
        except OSError as error:
            log.debug("fastread: left cache file %s as it is (%s)", path, error)


# --- the reader cache's text, compressed -----------------------------------


class _Inflate:
    """Pickles as `zlib.decompress(data)`: the UTF-8 bytes of a packed text."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data

    def __reduce__(self):
        return (zlib.decompress, (self.data,))


class _Packed:
    """A source's HTML as Pelican's reader cache keeps it, compressed in memory.

    The raw HTML is only needed again to find its typogrify memo and to save the
    cache, so it stays zlib-compressed (a quarter of the size) while the build
    runs. It pickles as `str(zlib.decompress(data), "utf-8")`: the cache file
    holds plain text for anyone loading it, with or without this plugin.
    """

    __slots__ = ("data",)

    def __init__(self, text):
        self.data = zlib.compress(text.encode("utf-8", "surrogatepass"), 1)

    def text(self):
        """The HTML as the reader returned it."""
        return zlib.decompress(self.data).decode("utf-8", "surrogatepass")

    def __reduce__(self):
        return (str, (_Inflate(self.data), "utf-8", "surrogatepass"))


def _pack(data):
    """(content, metadata) with the content packed, as it goes into the cache."""
    content, metadata = data
    return (_Packed(content) if isinstance(content, str) else content, metadata)


# --- typogrify cache ------------------------------------------------------


def _memo_key(text, ignore_tags, filters):
    digest = hashlib.blake2b(digest_size=20)
    options = (
        _VERSION,
        smartypants.Attr.default,
        tuple(ignore_tags or ()),
        sorted(filters.items()),
    )
    digest.update(repr(options).encode())
    digest.update(b"\0")
    digest.update(str(text).encode("utf-8", "surrogatepass"))
    return digest.digest()


def cached_typogrify(text, ignore_tags=None, **filters):
    """typogrify.filters.typogrify, answered from the memo of the file being read."""
    if _active is None:
        return _original_typogrify(text, ignore_tags, **filters)
    previous, current = _active
    key = _memo_key(text, ignore_tags, filters)
    result = current.get(key)
    if result is None:
        result = previous.get(key)
        if result is None:
            result = _original_typogrify(text, ignore_tags, **filters)
        current[key] = result
    return result


def _set_smartypants_like_pelican(settings):
    """The smartypants attributes Pelican's Readers.read_file sets before typogrify."""
    dashes = settings["TYPOGRIFY_DASHES"]
    if dashes == "oldschool":
        smartypants.Attr.default = smartypants.Attr.set2
    elif dashes == "oldschool_inverted":
        smartypants.Attr.default = smartypants.Attr.set3
    else:
        smartypants.Attr.default = smartypants.Attr.set1
    smartypants.Attr.default |= smartypants.Attr.w


def _typogrify_like_pelican(settings, text):
    filters = dict.fromkeys(settings["TYPOGRIFY_OMIT_FILTERS"], False)
    return cached_typogrify(text, settings["TYPOGRIFY_IGNORE_TAGS"], **filters)


class _ReadersState:
    """What fastread keeps for one Readers object (one per generator)."""

    def __init__(self, readers, options):
        self.readers = readers
        self.options = options
        self.memo = None  # {source path: {key: typogrified text}}, loaded lazily
        # Whether anything new went into the cache; if not, saving it is skipped.
        self.dirty = False
        # The workers reading this generator's files, while they run.
        self.reading = None

    def load_memo(self):
        if self.memo is None:
            stored = self.readers._cache.get(MEMO_KEY)
            self.memo = dict(stored) if isinstance(stored, dict) else {}
        return self.memo


def on_readers_init(readers):
    """Wrap this Readers' read_file and save_cache (instance attributes only)."""
    options = fastread_settings(readers.settings)
    state = _ReadersState(readers, options)
    readers._fastread = state
    use_memo = options["typogrify_cache"] and readers.settings.get("TYPOGRIFY")
    if use_memo:
        typogrify.filters.typogrify = cached_typogrify
    original_read_file = readers.read_file
    original_save_cache = readers.save_cache
    original_cache_data = readers.cache_data
    original_get_cached_data = readers.get_cached_data

    def cache_data(filename, data):
        state.dirty = True
        original_cache_data(filename, _pack(data))

    def get_cached_data(filename, default=None):
        data = original_get_cached_data(filename, default)
        if data is not default and isinstance(data, tuple) and isinstance(data[0], _Packed):
            return (data[0].text(), data[1])
        return data

    def read_file(base_path, path, *args, **kwargs):
        global _active
        full = os.path.abspath(os.path.join(base_path, path))
        if state.reading is not None and not state.reading.claim(full):
            # A worker has this file: from here on, its results are needed.
            state.reading.finish()
        try:
            if not use_memo:
                return original_read_file(base_path, path, *args, **kwargs)
            memo = state.load_memo()
            current = {}
            _active = (memo.get(full, {}), current)
            try:
                return original_read_file(base_path, path, *args, **kwargs)
            finally:
                _active = None
                if memo.get(full) != current:
                    memo[full] = current
                    state.dirty = True
        finally:
            if not getattr(readers, "_cache_data_policy", False):
                # Nothing is saved: drop what the workers pre-read to spare memory.
                readers._cache.pop(full, None)

    def save_cache():
        if state.reading is not None:
            state.reading.finish()
        if use_memo and state.memo is not None and readers._cache_data_policy:
            kept = {path: memo for path, memo in state.memo.items() if os.path.exists(path)}
            if len(kept) != len(state.memo):
                state.dirty = True
            readers._cache[MEMO_KEY] = kept
        cache_file = getattr(readers, "_cache_path", "")
        if state.dirty or not cache_file or not os.path.exists(cache_file):
            original_save_cache()
        # Else everything came from this very file: writing it again changes nothing.
        # Pelican reads nothing after saving; free the sources' copy before rendering.
        readers._cache = {}
        state.memo = None
        _return_free_memory()

    readers.read_file = read_file
    readers.save_cache = save_cache
    readers.cache_data = cache_data
    readers.get_cached_data = get_cached_data


def _return_free_memory():
    """Hand the pages the freed cache occupied back to the system (glibc only).

    Freed text stays in the C heap otherwise, counted in this process's memory
    while it renders, and copied into every worker it forks.
    """
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


# --- parallel reading -----------------------------------------------------
#
# Pelican reads the generator's files in its own loop, in this process, while
# forked workers take stale files from the other end of the same list. Each
# file is claimed once, in memory shared across the fork. A worker writes what
# it read to a temporary file and exits when the two ends meet; only then does
# this process load its results into the reader cache. So the workers' memory
# is gone before their results arrive, and the peak is never this process's
# full cache plus the workers beside it.

_FREE, _PARENT, _WORKER = 0, 1, 2
_WRAPPERS = (Tag, Category, Author)
_WRAPPERS_BY_NAME = {kind.__name__: kind for kind in _WRAPPERS}
# Results a worker writes at a time; the pickle memo is cleared between them.
_BATCH = 32


class _WarningCatcher(logging.Handler):
    """Remembers whether anything at WARNING or above was logged."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.warned = False

    def emit(self, record):
        self.warned = True


def _silence_logging():
    # Workers print nothing: a file that warns is read again by Pelican itself.
    catcher = _WarningCatcher()
    root = logging.getLogger()
    root.handlers[:] = [catcher]
    root.setLevel(logging.WARNING)
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.filters[:] = []
        logger.propagate = True
    return catcher


def _read_one(readers, full, catcher, use_memo):
    """(path, stamp, packed content, metadata, typogrify memo), or None to leave it."""
    global _active
    catcher.warned = False
    try:
        reader = readers.readers[file_suffix(full)]
        stamp = readers._get_file_stamp(full)
        content, metadata = reader.read(full)
        metadata = _filter_discardable_metadata(metadata)
        memo = {}
        if use_memo:
            _set_smartypants_like_pelican(readers.settings)
            _active = ({}, memo)
            try:
                for text in (content, metadata.get("title"), metadata.get("summary")):
                    if text:
                        _typogrify_like_pelican(readers.settings, text)
            finally:
                _active = None
        packed, metadata = _pack((content, metadata))
    except Exception:  # Pelican reads it again and reports the error properly.
        return None
    if catcher.warned:
        return None
    return (full, stamp, packed, metadata, memo)


class _Pickler(pickle.Pickler):
    """Pickles a worker's results for the process that started it.

    The settings every Tag, Category and Author refers to stay behind (the
    loading side puts its own in their place, not a copy per batch); a packed
    text stays packed; a Tag, Category or Author with nothing but its name
    is sent as its name and built again by its class, as Pelican builds it,
    at a fraction of the memory of an unpickled object and its attributes.
    """

    def __init__(self, handle, settings):
        super().__init__(handle, protocol=pickle.HIGHEST_PROTOCOL)
        self.settings = settings

    def persistent_id(self, obj):
        if obj is self.settings:
            return "settings"
        kind = type(obj)
        if kind is _Packed:
            return ("packed", obj.data)
        if kind in _WRAPPERS and obj.__dict__ == kind(obj.name, self.settings).__dict__:
            return ("wrapper", kind.__name__, obj.name)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, handle, settings):
        super().__init__(handle)
        self.settings = settings

    def persistent_load(self, pid):
        if pid == "settings":
            return self.settings
        if pid[0] == "packed":
            packed = _Packed.__new__(_Packed)
            packed.data = pid[1]
            return packed
        if pid[0] == "wrapper":
            return _WRAPPERS_BY_NAME[pid[1]](pid[2], self.settings)
        raise pickle.UnpicklingError(f"fastread: unknown reference {pid!r}")


class _ParallelRead:
    """Workers reading a generator's stale files from the end of Pelican's order."""

    def __init__(self, readers, state, stale, workers, use_memo):
        self.readers = readers
        self.state = state
        self.use_memo = use_memo
        self.position = {full: at for at, full in enumerate(stale)}
        self.stale = stale
        # One byte per file (who took it), the next file from the end, a stop flag.
        self.count = len(stale)
        self.shared = mmap.mmap(-1, self.count + 9)
        struct.pack_into("q", self.shared, self.count, self.count)
        self.lock = multiprocessing.get_context("fork").Lock()
        self.parent = os.getpid()
        self.children = {}  # pid -> temporary file it writes
        for _ in range(workers - 1):
            results = tempfile.TemporaryFile(prefix="fastread-")
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                status = 1
                try:
                    self._work(results)
                    status = 0
                finally:
                    os._exit(status)
            self.children[pid] = results

    def claim(self, full):
        """True if this process may read `full` (now marked as ours)."""
        at = self.position.get(full)
        if at is None:
            return True
        with self.lock:
            if self.shared[at] == _WORKER:
                return False
            self.shared[at] = _PARENT
            return True

    def _next_from_end(self):
        with self.lock:
            if self.shared[self.count + 8]:
                return None
            at = struct.unpack_from("q", self.shared, self.count)[0]
            while at > 0:
                at -= 1
                if self.shared[at] == _FREE:
                    self.shared[at] = _WORKER
                    struct.pack_into("q", self.shared, self.count, at)
                    return at
            struct.pack_into("q", self.shared, self.count, 0)
            return None

    def _work(self, results):  # pragma: no cover - runs in the child
        catcher = _silence_logging()
        batch = []

        def write():
            _Pickler(results, self.readers.settings).dump(batch)
            batch.clear()

        while os.getppid() == self.parent:
            at = self._next_from_end()
            if at is None:
                break
            done = _read_one(self.readers, self.stale[at], catcher, self.use_memo)
            if done is not None:
                batch.append(done)
            if len(batch) >= _BATCH:
                write()
        write()
        results.flush()

    def finish(self):
        """Stop the workers, wait for them, and put what they read in the cache."""
        if self.state.reading is not self:
            return
        self.state.reading = None
        with self.lock:
            self.shared[self.count + 8] = 1
        readers, state = self.readers, self.state
        memo = state.load_memo() if self.use_memo else None
        done = 0
        try:
            for pid, results in self.children.items():
                _, status = os.waitpid(pid, 0)
                if status != 0:
                    log.debug("fastread: worker %d stopped with status %d", pid, status)
                    continue
                results.seek(0)
                while True:
                    try:
                        batch = _Unpickler(results, readers.settings).load()
                    except EOFError:
                        break
                    for full, stamp, packed, metadata, entries in batch:
                        # A file Pelican has read meanwhile keeps Pelican's result.
                        if readers._cache.get(full, (None,))[0] == stamp:
                            continue
                        readers._cache[full] = (stamp, (packed, metadata))
                        if memo is not None:
                            memo[full] = entries
                        done += 1
                    del batch
        finally:
            for results in self.children.values():
                results.close()
            self.children = {}
            self.shared.close()
            gc.unfreeze()
        if done:
            state.dirty = True
        log.debug(
            "fastread: workers read %d of %d stale files, Pelican the rest",
            done,
            self.count,
        )


def _worker_count(options):
    if options["workers"]:
        return options["workers"]
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def on_generator_init(generator):
    """Start workers reading the generator's stale files from the end of its list."""
    readers = generator.readers
    state = getattr(readers, "_fastread", None)
    if state is None or state.reading is not None:
        return
    settings = generator.settings
    workers = _worker_count(state.options)
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return
    if generator.__class__.__name__ == "ArticlesGenerator":
        paths, exclude = settings["ARTICLE_PATHS"], settings["ARTICLE_EXCLUDES"]
    else:
        paths, exclude = settings["PAGE_PATHS"], settings["PAGE_EXCLUDES"]
    generator_cache = settings["CONTENT_CACHING_LAYER"] == "generator"
    stale = []
    # The order Pelican's loop will read them in (the same set, built the same way).
    for relative in generator.get_files(paths, exclude=exclude):
        full = os.path.abspath(os.path.join(generator.path, relative))
        if file_suffix(full) not in readers.readers:
            continue
        if generator_cache and generator.get_cached_data(relative, None) is not None:
            continue
        if readers.get_cached_data(full, None) is not None:
            continue
        stale.append(full)
    if len(stale) < state.options["min_files"]:
        return
    use_memo = bool(state.options["typogrify_cache"] and settings.get("TYPOGRIFY"))
    # Objects that exist now are never collected in the workers: keep the garbage
    # collector from touching (and so copying) the pages they share with us, and
    # give the free pages back first, so nobody copies them.
    gc.collect()
    _return_free_memory()
    gc.freeze()
    try:
        state.reading = _ParallelRead(readers, state, stale, workers, use_memo)
    except BaseException:
        gc.unfreeze()
        raise
