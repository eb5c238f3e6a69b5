"""The machinery behind the fastread plugin (see the package docstring)."""

import ctypes
import ctypes.util
import gc
import gzip
import hashlib
import logging
import multiprocessing
import os

import smartypants
import typogrify
import typogrify.filters
from pelican.readers import _filter_discardable_metadata  # what Pelican caches
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

    def cache_data(filename, data):
        state.dirty = True
        original_cache_data(filename, data)

    def read_file(base_path, path, *args, **kwargs):
        global _active
        full = os.path.abspath(os.path.join(base_path, path))
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

# Set in the parent just before forking; the workers inherit it.
_worker_job = None


class _WarningCatcher(logging.Handler):
    """Remembers whether anything at WARNING or above was logged."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.warned = False

    def emit(self, record):
        self.warned = True


def _worker_start():
    # Workers print nothing: a file that warns is re-read by Pelican itself.
    catcher = _WarningCatcher()
    root = logging.getLogger()
    root.handlers[:] = [catcher]
    root.setLevel(logging.WARNING)
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.filters[:] = []
        logger.propagate = True
    _worker_job["catcher"] = catcher


def _read_chunk(paths):
    readers = _worker_job["readers"]
    settings = readers.settings
    catcher = _worker_job["catcher"]
    typogrify_on = _worker_job["typogrify"]
    results = []
    global _active
    for full in paths:
        catcher.warned = False
        try:
            reader = readers.readers[file_suffix(full)]
            stamp = readers._get_file_stamp(full)
            content, metadata = reader.read(full)
            metadata = _filter_discardable_metadata(metadata)
            memo = {}
            if typogrify_on:
                _set_smartypants_like_pelican(settings)
                _active = ({}, memo)
                try:
                    for text in (content, metadata.get("title"), metadata.get("summary")):
                        if text:
                            _typogrify_like_pelican(settings, text)
                finally:
                    _active = None
        except Exception:  # Pelican re-reads it and reports the error properly.
            continue
        if not catcher.warned:
            results.append((full, stamp, content, metadata, memo))
    return results


def _worker_count(options):
    if options["workers"]:
        return options["workers"]
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def on_generator_init(generator):
    """Pre-read the generator's stale files in parallel into its reader cache."""
    global _worker_job
    readers = generator.readers
    state = getattr(readers, "_fastread", None)
    if state is None:
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
    for relative in sorted(generator.get_files(paths, exclude=exclude)):
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
    memo = state.load_memo() if use_memo else None
    chunk = max(1, len(stale) // (workers * 8))
    chunks = [stale[at : at + chunk] for at in range(0, len(stale), chunk)]
    _worker_job = {"readers": readers, "typogrify": use_memo}
    done = 0
    # Objects that exist now are never collected in the workers: keep the garbage
    # collector from touching (and so copying) the pages they share with us.
    gc.collect()
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers, initializer=_worker_start) as pool:
            for results in pool.imap_unordered(_read_chunk, chunks):
                for full, stamp, content, metadata, entries in results:
                    readers._cache[full] = (stamp, (content, metadata))
                    state.dirty = True
                    if memo is not None:
                        memo[full] = entries
                    done += 1
    finally:
        gc.unfreeze()
        _worker_job = None
    log.debug("fastread: %d of %d files read by %d workers", done, len(stale), workers)
