"""The machinery behind the fastread plugin (see the package docstring)."""

import ctypes
import ctypes.util
import gc
import gzip
import hashlib
import io
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
# Pelican's cache file holds only the index of fastread's records, under this
# key; bump it when the record format changes.
INDEX_KEY = "fastread:records:v1"
# Where earlier versions kept every typogrify memo, in Pelican's cache: dropped on load.
OLD_MEMO_KEY = "fastread:typogrify:v1"
_VERSION = getattr(typogrify, "__version__", "") + "/" + smartypants.__version__

_original_typogrify = typogrify.filters.typogrify
# [previous memo, memo being built] of the file Pelican is reading right now.
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


# --- the reader cache, one record per file on disk ------------------------
#
# Pelican keeps its reader cache as one dict in memory, every post's HTML and
# metadata in it, and pickles it whole when reading ends. fastread keeps each
# file's entry (the reader's HTML, its metadata and typogrify's results) as one
# compressed record in a file beside Pelican's, and in memory only where each
# record lies. Pelican's cache file holds that index as plain data: a build
# without fastread finds no entries in it and simply reads every file again.


class _Record:
    """Where one file's cache entry lies: an open file, an offset and a length."""

    __slots__ = ("handle", "offset", "length")

    def __init__(self, handle, offset, length):
        self.handle = handle
        self.offset = offset
        self.length = length

    def read(self):
        """The record's bytes."""
        return os.pread(self.handle.fileno(), self.length, self.offset)


def _encode(settings, content, metadata, memo):
    """One file's cache entry as compressed bytes."""
    buffer = io.BytesIO()
    _Pickler(buffer, settings).dump((content, metadata, memo))
    return zlib.compress(buffer.getvalue(), 1)


def _decode(settings, data):
    """(content, metadata, typogrify memo) from _encode's bytes."""
    return _Unpickler(io.BytesIO(zlib.decompress(data)), settings).load()


def _append(handle, data):
    """Write `data` at the end of `handle`; return its offset."""
    offset = handle.seek(0, os.SEEK_END)
    view = memoryview(data)
    while view:
        view = view[handle.write(view) :]
    return offset


class _RecordStore:
    """The records of one Readers' cache: last build's file and this build's new ones."""

    def __init__(self, readers):
        self.readers = readers
        self.scratch = None  # a temporary file for the records made in this build
        self.handles = []  # every file records are read from, closed after saving

    @property
    def path(self):
        """The records file, beside Pelican's cache file."""
        return self.readers._cache_path + ".records"

    def load(self):
        """Replace the index Pelican loaded by an entry per file pointing at its record."""
        cache = getattr(self.readers, "_cache", None)
        if cache is None:  # a Readers made without a cache
            return
        cache.pop(OLD_MEMO_KEY, None)
        index = cache.pop(INDEX_KEY, None)
        if not isinstance(index, dict):
            return
        try:
            handle = open(self.path, "rb", buffering=0)  # noqa: SIM115 - closed in close()
        except OSError as error:
            log.debug("fastread: no records file %s (%s); reading everything", self.path, error)
            return
        self.handles.append(handle)
        try:
            if handle.read(len(index["token"])) != index["token"]:
                raise ValueError("another build's records")
            entries = {
                full: (stamp, _Record(handle, offset, length))
                for full, (stamp, offset, length) in index["entries"].items()
            }
        except (KeyError, TypeError, ValueError) as error:
            log.debug(
                "fastread: %s does not match its index (%s); reading everything", self.path, error
            )
            return
        cache.update(entries)

    def add(self, data):
        """Keep a new record for this build; return where it lies."""
        if self.scratch is None:
            self.scratch = tempfile.TemporaryFile(prefix="fastread-", buffering=0)
            self.handles.append(self.scratch)
        return _Record(self.scratch, _append(self.scratch, data), len(data))

    def adopt(self, handle):
        """Read records from `handle` (a worker's results) until the cache is saved."""
        self.handles.append(handle)

    def save(self, entries):
        """Write every record `entries` names to one new file; return the index for it."""
        token = os.urandom(16)
        index = {}
        partial = self.path + ".part"
        with open(partial, "wb") as out:
            out.write(token)
            offset = len(token)
            for full, (stamp, record) in entries.items():
                data = record.read()
                out.write(data)
                index[full] = (stamp, offset, len(data))
                offset += len(data)
        os.replace(partial, self.path)
        return {"token": token, "entries": index}

    def close(self):
        """Close every file records were read from."""
        for handle in self.handles:
            handle.close()
        self.handles = []
        self.scratch = None


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
        self.records = _RecordStore(readers)
        self.loaded = False
        # Whether anything new went into the cache; if not, saving it is skipped.
        self.dirty = False
        # The workers reading this generator's files, while they run.
        self.reading = None
        # (content, metadata) of the file being read, as the reader returned it
        # ("fresh") or as its record held it ("cached"), with the record's memo.
        self.fresh = None
        self.cached = None
        # One Tag, Category and Author object per name, shared by every file
        # (Pelican makes one per file, so each post carries its own copies).
        self.wrappers = {}

    def cache(self):
        """Pelican's reader cache, last build's records in it (loaded on first use).

        Pelican sets its cache up after `readers_init`, so not before.
        """
        if not self.loaded:
            self.loaded = True
            self.records.load()
        return getattr(self.readers, "_cache", {})

    def is_fresh(self, full):
        """Whether the cache holds an entry for `full` made from its current version."""
        entry = self.cache().get(full)
        return entry is not None and entry[0] == self.readers._get_file_stamp(full)

    def keep(self, full, stamp, content, metadata, memo):
        """Store a file's cache entry as a new record."""
        data = _encode(self.readers.settings, content, metadata, memo)
        self.readers._cache[full] = (stamp, self.records.add(data))
        self.dirty = True


