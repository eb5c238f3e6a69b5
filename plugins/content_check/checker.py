"""Check the metadata of every content file and report every problem at once.

Pelican, given a post whose date does not parse or whose title is missing, logs an
error, skips the file and still exits 0: the writer's work silently disappears. This
module reads every file's front matter itself (keeping line numbers), checks it, and
returns one `Problem` per mistake so the build can stop with a single clear report.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path

from plugins import content_fields
from plugins.content_meta import lines as meta_lines
from plugins.content_meta import slug_for
from plugins.content_meta import text as meta_text
from plugins.events import model as events_model
from plugins.intern_calls import model as calls_model
from plugins.scheduled import schedule

from . import links

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MARKDOWN_EXTENSIONS = (".md", ".markdown", ".mkd", ".mdown")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif")
DOCUMENT_EXTENSIONS = (".docx", ".doc", ".odt", ".rtf", ".pages", ".pdf")
TEXT_EXTENSIONS = (".txt", ".text")
PELICAN_STATUSES = ("published", "draft", "hidden", "skip")

# Python-Markdown's meta extension, which Pelican uses to read front matter.
_META = re.compile(r"^[ ]{0,3}(?P<key>[A-Za-z0-9_-]+):\s*(?P<value>.*)")
_META_MORE = re.compile(r"^[ ]{4,}(?P<value>.*)")
_BEGIN = re.compile(r"^-{3}(\s.*)?")
_END = re.compile(r"^(-{3}|\.{3})(\s.*)?")
# A line that looks like a field but that the meta extension does not take as one
# ("Event Status: full"): it ends the fields, and the rest becomes the text.
_LOOSE_FIELD = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z0-9_ -]{0,30}?)\s*:(\s|$)")
# YAML the meta extension cannot read: list items, flow lists, quotes, block scalars,
# and a key whose value is on the indented lines below it.
_YAML_ONLY = re.compile(
    r"^\s*-(\s|$)|^[ ]{0,3}[A-Za-z0-9_-]+:\s*([\[{|>'\"]|$)|^[ ]{1,3}[A-Za-z0-9_-]+:"
)


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake: `path:line: field: message` (message = what is wrong — how to fix it).

    A problem of the whole file has line 0 and field "file": `path: message`.
    """

    path: str
    line: int
    field: str
    message: str

    def __str__(self):
        if self.line == 0:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


@dataclass
class ContentFile:
    """A content file's front matter: {field: value(s)} and {field: line number}."""

    path: Path
    shown_path: str
    kind: str  # Pelican's kind: "article" or "page"
    section: str  # first folder under the content folder ("blog", "trainings", ...)
    meta: dict
    lines: dict
    names: dict
    # Scaffold text left in the body: {text: line number}.
    leftovers: dict = dataclasses.field(default_factory=dict)
    # Every link and image in the text (links.find_targets); whether each points at a
    # file is checked on every build.
    targets: tuple = ()

    def line(self, field: str) -> int:
        return self.lines.get(field, 1)

    def name(self, field: str) -> str:
        """The field as the writer spelled it, or as they should ("Event_Status")."""
        if field == "file":
            return field
        known = content_fields.BY_KEY.get(field)
        return self.names.get(field) or (known.name if known else field.title())


def read_front_matter(text: str) -> tuple[dict, dict]:
    """Front matter the way Python-Markdown's meta extension reads it, with line numbers.

    Returns ({lower-case key: str or [str, ...]}, {key: line number}).
    """
    header = _parse_front_matter(text)
    return header.meta, header.lines


@dataclass
class _Header:
    meta: dict
    lines: dict
    names: dict
    problems: list  # [(line, field, message)]
    body_start: int  # index of the first row after the front matter
    refused: bool = False  # front matter in a form the site does not read at all


