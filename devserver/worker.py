"""The build worker: a warm Pelican that rebuilds on request.

The dev server starts it as a child process and talks to it over stdin and
stdout, one JSON object a line:

    -> {"full": false}                       rebuild; only changed pages are rendered
    -> {"full": true}                        empty the output and render everything
    <- {"ok": true, "seconds": 0.41, "rendered": 12, "skipped": 1480, "removed": 0}
    <- {"ok": false, "error": "...", "logged": ["WARNING: ...", ...]}

A failed build's message (`error`: a content check report or an exception's
message) and what the build logged at warning level or above (`logged`, already
printed on stderr) are for the server, which prints the report once and shows
both in the browser. The worker's own log lines are plain and never wrapped.

It builds once on start (full) and answers that build too. After each answer it
refreshes the search index in the background (plugins/search). End of input ends
it. Keeping Pelican, its plugins and its reader cache loaded between builds is
what makes a rebuild fast; a change to plugins or settings restarts the worker.

Run: python -m devserver.worker --settings pelicanconf.py [--content DIR]
     [--output DIR] [--forms-endpoint URL] [--cache DIR]
"""

import argparse
import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path

from jinja2 import BytecodeCache

logger = logging.getLogger("devserver")


class MemoryBytecodeCache(BytecodeCache):
    """Jinja bytecode kept in memory; Jinja keys it on template name and source."""

    # Class-wide, so the object itself has no state that changes between
    # builds (the incremental writer digests the settings, this object included).
    _store = {}

    def load_bytecode(self, bucket):
        """Give Jinja the compiled template when its source is unchanged."""
        stored = self._store.get(bucket.key)
        if stored is not None and stored[0] == bucket.checksum:
            bucket.code = stored[1]

    def dump_bytecode(self, bucket):
        """Remember a freshly compiled template."""
        self._store[bucket.key] = (bucket.checksum, bucket.code)


# Exceptions whose message is a whole report for the writer; their class name
# would only stand in front of it.
REPORT_EXCEPTIONS = {"ContentCheckError"}


def _failure(exc):
    """The exception's message, with the template line when a template raised it."""
    if type(exc).__name__ in REPORT_EXCEPTIONS:
        return str(exc)
    text = f"{type(exc).__name__}: {exc}"
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename.endswith((".html", ".xml", ".j2"))
    ]
    if frames:
        text += f" (in {_shown(frames[-1].filename)}, line {frames[-1].lineno})"
    return text


def _shown(filename):
    """A path relative to the project when it is inside it: shorter, still clickable."""
    relative = os.path.relpath(filename)
    return filename if relative.startswith("..") else relative


class PlainFormatter(logging.Formatter):
    """`LEVEL: message` for warnings and errors, the bare message below them."""

    def format(self, record):
        """Format without wrapping, so a path or report line stays on one line."""
        text = super().format(record)
        return f"{record.levelname}: {text}" if record.levelno >= logging.WARNING else text


