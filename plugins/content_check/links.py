"""Links and images in Markdown content that would be broken on the built site.

Pelican, given `[x]({filename}/pages/nothere.md)`, logs "Unable to find ..." while
it writes the pages (a `--fatal warnings` build then stops with a traceback that
never names the post), and a plain `![A rally](rally.png)` it does not notice at
all: the image is simply broken on the post's page. This module reads the links
and images of one Markdown file with regular expressions (no Markdown rendering)
and says, for each one that points at nothing, what is wrong and what to write.

Two steps, so a caller can cache the first per file and redo the second on every
build (files come and go between builds):

    targets = find_targets(text)                       # depends on the text only
    found = problems(targets, path, settings, index)   # looks at the files now

`link_problems(path, text, settings)` does both.
"""

from __future__ import annotations

import difflib
import os
import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

# Pelican's defaults for the settings used here, so a plain dict works too.
_DEFAULTS = {
    "PATH": ".",
    "INTRASITE_LINK_REGEX": "[{|](?P<what>.*?)[|}]",
    "STATIC_PATHS": ["images"],
    "ARTICLE_PATHS": [""],
    "PAGE_PATHS": ["pages"],
    "ARTICLE_URL": "{slug}.html",
    "PAGE_URL": "pages/{slug}.html",
    "STATIC_SAVE_AS": "{path}",
    "STATIC_EXCLUDE_SOURCES": True,
    "READERS": {},
}
# The {what} Pelican replaces in an address (Content._link_replacer).
INDICATORS = ("filename", "static", "attach", "category", "tag", "author", "index")
SOURCE_EXTENSIONS = {"md", "markdown", "mkd", "mdown", "rst", "html", "htm"}
IMAGE_EXTENSIONS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "bmp", "ico", "tif", "tiff"}


@dataclass(frozen=True, slots=True)
class Target:
    """One link or image as written: where, what kind, the address, the alt text."""

    line: int  # line in the file (front matter included), where the address starts
    field: str  # "link" or "image"
    target: str  # the address as written, without <>: "{static}/images/rally.png"
    alt: str | None  # an image's alt text ("" when empty); None for links
    written: str  # the whole link as written, to show the fix in the same form
    # "inline" [](), "definition" [id]: address, "reference" ![alt][id] (its address
    # is its definition's), "html" <img src>/<a href>
    kind: str = "inline"


# --- finding the targets --------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d+[.)])\s")
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
# Patterns start with a literal character, so the regex engine can skip ahead to it
# (a leading optional part or lookbehind made the search about 20 times slower).
_CODE_SPAN = re.compile(r"`(`*)(?!`)(?:.+?)(?<!`)`\1(?!`)")
# [text](address "title") and ![alt](address "title"); the text may hold one level of
# brackets (an image inside a link), the address one level of parentheses.
_INLINE = re.compile(
    r"""\[(?P<text>(?:[^\[\]\\]|\\.|\[(?:[^\[\]\\]|\\.)*\])*)\]
    \([ \t]*\n?[ \t]*(?P<target><[^<>\n]*>|(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*)
    (?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\)))?[ \t]*\n?[ \t]*\)""",
    re.X,
)
_SKIPPED_LINK = re.compile(r"<?\s*(?:[A-Za-z][A-Za-z0-9+.-]*:|//|#)")
_DEFINITION = re.compile(
    r"^ {0,3}\[(?P<id>[^\]\n^][^\]\n]*)\]:[ \t]*\n?[ \t]*(?P<target><[^<>\n]*>|\S+)", re.M
)
_IMAGE_REFERENCE = re.compile(r"!\[(?P<alt>[^\]\n]*)\][ ]?\[(?P<id>[^\]\n]*)\]")
_HTML_TAG = re.compile(r"<(?P<name>img|a)\b[^>]*>", re.I)
_ATTRIBUTE = re.compile(
    r"""\s(?P<name>src|href|alt)\s*=\s*(?:"(?P<q>[^"]*)"|'(?P<s>[^']*)'|(?P<b>[^\s"'>]+))""", re.I
)