def _parse_front_matter(text: str) -> _Header:
    """The front matter as the meta extension reads it, and where that loses a field."""
    meta: dict[str, list[str]] = {}
    numbers: dict[str, int] = {}
    names: dict[str, str] = {}
    problems: list[tuple[int, str, str]] = []
    # Python-Markdown turns tabs into four spaces before it reads the fields.
    rows = text.expandtabs(4).splitlines()
    fenced = bool(rows) and bool(_BEGIN.match(rows[0]))
    if rows and rows[0].strip() == "+++":
        problems.append((1, "file", _FOREIGN_FRONT_MATTER.format(kind="TOML (between +++ lines)")))
        return _Header({}, {}, {}, problems, 0, refused=True)
    if fenced:
        problems += _yaml_problems(rows)
        if problems:
            return _Header({}, {}, {}, problems, 0, refused=True)
    index = 1 if fenced else 0
    key = None
    while index < len(rows):
        row = rows[index]
        if fenced and _END.match(row):
            index += 1
            break
        if not row.strip():
            break
        found = _META.match(row)
        if found:
            key = found.group("key").lower().strip()
            if key in numbers:
                problems.append(
                    (
                        index + 1,
                        found.group("key"),
                        f"is given twice (lines {numbers[key]} and {index + 1}) — keep one "
                        "line; a list goes on one line, or one item per line indented by "
                        "four spaces",
                    )
                )
            meta.setdefault(key, []).append(found.group("value").strip())
            numbers.setdefault(key, index + 1)
            names.setdefault(key, found.group("key").strip())
        else:
            more = _META_MORE.match(row)
            if more and key:
                meta[key].append(more.group("value").strip())
            else:
                stray = _stray_header_line(rows, index, fenced)
                if not stray:
                    break  # the text starts here
                # Reported; read on, so the fields after it are checked rather than missed.
                problems += stray
                key = _loose_key(row)
                if key:
                    meta.setdefault(key, []).append(row.split(":", 1)[1].strip())
                    numbers.setdefault(key, index + 1)
        index += 1
    flat = {key: values[0] if len(values) == 1 else values for key, values in meta.items()}
    return _Header(flat, numbers, names, problems, index)


_FOREIGN_FRONT_MATTER = (
    "starts with {kind} front matter, which the site does not read — write the fields as "
    "plain `Field: value` lines at the top (no --- or +++ lines), one per line, with "
    "lists as one item per line indented by four spaces"
)


def _yaml_problems(rows) -> list[tuple[int, str, str]]:
    """A `---` block is read only when every line is a plain `Field: value` line."""
    for index, row in enumerate(rows[1:], start=1):
        if _END.match(row):
            return []
        if row.strip() and _YAML_ONLY.match(row) and not _META_MORE.match(row):
            return [
                (
                    index + 1,
                    "file",
                    "this front matter between --- lines is YAML the site cannot read (a "
                    "list, quotes, or a value on the lines below its field) — write every "
                    "field as `Field: value` without quotes, a list as `Tags: one, two` or "
                    "as one item per line indented by four spaces",
                )
            ]
    return [
        (
            1,
            "file",
            "the front matter starts with --- but has no closing --- line — add a line "
            "`---` after the last field",
        )
    ]


def _loose_key(row) -> str | None:
    """The known field a loosely written line means ("Event Status: full"), if any."""
    loose = _LOOSE_FIELD.match(row)
    if not loose:
        return None
    key = re.sub(r"[\s-]+", "_", loose.group("key").strip()).lower()
    return key if key in content_fields.BY_KEY else None


