"""A Pelican Writer that renders pages on every core and skips unchanged ones.

Pelican's generators call `write_file` one page at a time. In a full build this
writer only records each page (a "job") while the generators run, applying
Pelican's own overwrite rules at that moment, and renders them all when the
fastbuild generator's turn comes: listings in this process, posts and pages in
short-lived forked workers, chunk by chunk. In a warm incremental build (the
dev server's) it fingerprints each page's inputs (fingerprint.py) and renders
at once only the pages whose fingerprint changed, then removes the files that
are no longer produced. Every page is rendered by Pelican's own template with
the same local context, so the files are byte for byte what the stock Writer
writes.

Limits: a template variable is followed by name, so a Jinja global or filter
that reads files by itself (not through the context) is not fingerprinted;
the dev server restarts its worker when such inputs (forms/, plugins/,
settings) change. `content_written` is sent for every page, rendered or not,
after rendering; `feed_generated`/`feed_written` only for feeds written.
"""

import functools
import gc
import logging
import os
import sys
import time
import traceback

from pelican.paginator import Paginator
from pelican.plugins import signals
from pelican.utils import get_relative_path, path_to_url, sanitised_join
from pelican.writers import FileOverwriteFailedError, Writer

from .fingerprint import Digester, TemplateVariables, _hash

logger = logging.getLogger(__name__)

DEFAULTS = {
    # Processes that render pages in a full build; 0 means one per core.
    "workers": 0,
    # Fewer pages than this are rendered in-process: forking costs more.
    "min_parallel_pages": 64,
    # Skip pages whose inputs did not change since the last build in this
    # process (the dev server turns this on).
    "incremental": False,
}

# Per output folder, what the previous build in this process wrote:
# {"fingerprints": {path: digest}, "written": set(paths), "static": set(paths)}.
_STATE = {}
# Statistics of the last build, per output folder, for the dev server's log.
LAST_STATS = {}

_ACTIVE = []
# Names derived from the output path and settings, covered by the page's name.
_DERIVED_NAMES = frozenset({"SITEURL", "localsiteurl", "output_file"})


def forget(output_path):
    """Drop what this process remembers about `output_path` (next build is full)."""
    _STATE.pop(os.path.abspath(output_path), None)


def active_writer():
    """The FastWriter of the build in progress, if any."""
    return _ACTIVE[-1] if _ACTIVE else None


def abandon(output_path):
    """After a failed build: make sure the next one repairs whatever it left.

    Pages the failed build skipped are still as the last good build left
    them; everything else it may have written is rendered again next time,
    and removed if no longer produced.
    """
    writer = active_writer()
    _ACTIVE.clear()
    state = _STATE.get(os.path.abspath(output_path))
    if writer is None or state is None:
        return
    state.setdefault("written", set()).update(writer._written_files)
    fingerprints = state.get("fingerprints", {})
    for path in writer._written_files - writer._skipped:
        fingerprints.pop(path, None)


class _Job:
    __slots__ = ("path", "name", "template", "context", "relative_urls", "kwargs", "siteurl")

    def __init__(self, path, name, template, context, relative_urls, kwargs, siteurl):
        self.path = path
        self.name = name
        self.template = template
        self.context = context
        self.relative_urls = relative_urls
        self.kwargs = kwargs
        # The shared context's "localsiteurl" as Pelican would have set it
        # right before rendering this page (content links depend on it).
        self.siteurl = siteurl

    def localcontext(self):
        """The template context, built exactly as Pelican's Writer builds it."""
        localcontext = self.context.copy()
        localcontext["localsiteurl"] = self.siteurl
        if self.relative_urls:
            localcontext["SITEURL"] = self.siteurl
        localcontext["output_file"] = self.name
        localcontext.update(self.kwargs)
        return localcontext


