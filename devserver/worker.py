"""The build worker: a warm Pelican that rebuilds on request.

The dev server starts it as a child process and talks to it over stdin and
stdout, one JSON object a line:

    -> {"full": false}                       rebuild; only changed pages are rendered
    -> {"full": true}                        empty the output and render everything
    <- {"ok": true, "seconds": 0.41, "rendered": 12, "skipped": 1480, "removed": 0}
    <- {"ok": false, "error": "..."}

It builds once on start (full) and answers that build too. End of input ends
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


def _clear_memoized_content():
    # Pelican memoises rendered content per object in a class-wide dict; in a
    # long-lived process every old build would stay in memory.
    from pelican.contents import Content

    for name in ("get_content", "get_summary"):
        cache = getattr(Content.__dict__.get(name), "cache", None)
        if cache is not None:
            cache.clear()


class MemoryBytecodeCache(BytecodeCache):
    """Jinja bytecode kept in memory; Jinja keys it on template name and source."""

    # Class-wide, so the object itself has no state that changes between
    # builds (fastbuild digests the settings, this object included).
    _store = {}

    def load_bytecode(self, bucket):
        """Give Jinja the compiled template when its source is unchanged."""
        stored = self._store.get(bucket.key)
        if stored is not None and stored[0] == bucket.checksum:
            bucket.code = stored[1]

    def dump_bytecode(self, bucket):
        """Remember a freshly compiled template."""
        self._store[bucket.key] = (bucket.checksum, bucket.code)


def _failure(exc):
    """The exception's message, with the template line when a template raised it."""
    text = f"{type(exc).__name__}: {exc}"
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename.endswith((".html", ".xml", ".j2"))
    ]
    if frames:
        text += f" (in {frames[-1].filename}, line {frames[-1].lineno})"
    return text


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
        options = dict(settings.get("FASTBUILD") or {})
        options["incremental"] = True
        settings["FASTBUILD"] = options
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
        self.settings = settings
        self.output = settings["OUTPUT_PATH"]
        if "fastbuild" not in [getattr(p, "__name__", p) for p in settings["PLUGINS"]]:
            logger.warning(
                "devserver: the fastbuild plugin is not in PLUGINS; every rebuild is full"
            )
        self.pelican = Pelican(settings)

    def build(self, full=False):
        """Run Pelican; `full` empties the output first. Returns a result dict."""
        from pelican.utils import clean_output_dir

        started = time.perf_counter()
        # Loaded by Pelican from PLUGIN_PATHS; absent when not enabled.
        fastbuild = sys.modules.get("fastbuild")
        if full:
            if fastbuild is not None:
                fastbuild.forget(self.output)
            if os.path.isdir(self.output):
                clean_output_dir(self.output, self.settings.get("OUTPUT_RETENTION", []))
        _clear_memoized_content()
        try:
            self.pelican.run()
        except Exception as exc:  # noqa: BLE001 - reported to the server, worker lives on
            # The message (a content check report, a template error) is what a
            # writer needs; the traceback only with --verbose.
            logger.error(
                "devserver: build failed: %s",
                _failure(exc),
                exc_info=logger.isEnabledFor(logging.DEBUG),
            )
            if fastbuild is not None:
                # The next build repairs what this one left half-done.
                fastbuild.abandon(self.output)
            return {"ok": False, "error": _failure(exc)}
        result = {"ok": True, "seconds": round(time.perf_counter() - started, 3)}
        if fastbuild is not None:
            stats = fastbuild.LAST_STATS.get(os.path.abspath(self.output), {})
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

    from pelican.log import init as init_logging

    init_logging(level=logging.INFO if args.verbose else logging.WARNING)
    logger.setLevel(logging.DEBUG if args.verbose else logging.INFO)

    def answer(result):
        answers.write(json.dumps(result) + "\n")
        answers.flush()

    try:
        builder = WarmBuilder(
            args.settings, args.content, args.output, args.forms_endpoint, args.cache
        )
    except Exception as exc:  # noqa: BLE001 - bad settings: tell the server, then stop
        logger.error("devserver: cannot load the settings: %s", exc)
        answer({"ok": False, "error": f"{type(exc).__name__}: {exc}", "fatal": True})
        return 1
    answer(builder.build(full=True))
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        request = json.loads(line)
        answer(builder.build(full=bool(request.get("full"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
