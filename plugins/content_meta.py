"""What the events and intern_calls plugins share; not a plugin itself (no `register`).

Both turn the articles of one content section into their own kind of page: they read
metadata values the same way, collect the same kind of problem, resolve "now" the
same way and treat drafts, hidden posts and translations alike. The plugins import
this module as `plugins.content_meta` (the project root is on sys.path in a build,
as for `endpoint`).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup

# Where Pelican keeps articles that get a page but stay out of lists.
_UNLISTED = (
    "drafts",
    "hidden_articles",
    "translations",
    "drafts_translations",
    "hidden_translations",
)


@dataclass
class Problem:
    """One thing wrong with one field: `message` says what is wrong — and how to fix it."""

    field: str
    message: str


def one_shot_build() -> bool:
    """True when this process is a `pelican` command that builds once and exits."""
    program = Path(sys.argv[0])
    command_line = program.name == "pelican" or (
        program.name == "__main__.py" and program.parent.name == "pelican"
    )
    watching = {"-r", "--autoreload", "-l", "--listen"} & set(sys.argv[1:])
    return command_line and not watching


def may_fork_helpers() -> bool:
    """Whether a plugin may fork helper processes for this build: a one-shot `pelican`
    build where the system can fork (the dev server's warm process keeps what it
    learns for the next build instead)."""
    return one_shot_build() and hasattr(os, "fork")


def start_helper(work) -> tuple[int, BinaryIO]:
    """Fork a helper process that runs `work()` and leaves what it returns, pickled, in a
    temporary file; returns (process id, file) for helper_result."""
    answer = tempfile.TemporaryFile(prefix="helper-")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        # It ends with os._exit: no flushing of streams and no exit handlers, which could
        # wait on a lock a thread of the build (Pelican's progress display among them)
        # held at the fork.
        status = 1
        try:
            pickle.dump(work(), answer, pickle.HIGHEST_PROTOCOL)
            answer.flush()
            status = 0
        finally:
            os._exit(status)
    return pid, answer


def helper_result(helper: tuple[int, BinaryIO], seconds: float, log, late: str):
    """(True, what `work()` returned) when the helper from start_helper ends well within
    `seconds`; (False, None) when it failed or was stopped (see helper_ended)."""
    pid, answer = helper
    with answer:
        if not helper_ended(pid, seconds, log, late):
            return False, None
        answer.seek(0)
        return True, pickle.load(answer)


def helper_ended(pid: int, seconds: float, log, late: str) -> bool | None:
    """Wait up to `seconds` for the forked helper `pid`: True if it exited with 0, False
    if it failed, None if it was still running (then it is killed and `late`, given the
    seconds, is logged as a warning to `log`). It is reaped either way, so a stuck
    helper never holds up a build."""
    deadline = time.monotonic() + seconds
    # Linux tells the moment a process ends through a pidfd; elsewhere, look every 10 ms.
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        pidfd = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status) == 0
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                log.warning(late, seconds)
                return None
            if pidfd is None:
                time.sleep(min(left, 0.01))
            else:
                select.select([pidfd], [], [], left)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def text(meta, name) -> str:
    """A metadata value as one string ('' when missing); continuation lines are joined."""
    value = meta.get(name)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(str(part).strip() for part in value).strip()
    return str(value).strip()


def lines(meta, name, separator: str | None = None) -> list[str]:
    """A list value: one item per continuation line (and per `separator`, if given)."""
    value = meta.get(name)
    if value is None:
        return []
    parts = value if isinstance(value, (list, tuple)) else [value]
    items = []
    for part in parts:
        items.extend(str(part).split(separator) if separator else [str(part)])
    return [item.strip() for item in items if item.strip()]


def parse_zone(name: str) -> ZoneInfo | None:
    """The IANA time zone called `name`, or None when there is no such zone."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def slug_for(text: str, settings) -> str:
    """The slug Pelican makes of `text` with the site's slug settings (accents become
    plain letters: Organización -> organizacion)."""
    from pelican.utils import slugify

    return slugify(
        text,
        regex_subs=settings.get("SLUG_REGEX_SUBSTITUTIONS", []),
        preserve_case=settings.get("SLUGIFY_PRESERVE_CASE", False),
        use_unicode=settings.get("SLUGIFY_USE_UNICODE", False),
    )


def is_web_address(value: str) -> bool:
    """True for a full http(s) address such as https://example.org/register."""
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def link_or_form(value, name, default_form, form_ids, problems):
    """Read a non-empty registration/application value: ('form', id), ('url', address) or None.

    A problem is added to `problems` (and None returned) for an incomplete web address
    or, when `form_ids` is given, a form id that is not among them.
    """
    if "://" in value or value.startswith("www."):
        if not is_web_address(value):
            problems.append(
                Problem(
                    name,
                    f"{value!r} is not a complete web address — write it in full, "
                    "starting with https://",
                )
            )
            return None
        return ("url", value)
    form_id = default_form if value.lower() == "form" else value
    if form_ids is not None and form_id not in form_ids:
        known = ", ".join(sorted(form_ids)) or "none yet"
        problems.append(
            Problem(
                name,
                f"there is no form called {form_id!r} — write `form` for our "
                f"{default_form} form, another form's name (known: {known}), or a full "
                "web address starting with https://",
            )
        )
        return None
    return ("form", form_id)


