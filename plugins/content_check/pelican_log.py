"""Pelican's own warnings and errors during a build, as one content check report.

With `--fatal warnings`, Pelican turns the first warning it logs into a RuntimeError
and the build ends with a long traceback that rarely names the post at fault (a
broken `{filename}` link is only noticed while the pages are written). While a
build runs, this module collects every warning or error any logger emits, works
out the content file it concerns, and lets the build go on; at the end the build
stops with one report in the content check's form (`path:line: field: message`)
and exit status 1, without a traceback. A warning still fails the build.

Nothing changes unless Pelican's fatal level is set (`--fatal warnings` or
`--fatal errors`): without it Pelican only prints warnings, and so do we.
Warnings Pelican logs while it reads the settings come before any plugin is
loaded and stay as Pelican reports them.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import os
import re
import sys
import tempfile
from urllib.parse import urlsplit

from plugins import pelican_private

from . import checker, links
from .checker import Problem

# The collection of the build running in this process, or None.
_active: _Collector | None = None
# The log record factory that was in place before ours.
_previous_factory = None


class _Collector:
    """What one build logged at or above the fatal level, as Problems."""

    def __init__(self, settings, fatal_level):
        self.settings = settings
        self.fatal_level = fatal_level
        self.root = os.path.abspath(settings.get("PATH") or ".")
        self.base = os.path.dirname(self.root)
        self.pid = os.getpid()
        self.problems: dict[Problem, None] = {}
        self.ignored = {tuple(pair) for pair in settings.get("LOG_FILTER") or ()}
        # Readers that read a file a problem was found in (see forget_reads).
        self.readers: list = []
        self.quiet = _Quiet()
        # Forked readers (fastread) add their problems to
        # this file; it is shared across fork, and O_APPEND keeps lines whole.
        handle, name = tempfile.mkstemp(prefix="content-check-", suffix=".log")
        self.channel = os.open(name, os.O_RDWR | os.O_APPEND)
        os.close(handle)
        os.unlink(name)

    def take(self, record: logging.LogRecord):
        """Collect a record (called as it is made, before Pelican's filters drop repeats)."""
        if (record.levelno, record.msg) in self.ignored:
            return
        try:
            if (record.levelno, record.getMessage()) in self.ignored:
                return
            found = _problems(record, self)
        except Exception as error:  # noqa: BLE001 - a log call must never fail because of us
            found = [Problem("(build)", 0, record.levelname.lower(), f"{record.msg} ({error})")]
        record.content_check = True  # for _Quiet: the report shows it instead
        if os.getpid() == self.pid:
            self.problems.update(dict.fromkeys(found))
            return
        rows = ([p.path, p.line, p.field, p.message] for p in found)
        lines = "".join(json.dumps(row) + "\n" for row in rows)
        os.write(self.channel, lines.encode("utf-8"))

    def take_all(self) -> list[Problem]:
        """Every problem collected so far, here and in forked workers; forgets them."""
        size = os.fstat(self.channel).st_size
        if size:
            for line in os.pread(self.channel, size, 0).decode("utf-8").splitlines():
                self.problems[Problem(*json.loads(line))] = None
            os.ftruncate(self.channel, 0)
        problems = sorted(self.problems)
        self.problems = {}
        if problems:
            self.forget_reads()
        return problems

    def forget_reads(self):
        """Drop the reader cache of a failed build that had problems while reading.

        Pelican caches what it read before it logs a warning, and the next build
        takes the file from the cache without a word: the problem would vanish
        unfixed (with --fatal alone, Pelican stops before caching). The next build
        reads every file again instead.
        """
        for readers in self.readers:
            path = pelican_private.cache_path(readers)
            if path and os.path.isfile(path):
                os.remove(path)
        self.readers = []

    def close(self):
        os.close(self.channel)


class _Quiet(logging.Filter):
    """Keeps Pelican's handlers from printing what the report will show."""

    def filter(self, record):
        return not getattr(record, "content_check", False)


def _factory(*args, **kwargs):
    record = _previous_factory(*args, **kwargs)
    collector = _active
    # CRITICAL is what Pelican logs when it stops on an exception: not ours to keep.
    if collector is not None and collector.fatal_level <= record.levelno < logging.CRITICAL:
        collector.take(record)
    return record


def start(settings) -> bool:
    """Collect what Pelican logs from now on, when warnings or errors are fatal.

    Returns whether collecting started. Pelican's fatal level is switched off
    meanwhile (stop() restores it), so the build goes on past the first warning.
    """
    global _active, _previous_factory
    stop()
    fatal_level = pelican_private.fatal_level()
    if fatal_level > logging.ERROR:
        return False
    _active = _Collector(settings, fatal_level)
    pelican_private.set_fatal_level(logging.CRITICAL + 1)
    if logging.getLogRecordFactory() is not _factory:
        _previous_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_factory)
    root = logging.getLogger()
    # With --verbose or --debug the messages are printed where they happen as well.
    if root.getEffectiveLevel() > logging.INFO:
        for handler in root.handlers:
            handler.addFilter(_active.quiet)
    return True


