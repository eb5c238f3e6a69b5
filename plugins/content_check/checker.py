"""Check the metadata of every content file and report every problem at once.

Pelican, given a post whose date does not parse or whose title is missing, logs an
error, skips the file and still exits 0: the writer's work silently disappears. This
module reads every file's front matter itself (keeping line numbers), checks it, and
returns one `Problem` per mistake so the build can stop with a single clear report.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.machinery
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

PLUGINS_DIR = Path(__file__).resolve().parent.parent
PROJECT_ROOT = PLUGINS_DIR.parent
MARKDOWN_EXTENSIONS = (".md", ".markdown", ".mkd", ".mdown")
OTHER_EXTENSIONS = (".rst", ".html", ".htm")
PELICAN_STATUSES = ("published", "draft", "hidden", "skip")

# Python-Markdown's meta extension, which Pelican uses to read front matter.
_META = re.compile(r"^[ ]{0,3}(?P<key>[A-Za-z0-9_-]+):\s*(?P<value>.*)")
_META_MORE = re.compile(r"^[ ]{4,}(?P<value>.*)")
_BEGIN = re.compile(r"^-{3}(\s.*)?")
_END = re.compile(r"^(-{3}|\.{3})(\s.*)?")


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake: `path:line: field: message` (message = what is wrong — how to fix it)."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self):
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


@dataclass
class ContentFile:
    """A content file's front matter: {field: value(s)} and {field: line number}."""

    path: Path
    shown_path: str
    kind: str  # "article" or "page"
    section: str  # first folder under the content folder ("blog", "trainings", ...)
    meta: dict
    lines: dict
    names: dict

    def line(self, field: str) -> int:
        return self.lines.get(field, 1)

    def name(self, field: str) -> str:
        """The field as the writer spelled it, or as they should ("Event_Status")."""
        if field == "file":
            return field
        return self.names.get(field) or field.title()


def read_front_matter(text: str) -> tuple[dict, dict]:
    """Front matter the way Python-Markdown's meta extension reads it, with line numbers.

    Returns ({lower-case key: str or [str, ...]}, {key: line number}).
    """
    meta, numbers, _names = _parse_front_matter(text)
    return meta, numbers


def _parse_front_matter(text: str) -> tuple[dict, dict, dict]:
    """read_front_matter, plus {key: the name as the writer spelled it}."""
    meta: dict[str, list[str]] = {}
    numbers: dict[str, int] = {}
    names: dict[str, str] = {}
    rows = text.splitlines()
    index = 0
    if rows and _BEGIN.match(rows[0]):
        index = 1
    key = None
    while index < len(rows):
        row = rows[index]
        if index > 0 and _END.match(row) and _BEGIN.match(rows[0]):
            break
        if not row.strip():
            break
        found = _META.match(row)
        if found:
            key = found.group("key").lower().strip()
            meta.setdefault(key, []).append(found.group("value").strip())
            numbers.setdefault(key, index + 1)
            names.setdefault(key, found.group("key").strip())
        else:
            more = _META_MORE.match(row)
            if more and key:
                meta[key].append(more.group("value").strip())
            else:
                break
        index += 1
    flat = {key: values[0] if len(values) == 1 else values for key, values in meta.items()}
    return flat, numbers, names


