"""Digests of everything a page is rendered from, so unchanged pages can be skipped.

A page's fingerprint covers its output name, the source of every template it
uses (with extends/include/import followed), and a digest of the value of each
variable those templates name. Content objects named directly (`article`, or the
items of `articles`, `articles_page`, `dates`, ...) are digested with their text;
content reached through another object's attributes (`article.next_article`) is
digested by its metadata only, since themes show links to neighbours, not their
text. Paginators are digested by their shape (count, pages), not by every item.
"""

import datetime
import decimal
import hashlib
import os
import types

from jinja2 import TemplateNotFound, meta
from pelican.contents import Content
from pelican.paginator import Page, Paginator
from pelican.urlwrappers import URLWrapper

from plugins.pelican_private import SHARED_CONTENT_ATTRIBUTES, has_intrasite_links, raw_content

# Attributes of a content object that are the same for every page of a build
# (the shared context and settings) or digested separately (the text).
_SKIPPED_ATTRIBUTES = SHARED_CONTENT_ATTRIBUTES
_SIMPLE_TYPES = (str, bytes, int, float, bool, type(None), decimal.Decimal)
_TIME_TYPES = (datetime.datetime, datetime.date, datetime.time, datetime.timedelta)
_CALLABLE_TYPES = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.ModuleType,
    type,
)
_MAX_DEPTH = 8


def _hash(*parts):
    # The repr of a tuple of str and bytes is unambiguous and made in C.
    text = repr(parts).encode("utf-8", "backslashreplace")
    return hashlib.blake2b(text, digest_size=16).digest()


def _token(value):
    """A short unambiguous stand-in for a simple value (hashed only when long)."""
    if isinstance(value, str):
        tag, data = b"s", value.encode("utf-8", "surrogatepass")
    else:
        tag, data = type(value).__name__.encode(), repr(value).encode()
    if len(data) > 48:
        return b"#" + _hash(tag, data)
    return tag + b"%d:" % len(data) + data


class _Unknowable(Exception):
    """A value whose digest would not be stable between builds."""