def _stray_header_line(rows, index, fenced) -> list[tuple[int, str, str]]:
    """A line among the fields that the meta extension does not take: it ends the fields,
    so it, and any field after it, would be published as text."""
    row = rows[index]
    later = []
    for after in rows[index + 1 :]:
        if not after.strip() or (fenced and _END.match(after)):
            break
        found = _META.match(after)
        if found:
            later.append(found.group("key"))
    loose = _LOOSE_FIELD.match(row)
    if loose and " " in loose.group(0).strip():
        # "Event Status: full" or "Title : x": a field, but not as the meta extension reads one.
        written = loose.group("key").strip()
        known = content_fields.BY_KEY.get(_loose_key(row) or "")
        if known or later:
            name = known.name if known else re.sub(r"[\s-]+", "_", written)
            return [
                (
                    index + 1,
                    written,
                    f"a field's name has no spaces in it or before its colon — write `{name}:`",
                )
            ]
    if not later and not fenced:
        return []  # the text starts here, without a blank line: Markdown allows it
    lost = ", ".join(later) or "the text"
    if row.startswith(" ") and not row.startswith("    "):
        fix = "indent a list's next item by four spaces"
    else:
        fix = "write it as `Field: value`, or move it below the fields after a blank line"
    return [
        (
            index + 1,
            "file",
            f"this line among the fields is not a `Field: value` line, so the fields "
            f"after it ({lost}) would be read as text — {fix}",
        )
    ]


def known_form_ids(settings) -> set[str]:
    """Ids of the forms defined in the forms folder (FORMS['directory'])."""
    directory = Path((settings.get("FORMS") or {}).get("directory", "forms"))
    if not directory.is_absolute():
        directory = PROJECT_ROOT / directory
    try:
        from webforms.definitions import load_forms

        return set(load_forms(directory))
    except Exception:  # noqa: BLE001 - a broken definition is the forms check's to report
        return {path.stem for path in directory.glob("*.toml")}


def ignored_name(name: str, settings) -> bool:
    """Files and folders nobody writes on purpose (IGNORE_FILES: hidden files, editor
    backups and swap files, .DS_Store, Thumbs.db): Pelican and the check skip them."""
    return name.startswith(".") or any(
        fnmatch.fnmatch(name, pattern) for pattern in settings.get("IGNORE_FILES") or []
    )


def _under(relative: Path, folders) -> bool:
    for folder in folders:
        folder = str(folder).strip("/")
        if folder in ("", "."):
            return True
        if relative.as_posix() == folder or relative.as_posix().startswith(folder + "/"):
            return True
    return False


def _readable_extensions(settings) -> set[str]:
    """The extensions Pelican reads, as its readers see them (case matters)."""
    from pelican.readers import Readers

    return set(Readers(settings).extensions)


def walk_content(settings) -> tuple[list[tuple[Path, str]], list[Problem]]:
    """Every file under the content folder, accounted for.

    Returns ([(path, "article" or "page"), ...] for the files Pelican reads as content,
    [Problem, ...] for each file that would be neither read nor copied). Static files
    and ignored names are neither.
    """
    root = Path(settings["PATH"])
    readable = _readable_extensions(settings)
    files, problems = [], []
    for folder, subfolders, names in os.walk(root, followlinks=True):
        subfolders[:] = sorted(name for name in subfolders if not ignored_name(name, settings))
        for name in sorted(names):
            if ignored_name(name, settings):
                continue
            path = Path(folder) / name
            kind, message = _place(path.relative_to(root), readable, settings)
            if kind:
                files.append((path, kind))
            elif message:
                problems.append(Problem(_shown(path, settings), 0, "file", message))
    return files, problems


def find_content_files(settings) -> list[tuple[Path, str]]:
    """Every file Pelican will read as an article or a page: [(path, kind), ...]."""
    return walk_content(settings)[0]