def _load_sibling(module_name: str):
    """Import a module of another plugin (e.g. 'events.model') from plugins/."""
    package = module_name.split(".")[0]
    if package not in sys.modules:
        spec = importlib.machinery.PathFinder.find_spec(package, [str(PLUGINS_DIR)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[package] = module
        try:
            spec.loader.exec_module(module)
        except Exception:
            del sys.modules[package]
            raise
    return importlib.import_module(module_name)


def known_form_ids(settings) -> set[str]:
    """Ids of the forms defined in the forms folder (FORMS['directory'])."""
    directory = Path((settings.get("FORMS") or {}).get("directory", "forms"))
    if not directory.is_absolute():
        directory = PROJECT_ROOT / directory
    try:
        from endpoint.forms import load_forms

        return set(load_forms(directory))
    except Exception:  # noqa: BLE001 - a broken definition is the forms check's to report
        return {path.stem for path in directory.glob("*.toml")}


def _ignored(relative: Path, settings) -> bool:
    if any(part.startswith(".") for part in relative.parts):
        return True
    patterns = settings.get("IGNORE_FILES") or []
    text = relative.as_posix()
    return any(
        fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(relative.name, pattern)
        for pattern in patterns
    )


def _under(relative: Path, folders) -> bool:
    for folder in folders:
        folder = str(folder).strip("/")
        if folder in ("", "."):
            return True
        if relative.as_posix() == folder or relative.as_posix().startswith(folder + "/"):
            return True
    return False


def find_content_files(settings) -> list[tuple[Path, str]]:
    """Every file Pelican will read as an article or a page: [(path, kind), ...]."""
    root = Path(settings["PATH"])
    rules = _kind_rules(settings)
    kinds = _KINDS.setdefault(rules, {})
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in (MARKDOWN_EXTENSIONS + OTHER_EXTENSIONS):
            continue
        if not path.is_file():
            continue
        relative = path.relative_to(root)
        key = relative.as_posix()
        if key not in kinds:
            kinds[key] = _kind(relative, settings)
        if kinds[key]:
            found.append((path, kinds[key]))
    return found


# {the settings that decide a file's kind: {relative path: "page", "article" or None}};
# a file's kind follows from its path alone, so it is worked out once per process.
_KINDS: dict = {}


def _kind_rules(settings) -> tuple:
    names = (
        "IGNORE_FILES",
        "STATIC_PATHS",
        "PAGE_PATHS",
        "PAGE_EXCLUDES",
        "ARTICLE_PATHS",
        "ARTICLE_EXCLUDES",
    )
    return tuple(repr(settings.get(name)) for name in names)


def _kind(relative: Path, settings) -> str | None:
    if _ignored(relative, settings) or _under(relative, settings.get("STATIC_PATHS", [])):
        return None
    if _under(relative, settings.get("PAGE_PATHS", [])) and not _under(
        relative, settings.get("PAGE_EXCLUDES", [])
    ):
        return "page"
    if _under(relative, settings.get("ARTICLE_PATHS", [])) and not _under(
        relative, settings.get("ARTICLE_EXCLUDES", [])
    ):
        return "article"
    return None


def _shown(path: Path, settings) -> str:
    """The path as the writer knows it: content/blog/post.md."""
    base = Path(settings["PATH"]).resolve().parent
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return str(path)


def load_file(path: Path, kind: str, settings) -> tuple[ContentFile | None, Problem | None]:
    """Read one file's front matter; a file that cannot be read gives a Problem instead."""
    shown = _shown(path, settings)
    relative = path.resolve().relative_to(Path(settings["PATH"]).resolve())
    section = relative.parts[0] if len(relative.parts) > 1 else ""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return None, Problem(
            shown,
            1,
            "file",
            "is not saved as UTF-8 text — save it again as UTF-8 in your editor",
        )
    except OSError as error:
        return None, Problem(
            shown,
            1,
            "file",
            f"cannot be read ({error.strerror}) — check that the file exists and you may read it",
        )
    names = {}
    if path.suffix.lower() in MARKDOWN_EXTENSIONS:
        meta, numbers, names = _parse_front_matter(text)
    else:
        meta, numbers = _read_other(path, settings)
        if meta is None:
            return None, Problem(
                shown,
                1,
                "file",
                f"Pelican cannot read this file ({numbers}) — fix its markup, or rewrite "
                "it as a Markdown (.md) file",
            )
    return ContentFile(path, shown, kind, section, meta, numbers, names), None


def _read_other(path: Path, settings):
    """Metadata of a reStructuredText or HTML file, read by Pelican's own readers."""
    from pelican.readers import Readers

    readers = Readers(settings)
    reader = readers.readers.get(path.suffix.lower().lstrip("."))
    if reader is None:
        return {}, {}
    try:
        _content, meta = reader.read(str(path))
    except Exception as error:  # noqa: BLE001 - any reader failure is the writer's to fix
        return None, str(error)
    return {key: _raw(value) for key, value in meta.items()}, {}


def _raw(value):
    """Pelican-processed metadata back to text, so the same checks apply."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return str(value)


# --- the checks ------------------------------------------------------------


def _check_common(item: ContentFile, settings) -> list[tuple[str, str]]:
    from pelican.utils import get_date

    found = []
    meta = item.meta
    if not _value(meta, "title"):
        found.append(("title", "missing — add a line `Title: The headline` at the top"))
    if item.kind == "article" and not _value(meta, "date"):
        found.append(
            ("date", "missing — add a line `Date: 2026-11-21 10:00` (when it is published)")
        )
    for name in ("date", "modified"):
        value = _value(meta, name)
        if value:
            try:
                get_date(value)
            except ValueError:
                found.append(
                    (
                        name,
                        f"{value!r} is not a date we can read — write it as "
                        "YYYY-MM-DD HH:MM, for example 2026-11-21 10:00",
                    )
                )
    status = _value(meta, "status")
    if status and status.lower() not in PELICAN_STATUSES:
        found.append(
            (
                "status",
                f"{status!r} is not a publishing status — use published, draft or "
                "hidden (for a training's scheduled/cancelled/postponed/full, use "
                "Event_Status)",
            )
        )
    return found


def _value(meta, name) -> str:
    value = meta.get(name)
    if isinstance(value, (list, tuple)):
        return " ".join(str(part) for part in value).strip()
    return str(value).strip() if value is not None else ""


def _slug(item: ContentFile, settings) -> str | None:
    from pelican.utils import slugify

    if _value(item.meta, "slug"):
        return _value(item.meta, "slug")
    source = _value(item.meta, "title")
    if settings.get("SLUGIFY_SOURCE") == "basename":
        source = item.path.stem
    if not source:
        return None
    return slugify(
        source,
        regex_subs=settings.get("SLUG_REGEX_SUBSTITUTIONS", []),
        preserve_case=settings.get("SLUGIFY_PRESERVE_CASE", False),
        use_unicode=settings.get("SLUGIFY_USE_UNICODE", False),
    )


# What each content file says about itself, kept between builds in a long-lived
# process (the dev server's warm worker), so an unchanged file is not read again:
# {(path, kind, content folder): _Facts}. Checks across files (duplicate slugs) and
# those that depend on other files (form ids) are redone from these on every build.
_FACTS: dict = {}


@dataclass
class _Facts:
    stamp: tuple  # (mtime_ns, size) of the file when it was read
    item: ContentFile | None
    problem: Problem | None
    common: list  # [(field, message)] from the checks every file gets
    section: tuple = (None, [])  # (context key, [(field, message)])
    slug: tuple = (None, None)  # (slug settings key, slug)


def _stamp(path: Path):
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def _facts(path: Path, kind: str, settings) -> _Facts:
    """The file's facts, from the cache while its mtime and size are unchanged."""
    key = (str(path), kind, str(settings["PATH"]))
    stamp = _stamp(path)
    cached = _FACTS.get(key)
    if stamp is not None and cached is not None and cached.stamp == stamp:
        return cached
    item, problem = load_file(path, kind, settings)
    facts = _Facts(stamp, item, problem, _check_common(item, settings) if item else [])
    # Other markups are read by Pelican's readers, which depend on the settings:
    # only Markdown files are kept.
    if stamp is not None and path.suffix.lower() in MARKDOWN_EXTENSIONS:
        _FACTS[key] = facts
    else:
        _FACTS.pop(key, None)
    return facts


def check_content(settings, files=None) -> list[Problem]:
    """Every problem in every content file under settings['PATH'], sorted by file and line.

    `files` is what find_content_files(settings) returns, when the caller has it.
    """
    events_model = _load_sibling("events.model")
    calls_model = _load_sibling("intern_calls.model")
    events_config = settings.get("EVENTS") or {}
    calls_config = settings.get("INTERN_CALLS") or {}
    trainings = events_config.get("section", "trainings")
    internships = calls_config.get("section", "internships")
    zone = settings.get("TIMEZONE") or "UTC"
    form_ids = known_form_ids(settings)
    registration_form = events_config.get("registration_form", "training-registration")
    application_form = calls_config.get("application_form", "intern-application")
    context = (
        trainings,
        internships,
        zone,
        frozenset(form_ids),
        registration_form,
        application_form,
    )

    problems: list[Problem] = []
    items: list[_Facts] = []
    if files is None:
        files = find_content_files(settings)
    for path, kind in files:
        facts = _facts(path, kind, settings)
        if facts.problem:
            problems.append(facts.problem)
        else:
            items.append(facts)

    for facts in items:
        item = facts.item
        if facts.section[0] != context:
            facts.section = (
                context,
                _check_section(
                    item,
                    events_model,
                    calls_model,
                    trainings,
                    internships,
                    zone,
                    form_ids,
                    registration_form,
                    application_form,
                ),
            )
        found = facts.common + facts.section[1]
        problems += [
            Problem(item.shown_path, item.line(field), item.name(field), message)
            for field, message in found
        ]

    problems += _duplicate_slugs(items, settings)
    return sorted(set(problems))


def _check_section(
    item,
    events_model,
    calls_model,
    trainings,
    internships,
    zone,
    form_ids,
    registration_form,
    application_form,
) -> list[tuple[str, str]]:
    """Problems of a training or intern call, and of their details outside their folder."""
    found = []
    training_fields = [name for name in events_model.EVENT_FIELDS if name in item.meta]
    call_fields = [name for name in calls_model.INTERN_FIELDS if name in item.meta]
    if item.kind == "article" and item.section == trainings:
        if not training_fields:
            found.append(_not_this_kind(trainings, "a training or event", "new-training"))
        else:
            _event, event_problems = events_model.parse_event(
                item.meta, zone, form_ids, registration_form
            )
            found += [(p.field, p.message) for p in event_problems]
    elif training_fields:
        found.append(
            (
                training_fields[0],
                "this file has training details but is not in "
                f"content/{trainings}/ — move it there, or remove the training lines",
            )
        )
    if item.kind == "article" and item.section == internships:
        if not call_fields:
            found.append(_not_this_kind(internships, "an intern call", "new-intern-call"))
        else:
            _call, call_problems = calls_model.parse_intern_call(
                item.meta, zone, form_ids, application_form
            )
            found += [(p.field, p.message) for p in call_problems]
    elif call_fields:
        found.append(
            (
                call_fields[0],
                "this file has intern call details but is not in "
                f"content/{internships}/ — move it there, or remove those lines",
            )
        )
    return found


def _not_this_kind(section: str, kind: str, task: str) -> tuple[str, str]:
    return (
        "file",
        f"is in content/{section}/, where every file is {kind}, but it has none of "
        f"the details of one — move it to the folder it belongs in (blog posts go in "
        f'content/blog/), or run `invoke {task} "Title"` for a template to fill in',
    )


def _duplicate_slugs(items, settings) -> list[Problem]:
    by_slug: dict[tuple, list[ContentFile]] = {}
    slug_settings = tuple(
        repr(settings.get(name))
        for name in (
            "SLUGIFY_SOURCE",
            "SLUG_REGEX_SUBSTITUTIONS",
            "SLUGIFY_PRESERVE_CASE",
            "SLUGIFY_USE_UNICODE",
        )
    )
    for facts in items:
        item = facts.item
        if facts.slug[0] != slug_settings:
            facts.slug = (slug_settings, _slug(item, settings))
        slug = facts.slug[1]
        if slug:
            lang = _value(item.meta, "lang") or settings.get("DEFAULT_LANG", "en")
            by_slug.setdefault((slug, lang), []).append(item)
    problems = []
    for (slug, _lang), group in by_slug.items():
        if len(group) < 2:
            continue
        for item in group:
            others = ", ".join(other.shown_path for other in group if other is not item)
            line = item.line("slug") if "slug" in item.meta else item.line("title")
            problems.append(
                Problem(
                    item.shown_path,
                    line,
                    item.name("slug"),
                    f"{slug!r} is also the slug of {others}, so one would replace the "
                    "other — give one of them a different `Slug:`",
                )
            )
    return problems


def format_report(problems: list[Problem]) -> str:
    """The report for the writer: a count, then one line per problem."""
    files = len({problem.path for problem in problems})
    noun = "problem" if len(problems) == 1 else "problems"
    where = "file" if files == 1 else "files"
    lines = [
        f"Content check: {len(problems)} {noun} in {files} {where}. "
        "Nothing was built; fix these and build again:",
        *(str(problem) for problem in problems),
    ]
    return "\n".join(lines)