class Digester:
    """Digests values of one build's context; memoised by object identity.

    One Digester lives for one build only: the memo holds a reference to every
    value it digested, so identities cannot be reused while it lives.
    """

    def __init__(self, context):
        self._context = context
        self._memo = {}
        self._link_map = None

    def digest(self, value, full=True):
        """A 16-byte digest of `value`; `full` includes the text of content objects."""
        try:
            return self._digest(value, full, 0)
        except _Unknowable:
            # Unique on purpose: a page that depends on it is always rendered.
            return os.urandom(16)

    def _digest(self, value, full, depth):
        if isinstance(value, _SIMPLE_TYPES):
            return _token(value)
        key = (id(value), full)
        hit = self._memo.get(key)
        if hit is not None:
            return hit[1]
        if depth > _MAX_DEPTH:
            raise _Unknowable
        result = self._compute(value, full, depth + 1)
        self._memo[key] = (value, result)
        return result

    def _compute(self, value, full, depth):
        if isinstance(value, Content):
            return self._content(value, full, depth)
        if isinstance(value, URLWrapper):
            # Its URL follows from its slug and the settings (digested apart).
            return _hash("U", type(value).__name__, value.name, value.slug)
        if isinstance(value, Page):
            parts = [
                "P",
                str(value.number),
                value.full_name,
                str(value.base_url),
                self._digest(value.paginator, full, depth),
            ]
            if full:
                parts.append(self._digest(value.object_list, True, depth))
            return _hash(*parts)
        if isinstance(value, Paginator):
            return _hash(
                "G",
                value.name,
                str(value.url),
                str(value.count),
                str(value.num_pages),
                str(value.per_page),
                str(value.orphans),
            )
        if isinstance(value, _TIME_TYPES):
            return _hash("T", repr(value))
        if isinstance(value, list | tuple):
            return _hash(type(value).__name__, *(self._digest(v, full, depth) for v in value))
        if isinstance(value, set | frozenset):
            return _hash("S", *sorted(self._digest(v, full, depth) for v in value))
        if isinstance(value, dict):
            items = sorted(
                self._digest(k, full, depth) + self._digest(v, full, depth)
                for k, v in value.items()
            )
            return _hash("D", *items)
        if isinstance(value, _CALLABLE_TYPES):
            name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
            if name is None:
                raise _Unknowable
            return _hash("F", getattr(value, "__module__", "") or "", name)
        state = getattr(value, "__dict__", None)
        if state is not None:
            return _hash("O", type(value).__qualname__, self._digest(state, full, depth))
        text = repr(value)
        if " at 0x" in text:
            raise _Unknowable
        return _hash("R", type(value).__qualname__, text)

    def _content(self, value, full, depth):
        # Content nested inside content (neighbours, translations) counts by
        # its identity and metadata, never by its text: this keeps one edit
        # from spreading along the chain of next/previous links.
        parts = ["C", type(value).__name__, self._state(value, depth)]
        if full:
            text = (raw_content(value) or "").encode("utf-8", "surrogatepass")
            parts.append(hashlib.blake2b(text, digest_size=16).digest())
            if has_intrasite_links(value):
                parts.append(self.link_map())
        return _hash(*parts)

    def _state(self, value, depth):
        key = (id(value), "state")
        hit = self._memo.get(key)
        if hit is not None:
            return hit[1]
        state = []
        metadata = getattr(value, "metadata", None) or {}
        for name, attribute in sorted(vars(value).items()):
            if name in _SKIPPED_ATTRIBUTES:
                continue
            if name != "metadata" and metadata.get(name, state) is attribute:
                continue  # the same object as in metadata, digested there
            if isinstance(attribute, Content) or (
                isinstance(attribute, list | tuple)
                and attribute
                and isinstance(attribute[0], Content)
            ):
                attribute = self._nested(attribute, depth)
            elif isinstance(attribute, dict):
                attribute = sorted(attribute.items(), key=lambda item: str(item[0]))
            state.append((name, attribute))
        # Fast path: the repr of plain values (text, numbers, dates, tags...)
        # says all there is; an object repr with an address says nothing.
        text = repr(state)
        if " at 0x" in text:
            digest = _hash(
                "slow", *(name.encode() + self._nested(item, depth) for name, item in state)
            )
        else:
            digest = _hash("fast", text)
        self._memo[key] = (value, digest)
        return digest

    def _nested(self, value, depth):
        if isinstance(value, Content):
            key = (id(value), "ref")
            hit = self._memo.get(key)
            if hit is None:
                hit = self._memo[key] = (value, self._reference(value))
            return hit[1]
        if isinstance(value, list | tuple) and any(isinstance(v, Content) for v in value):
            return _hash("refs", *(self._nested(v, depth) for v in value))
        return self._digest(value, False, depth)

    def _reference(self, value):
        # What a link to it shows. Its URL follows from these and the
        # settings; computing it is slow in Pelican, so it is left out.
        return _hash(
            "ref",
            type(value).__name__,
            *(
                str(getattr(value, name, ""))
                for name in ("source_path", "slug", "title", "date", "status", "lang")
            ),
            str(getattr(value, "category", "")),
            str(value.metadata.get("url", "")),
            str(value.metadata.get("save_as", "")),
        )

    def link_map(self):
        """Digest of where every source file ends up: `{filename}` links depend on it."""
        if self._link_map is None:
            pairs = []
            for kind in ("generated_content", "static_content"):
                for path, item in sorted(self._context.get(kind, {}).items()):
                    pairs.append(kind + path + "=" + (str(item.url) if item is not None else ""))
            self._link_map = _hash("L", *pairs)
        return self._link_map


# (template name, source) -> (undeclared names, referenced templates); parsing
# is the slow part and sources rarely change between builds.
_PARSED = {}


def _parse(environment, name, source):
    key = (name, source)
    if key not in _PARSED:
        ast = environment.parse(source)
        _PARSED[key] = (
            frozenset(meta.find_undeclared_variables(ast)),
            tuple(meta.find_referenced_templates(ast)),
        )
    return _PARSED[key]


class TemplateVariables:
    """The context variables a template can read, following extends/include/import."""

    def __init__(self):
        self._memo = {}

    def of(self, template):
        """(names, source digest) for a template, or None when it cannot be known."""
        key = (id(template.environment), template.name)
        if key not in self._memo:
            self._memo[key] = self._walk(template.environment, template.name)
        return self._memo[key]

    def _walk(self, environment, name):
        names = set()
        sources = []
        seen = set()
        pending = [name]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            try:
                source, _, _ = environment.loader.get_source(environment, current)
            except TemplateNotFound:
                # `include ... ignore missing`; a missing required template
                # fails the render itself.
                sources.append(current + ":missing")
                continue
            sources.append(current + ":" + source)
            undeclared, references = _parse(environment, current, source)
            names |= undeclared
            for referenced in references:
                if referenced is None:
                    return None
                pending.append(referenced)
        return frozenset(names), _hash("templates", *sorted(sources))
