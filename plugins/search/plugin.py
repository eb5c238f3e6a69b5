"""Index the site for full-text search with Pagefind while Pelican writes it.

The theme marks what is found: `data-pagefind-body` on the main content of published
posts, trainings, intern calls and pages only (never lists, drafts or the search page),
with a `kind` filter and a `date`. Inside it Pagefind itself skips forms, navigation
and footers. The bundle goes to output/pagefind/, where the search page's script
(theme/static/js/search.js) loads pagefind.js.

Setting (all keys optional)::

    SEARCH = {
        "enabled": True,  # False: no index is written
        "defer": False,   # True: a build only notes what it wrote, and index_deferred()
                          # indexes it in the background (the dev server, after the reload)
        "write_early": True,  # False: Pagefind writes the bundle at the very end
    }

Each marked page Pelican writes (`content_written`) is sent at once to a Pagefind
process in service mode (service.py, the pinned `pagefind_bin` binary; nothing is
downloaded), which parses it on the other core while Pelican renders the rest. Once
Pelican has written its articles and pages (`page_writer_finalized`), Pagefind writes
the bundle while the build does its last work (feeds, the sitemap); `finalized` waits
for it. A marked page written after that makes the build index every page again, so
none is ever missing. Pagefind holds every page until it writes: its memory peaks
while it builds the index from them, as when it read the whole output at once.

Bundles are kept in CACHE_PATH/search/, each named by a digest of its pages and with the
list of them, so a build whose marked pages did not change reuses one: Pagefind starts
only once a page differs from every kept bundle's. That also keeps equal builds byte for
byte equal, which Pagefind 1.5 alone does not: it writes its filter index in hash-map
order. Only what this build wrote is indexed, not pages an earlier build left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from importlib.metadata import version
from pathlib import Path

from pelican import signals

from plugins.content_meta import merged_setting

from .service import PagefindError, PagefindService

logger = logging.getLogger(__name__)

DEFAULTS = {"enabled": True, "defer": False, "write_early": True}
BUNDLE = "pagefind"
MARKER = b"data-pagefind-body"
# Beside each kept bundle: {path of a page in the output: hash of the page}.
PAGE_LIST = "pages.json"
# Bundles kept in the cache: the development and the published builds differ in links.
KEPT_BUNDLES = 4
# Older than this, a bundle beyond those (or a staging folder a killed build left) goes;
# younger, another build may be copying it.
GRACE_SECONDS = 120


class SearchError(Exception):
    """SEARCH is wrong or Pagefind failed; the message says what happened."""


class _Stopped(Exception):
    """Background indexing was stopped because a new build began."""


def check_settings(settings) -> dict:
    """SEARCH merged over the defaults; raises SearchError on a mistake."""
    config = merged_setting(settings, "SEARCH", "search", DEFAULTS, SearchError)
    for key, value in config.items():
        if not isinstance(value, bool):
            raise SearchError(f"search: SEARCH['{key}'] must be True or False, got {value!r}")
    return config


def digest(pages: dict[str, str]) -> str:
    """The name of the bundle of `pages` ({path: page hash}): same pages, same name."""
    hasher = hashlib.sha256(version("pagefind_bin").encode())
    for name in sorted(pages):
        hasher.update(f"{name}\0{pages[name]}\n".encode())
    return hasher.hexdigest()[:24]


class Indexing:
    """One build's marked pages on their way to a bundle in output/pagefind/.

    `add()` each page written, then `finish()`; `stop` (an Event) set with `terminate()`
    from another thread abandons the work (_Stopped). Pagefind starts with the first
    page no kept bundle holds as it is, and is given the pages held back until then.
    `start_writing()` lets Pagefind write the bundle while the build does its last
    work; a marked page added after it makes `finish()` index every page again.
    """

    def __init__(self, output: Path, cache: Path, stop: threading.Event | None = None):
        self.output, self.cache, self.stop = Path(output), Path(cache), stop
        self.pages: dict[str, str] = {}
        self.service: PagefindService | None = None
        self._candidates = _kept_page_lists(self.cache)
        self._lock = threading.Lock()
        self._writing: tuple[Path, int] | None = None  # (staging folder, request)
        self._late = False  # a marked page came after start_writing()

    def add(self, path):
        """Index the page Pelican wrote at `path` if it is marked for search."""
        data = Path(path).read_bytes()
        if MARKER not in data:
            return
        name = os.path.relpath(path, self.output).replace(os.sep, "/")
        self.pages[name] = hashlib.sha256(data).hexdigest()[:32]
        if self._writing is not None:
            self._late = True
            return
        with self._pagefind_errors():
            if self.service is not None:
                self.service.add_html(name, data.decode())
                return
            self._candidates = [
                kept for kept in self._candidates if kept.get(name) == self.pages[name]
            ]
            if not self._candidates:
                self._start()

    def start_writing(self):
        """Have Pagefind write the bundle of the pages added so far; finish() collects it."""
        if self.service is None or self._writing is not None:
            return
        self.cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.cache, prefix="staging-"))
        with self._pagefind_errors():
            self._writing = (staging, self.service.start_writing(staging / BUNDLE))

    def finish(self) -> int:
        """Put the bundle of the pages added in output/pagefind/; returns how many there were."""
        try:
            if not self.pages:
                shutil.rmtree(self.output / BUNDLE, ignore_errors=True)
                return 0
            kept = self.cache / digest(self.pages)
            if (kept / BUNDLE).is_dir():
                os.utime(kept)
            else:
                with self._pagefind_errors():
                    if self._late:  # the bundle being written misses a page
                        self.close()
                    if self.service is None:
                        self._start()
                    self.start_writing()
                    self._store(kept)
                _prune(self.cache)
            if self.stop is not None and self.stop.is_set():
                raise _Stopped
            install(kept / BUNDLE, self.output)
            return len(self.pages)
        finally:
            self.close()

    def close(self):
        """End Pagefind if it runs (its index is dropped unless finish() wrote it)."""
        with self._lock:
            service, self.service = self.service, None
            writing, self._writing, self._late = self._writing, None, False
        if service is not None:
            service.terminate()
            service.close()
        if writing is not None:
            shutil.rmtree(writing[0], ignore_errors=True)

    def terminate(self):
        """Stop Pagefind at once; safe from another thread."""
        with self._lock:
            if self.service is not None:
                self.service.terminate()

    def _start(self):
        with self._lock:
            if self.stop is not None and self.stop.is_set():
                raise _Stopped
            self.service = PagefindService()
        for name in self.pages:  # those held back while a kept bundle still matched
            self.service.add_html(name, (self.output / name).read_bytes().decode())

    def _store(self, kept: Path):
        staging, request = self._writing
        try:
            self.service.wait_for_files(request)
            (staging / PAGE_LIST).write_text(json.dumps(self.pages), encoding="utf-8")
            try:
                staging.rename(kept)  # one step, so a build never reads half a bundle
            except OSError:
                if not (kept / BUNDLE).is_dir():  # else another build stored it first
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @contextlib.contextmanager
    def _pagefind_errors(self):
        try:
            yield
        except PagefindError as exc:
            self.close()
            if self.stop is not None and self.stop.is_set():
                raise _Stopped from None
            raise SearchError(
                "search: Pagefind could not index the site; the previous index in "
                f"{BUNDLE}/ is kept. {exc}"
            ) from None


def _kept_page_lists(cache: Path) -> list[dict[str, str]]:
    """The page lists of the bundles in the cache."""
    lists = []
    with contextlib.suppress(OSError):
        for entry in cache.iterdir():
            with contextlib.suppress(OSError, ValueError):
                lists.append(json.loads((entry / PAGE_LIST).read_text(encoding="utf-8")))
    return lists


def _link_or_copy(source, target):
    """A hard link (no bytes copied) where the file system allows one, else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _prune(cache: Path):
    """Keep the newest bundles, and drop staging folders that killed builds left."""
    ages = {}
    for entry in cache.iterdir():
        with contextlib.suppress(OSError):  # another build may remove it meanwhile
            ages[entry] = time.time() - entry.stat().st_mtime
    staging = [entry for entry in ages if entry.name.startswith("staging-")]
    bundles = sorted((entry for entry in ages if entry not in staging), key=ages.get)
    for entry in bundles[KEPT_BUNDLES:] + staging:
        if ages[entry] > GRACE_SECONDS:
            shutil.rmtree(entry, ignore_errors=True)