def find_targets(text: str) -> tuple[Target, ...]:
    """Every link and image in a Markdown text, outside code, in the order written.

    Inline links and images, reference definitions and HTML <img src>/<a href> are
    found; code spans, fenced and indented code blocks and HTML comments are skipped.
    The result depends on the text alone, so it may be cached with the file's mtime.
    """
    if "[" not in text and "<" not in text:
        return ()
    masked = _mask_code(text)
    found: list[tuple[int, Target]] = []

    def add(offset, field, target, alt, written, kind="inline"):
        # Masking keeps every newline, so lines are counted in the masked text.
        line = masked.count("\n", 0, offset) + 1
        written = " ".join(written.split())
        found.append((offset, Target(line, field, target, alt, written, kind)))

    for match in _INLINE.finditer(masked):
        _add_inline(masked, match, add)
        inner = match.group("text")
        if "](" in inner:
            # An image inside a link: [![alt](image.png)](page)
            start = match.start("text")
            for nested in _INLINE.finditer(masked, start, start + len(inner)):
                _add_inline(masked, nested, add)
    if "]:" in masked:
        image_ids = {
            (m.group("id") or m.group("alt")).strip().lower()
            for m in _IMAGE_REFERENCE.finditer(masked)
        }
        for match in _DEFINITION.finditer(masked):
            name = match.group("id").strip().lower()
            add(
                match.start("target"),
                "image" if name in image_ids else "link",
                _unbracket(match.group("target")),
                None,
                match.group(0),
                "definition",
            )
        for match in _IMAGE_REFERENCE.finditer(masked):
            add(match.start(), "image", "", match.group("alt"), match.group(0), "reference")
    if "<" in masked:
        for match in _HTML_TAG.finditer(masked):
            attributes = {
                m.group("name").lower(): (m.start("name"), _value(m))
                for m in _ATTRIBUTE.finditer(match.group(0))
            }
            key = "src" if match.group("name").lower() == "img" else "href"
            if key not in attributes:
                continue
            at, value = attributes[key]
            alt = None
            if key == "src":
                alt = attributes["alt"][1] if "alt" in attributes else ""
            field = "image" if key == "src" else "link"
            add(match.start() + at, field, value, alt, match.group(0), "html")
    found.sort(key=lambda pair: pair[0])
    return tuple(target for _offset, target in found)


def _add_inline(masked, match, add):
    image = match.start() > 0 and masked[match.start() - 1] == "!"
    if not image and _SKIPPED_LINK.match(match.group("target")):
        return  # another site or an anchor (most links): nothing to check
    add(
        match.start("target"),
        "image" if image else "link",
        _unbracket(match.group("target")),
        match.group("text") if image else None,
        ("!" if image else "") + match.group(0),
    )


def _value(attribute: re.Match) -> str:
    for group in ("q", "s", "b"):
        if attribute.group(group) is not None:
            return attribute.group(group)
    return ""


def _unbracket(target: str) -> str:
    target = target.strip()
    if target.startswith("<") and target.endswith(">"):
        return target[1:-1].strip()
    return target


def _blank(match: re.Match) -> str:
    """The match as spaces, newlines kept, so offsets and line numbers stay."""
    return re.sub(r"[^\n]", " ", match.group(0))


def _mask_code(text: str) -> str:
    """The text with code blocks, code spans and HTML comments blanked out."""
    # One-character tests first: they cost almost nothing, the longer ones a scan.
    ticks = "`" in text
    if (
        (ticks and "```" in text)
        or ("~" in text and "~~~" in text)
        or "\n    " in text
        or ("\t" in text and "\n\t" in text)
    ):
        text = _mask_code_blocks(text)
    if "<" in text and "<!--" in text:
        text = _COMMENT.sub(_blank, text)
    if ticks:
        text = _CODE_SPAN.sub(_spaces, text)
    return text