def on_readers_init(readers):
    """Wrap this Readers' read_file and its cache methods (instance attributes only)."""
    options = fastread_settings(readers.settings)
    state = _ReadersState(readers, options)
    readers._fastread = state
    use_memo = options["typogrify_cache"] and readers.settings.get("TYPOGRIFY")
    if use_memo:
        typogrify.filters.typogrify = cached_typogrify
    original_read_file = readers.read_file
    original_save_cache = readers.save_cache
    original_get_cached_data = readers.get_cached_data

    def cache_data(filename, data):
        # Stored once read_file is done, with typogrify's results beside it.
        if getattr(readers, "_cache_data_policy", False):
            state.fresh = (readers._get_file_stamp(filename), *data)

    def get_cached_data(filename, default=None):
        state.cache()
        data = original_get_cached_data(filename, default)
        if isinstance(data, _Record):
            try:
                content, metadata, memo = _decode(readers.settings, data.read())
            except Exception as error:  # noqa: BLE001 - a damaged cache only costs a read
                log.debug("fastread: unreadable cache record for %s (%s)", filename, error)
                return default
            state.cached = (content, metadata, memo)
            if _active is not None:
                _active[0] = memo
            return (content, metadata)
        return data

    def read_file(base_path, path, *args, **kwargs):
        global _active
        full = os.path.abspath(os.path.join(base_path, path))
        cache = state.cache()
        if state.reading is not None and not state.reading.claim(full):
            # A worker has this file: from here on, its results are needed.
            state.reading.finish()
        state.fresh = state.cached = None
        current = {}
        _active = [{}, current] if use_memo else None
        try:
            result = original_read_file(base_path, path, *args, **kwargs)
        finally:
            _active = None
        if not getattr(readers, "_cache_data_policy", False):
            # Nothing is saved: drop what the workers read to spare memory.
            cache.pop(full, None)
        elif state.fresh is not None:
            state.keep(full, *state.fresh, current)
        elif state.cached is not None and use_memo and state.cached[2] != current:
            content, metadata, _ = state.cached
            state.keep(full, cache[full][0], content, metadata, current)
        elif full in cache and not isinstance(cache[full][1], _Record):
            # An entry of a cache written without records (plain Pelican's): keep it as one.
            stamp, (content, metadata) = cache[full]
            state.keep(full, stamp, content, metadata, current)
        state.fresh = state.cached = None
        if result is not None:
            _share_wrappers(result, state.wrappers)
        return result

    def save_cache():
        if state.reading is not None:
            state.reading.finish()
        cache = state.cache()
        entries = {
            full: entry
            for full, entry in cache.items()
            if isinstance(entry[1], _Record) and os.path.exists(full)
        }
        cache_file = getattr(readers, "_cache_path", "")
        if getattr(readers, "_cache_data_policy", False) and (
            state.dirty
            or len(entries) != len(cache)
            or not os.path.exists(cache_file)
            or not os.path.exists(state.records.path)
        ):
            try:
                os.makedirs(readers.settings["CACHE_PATH"], exist_ok=True)
                readers._cache = {INDEX_KEY: state.records.save(entries)}
            except OSError as error:
                log.warning("fastread: could not save the cache %s: %s", cache_file, error)
            else:
                original_save_cache()
        # Else everything came from these very files: writing them again changes nothing.
        # Pelican reads nothing after saving; free what the cache held before rendering.
        readers._cache = {}
        state.records.close()
        _return_free_memory()

    readers.read_file = read_file
    readers.save_cache = save_cache
    readers.cache_data = cache_data
    readers.get_cached_data = get_cached_data