def _place(relative: Path, readable, settings) -> tuple[str | None, str | None]:
    """(Pelican's kind, None) for content, (None, None) for a static file, or
    (None, what to do) for a file the site would drop."""
    suffix = relative.suffix
    markdown = suffix.lower() in MARKDOWN_EXTENSIONS
    if _under(relative, settings.get("STATIC_PATHS", [])):
        if markdown:
            return None, (
                f"is in content/{relative.parts[0]}/, whose files are copied as they are, "
                f"so it is never published as a page — move it to {_folders(settings)}"
            )
        return None, None
    for kind, paths, excludes in (
        ("page", "PAGE_PATHS", "PAGE_EXCLUDES"),
        ("article", "ARTICLE_PATHS", "ARTICLE_EXCLUDES"),
    ):
        if _under(relative, settings.get(paths, [])) and not _under(
            relative, settings.get(excludes, [])
        ):
            if suffix[1:] in readable:
                return kind, None
            return None, _unread_extension(relative, markdown)
    if markdown or suffix.lower() in TEXT_EXTENSIONS:
        return None, f"this file is in no folder the site reads — move it to {_folders(settings)}"
    if suffix.lower() in IMAGE_EXTENSIONS:
        return None, _IMAGE_FIX.format(name=relative.name, where="in no folder the site copies")
    return None, (
        "this file is in no folder the site reads or copies — a post goes in "
        f"{_folders(settings)} (as a .md file); a document to download goes in content/files/"
    )


_IMAGE_FIX = (
    "this image is {where} — move it to content/images/ and show it with "
    "`![what the image shows]({{static}}/images/{name})`"
)


def _unread_extension(relative: Path, markdown: bool) -> str:
    name, suffix = relative.name, relative.suffix.lower()
    stem = relative.stem
    if markdown:
        return f"the site does not read the extension {relative.suffix} — rename it to {stem}.md"
    if suffix in IMAGE_EXTENSIONS:
        return _IMAGE_FIX.format(
            name=name, where=f"in content/{relative.parts[0]}/, where only posts are read"
        )
    download = (
        f"to offer it as a download, move it to content/files/ and link it as "
        f"`[{stem}]({{static}}/files/{name})`"
    )
    if suffix in TEXT_EXTENSIONS or not suffix:
        return (
            f"the site reads only Markdown files — if this is a post, rename it to "
            f"{stem}.md; {download}"
        )
    if suffix in DOCUMENT_EXTENSIONS:
        return (
            f"is a {relative.suffix} document, which the site cannot publish as a page — "
            f'copy its text into a .md file (`invoke new-post "Title"` writes one); {download}'
        )
    return f"is not a file the site reads (posts are Markdown .md files) — {download}"


def _folders(settings) -> str:
    """Where each kind of content goes, for a message."""
    sections = _sections(settings)
    kinds = [
        f"content/{folder}/ for {'an' if kind[0] in 'aeiou' else 'a'} {kind}"
        for folder, kind in sections.items()
    ]
    return ", ".join(kinds[:-1]) + " or " + kinds[-1] if len(kinds) > 1 else "".join(kinds)


def _sections(settings) -> dict[str, str]:
    """{folder under content/: kind of content} for the folders the site reads."""
    trainings = (settings.get("EVENTS") or {}).get("section", "trainings")
    internships = (settings.get("INTERN_CALLS") or {}).get("section", "internships")
    found = {}
    for folder in settings.get("ARTICLE_PATHS", []):
        folder = str(folder).strip("/")
        found[folder] = {
            trainings: content_fields.TRAINING,
            internships: content_fields.INTERN_CALL,
        }.get(folder, content_fields.POST)
    for folder in settings.get("PAGE_PATHS", []):
        found[str(folder).strip("/")] = content_fields.PAGE
    return found


def _content_kind(item: ContentFile, settings) -> str:
    """post, page, training or intern call, by the folder the file is in."""
    if item.kind == "page":
        return content_fields.PAGE
    return _sections(settings).get(item.section, content_fields.POST)


def _shown(path: Path, settings) -> str:
    """The path as the writer knows it: content/blog/post.md."""
    base = Path(settings["PATH"]).resolve().parent
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return str(path)