def _spaces(match: re.Match) -> str:
    """A match on one line as spaces."""
    return " " * (match.end() - match.start())


def _mask_code_blocks(text: str) -> str:
    rows = text.split("\n")
    fence = None  # the opening fence while inside a fenced block
    previous_blank = True
    in_code = False  # inside an indented code block
    in_list = False  # an indented paragraph after a list item belongs to the item
    for number, row in enumerate(rows):
        stripped = row.strip()
        if fence is not None:
            rows[number] = ""
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
                previous_blank = False
            continue
        indented = row.startswith(("    ", "\t"))
        if stripped and indented and (in_code or (previous_blank and not in_list)):
            in_code = True
            rows[number] = ""
            continue
        opening = _FENCE.match(row)
        if opening:
            fence = opening.group(1)
            rows[number] = ""
            continue
        if stripped:
            in_code = False
            if not indented:
                in_list = bool(_LIST_ITEM.match(row))
        previous_blank = not stripped
    return "\n".join(rows)


# --- checking them --------------------------------------------------------------

_EXTERNAL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:|//)")
_FILE_LIKE = re.compile(r"\.[A-Za-z0-9]{1,5}$")
_EMPTY_ALT = re.compile(r"""\balt\s*=\s*(?:""|'')""", re.I)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::[^}]*)?\}")
_PLACEHOLDER_NAMES = {"slug": "SLUG", "date": "YEAR", "lang": "LANG", "category": "CATEGORY"}
_INDICATORS: dict[str, re.Pattern] = {}


class ContentIndex:
    """The files under the content folder by lower-case name, listed on first use.

    Only needed to suggest the right file when one is missing; make one per build
    and pass it to every `problems` call so the folder is walked at most once.
    """

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self._by_name: dict[str, list[str]] | None = None

    def by_name(self) -> dict[str, list[str]]:
        """{lower-case file name: [path relative to the content folder, ...]}."""
        if self._by_name is None:
            self._by_name = {}
            for folder, folders, files in os.walk(self.root):
                folders[:] = sorted(name for name in folders if not name.startswith("."))
                relative = os.path.relpath(folder, self.root)
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    path = name if relative == "." else f"{relative}/{name}".replace(os.sep, "/")
                    self._by_name.setdefault(name.lower(), []).append(path)
        return self._by_name


def link_problems(path, text: str, settings, index: ContentIndex | None = None) -> list:
    """Problems of the links and images in one Markdown file: [(line, field, message)]."""
    return problems(find_targets(text), path, settings, index)


def problems(targets, path, settings, index: ContentIndex | None = None) -> list:
    """[(line, field, message)] for the targets (from find_targets) that point at nothing.

    `path` is the Markdown file the targets come from; whether each file exists is
    looked up now, so call this on every build even when `targets` was cached.
    """
    if not targets:
        return []
    site = _Site(path, settings, index)
    found = []
    for target in targets:
        if target.field == "image" and target.alt is not None and not target.alt.strip():
            found.append(
                (
                    target.line,
                    "image",
                    f"{target.target or 'this image'} has no description (alt text), so "
                    "people who cannot see it miss what it shows — describe it between the "
                    f"brackets: {_fixed(target, target.target, 'What the image shows')}",
                )
            )
        if target.kind != "reference":
            message = site.check(target)
            if message:
                found.append((target.line, target.field, message))
    return found


def points_at(target: Target, path, settings) -> tuple[str, str] | None:
    """(how it is linked, absolute path) of the file a target names, or None.

    How: "filename", "static" or "attach" for Pelican's links, "relative" or "root"
    for plain addresses; None for other sites, anchors and page addresses.
    """
    return _Site(path, settings, None).points_at(target.target)