def _plain_wrapper(value):
    """Whether `value` is a Tag, Category or Author with nothing but its name.

    Such an object is equal in every attribute to the one its class makes from
    the name, so one can stand for all of them.
    """
    kind = type(value)
    return kind in _WRAPPERS and value.__dict__ == kind(value.name, value.settings).__dict__


def _share_wrappers(content, shared):
    """Point `content` and its metadata at the shared Tag, Category and Author objects.

    Only plain ones (see _plain_wrapper) are exchanged.
    """

    def shared_one(value):
        if not _plain_wrapper(value):
            return value
        return shared.setdefault((type(value), value.name), value)

    for attributes in (content.__dict__, getattr(content, "metadata", {})):
        for name, value in attributes.items():
            if type(value) is list:
                value[:] = [shared_one(item) for item in value]
            else:
                attributes[name] = shared_one(value)


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
# file is claimed once, in memory shared across the fork. A worker writes a
# cache record per file to a temporary file and exits when the two ends meet;
# the reader cache then points at those records where they lie, and Pelican's
# loop loads each one only when it reaches that file.

_FREE, _PARENT, _WORKER = 0, 1, 2
_WRAPPERS = (Tag, Category, Author)
_WRAPPERS_BY_NAME = {kind.__name__: kind for kind in _WRAPPERS}


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
    """(path, stamp, record bytes), or None to leave the file to Pelican."""
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
            _active = [{}, memo]
            try:
                for text in (content, metadata.get("title"), metadata.get("summary")):
                    if text:
                        _typogrify_like_pelican(readers.settings, text)
            finally:
                _active = None
        record = _encode(readers.settings, content, metadata, memo)
    except Exception:  # Pelican reads it again and reports the error properly.
        return None
    if catcher.warned:
        return None
    return (full, stamp, record)


class _Pickler(pickle.Pickler):
    """Pickles a cache record without the objects every record shares.

    The settings every Tag, Category and Author refers to stay behind (the
    loading side puts its own in their place, not a copy per record), and a
    Tag, Category or Author with nothing but its name is stored as its name
    and built again by its class, as Pelican builds it.
    """

    def __init__(self, handle, settings):
        super().__init__(handle, protocol=pickle.HIGHEST_PROTOCOL)
        self.settings = settings

    def persistent_id(self, obj):
        if obj is self.settings:
            return "settings"
        kind = type(obj)
        if _plain_wrapper(obj):
            return ("wrapper", kind.__name__, obj.name)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, handle, settings):
        super().__init__(handle)
        self.settings = settings

    def persistent_load(self, pid):
        if pid == "settings":
            return self.settings
        if pid[0] == "wrapper":
            return _WRAPPERS_BY_NAME[pid[1]](pid[2], self.settings)
        raise pickle.UnpicklingError(f"fastread: unknown reference {pid!r}")


_HEAD = struct.Struct("<I")


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
            results = tempfile.TemporaryFile(prefix="fastread-", buffering=0)
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
        # Each file's result: a header (its length, then path, stamp and record
        # length, pickled) and the record, ready to be used where it lies.
        catcher = _silence_logging()
        while os.getppid() == self.parent:
            at = self._next_from_end()
            if at is None:
                break
            done = _read_one(self.readers, self.stale[at], catcher, self.use_memo)
            if done is not None:
                full, stamp, record = done
                head = pickle.dumps((full, stamp, len(record)))
                _append(results, _HEAD.pack(len(head)) + head + record)

    def finish(self):
        """Stop the workers, wait for them, and point the cache at what they read."""
        if self.state.reading is not self:
            return
        self.state.reading = None
        with self.lock:
            self.shared[self.count + 8] = 1
        cache, records = self.state.cache(), self.state.records
        done = 0
        try:
            for pid, results in self.children.items():
                _, status = os.waitpid(pid, 0)
                if status != 0:
                    log.debug("fastread: worker %d stopped with status %d", pid, status)
                    results.close()
                    continue
                records.adopt(results)
                fd, offset, end = results.fileno(), 0, os.fstat(results.fileno()).st_size
                while offset < end:
                    (size,) = _HEAD.unpack(os.pread(fd, _HEAD.size, offset))
                    offset += _HEAD.size
                    full, stamp, length = pickle.loads(os.pread(fd, size, offset))
                    offset += size
                    # A file Pelican has read meanwhile keeps Pelican's result.
                    if cache.get(full, (None,))[0] != stamp:
                        cache[full] = (stamp, _Record(results, offset, length))
                        done += 1
                    offset += length
        finally:
            self.children = {}
            self.shared.close()
            gc.unfreeze()
        if done:
            self.state.dirty = True
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
        if state.is_fresh(full):
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