class FastWriter(Writer):
    """Pelican's Writer, deferring pages to render them in parallel or skip them."""

    def __init__(self, output_path, settings=None):
        super().__init__(output_path, settings=settings)
        self.options = {**DEFAULTS, **(self.settings.get("FASTBUILD") or {})}
        self._jobs = {}
        self._incremental = bool(self.options["incremental"])
        key = os.path.abspath(output_path)
        self._state = _STATE.setdefault(key, {}) if self._incremental else {}
        self._previous = self._state.get("fingerprints", {})
        # Pages are collected first only to render them on several cores. A warm
        # incremental build renders each changed page as soon as it is recorded
        # (the edited post appears sooner), and so does a build in one process,
        # as Pelican's Writer does: holding every page's paginated context until
        # the end costs memory (16 MB at 5000 posts) and saves nothing.
        self._deferring = not self._previous and self._worker_count() > 1
        self._fingerprints = {}
        self._variables = TemplateVariables()
        self._digesters = {}
        self.stats = {"rendered": 0, "skipped": 0, "removed": 0, "seconds": 0.0}
        LAST_STATS[key] = self.stats
        self._started = time.perf_counter()
        self._skipped = set()
        _ACTIVE.clear()  # one build at a time in a process
        _ACTIVE.append(self)

    # --- Pelican's overwrite rules, applied when a page is recorded ---------

    def _claim(self, path, override):
        """Apply Writer._open_w's rules; False when the page must not be written."""
        if path in self._overridden_files:
            if override:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{path}" a second time (was previously overwritten)'
                )
            logger.info('Skipping "%s", not overwriting', path)
            return False
        if path in self._written_files:
            if override:
                logger.info('Overwriting "%s"', path)
            else:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{path}" as Pelican has already '
                    "written to it previously (set `override=True` if intended)"
                )
        if override:
            self._overridden_files.add(path)
        self._written_files.add(path)
        return True

    # --- Recording pages ----------------------------------------------------

    def write_file(
        self,
        name,
        template,
        context,
        relative_urls=False,
        paginated=None,
        template_name=None,
        override_output=False,
        url=None,
        **kwargs,
    ):
        """Record the page(s) Pelican's Writer.write_file would render."""
        if not name:
            return
        if paginated is None:
            paginated = {key: val for key, val in kwargs.items() if key in {"articles", "dates"}}
        if paginated and template_name in self.settings["PAGINATED_TEMPLATES"]:
            per_page = (
                self.settings["PAGINATED_TEMPLATES"][template_name]
                or self.settings["DEFAULT_PAGINATION"]
            )
            paginators = {
                key: Paginator(name, url, val, self.settings, per_page)
                for key, val in paginated.items()
            }
            pages = []
            for page_num in range(next(iter(paginators.values())).num_pages):
                paginated_kwargs = kwargs.copy()
                for key, paginator in paginators.items():
                    previous_page = paginator.page(page_num) if page_num > 0 else None
                    page = paginator.page(page_num + 1)
                    next_page = (
                        paginator.page(page_num + 2) if page_num + 1 < paginator.num_pages else None
                    )
                    paginated_kwargs.update(
                        {
                            f"{key}_paginator": paginator,
                            f"{key}_page": page,
                            f"{key}_previous_page": previous_page,
                            f"{key}_next_page": next_page,
                        }
                    )
                pages.append((page.save_as, paginated_kwargs))
        else:
            pages = [(name, kwargs)]

        for page_name, page_kwargs in pages:
            if relative_urls:
                # As Pelican does before rendering: content links follow it.
                context["localsiteurl"] = path_to_url(get_relative_path(page_name))
            path = sanitised_join(self.output_path, page_name)
            job = _Job(
                path,
                page_name,
                template,
                context,
                relative_urls,
                page_kwargs,
                context.get("localsiteurl"),
            )
            if not self._claim(path, override_output):
                continue
            self._jobs.pop(path, None)
            self._jobs[path] = job
            if not self._deferring:
                self.flush()

    def _open_w(self, filename, encoding, override=False):
        # Feeds come through here; pages never do (they are claimed above).
        if not self._claim(filename, override):
            filename = os.devnull
        return open(filename, "w", encoding=encoding)

    def write_feed(
        self,
        elements,
        context,
        path=None,
        url=None,
        feed_type="atom",
        override_output=False,
        feed_title=None,
    ):
        """Write a feed, or only claim it when nothing it shows has changed."""
        if path and self._incremental:
            full_path = sanitised_join(self.output_path, path)
            fingerprint = self._feed_fingerprint(
                elements, context, path, url, feed_type, feed_title
            )
            self._fingerprints[full_path] = fingerprint
            if self._previous.get(full_path) == fingerprint and os.path.exists(full_path):
                if self._claim(full_path, override_output):
                    self.stats["skipped"] += 1
                    self._skipped.add(full_path)
                return None
            self.stats["rendered"] += 1
        return super().write_feed(
            elements, context, path, url, feed_type, override_output, feed_title
        )

    def _feed_fingerprint(self, elements, context, path, url, feed_type, feed_title):
        digester = self._digester(context)
        limit = self.settings["FEED_MAX_ITEMS"]
        shown = list(elements[:limit])
        settings_used = [
            context.get(key)
            for key in ("SITEURL", "FEED_DOMAIN", "SITENAME", "SITESUBTITLE", "TIMEZONE")
        ]
        return digester.digest(
            [
                "feed",
                path,
                url,
                feed_type,
                feed_title,
                shown,
                settings_used,
                self._settings_digest(),
            ]
        )

    def _digester(self, context):
        digester = self._digesters.get(id(context))
        if digester is None:
            digester = self._digesters[id(context)] = Digester(context)
        return digester

    def _settings_digest(self):
        if "settings" not in self._digesters:
            self._digesters["settings"] = Digester({}).digest(self.settings)
        return self._digesters["settings"]

    # --- Rendering ----------------------------------------------------------

    def _fingerprint(self, job):
        known = self._variables.of(job.template)
        if known is None:
            return None
        names, templates_digest = known
        digester = self._digester(job.context)
        parts = [job.name, str(job.siteurl), str(job.relative_urls), self._settings_digest()]
        kwargs, context = job.kwargs, job.context
        for name, shallow in _names_to_digest(names):
            value = kwargs[name] if name in kwargs else context.get(name, "<missing>")
            parts.append(name)
            parts.append(digester.digest(value, full=not shallow))
        return templates_digest + _hash(*parts)

    def flush(self):
        """Render every recorded page; later pages are rendered as they come."""
        self._deferring = False
        jobs = list(self._jobs.values())
        self._jobs = {}
        if not jobs:
            return
        if self._incremental:
            todo = []
            for job in jobs:
                fingerprint = self._fingerprint(job)
                if fingerprint is not None:
                    self._fingerprints[job.path] = fingerprint
                if (
                    fingerprint is not None
                    and self._previous.get(job.path) == fingerprint
                    and os.path.exists(job.path)
                ):
                    self.stats["skipped"] += 1
                    self._skipped.add(job.path)
                else:
                    todo.append(job)
        else:
            todo = jobs
        final_siteurl = jobs[-1].context.get("localsiteurl")
        self._render_all(todo)
        # Leave the shared context as Pelican's serial writer would.
        jobs[-1].context["localsiteurl"] = final_siteurl
        self.stats["rendered"] += len(todo)
        if signals.content_written.receivers:
            for job in jobs:
                signals.content_written.send(job.path, context=job.localcontext())

    def _render(self, job):
        job.context["localsiteurl"] = job.siteurl
        output = job.template.render(job.localcontext())
        os.makedirs(os.path.dirname(job.path), exist_ok=True)
        with open(job.path, "w", encoding="utf-8") as handle:
            handle.write(output)
        logger.info('Writing "%s"', job.path)

    def _worker_count(self):
        wanted = int(self.options["workers"]) or os.cpu_count() or 1
        return max(1, wanted)

    def _render_all(self, jobs):
        workers = min(self._worker_count(), max(1, len(jobs)))
        if (
            workers == 1
            or len(jobs) < self.options["min_parallel_pages"]
            or not hasattr(os, "fork")
        ):
            for job in jobs:
                self._render(job)
            return
        # Workers are forks: they see the finished context for free. Each
        # renders one chunk of posts and exits, so what copy-on-write copies
        # of this process's memory is freed chunk by chunk instead of adding
        # up. Listings touch every post, so this process renders them.
        # Freezing the collector keeps it from touching the shared objects.
        gc.collect()
        gc.freeze()
        listings, chunks = _chunks(jobs, workers)
        running = {}  # pid -> read end of its pipe
        failures = []
        error = None
        try:
            while True:
                self._reap(running, failures, block=False)
                while chunks and len(running) < workers - 1 and error is None:
                    self._fork(chunks.pop(), running)
                try:
                    if listings:
                        batch, listings = listings[:16], listings[16:]
                    elif chunks:
                        batch = chunks.pop(0)
                    elif running:
                        self._reap(running, failures, block=True)
                        continue
                    else:
                        break
                    for job in batch:
                        self._render(job)
                except Exception as exc:  # noqa: BLE001 - re-raised once workers stop
                    error = exc
                    listings, chunks = [], []
        finally:
            while running:
                self._reap(running, failures, block=True)
            gc.unfreeze()
        if error is not None:
            raise error
        if failures:
            raise RuntimeError("fastbuild: a page failed to render:\n" + "\n".join(failures))

    def _fork(self, chunk, running):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(read_end)
            self._child(chunk, write_end)
        os.close(write_end)
        running[pid] = read_end

    @staticmethod
    def _reap(running, failures, block):
        """Collect finished workers (one at least when `block`), noting failures."""
        for pid in list(running):
            finished, status = os.waitpid(pid, 0 if block else os.WNOHANG)
            if not finished:
                continue
            with os.fdopen(running.pop(pid), "rb") as pipe:
                message = pipe.read().decode("utf-8", "replace")
            if status != 0:
                failures.append(message or f"worker {pid} exited with status {status}")
            if block:
                return

    def _child(self, share, write_end):  # pragma: no cover - runs in the child
        status = 0
        message = b""
        job = None
        try:
            for job in share:
                self._render(job)
        except BaseException:  # noqa: BLE001 - reported to the parent
            status = 1
            where = job.name if job is not None else "?"
            message = f"{where}: {traceback.format_exc()}".encode()
        try:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            view = memoryview(message)
            while view:
                view = view[os.write(write_end, view) :]
        finally:
            os._exit(status)

    # --- End of build ---------------------------------------------------------

    def finish(self, static_outputs=()):
        """Render what is left; in incremental mode remove files no longer built."""
        self.flush()
        if _ACTIVE and _ACTIVE[-1] is self:
            _ACTIVE.pop()
        if self._incremental:
            produced = set(self._written_files)
            static = set(static_outputs)
            stale = (self._state.get("written", set()) - produced) | (
                self._state.get("static", set()) - static - produced
            )
            for path in sorted(stale):
                if os.path.isfile(path):
                    os.remove(path)
                    self.stats["removed"] += 1
                    _prune_empty_folders(os.path.dirname(path), self.output_path)
            self._state["fingerprints"] = self._fingerprints
            self._state["written"] = produced
            self._state["static"] = static
        self.stats["seconds"] = time.perf_counter() - self._started


@functools.lru_cache(maxsize=256)
def _names_to_digest(names):
    """A template's variables in a fixed order, with whether each is digested shallowly."""
    return tuple(
        (name, name.endswith(("_previous_page", "_next_page")))
        for name in sorted(names - _DERIVED_NAMES)
    )


def _is_single(job):
    """A page about one content object (a post, a page), not a listing."""
    return not any(name in ("articles", "dates") or name.endswith("_page") for name in job.kwargs)


def _chunks(jobs, workers):
    """(listings for this process, chunks of single-content pages for anyone).

    Chunks are contiguous runs of posts (in date order), so a worker touches
    only its posts' objects; short chunks (at most 150 pages) keep what each
    worker copies small, and forking is cheap next to rendering them.
    """
    listings = [job for job in jobs if not _is_single(job)]
    singles = [job for job in jobs if _is_single(job)]
    size = max(16, min(150, len(singles) // (8 * max(1, workers - 1)) + 1))
    return listings, [singles[at : at + size] for at in range(0, len(singles), size)]


def _prune_empty_folders(folder, root):
    root = os.path.abspath(root)
    folder = os.path.abspath(folder)
    while folder.startswith(root + os.sep) and folder != root:
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = os.path.dirname(folder)