class _Site:
    """What checking one file's targets needs to know about the site and the file."""

    def __init__(self, path, settings, index):
        def get(name):
            value = settings.get(name)
            return _DEFAULTS[name] if value is None else value

        self.get = get
        self.root = os.path.abspath(get("PATH"))
        self.index = index if index is not None else ContentIndex(self.root)
        self.file = os.path.abspath(path)
        self.folder = os.path.dirname(self.file)
        self.content_name = os.path.basename(self.root) or "content"
        self.static = [_folder(name) for name in get("STATIC_PATHS")]
        self.sources = SOURCE_EXTENSIONS | {key.lower() for key in get("READERS")}
        pattern = get("INTRASITE_LINK_REGEX")
        if pattern not in _INDICATORS:
            _INDICATORS[pattern] = re.compile(rf"(?:{pattern})(?P<value>.*)", re.S)
        self.indicator = _INDICATORS[pattern]

    # -- where things are

    def relative(self, full: str) -> str:
        return os.path.relpath(full, self.root).replace(os.sep, "/")

    def shown(self, full: str) -> str:
        """content/blog/post.md, as the writer sees it."""
        return f"{self.content_name}/{self.relative(full)}"

    def inside(self, full: str) -> bool:
        return full == self.root or full.startswith(self.root + os.sep)

    def under(self, relative: str, folders) -> bool:
        return any(
            folder == "" or relative == folder or relative.startswith(folder + "/")
            for folder in (_folder(name) for name in folders)
        )

    def is_source(self, relative: str) -> bool:
        """A file Pelican builds into a post or page (a {filename} target)."""
        extension = relative.rsplit(".", 1)[-1].lower() if "." in relative else ""
        return extension in self.sources and (
            self.under(relative, self.get("ARTICLE_PATHS"))
            or self.under(relative, self.get("PAGE_PATHS"))
        )

    def home(self, name: str) -> str:
        """The static folder a file of this name belongs in: images/ for images."""
        image = name.rsplit(".", 1)[-1].lower() in IMAGE_EXTENSIONS
        for folder in ["images"] if image else ["files", "extra"]:
            if folder in self.static:
                return folder
        return next((folder for folder in self.static if folder), "images")

    def address(self) -> str:
        """This file's address on the built site, with placeholders: /blog/YEAR/SLUG/."""
        relative = self.relative(self.file)
        page = self.under(relative, self.get("PAGE_PATHS"))
        pattern = self.get("PAGE_URL" if page else "ARTICLE_URL")

        def placeholder(match):
            name = match.group(1)
            if name == "date" and "%Y" not in match.group(0):
                return "DATE"
            return _PLACEHOLDER_NAMES.get(name, name.upper())

        return "/" + _PLACEHOLDER.sub(placeholder, pattern).lstrip("/")

    def points_at(self, address: str) -> tuple[str, str] | None:
        indicator = self.indicator.match(address)
        if indicator:
            what = indicator.group("what")
            if what not in ("filename", "static", "attach"):
                return None
            path = unquote(urlsplit(indicator.group("value")).path)
            base = self.root if path.startswith("/") else self.folder
            return what, os.path.normpath(os.path.join(base, path.lstrip("/")))
        if not address or address.startswith("#") or _EXTERNAL.match(address):
            return None
        path = unquote(urlsplit(address).path)
        if address.startswith("/"):
            return "root", os.path.normpath(os.path.join(self.root, path.lstrip("/")))
        return "relative", os.path.normpath(os.path.join(self.folder, path))

    # -- the checks

    def check(self, target: Target) -> str | None:
        address = target.target
        if not address:
            return f"{target.written} has no address — write the page or file it is for"
        if address.startswith("#"):
            return None
        indicator = self.indicator.match(address)
        if indicator:
            what = indicator.group("what")
            if what in ("filename", "static", "attach"):
                return self.check_intrasite(target, what, indicator.group("value"))
            if what in INDICATORS:
                return None  # {tag}, {category}, {index}, {author}: always resolved
            return _unknown_indicator(target, what)
        if _EXTERNAL.match(address):
            return None
        if address.startswith("/"):
            return self.check_site_root(target)
        return self.check_relative(target)

    def check_intrasite(self, target: Target, what: str, value: str) -> str | None:
        parts = urlsplit(value)
        path = unquote(parts.path)
        prefix = target.target[: len(target.target) - len(value)]
        if not path:
            return f"{target.target} names no file — write the file's path after {prefix}"
        base = self.root if path.startswith("/") else self.folder
        full = os.path.normpath(os.path.join(base, path.lstrip("/")))
        if not self.inside(full):
            return (
                f"{target.target} points outside the {self.content_name}/ folder — put the "
                f"file in {self.content_name}/ and link it from there"
            )
        relative = self.relative(full)
        exists = os.path.isfile(full)
        tail = _tail(parts)
        if what == "filename":
            if exists and not self.is_source(relative):
                fixed = f"{{static}}/{relative}{tail}"
                return (
                    f"{target.target} is not a post or page but a file to copy — write "
                    f"{_fixed(target, fixed)}"
                )
            if exists:
                return None
            guess = self.guess(path, relative, sources=True)
        else:
            if exists and self.is_source(relative) and self.get("STATIC_EXCLUDE_SOURCES"):
                fixed = f"{{filename}}/{relative}{tail}"
                return f"{target.target} is a post or page, not a file to copy — write {fixed}"
            if exists:
                return None
            guess = self.guess(path, relative, sources=False)
        where = f"points at {self.shown(full)}, which does not exist"
        if guess:
            return f"{target.target} {where} — did you mean {prefix}/{guess}{tail}?"
        if what == "filename":
            return (
                f"{target.target} {where} — check the file name: after {prefix} a path is "
                f"relative to this file's folder, or to {self.content_name}/ when it starts "
                "with /"
            )
        name = os.path.basename(path)
        home = self.home(name)
        if self.under(relative, self.static):
            return f"{target.target} {where} — add the file {self.shown(full)}, or correct the name"
        return (
            f"{target.target} {where} — put the file in {self.content_name}/{home}/ and "
            f"write {_fixed(target, f'{prefix}/{home}/{name}{tail}')}"
        )

    def check_site_root(self, target: Target) -> str | None:
        parts = urlsplit(target.target)
        relative = unquote(parts.path).lstrip("/")
        # Only static files are checked: /about/, /feeds/all.atom.xml are pages Pelican makes.
        if self.get("STATIC_SAVE_AS") != "{path}" or not any(
            folder and relative.startswith(folder + "/") for folder in self.static
        ):
            return None
        full = os.path.normpath(os.path.join(self.root, relative))
        if os.path.isfile(full):
            return None
        guess = self.guess(relative, relative, sources=False)
        where = f"{target.target} is not a file in {self.content_name}/"
        if guess:
            return f"{where} — did you mean {_fixed(target, f'{{static}}/{guess}{_tail(parts)}')}?"
        return f"{where} — put the file at {self.content_name}/{relative}, or correct the name"

    def check_relative(self, target: Target) -> str | None:
        parts = urlsplit(target.target)
        path = unquote(parts.path)
        name = os.path.basename(path.rstrip("/"))
        if target.field != "image" and not _FILE_LIKE.search(path):
            return None  # a relative page address such as ../ or trainings/
        full = os.path.normpath(os.path.join(self.folder, path))
        tail = _tail(parts)
        relative = self.relative(full) if self.inside(full) else None
        exists = relative is not None and os.path.isfile(full)
        kind = "image" if target.field == "image" else "link"
        address = self.address()
        looked_for = posixpath.normpath(posixpath.join(address, path))
        wrong = (
            f"{target.target} would be looked for at {looked_for} on the built site, "
            f"where there is no such file, so the {kind} would be broken"
        )
        if not set(looked_for.split("/")) & set(_PLACEHOLDER_NAMES.values()):
            # Climbed above the page's own folders: it may hit a real file.
            site_file = os.path.join(self.root, looked_for.lstrip("/"))
            if os.path.isfile(site_file) and self.under(self.relative(site_file), self.static):
                wrong = (
                    f"{target.target} finds {looked_for} only while this page's address is "
                    f"{address} (and not in the feeds)"
                )
        if exists and self.is_source(relative):
            return f"{wrong} — write {_fixed(target, f'{{filename}}/{relative}{tail}')}"
        if exists and self.under(relative, self.static):
            return f"{wrong} — write {_fixed(target, f'{{static}}/{relative}{tail}')}"
        home = self.home(name)
        fixed = _fixed(target, f"{{static}}/{home}/{name}{tail}")
        if exists:
            return (
                f"{wrong} — move {self.shown(full)} into {self.content_name}/{home}/ and "
                f"write {fixed}"
            )
        guess = self.guess(path, relative or path, sources=False, static_only=True)
        if guess:
            return f"{wrong} — write {_fixed(target, f'{{static}}/{guess}{tail}')}"
        return f"{wrong} — put the file in {self.content_name}/{home}/ and write {fixed}"

    def guess(self, path: str, relative: str, sources: bool, static_only=False) -> str | None:
        """The existing file most likely meant: same name (nearest folder) or a close name."""
        name = os.path.basename(path.rstrip("/")).lower()
        if not name:
            return None
        by_name = self.index.by_name()

        def fits(candidate):
            if static_only:
                return self.under(candidate, self.static)
            return self.is_source(candidate) == sources

        same = [candidate for candidate in by_name.get(name, []) if fits(candidate)]
        # A new image of another name is not a typo for an existing one.
        if not same and not static_only:
            extension = name.rsplit(".", 1)[-1] if "." in name else ""
            names = [
                other
                for other in by_name
                if (other.rsplit(".", 1)[-1] if "." in other else "") == extension
            ]
            for close in difflib.get_close_matches(name, names, n=3, cutoff=0.75):
                same += [candidate for candidate in by_name[close] if fits(candidate)]
        if not same:
            return None
        wanted = relative.split("/")

        def nearness(candidate):
            parts = candidate.split("/")
            shared = 0
            for mine, theirs in zip(wanted, parts, strict=False):
                if mine != theirs:
                    break
                shared += 1
            return (-shared, len(parts), candidate)

        return min(same, key=nearness)