def install(bundle: Path, output: Path):
    """Put a copy of `bundle` at output/pagefind/, in place of the old one at once."""
    target, fresh, old = (output / f"{BUNDLE}{suffix}" for suffix in ("", ".new", ".old"))
    for leftover in (fresh, old):
        shutil.rmtree(leftover, ignore_errors=True)
    # Links: neither copy is ever changed in place, each is replaced whole.
    shutil.copytree(bundle, fresh, copy_function=_link_or_copy)
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def check_at_start(pelican):
    """Stop the build at start-up, with a clear message, on a wrong SEARCH."""
    check_settings(pelican.settings)


# This build's work: "indexing" (an Indexing fed as pages are written) or, deferred,
# "written" (the paths written, indexed after the build) with "output" and "cache".
_build: dict = {}
# What the last deferred build left to index, and the thread indexing it.
_pending: dict = {}
_background: dict = {}


def start_build(generators):
    """all_generators_finalized: get ready for the pages this build writes."""
    _end_build()  # what a failed build left
    settings, output = generators[0].settings, Path(generators[0].output_path)
    config = check_settings(settings)
    if not config["enabled"]:
        return
    cache = Path(settings["CACHE_PATH"], "search")
    if config["defer"]:
        _build.update(written=[], output=output, cache=cache)
    else:
        _build["indexing"] = Indexing(output, cache)


