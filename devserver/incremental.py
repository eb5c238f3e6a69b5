"""The dev server's incremental Writer: renders only the pages whose inputs changed.

The build worker (worker.py) gives Pelican this Writer through the `get_writer`
signal. Each page Pelican asks for is fingerprinted (fingerprint.py: its
templates and the values of the variables they use) and rendered only when
its fingerprint differs from the last build's in this process; files no
longer produced are removed at the end. Every page is rendered by Pelican's
own template with the same local context as Pelican's Writer builds, so the
files are byte for byte what a clean build writes.

Limits: a template variable is followed by name, so a Jinja global or filter
that reads files by itself (not through the context) is not fingerprinted;
the dev server restarts its worker when such inputs (forms/, plugins/,
settings) change. `content_written` is sent for every page, rendered or not,
after rendering; `feed_generated`/`feed_written` only for feeds written.
"""

import functools
import logging
import os
import time

from pelican.generators import StaticGenerator
from pelican.paginator import Paginator
from pelican.plugins import signals
from pelican.utils import get_relative_path, path_to_url, sanitised_join
from pelican.writers import FileOverwriteFailedError, Writer

from plugins.pelican_private import overridden_files, written_files

from .fingerprint import Digester, TemplateVariables, _hash

logger = logging.getLogger(__name__)

# Per output folder, what the previous build in this process wrote:
# {"fingerprints": {path: digest}, "written": set(paths), "static": set(paths)}.
_STATE = {}
# Statistics of the last build, per output folder, for the dev server's log.
LAST_STATS = {}

_ACTIVE = []
_static_outputs = []
# Names derived from the output path and settings, covered by the page's name.
_DERIVED_NAMES = frozenset({"SITEURL", "localsiteurl", "output_file"})


def forget(output_path):
    """Drop what this process remembers about `output_path` (next build is full)."""
    _STATE.pop(os.path.abspath(output_path), None)


def active_writer():
    """The IncrementalWriter of the build in progress, if any."""
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
    written = written_files(writer)
    state.setdefault("written", set()).update(written)
    fingerprints = state.get("fingerprints", {})
    for path in written - writer._skipped:
        fingerprints.pop(path, None)


def connect():
    """Make every Pelican build in this process use the incremental Writer."""
    signals.get_writer.connect(_get_writer)
    signals.all_generators_finalized.connect(_remember_static_outputs)
    signals.finalized.connect(_finish)


def _get_writer(pelican):
    return IncrementalWriter


def _remember_static_outputs(generators):
    # Every static file's output path, so a removed one can be cleaned up.
    _static_outputs.clear()
    for generator in generators:
        if isinstance(generator, StaticGenerator):
            for item in generator.staticfiles:
                if item.save_as:
                    _static_outputs.append(sanitised_join(generator.output_path, item.save_as))


def _finish(pelican):
    writer = active_writer()
    if writer is not None:
        writer.finish(_static_outputs)


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


class IncrementalWriter(Writer):
    """Pelican's Writer, skipping the pages whose inputs did not change."""

    def __init__(self, output_path, settings=None):
        super().__init__(output_path, settings=settings)
        self._jobs = {}
        key = os.path.abspath(output_path)
        self._state = _STATE.setdefault(key, {})
        self._previous = self._state.get("fingerprints", {})
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
        overridden, written = overridden_files(self), written_files(self)
        if path in overridden:
            if override:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{path}" a second time (was previously overwritten)'
                )
            logger.info('Skipping "%s", not overwriting', path)
            return False
        if path in written:
            if override:
                logger.info('Overwriting "%s"', path)
            else:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{path}" as Pelican has already '
                    "written to it previously (set `override=True` if intended)"
                )
        if override:
            overridden.add(path)
        written.add(path)
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
            # Rendered at once: the edited post appears sooner.
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
        if path:
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
        """Render the recorded pages whose fingerprint changed."""
        jobs = list(self._jobs.values())
        self._jobs = {}
        if not jobs:
            return
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
        final_siteurl = jobs[-1].context.get("localsiteurl")
        for job in todo:
            self._render(job)
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

    # --- End of build ---------------------------------------------------------

    def finish(self, static_outputs=()):
        """Render what is left, remove the files no longer built, remember this build."""
        self.flush()
        if _ACTIVE and _ACTIVE[-1] is self:
            _ACTIVE.pop()
        produced = set(written_files(self))
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


def _prune_empty_folders(folder, root):
    root = os.path.abspath(root)
    folder = os.path.abspath(folder)
    while folder.startswith(root + os.sep) and folder != root:
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = os.path.dirname(folder)