def load_file(path: Path, kind: str, settings) -> tuple[ContentFile | None, list[Problem]]:
    """Read one file's front matter: (ContentFile, problems that lose part of it), or
    (None, [the problem]) for a file that cannot be read at all."""
    shown = _shown(path, settings)
    relative = path.resolve().relative_to(Path(settings["PATH"]).resolve())
    section = relative.parts[0] if len(relative.parts) > 1 else ""

    def whole_file(message):
        return None, [Problem(shown, 0, "file", message)]

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return whole_file(
            "is not saved as UTF-8 text — open it in your editor and save it again with "
            "the encoding UTF-8"
        )
    except OSError as error:
        return whole_file(
            f"cannot be read ({error.strerror}) — check that the file exists and you may read it"
        )
    if not text.strip():
        task = content_fields.SCAFFOLD_TASKS[
            _sections(settings).get(section, content_fields.PAGE if kind == "page" else "post")
        ]
        return whole_file(
            f'is empty — write its fields and text (`invoke {task} "Title"` writes a '
            "file to fill in), or delete it"
        )
    names, leftovers, targets, problems = {}, {}, (), []
    if path.suffix.lower() in MARKDOWN_EXTENSIONS:
        header = _parse_front_matter(text)
        meta, numbers, names = header.meta, header.lines, header.names
        problems = [Problem(shown, line, name, message) for line, name, message in header.problems]
        if header.refused:
            return None, problems
        leftovers = _leftovers(text.splitlines(), header.body_start)
        targets = links.find_targets(text)
    else:
        meta, numbers = _read_other(path, settings)
        if meta is None:
            return whole_file(
                f"Pelican cannot read this file ({numbers}) — fix its markup, or rewrite "
                "it as a Markdown (.md) file"
            )
    item = ContentFile(path, shown, kind, section, meta, numbers, names, leftovers, targets)
    return item, problems


# Text a scaffold writes for the writer to replace: {text: what to do}.
_SCAFFOLD_TEXT = {
    **{text: "write the text in its place" for text in content_fields.BODY_PLACEHOLDERS.values()},
    content_fields.SCAFFOLD_NOTE: "delete the note, from <!-- to -->",
}


def _leftovers(rows, start) -> dict:
    """{scaffold text still in the body: its line number}."""
    found = {}
    for number, row in enumerate(rows[start:], start=start + 1):
        for text in _SCAFFOLD_TEXT:
            if text in row:
                found.setdefault(text, number)
    return found


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
    if not meta_text(meta, "title"):
        found.append(("title", "missing — add a line `Title: The headline` at the top"))
    if item.kind == "article" and not meta_text(meta, "date"):
        found.append(
            ("date", "missing — add a line `Date: 2026-11-21 10:00` (when it is published)")
        )
    for name in ("date", "modified"):
        value = meta_text(meta, name)
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
    found += _image_problems(meta, settings)
    found += _choice_problem(
        meta, "status", PELICAN_STATUSES, "a publishing status",
        "published, draft or hidden (for a training's scheduled/cancelled/postponed/full, "
        "use Event_Status)",
    )  # fmt: skip
    found += _choice_problem(
        meta, "comments", content_fields.BY_KEY["comments"].options, "a comments setting",
        "open (readers may comment), closed (comments shown, no new ones) or none",
    )  # fmt: skip
    return found


def _choice_problem(meta, key: str, choices, what: str, use: str) -> list[tuple[str, str]]:
    """A field whose value is not one of `choices`: the closest one, and what to use."""
    value = meta_text(meta, key)
    if not value or value.lower() in choices:
        return []
    close = difflib.get_close_matches(value.lower(), choices, n=1)
    meant = f"did you mean `{close[0]}`? Use" if close else "use"
    return [(key, f"{value!r} is not {what} — {meant} {use}")]