def page_written(path, context=None):
    """content_written: the page goes to Pagefind now, or is noted when deferred."""
    if "indexing" in _build:
        _build["indexing"].add(path)
    elif "written" in _build:
        _build["written"].append(path)


def write_early(generator, writer):
    """page_writer_finalized: every page is written (Pelican writes the articles, then the
    pages), so Pagefind writes the bundle while the build does its last work."""
    if "indexing" in _build and check_settings(generator.settings)["write_early"]:
        _build["indexing"].start_writing()


def index_output(pelican):
    """finalized: write the bundle of the pages written (or note them, when deferred)."""
    if "written" in _build:
        _pending.clear()
        _pending.update(_build)
        _build.clear()
        return
    indexing = _build.pop("indexing", None)
    if indexing is None:
        return
    started = time.perf_counter()
    count = indexing.finish()
    logger.info(
        "search: %d pages in %s/ (%.2f s at the end)", count, BUNDLE, time.perf_counter() - started
    )


def _end_build():
    indexing = _build.pop("indexing", None)
    if indexing is not None:
        indexing.close()
    _build.clear()


def index_deferred():
    """Index what the last deferred build wrote, in a background thread; returns at once."""
    stop_deferred()
    if not _pending:
        return
    stop = threading.Event()
    indexing = Indexing(_pending["output"], _pending["cache"], stop)
    thread = threading.Thread(
        target=_index_in_background,
        args=(indexing, _pending["written"], stop),
        name="search-index",
        daemon=True,
    )
    _pending.clear()
    _background.update(thread=thread, stop=stop, indexing=indexing)
    thread.start()


def _index_in_background(indexing, written, stop):
    try:
        for path in written:
            if stop.is_set():
                raise _Stopped
            indexing.add(path)
        indexing.finish()
    except _Stopped:
        indexing.close()
    except Exception as exc:  # noqa: BLE001 - reported; the preview keeps working
        indexing.close()
        logger.error("search: the index was not refreshed: %s", str(exc).removeprefix("search: "))


def stop_deferred():
    """End background indexing and wait for it (before a build changes the output)."""
    thread = _background.pop("thread", None)
    if thread is None:
        return
    _background.pop("stop").set()
    _background.pop("indexing").terminate()
    thread.join()


def register():
    """Connect the plugin to Pelican's signals."""
    signals.initialized.connect(check_at_start)
    signals.all_generators_finalized.connect(start_build)
    signals.content_written.connect(page_written)
    signals.page_writer_finalized.connect(write_early)
    signals.finalized.connect(index_output)