class _Collected(logging.Handler):
    """Keeps what one build logs at warning level or above, for the error page."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.setFormatter(PlainFormatter())
        self.records = []

    def emit(self, record):
        """Remember the record (the normal handler prints it as well)."""
        try:
            self.records.append((record.getMessage().strip(), self.format(record)))
        except Exception:  # noqa: BLE001 - a bad log call must not fail the build
            self.handleError(record)


class WarmBuilder:
    """A Pelican instance kept loaded between builds, with incremental writing on."""

    def __init__(self, settings_path, content=None, output=None, forms_endpoint=None, cache=None):
        from pelican import Pelican
        from pelican.settings import read_settings

        override = {}
        if content:
            override["PATH"] = str(Path(content).resolve())
        if output:
            override["OUTPUT_PATH"] = str(Path(output).resolve())
        if cache:
            override["CACHE_PATH"] = str(Path(cache).resolve())
        settings = read_settings(str(settings_path), override=override)
        if forms_endpoint and isinstance(settings.get("FORMS"), dict):
            settings["FORMS"] = {**settings["FORMS"], "endpoint": forms_endpoint}
        # Templates are compiled once per process, not once per generator and build.
        settings["JINJA_ENVIRONMENT"] = {
            **settings.get("JINJA_ENVIRONMENT", {}),
            "bytecode_cache": MemoryBytecodeCache(),
        }
        # Never wipe the output on each run: the incremental writer keeps what
        # did not change and removes what no longer exists.
        settings["DELETE_OUTPUT_DIRECTORY"] = False
        # The search index (plugins/search) is refreshed after each answer, so a
        # reload never waits for it.
        search = settings.get("SEARCH") or {}
        if isinstance(search, dict):
            settings["SEARCH"] = {**search, "defer": True}
        self.settings = settings
        self.output = settings["OUTPUT_PATH"]
        from . import incremental

        incremental.connect()
        self.pelican = Pelican(settings)

    def build(self, full=False):
        """Run Pelican; `full` empties the output first. Returns a result dict."""
        from pelican.utils import clean_output_dir

        from plugins import pelican_private, search

        from . import incremental

        # The last build's index refresh must not read pages this build rewrites.
        search.stop_deferred()
        started = time.perf_counter()
        if full:
            incremental.forget(self.output)
            if os.path.isdir(self.output):
                clean_output_dir(self.output, self.settings.get("OUTPUT_RETENTION", []))
        # Pelican memoises rendered content in a class-wide dict: every old build would stay.
        pelican_private.clear_memoized_content()
        # Pelican's log filter drops a message seen before in this process: a warm
        # worker would hide a warning on every build after the first.
        pelican_private.forget_logged_messages()
        collected = _Collected()
        root = logging.getLogger()
        root.addHandler(collected)
        try:
            self.pelican.run()
        except Exception as exc:  # noqa: BLE001 - reported to the server, worker lives on
            # The server prints the message (a content check report, a template
            # error) once; printing it here too doubled every problem line.
            logger.debug("devserver: build failed", exc_info=True)
            # The next build repairs what this one left half-done.
            incremental.abandon(self.output)
            error = _failure(exc)
            # Whatever only repeats the report (or is empty) would show it twice.
            logged = [text for message, text in collected.records if message not in error]
            return {"ok": False, "error": error, "logged": logged}
        finally:
            root.removeHandler(collected)
        result = {"ok": True, "seconds": round(time.perf_counter() - started, 3)}
        stats = incremental.LAST_STATS.get(os.path.abspath(self.output), {})
        for key in ("rendered", "skipped", "removed"):
            result[key] = stats.get(key, 0)
        return result


def main(argv=None):
    """Entry point of the worker process."""
    parser = argparse.ArgumentParser(prog="python -m devserver.worker")
    parser.add_argument("--settings", required=True)
    parser.add_argument("--content")
    parser.add_argument("--output")
    parser.add_argument("--forms-endpoint")
    parser.add_argument("--cache", help="folder for Pelican's content cache")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)

    # Answers go to the real stdout; anything else printed goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    from pelican import log as pelican_log

    # Pelican's rich handler wraps at the terminal's width, splitting paths in the
    # middle; a plain handler leaves each line whole.
    plain = logging.StreamHandler(sys.stderr)
    plain.setFormatter(PlainFormatter())
    pelican_log.init(level=logging.INFO if args.verbose else logging.WARNING, handler=plain)
    # Pelican's own summary ("Done: Processed ...") goes through its console.
    pelican_log.console.soft_wrap = True
    logger.setLevel(logging.DEBUG if args.verbose else logging.INFO)

    def answer(result):
        answers.write(json.dumps(result) + "\n")
        answers.flush()

    try:
        builder = WarmBuilder(
            args.settings, args.content, args.output, args.forms_endpoint, args.cache
        )
    except Exception as exc:  # noqa: BLE001 - bad settings: tell the server, then stop
        # The server prints it (once) and shows it in the browser.
        error = f"The settings could not be loaded: {type(exc).__name__}: {exc}"
        answer({"ok": False, "error": error, "fatal": True})
        return 1
    from plugins import search

    answer(builder.build(full=True))
    search.index_deferred()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        request = json.loads(line)
        answer(builder.build(full=bool(request.get("full"))))
        search.index_deferred()
    search.stop_deferred()
    return 0


if __name__ == "__main__":
    sys.exit(main())