def _image_problems(meta, settings) -> list[tuple[str, str]]:
    """A post's own share picture must exist among the copied files and say what it shows."""
    image = meta_text(meta, "image")
    if not image:
        return []
    found = []
    relative = image.removeprefix("{static}").lstrip("/")
    if not (Path(settings["PATH"]) / relative).is_file():
        found.append(
            (
                "image",
                f"{image!r} is not a file under content/ — put the picture in "
                "content/images/ and write `Image: images/NAME.jpg`",
            )
        )
    elif not _under(Path(relative), settings.get("STATIC_PATHS", [])):
        found.append(("image", f"{image!r} is not in a folder the site copies (images/)"))
    if not meta_text(meta, "image_alt"):
        found.append(
            (
                "image_alt",
                "missing — say in a line `Image_Alt: ...` what the Image shows, for "
                "people who cannot see it",
            )
        )
    return found


def _check_fields(item: ContentFile, settings, extra) -> list[tuple[str, str]]:
    """Fields this kind of file does not have (misspelt, or another kind's), and
    scaffold examples still in place outside drafts."""
    kind = _content_kind(item, settings)
    known = content_fields.fields_of(kind, extra)
    found = []
    if item.names:  # Markdown: the fields exactly as written
        for key in item.meta:
            if key in known:
                continue
            other = content_fields.BY_KEY.get(key)
            if other and (key in _KIND_MARKERS):
                continue  # the section check says which folder the file belongs in
            found.append((key, _unknown_field(item.name(key), kind, known, other)))
    if meta_text(item.meta, "status").lower() == "draft":
        return found
    for key, known_field in known.items():
        examples = known_field.placeholders(kind)
        left = [v for v in meta_lines(item.meta, key) if v.strip().casefold() in examples]
        if left:
            found.append(
                (
                    key,
                    f"still holds the example text {left[0]!r} — replace it "
                    f"({content_fields.help_text(known_field, kind)}), or keep "
                    "`Status: draft` until it is ready",
                )
            )
    for text, line in item.leftovers.items():
        found.append(
            (
                f"@{line}",
                f"the example text {text!r} is still in the file — " + _SCAFFOLD_TEXT[text],
            )
        )
    return found


# Fields only trainings or only intern calls have: the section check reports them.
_KIND_MARKERS = set(content_fields.only_in(content_fields.TRAINING)) | set(
    content_fields.only_in(content_fields.INTERN_CALL)
)


def _unknown_field(written: str, kind: str, known: dict, other) -> str:
    article = "an" if kind[0] in "aeiou" else "a"
    if other:
        kinds = " and ".join(f"{k}s" for k in other.kinds)
        return (
            f"is a field of {kinds}, not of {article} {kind} — remove the line, or move "
            "the file to the folder of its kind"
        )
    close = difflib.get_close_matches(written.lower(), list(known), n=1, cutoff=0.6)
    if close:
        return f"is not a field we know — did you mean `{known[close[0]].name}`?"
    names = ", ".join(field.name for field in known.values())
    return (
        f"is not a field {article} {kind} has — remove the line (fields: {names}); a field "
        "the site needs is added to CONTENT_CHECK['extra_fields'] in pelicanconf.py"
    )


def _slug(item: ContentFile, settings) -> str | None:
    if meta_text(item.meta, "slug"):
        return meta_text(item.meta, "slug")
    source = meta_text(item.meta, "title")
    if settings.get("SLUGIFY_SOURCE") == "basename":
        source = item.path.stem
    if not source:
        return None
    return slug_for(source, settings)


# What each content file says about itself, kept between builds in a long-lived
# process (the dev server's warm worker), so an unchanged file is not read again:
# {(path, kind, content folder): _Facts}. Checks across files (duplicate slugs) and
# those that depend on other files (form ids) are redone from these on every build.
_FACTS: dict = {}