def merged_setting(settings, setting: str, plugin: str, defaults: dict, error: type[Exception]):
    """The plugin's dict setting merged over its defaults; unknown keys raise `error`."""
    given = settings.get(setting) or {}
    if not isinstance(given, dict):
        raise error(f"{plugin}: {setting} must be a dict like {defaults!r}")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise error(
            f"{plugin}: unknown {setting} key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(defaults))}"
        )
    return {**defaults, **given}


def now_setting(settings, setting: str, plugin: str, error: type[Exception]) -> datetime:
    """The moment `settings[setting]['now']` names: the setting, then SITE_NOW, then the clock.

    A date-time without an offset is in the site's time zone; a value that is not a
    date-time raises `error` with a message prefixed `plugin: `.
    """
    value = (settings.get(setting) or {}).get("now")
    value = value or os.environ.get("SITE_NOW") or None
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise error(
                f"{plugin}: 'now' is {value!r}; write it as an ISO date-time such as "
                f"2013-08-01T12:00 (in {setting}['now'] or the SITE_NOW environment variable)"
            ) from None
    if not isinstance(value, datetime):
        raise error(f"{plugin}: 'now' must be a date-time string")
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(settings.get("TIMEZONE") or "UTC"))
    return value


# The real path (symbolic links followed) of each folder holding content, for the
# build in progress: every article asks in_section, and most share a few folders.
_real_folders: dict = {}


def forget_folders(*_args):
    """Forget the folders' real paths (connected to article_generator_init: once a build)."""
    _real_folders.clear()


def _real_folder(folder: str) -> str:
    real = _real_folders.get(folder)
    if real is None:
        real = _real_folders[folder] = os.path.realpath(folder)
    return real


def in_section(instance, section: str) -> bool:
    """True if the content file sits in content/<section>/ (symbolic links followed)."""
    try:
        source = os.path.abspath(instance.source_path)
        root = _real_folder(os.path.abspath(instance.settings["PATH"]))
    except TypeError:
        return False
    if os.path.islink(source):
        real = os.path.realpath(source)
    else:
        real = os.path.join(_real_folder(os.path.dirname(source)), os.path.basename(source))
    prefix = root.rstrip(os.sep) + os.sep
    if not real.startswith(prefix):
        return False
    return real[len(prefix) :].split(os.sep)[0] == section


def plain(html) -> str:
    """Text of an HTML snippet (typogrify's non-breaking spaces become plain spaces)."""
    return Markup(html or "").striptags().replace("\xa0", " ")


def set_address(instance, url: str, save_as: str):
    """Give a section's page its own URL and file, unless the file names them or it is a draft.

    Drafts keep Pelican's draft address, so they are never published early.
    """
    if getattr(instance, "status", "published") == "draft":
        return
    if "url" not in instance.metadata:
        instance.override_url = url.format(slug=instance.slug)
    if "save_as" not in instance.metadata:
        instance.override_save_as = save_as.format(slug=instance.slug)


def unlisted_articles(generator, attribute: str) -> list:
    """Drafts, hidden posts and translations that have `attribute`.

    They get their pages too, but stay out of lists.
    """
    return [
        article
        for name in _UNLISTED
        for article in getattr(generator, name, [])
        if getattr(article, attribute, None)
    ]


def write_listing(generator, writer, save_as: str, template: str, **extra):
    """Write a section's listing page (e.g. trainings/index.html) from `template`.

    `extra` adds variables for this page only (e.g. the year of a by-year page).
    """
    writer.write_file(
        save_as,
        generator.get_template(template),
        generator.context,
        relative_urls=generator.settings["RELATIVE_URLS"],
        url=save_as.removesuffix("index.html"),
        template_name=template,
        page_name=template,
        **extra,
    )


def by_year(items, year_of, save_as: str) -> list[dict]:
    """Group `items` (already in listing order) by year, newest year first.

    Each group is {"year", "items", "save_as", "url"}; `save_as` holds `{year}`.
    """
    groups: dict[int, list] = {}
    for item in items:
        groups.setdefault(year_of(item), []).append(item)
    return [
        {
            "year": year,
            "items": groups[year],
            "save_as": save_as.format(year=year),
            "url": save_as.format(year=year).removesuffix("index.html"),
        }
        for year in sorted(groups, reverse=True)
    ]


def write_bytes(writer, output_path, name: str, data: bytes):
    """Write a generated file (a calendar, the manifest) unless it holds these bytes already."""
    # Imported here: the content check imports this module without Pelican.
    from pelican.utils import sanitised_join

    from plugins import pelican_private

    path = sanitised_join(output_path, name)
    # Tell the writer the file is part of this build, as if it had written it: the
    # dev server's incremental renderer removes what a build no longer produces.
    pelican_private.written_files(writer).add(path)
    try:
        with open(path, "rb") as existing:
            if existing.read() == data:
                return
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as file:
        file.write(data)