def _unknown_indicator(target: Target, what: str) -> str:
    wrong = f"{target.target} starts with {{{what}}}, which is not a kind of link Pelican knows"
    close = difflib.get_close_matches(what, INDICATORS, n=1, cutoff=0.6)
    if close:
        return f"{wrong} — did you mean {target.target.replace(what, close[0], 1)}?"
    return f"{wrong} — write {{filename}} to link a post or page, or {{static}} for a file"


def _folder(name) -> str:
    name = str(name).replace(os.sep, "/").strip("/")
    return "" if name == "." else name


def _tail(parts) -> str:
    """The ?query and #fragment of an address, kept in the fix."""
    return (f"?{parts.query}" if parts.query else "") + (
        f"#{parts.fragment}" if parts.fragment else ""
    )


def _fixed(target: Target, address: str, alt: str | None = None) -> str:
    """The link as the writer wrote it, with the address (and a missing alt) corrected."""
    written = target.written
    if target.target and target.target in written:
        written = written.replace(target.target, address, 1)
    if alt is not None:
        if written.startswith("!["):
            written = re.sub(r"^!\[\s*\]", f"![{alt}]", written)
        elif _EMPTY_ALT.search(written):
            written = _EMPTY_ALT.sub(f'alt="{alt}"', written, count=1)
        elif written.lower().startswith("<img"):
            written = f'<img alt="{alt}"' + written[4:]
    return written if len(written) <= 100 else address