@dataclass
class _Facts:
    stamp: tuple  # (mtime_ns, size) of the file when it was read
    item: ContentFile | None
    problems: list  # [Problem] found while reading it
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
    item, problems = load_file(path, kind, settings)
    facts = _Facts(stamp, item, problems, _check_common(item, settings) if item else [])
    # Other markups are read by Pelican's readers, which depend on the settings:
    # only Markdown files are kept.
    if stamp is not None and path.suffix.lower() in MARKDOWN_EXTENSIONS:
        _FACTS[key] = facts
    else:
        _FACTS.pop(key, None)
    return facts


def check_content(settings) -> list[Problem]:
    """Every problem in every file under settings['PATH'], sorted by file and line."""
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

    extra = tuple((settings.get("CONTENT_CHECK") or {}).get("extra_fields") or ())
    items: list[_Facts] = []
    index = links.ContentIndex(settings["PATH"])
    files, problems = walk_content(settings)
    for path, kind in files:
        facts = _facts(path, kind, settings)
        problems += facts.problems
        if facts.item:
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
        found = facts.common + facts.section[1] + _check_fields(item, settings, extra)
        problems += [_problem(item, field, message) for field, message in found]
        problems += [
            Problem(item.shown_path, line, field, message)
            for line, field, message in links.problems(item.targets, item.path, settings, index)
        ]

    problems += _duplicate_slugs(items, settings)
    return sorted(set(problems))


def _problem(item: ContentFile, field: str, message: str) -> Problem:
    """A problem of one field; "@N" names a line of the text and "file" the whole file."""
    if field.startswith("@"):
        return Problem(item.shown_path, int(field[1:]), "text", message)
    if field == "file":
        return Problem(item.shown_path, 0, "file", message)
    return Problem(item.shown_path, item.line(field), item.name(field), message)


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
    training_fields = [
        name for name in content_fields.only_in(content_fields.TRAINING) if name in item.meta
    ]
    call_fields = [
        name for name in content_fields.only_in(content_fields.INTERN_CALL) if name in item.meta
    ]
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
            lang = meta_text(item.meta, "lang") or settings.get("DEFAULT_LANG", "en")
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


def left_out(settings, files=None) -> list[str]:
    """The content files a published build leaves out, each with why: drafts, posts
    scheduled for later (with when they go out) and `Status: skip`."""
    if files is None:
        files = find_content_files(settings)
    found = []
    for path, kind in files:
        item = _facts(path, kind, settings).item
        if item is None:
            continue
        status = meta_text(item.meta, "status").lower()
        when = meta_text(item.meta, "date")
        zone = meta_text(item.meta, "timezone") or None  # a training's Date is in its zone
        goes_out = schedule.goes_out_at(when, settings, timezone=zone) if when else None
        if status in ("draft", "skip"):
            found.append(f"{item.shown_path} ({status})")
        elif goes_out:
            found.append(f"{item.shown_path} (scheduled: goes out {goes_out:%Y-%m-%d %H:%M %Z})")
    return found


def format_left_out(lines: list[str]) -> str:
    """One line per file left out of a published build, under a heading."""
    if not lines:
        return ""
    noun = "file" if len(lines) == 1 else "files"
    heading = f"Left out of the published site ({len(lines)} {noun}):"
    return "\n".join([heading, *(f"  {line}" for line in lines)])


def format_report(problems: list[Problem], while_building: bool = False) -> str:
    """The report for the writer: a count, then one line per problem. `while_building`:
    Pelican found them while it read and wrote the pages (plugin pelican_log)."""
    files = len({problem.path for problem in problems})
    noun = "problem" if len(problems) == 1 else "problems"
    where = "file" if files == 1 else "files"
    if while_building:
        heading = (
            f"Content check: Pelican found {len(problems)} {noun} in {files} {where} while "
            "building the site. The build failed; fix these and build again:"
        )
    else:
        heading = (
            f"Content check: {len(problems)} {noun} in {files} {where}. "
            "Nothing was built; fix these and build again:"
        )
    return "\n".join([heading, *(str(problem) for problem in problems)])