def take() -> list[Problem]:
    """What was collected so far (and forgets it); collecting goes on."""
    return _active.take_all() if _active is not None else []


def stop() -> list[Problem]:
    """End collecting, put Pelican's logging back as it was; returns what was left."""
    global _active
    collector = _active
    if collector is None:
        return []
    _active = None
    pelican_private.set_fatal_level(collector.fatal_level)
    if logging.getLogRecordFactory() is _factory:
        logging.setLogRecordFactory(_previous_factory)
    for handler in logging.getLogger().handlers:
        handler.removeFilter(collector.quiet)
    problems = collector.take_all()
    collector.close()
    return problems


def format_report(problems: list[Problem]) -> str:
    """The report of what Pelican logged, in the content check's format."""
    return checker.format_report(problems, while_building=True)


def with_collected(report: str) -> str:
    """A report with what Pelican logged so far added at its end; collecting ends."""
    problems = stop()
    if not problems:
        return report
    return "\n".join([report, "Pelican also reported:", *(str(problem) for problem in problems)])


# --- signal handlers ------------------------------------------------------------


def on_initialized(pelican):
    """Make every build of this Pelican collect what it logs (signal `initialized`).

    Wraps the instance's `run`: each build starts collecting and, however it ends,
    stops, so a long-lived process never keeps Pelican's logging changed.
    """
    run = pelican.run
    if getattr(run, "collects_pelican_log", False):
        return

    @functools.wraps(run)
    def run_collecting(*args, **kwargs):
        start(pelican.settings)
        try:
            result = run(*args, **kwargs)
        except BaseException as error:
            problems = stop()
            if problems and isinstance(error, Exception):
                if _root_level() <= logging.DEBUG:
                    print(format_report(problems), file=sys.stderr, flush=True)
                    raise
                _stop_build(format_report([*problems, _stopped(error)]))
            raise
        problems = stop()
        if problems:
            _stop_build(format_report(problems))
        return result

    run_collecting.collects_pelican_log = True
    # Relies on: every build (pelican command, autoreload, dev server) is one run() call.
    pelican.run = run_collecting


def on_finalized(pelican):
    """Stop with the report once everything is written (signal `finalized`)."""
    problems = take()
    if problems:
        _stop_build(format_report(problems))


def _root_level() -> int:
    """The root logger's level: DEBUG with --debug, INFO with --verbose."""
    return logging.getLogger().getEffectiveLevel()


def _stop_build(report: str):
    from .plugin import _stop

    _stop(report)


def _stopped(error: Exception) -> Problem:
    return Problem(
        "(build)",
        0,
        "error",
        f"Pelican stopped early ({type(error).__name__}: {error}) — it may be caused by "
        "the problems above: fix them and build again (--debug shows where it stopped)",
    )


# --- from a log record to problems ------------------------------------------------

# Relies on: Pelican's message templates (record.msg); a changed one gets the plain line.
_UNABLE_TO_FIND = "Unable to find '%s', skipping url replacement."
_EMPTY_ALT = "Empty alt attribute for image %s in %s"
_FILENAME_FOR_STATIC = (
    "{filename} used for linking to static content %s in %s. Use {static} instead"
)
_UNKNOWN_INDICATOR = "Replacement Indicator %r not recognized in %r, skipping replacement"
_DUPLICATE = "Duplicate definition of `%s` for %s. Using first one."
_WORD = re.compile(r"\b[A-Z][A-Z0-9_]{3,}\b")


