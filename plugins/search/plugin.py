"""Index the built site for full-text search with Pagefind at the end of every build.

The theme marks what is found: `data-pagefind-body` on the main content of published
posts, trainings, intern calls and pages only (never lists, drafts or the search page),
with a `kind` filter and a `date`. Inside it Pagefind itself skips forms, navigation
and footers. The bundle goes to output/pagefind/, where the search page's script
(theme/static/js/search.js) loads pagefind.js.

Setting (all keys optional)::

    SEARCH = {
        "enabled": True,  # False: no index is written
        "defer": False,   # True: a build only notes what to index, and index_deferred()
                          # indexes it in the background (the dev server, after the reload)
    }

Pagefind (the pinned `pagefind_bin` binary; nothing is downloaded) reads a folder holding
only the marked pages. Its bundle is kept in CACHE_PATH/search/ under a digest of those
pages, so a build whose marked pages did not change reuses it. That also keeps equal
builds byte for byte equal, which Pagefind 1.5 alone does not: it writes its filter
index in hash-map order.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from importlib.metadata import version
from pathlib import Path

from pagefind_bin import get_executable
from pelican import signals

from plugins.content_meta import merged_setting

logger = logging.getLogger(__name__)

DEFAULTS = {"enabled": True, "defer": False}
BUNDLE = "pagefind"
MARKER = b"data-pagefind-body"
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


def marked_pages(output: Path) -> dict[str, bytes]:
    """{path inside `output`: HTML} of every page that carries data-pagefind-body."""
    pages = {}
    for path in output.rglob("*.html"):
        data = path.read_bytes()
        if MARKER in data:
            pages[path.relative_to(output).as_posix()] = data
    return pages


def digest(pages: dict[str, bytes]) -> str:
    """The name of the bundle of `pages`: the same pages and Pagefind give the same name."""
    hasher = hashlib.sha256(version("pagefind_bin").encode())
    for name in sorted(pages):
        hasher.update(b"%s\0%d\0" % (name.encode(), len(pages[name])))
        hasher.update(pages[name])
    return hasher.hexdigest()[:24]


# The Pagefind process running now, so stop_deferred() can end it.
_lock = threading.Lock()
_running: dict = {}


def run_pagefind(site: Path, bundle: Path, stop: threading.Event | None = None):
    """Index the pages in `site` into `bundle`; raises SearchError if Pagefind fails."""
    command = [
        str(get_executable()),
        *("--site", str(site), "--output-path", str(bundle), "--quiet"),
    ]
    with _lock:
        if stop is not None and stop.is_set():
            raise _Stopped
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        _running["process"] = process
    try:
        messages, _ = process.communicate()
    finally:
        with _lock:
            _running.pop("process", None)
    if stop is not None and stop.is_set():
        raise _Stopped
    if process.returncode:
        raise SearchError(
            f"search: Pagefind could not index the site (exit {process.returncode}); "
            f"the previous index in {BUNDLE}/ is kept. It said:\n{messages.strip()}"
        )


def _link_or_copy(source, target):
    """A hard link (no bytes copied) where the file system allows one, else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def bundle_for(pages: dict[str, bytes], output: Path, cache: Path, stop=None) -> Path:
    """The cached bundle of `pages` (in `output`), made by Pagefind when the cache lacks it."""
    kept = cache / digest(pages)
    if kept.is_dir():
        os.utime(kept)
        return kept
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="staging-") as staging:
        site = Path(staging, "site")
        for name in pages:
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(output / name, site / name)
        bundle = Path(staging, BUNDLE)
        run_pagefind(site, bundle, stop)
        try:
            bundle.rename(kept)  # one step, so a build never reads half a bundle
        except OSError:
            if not kept.is_dir():  # else another build stored the same bundle first
                raise
    _prune(cache)
    return kept


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


def index_site(output: Path, cache: Path, stop=None) -> int:
    """Index the marked pages of the built site in `output`; returns how many there were."""
    pages = marked_pages(output)
    if not pages:
        shutil.rmtree(output / BUNDLE, ignore_errors=True)
        return 0
    bundle = bundle_for(pages, output, cache, stop)
    if stop is not None and stop.is_set():
        raise _Stopped
    install(bundle, output)
    return len(pages)


def check_at_start(pelican):
    """Stop the build at start-up, with a clear message, on a wrong SEARCH."""
    check_settings(pelican.settings)


# What the last deferred build left to index, and the thread indexing it.
_pending: dict = {}
_background: dict = {}


def index_output(pelican):
    """finalized: index the site just built (or note it, when indexing is deferred)."""
    config = check_settings(pelican.settings)
    if not config["enabled"]:
        return
    output = Path(pelican.output_path)
    cache = Path(pelican.settings["CACHE_PATH"], "search")
    if config["defer"]:
        _pending.update(output=output, cache=cache)
        return
    started = time.perf_counter()
    count = index_site(output, cache)
    logger.info("search: %d pages in %s/ (%.2f s)", count, BUNDLE, time.perf_counter() - started)


def index_deferred():
    """Index what the last deferred build wrote, in a background thread; returns at once."""
    stop_deferred()
    if not _pending:
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=_index_in_background,
        args=(_pending.pop("output"), _pending.pop("cache"), stop),
        name="search-index",
        daemon=True,
    )
    _background.update(thread=thread, stop=stop)
    thread.start()


def _index_in_background(output, cache, stop):
    try:
        index_site(output, cache, stop)
    except _Stopped:
        pass
    except Exception as exc:  # noqa: BLE001 - reported; the preview keeps working
        logger.error("search: the index was not refreshed: %s", str(exc).removeprefix("search: "))


def stop_deferred():
    """End background indexing and wait for it (before a build changes the output)."""
    thread, stop = _background.pop("thread", None), _background.pop("stop", None)
    if thread is None:
        return
    with _lock:
        stop.set()
        if "process" in _running:
            _running["process"].terminate()
    thread.join()


def register():
    """Connect the plugin to Pelican's signals."""
    signals.initialized.connect(check_at_start)
    signals.finalized.connect(index_output)
