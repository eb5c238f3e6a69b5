"""Signal handlers of the content_check plugin."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from pelican import signals

from plugins.content_meta import (
    helper_result,
    may_fork_helpers,
    merged_setting,
    one_shot_build,
    start_helper,
)

from . import pelican_log
from .checker import (
    check_content,
    find_content_files,
    format_left_out,
    format_report,
    left_out,
)

logger = logging.getLogger(__name__)

DEFAULTS = {"enabled": True, "extra_fields": []}

# (settings, [(path, kind), ...]) of the last check before reading, so the check
# after reading does not walk the content folder again.
_checked: list = []


class ContentCheckError(Exception):
    """The content has problems; the message is the whole report."""

    exitcode = 1


def check_settings(settings) -> dict:
    """Merge CONTENT_CHECK over the defaults and check it."""
    config = merged_setting(settings, "CONTENT_CHECK", "content_check", DEFAULTS, ContentCheckError)
    extra = config["extra_fields"]
    if not isinstance(extra, (list, tuple)) or not all(isinstance(n, str) for n in extra):
        raise ContentCheckError(
            'content_check: CONTENT_CHECK["extra_fields"] must be a list of field names, '
            'like ["Subtitle"]'
        )
    return config


def _stop(report: str):
    """Stop the build. From the `pelican` command: print the report and exit 1 (no
    traceback). Elsewhere (the dev server's warm Pelican, autoreload): raise, so the
    caller shows the report and keeps watching for the fix."""
    # What Pelican logged so far (pelican_log) belongs in the same report.
    report = pelican_log.with_collected(report)
    if one_shot_build():
        print(report, file=sys.stderr, flush=True)
        raise SystemExit(1)
    raise ContentCheckError(report)


def before_reading(pelican):
    """Check every content file before any generator reads one (runs on every build)."""
    if not check_settings(pelican.settings)["enabled"]:
        return None
    if may_fork_helpers():
        files, problems, leaving_out = _check_in_child(pelican.settings)
    else:
        # A long-lived process (the dev server) keeps the facts for its next build.
        files = find_content_files(pelican.settings)
        problems = check_content(pelican.settings)
        leaving_out = []
    _checked.clear()
    _checked.append((pelican.settings, files))
    if problems:
        _stop(format_report(problems))
    if leaving_out:
        print(format_left_out(leaving_out), flush=True)
    logger.info("content_check: every content file's metadata is fine")
    return None


# How long a build waits for the check in its forked child; past this it checks the
# content itself, so a stuck helper never holds up a build.
CHILD_WAIT_SECONDS = 120


def _find_and_check(settings):
    files = find_content_files(settings)
    problems = check_content(settings)
    leaving_out = [] if problems else left_out(settings, files)
    return [(str(path), kind) for path, kind in files], problems, leaving_out


def _check_in_child(settings):
    """(files, problems, files left out), worked out in a forked process.

    The check reads every file once more; in this process its short-lived objects
    would leave the heap fragmented for the rest of the build (about 20 MB at 5000
    posts), where only the list of files and the problems are needed. If the child
    fails or is stopped, the check runs here (and raises here what went wrong).
    """
    late = "content_check: the check in a helper process took over %d s; checking here"
    helper = start_helper(lambda: _find_and_check(settings))
    ended, result = helper_result(helper, CHILD_WAIT_SECONDS, logger, late)
    return result if ended else _find_and_check(settings)


def _source_paths(generators) -> list[str]:
    lists = (
        "articles",
        "translations",
        "drafts",
        "drafts_translations",
        "hidden_articles",
        "hidden_translations",
        "pages",
        "hidden_pages",
        "draft_pages",
    )
    sources = []
    for generator in generators:
        for name in lists:
            for item in getattr(generator, name, None) or []:
                sources.append(item.source_path)
    return sources


def _checked_files(settings):
    """The files the check before reading looked at (listed again if it did not run)."""
    if _checked and _checked[-1][0] is settings:
        return _checked[-1][1]
    return find_content_files(settings)


def after_reading(generators):
    """Safety net: every file the check passed must have become a page or post."""
    settings = generators[0].settings if generators else {}
    if not generators or not check_settings(settings)["enabled"]:
        return
    sources = _source_paths(generators)
    # The same absolute path means the same file; only the rest need resolving
    # (symbolic links), which costs a file system lookup per folder.
    plain = {os.path.abspath(source) for source in sources}
    unmatched = [
        path for path, _kind in _checked_files(settings) if os.path.abspath(path) not in plain
    ]
    if not unmatched:
        return
    read = {str(Path(source).resolve()) for source in sources}
    unmatched = [Path(path) for path in unmatched]
    dropped = [
        path for path in unmatched if str(path.resolve()) not in read and _status(path) != "skip"
    ]
    if dropped:
        base = Path(settings["PATH"]).resolve().parent
        lines = [
            f"{path.resolve().relative_to(base).as_posix()}:1: file: Pelican did not build "
            "this file (see its message above) — fix what that message names and build again"
            for path in dropped
        ]
        _stop("Content check: some files were skipped.\n" + "\n".join(lines))


def _status(path: Path) -> str:
    from .checker import read_front_matter

    try:
        meta, _ = read_front_matter(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError):
        return ""
    value = meta.get("status", "")
    return value.lower() if isinstance(value, str) else ""


def register():
    """Connect the plugin's signals."""
    signals.get_generators.connect(before_reading)
    signals.all_generators_finalized.connect(after_reading)
    # Pelican's own warnings and errors, with the file they concern, in one report.
    signals.initialized.connect(pelican_log.on_initialized)
    signals.finalized.connect(pelican_log.on_finalized)