def _problems(record: logging.LogRecord, collector: _Collector) -> list[Problem]:
    message = " ".join(record.getMessage().split())
    level = record.levelname.lower()
    args = record.args if isinstance(record.args, tuple) else ()
    settings = collector.settings
    setting = next((w for w in _WORD.findall(message) if w in settings), None)
    if setting:
        return [_settings_problem(setting, message, collector)]
    source = _source(record, collector)
    if source is None:
        return [
            Problem(
                "(build)",
                0,
                level,
                f"Pelican: {_short(message, collector)} (logged by {record.name}) — not "
                "about one content file: fix what it names (the theme, a plugin or the "
                "settings) and build again",
            )
        ]
    if not os.path.exists(source):
        # A file linked with {static} that is not there: name the posts linking it.
        found = _linking(source, collector)
        if found:
            return found
    text = _read(source)
    shown = _shown(source, collector)
    targets = links.find_targets(text) if text and _is_markdown(source) else ()

    def explained(match):
        chosen = [target for target in targets if match(target)]
        return [
            Problem(shown, line, field, why)
            for line, field, why in links.problems(chosen, source, settings)
        ]

    if record.msg == _UNABLE_TO_FIND and args:
        named = [target for target in targets if _names(target, str(args[0]), collector)]
        found = explained(lambda target: target in named)
        if found:
            return found
        line = named[0].line if named else _line(text, [str(args[0])])
        points_at = links.points_at(named[0], source, settings) if named else None
        if points_at and os.path.isfile(points_at[1]):
            # The file is there, but Pelican built nothing from it.
            return [
                Problem(
                    shown,
                    line,
                    "link",
                    f"{named[0].target} links to {_shown(points_at[1], collector)}, which "
                    "Pelican does not publish (its Status is skip, or it is not in a folder "
                    "of posts or pages) — link a published post or page, or publish that one",
                )
            ]
        return [
            Problem(
                shown,
                line,
                "link",
                f"{args[0]} points at nothing Pelican builds — check the path after "
                "{filename} (a post or page) or {static} (an image or file); it is relative "
                f"to this file's folder, or to {os.path.basename(collector.root)}/ when it "
                "starts with /",
            )
        ]
    if record.msg == _EMPTY_ALT and args:
        name = str(args[0])
        found = explained(
            lambda target: (
                target.field == "image"
                and not (target.alt or "").strip()
                and os.path.basename(urlsplit(target.target).path) == name
            )
        )
        if found:
            return found
    if record.msg == _FILENAME_FOR_STATIC and args:
        found = explained(lambda target: _names(target, str(args[0]), collector))
        if found:
            return found
    if record.msg == _UNKNOWN_INDICATOR and len(args) == 2:
        what, origin = args
        found = explained(lambda target: html.unescape(str(origin)) in target.target)
        if found:
            return found
        return [
            Problem(
                shown,
                _line(text, [str(origin)]),
                "link",
                f"{{{what}}} in {origin} is not a kind of link Pelican knows — write "
                "{filename} to link a post or page, or {static} for an image or file",
            )
        ]
    if record.msg == _DUPLICATE and args:
        return [_duplicate(shown, text, str(args[0]))]
    strings = [str(arg) for arg in args if isinstance(arg, str) and arg != source]
    # Pelican logs a reader's exception without it ("Could not process ..."): add its
    # message, which is what the writer can act on (the record is made in the except).
    error = sys.exc_info()[1]
    if error is not None and record.levelno >= logging.ERROR and str(error) not in message:
        message = f"{message} ({type(error).__name__}: {' '.join(str(error).split())})"
    return [
        Problem(
            shown,
            _line(text, strings),
            level,
            f"Pelican: {_short(message, collector)} — fix what this names and build again",
        )
    ]


def _duplicate(shown: str, text: str, name: str) -> Problem:
    """A field given twice in the front matter: named at its second line."""
    seen = []
    for number, row in enumerate(text.splitlines(), 1):
        if not row.strip():
            break
        found = re.match(rf"\s{{0,3}}({re.escape(name)})\s*:", row, re.I)
        if found:
            seen.append((number, found.group(1)))
    first, spelled = seen[0] if seen else (1, name.title())
    line = seen[1][0] if len(seen) > 1 else first
    return Problem(
        shown,
        line,
        spelled,
        f"is given more than once, and Pelican uses only the first (line {first}) — keep "
        f"one {spelled} line",
    )


def _settings_problem(setting: str, message: str, collector: _Collector) -> Problem:
    path = _settings_file()
    line = 0
    try:
        with open(path, encoding="utf-8") as handle:
            for number, row in enumerate(handle, 1):
                if re.match(rf"{setting}\s*=", row):
                    line = number
                    break
    except OSError:
        pass
    shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    where = setting
    if any(arg.startswith(f"{setting}=") for arg in sys.argv[1:]):
        line, where = 0, f"{setting} (given with -e)"
    return Problem(
        shown,
        line,
        setting,
        f"Pelican: {_short(message, collector)} — this is about the settings, not a content "
        f"file: correct {where} and build again",
    )


def _settings_file() -> str:
    """The settings file of this `pelican` command (-s), or Pelican's default name."""
    argv = sys.argv[1:]
    for at, arg in enumerate(argv):
        if arg in ("-s", "--settings") and at + 1 < len(argv):
            return argv[at + 1]
        if arg.startswith("--settings="):
            return arg.split("=", 1)[1]
    return "pelicanconf.py"


def _source(record: logging.LogRecord, collector: _Collector) -> str | None:
    """The content file a record is about: from the code that logged it, or its message."""
    from pelican.contents import Content, Static
    from pelican.readers import BaseReader, Readers
    from pelican.writers import Writer

    found = static = None
    frame = sys._getframe(1)
    depth = 0
    while frame is not None and depth < 80:
        depth += 1
        local = frame.f_locals
        owner = local.get("self")
        # Relies on: a Content (post, page, Static) keeps its file in `source_path`.
        if isinstance(owner, Content):
            if not isinstance(owner, Static):
                found = found or os.path.abspath(owner.source_path)
            static = static or os.path.abspath(owner.source_path)
        # Relies on: Readers.read_file holds the absolute path being read in `path`.
        elif isinstance(owner, Readers) and isinstance(local.get("path"), str):
            if owner not in collector.readers:
                collector.readers.append(owner)  # the file was being read: see forget_reads
            if os.path.isabs(local["path"]):
                found = found or local["path"]
        # Relies on: a reader's read(source_path) names the file it reads.
        elif isinstance(owner, BaseReader) and isinstance(local.get("source_path"), str):
            found = found or os.path.abspath(local["source_path"])
        # Relies on: Writer.write_file is given the post or page in its kwargs.
        elif isinstance(owner, Writer) and not found:
            content = _content_in(local.values(), Content, Static)
            found = os.path.abspath(content.source_path) if content else None
        frame = frame.f_back
    if found:
        return found
    if static:
        return static
    args = record.args if isinstance(record.args, tuple) else ()
    for arg in args:
        if isinstance(arg, Content):
            return os.path.abspath(arg.source_path)
    for arg in args:
        if isinstance(arg, str) and arg:
            full = os.path.normpath(os.path.join(collector.root, arg))
            if full.startswith(collector.root + os.sep) and os.path.isfile(full):
                return full
    return None


def _content_in(values, content, static):
    """The post or page among a writer's local variables (and their kwargs), if one."""
    for value in values:
        found = [value]
        if isinstance(value, dict):
            found = list(value.values())
        elif isinstance(getattr(value, "kwargs", None), dict):
            found = list(value.kwargs.values())
        for item in found:
            if isinstance(item, content) and not isinstance(item, static):
                return item
    return None


def _names(target, pelican_value: str, collector) -> bool:
    """Whether a target is the link Pelican names as `pelican_value` (after {filename})."""
    pattern = collector.settings.get("INTRASITE_LINK_REGEX") or "[{|](?P<what>.*?)[|}]"
    match = re.match(rf"(?:{pattern})(?P<value>.*)", target.target, re.S)
    if not match:
        return False
    value = match.group("value")
    candidates = {value, html.unescape(value), urlsplit(value).geturl()}
    return pelican_value in candidates or html.unescape(pelican_value) in candidates


def _linking(missing: str, collector: _Collector) -> list[Problem]:
    """Problems of the links, in every Markdown file, that point at the missing file."""
    name = os.path.basename(missing)
    found = []
    for folder, folders, files in os.walk(collector.root):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        for file in sorted(files):
            path = os.path.join(folder, file)
            if not _is_markdown(path):
                continue
            text = _read(path)
            if name not in text:
                continue
            settings = collector.settings
            chosen = [
                target
                for target in links.find_targets(text)
                if (links.points_at(target, path, settings) or ("", ""))[1] == missing
            ]
            found += [
                Problem(_shown(path, collector), line, field, message)
                for line, field, message in links.problems(chosen, path, settings)
            ]
    return found


def _is_markdown(path: str) -> bool:
    return path.lower().endswith((".md", ".markdown", ".mkd", ".mdown"))


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return ""


def _line(text: str, strings) -> int:
    """The first line holding one of `strings` (paths, addresses), else 1."""
    wanted = [s for s in strings if len(s) >= 3 and any(c in s for c in "/.{|")]
    for number, row in enumerate(text.splitlines(), 1):
        if any(s in row for s in wanted):
            return number
    return 1


def _shown(path: str, collector: _Collector) -> str:
    """content/blog/post.md: the path from the content folder's parent, as the checker does."""
    if path.startswith(collector.base + os.sep):
        return os.path.relpath(path, collector.base).replace(os.sep, "/")
    return path


def _short(message: str, collector: _Collector) -> str:
    """The message with absolute paths under the project shortened to content/..."""
    return message.replace(collector.base + os.sep, "")
