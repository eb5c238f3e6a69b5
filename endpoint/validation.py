"""Validate a submission against its form definition (pure: no I/O, no clock).

`validate(form, data)` takes the parsed body ({name: str or list of str}) and returns a
`Result`: the cleaned values of the defined fields (trimmed, Unicode-normalised, only
what the form defines) and a {field: message} dict of errors in form order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from webforms.names import CONSENT as CONSENT_FIELD

CHECKED_VALUES = ("yes", "on", "true", "1")
# Limits for fields whose definition sets no max_length, so nothing is unbounded.
DEFAULT_MAX_LENGTH = {"textarea": 10_000}
DEFAULT_SINGLE_LINE_MAX = 1_000
MULTI_LINE_TYPES = ("textarea",)

_WHITESPACE_RUN = re.compile(r"\s+")
# For ASCII text (most of what is typed) the single-line cleaning is this one step:
# normalisation changes nothing and every format character and joiner is beyond ASCII.
_ASCII_SPACE_OR_CONTROL_RUN = re.compile(r"[\s\x00-\x1f\x7f]+")
# Unicode's control characters (category Cc) are exactly these 65, and its surrogates
# (Cs) this block: one regular expression each instead of a lookup per character.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_TAB_NEWLINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Unicode's format characters (category Cf, as of Unicode 16) but the two joiners:
# invisible, yet they reorder text (U+202E right-to-left override, the isolates
# U+2066-2069), hide inside words (U+200B, U+2060, U+FEFF, soft hyphen) or carry hidden
# text (tags, U+E0000 block). One class instead of a lookup per character.
_FORMAT = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]"
)
# The joiners (U+200C ZWNJ, U+200D ZWJ) stay between two visible characters: emoji
# sequences (woman + ZWJ + laptop) and Persian, Indic and other scripts' spelling need
# them. At either end of a word they do nothing visible, so they go.
_LOOSE_JOINER = re.compile(r"(?<!\S)[\u200c\u200d]+|[\u200c\u200d]+(?!\S)")
_PHONE = re.compile(r"^[0-9+().\-/\s#*extEXT]+$")


@dataclass
class Result:
    """The outcome of validation: cleaned values and errors (empty when valid)."""

    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    email: str = ""

    @property
    def ok(self) -> bool:
        """True when the submission can be stored."""
        return not self.errors


def clean_text(value: str, multi_line: bool = False) -> str:
    """Trim and normalise one value.

    Single-line values get NFKC (compatibility forms folded, so look-alike full-width
    letters match), lose invisible format characters (bidirectional overrides, zero-width
    spaces, byte order marks; the joiners ZWJ/ZWNJ stay inside words) and every run of
    whitespace or control characters becomes one space.
    Multi-line values get NFC (the text as written) and keep their line breaks, with
    Windows line endings unified. Control characters and unpaired surrogates (which no
    database can store) are dropped.
    """
    if multi_line:
        value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
        value = _CONTROL_BUT_TAB_NEWLINE.sub("", _SURROGATE.sub("", value))
        return "\n".join(line.rstrip() for line in value.split("\n")).strip()
    if value.isascii():
        return _ASCII_SPACE_OR_CONTROL_RUN.sub(" ", value).strip()
    value = unicodedata.normalize("NFKC", value)
    value = _CONTROL.sub(" ", _SURROGATE.sub("", value))
    value = _LOOSE_JOINER.sub("", _FORMAT.sub("", value))
    # Line and paragraph separators count as whitespace too.
    return _WHITESPACE_RUN.sub(" ", value).strip()


def validate(form, data: dict) -> Result:
    """Check `data` against `form`; unknown names in `data` are ignored, never kept."""
    result = Result()
    for definition in form.fields:
        raw = data.get(definition.name)
        if definition.type == "checkboxes":
            _check_group(definition, raw, result)
        else:
            _check_single(definition, raw, result)
    consent = _first(data.get(CONSENT_FIELD))
    if consent is None or clean_text(consent).lower() not in CHECKED_VALUES:
        result.errors[CONSENT_FIELD] = "Tick the box to agree to the consent statement."
    return result


def _first(raw):
    """The one submitted value as a string, or None when absent, repeated or not text."""
    if isinstance(raw, list):
        if len(raw) != 1:
            return None
        raw = raw[0]
    return raw if isinstance(raw, str) else None


def _check_single(definition, raw, result: Result) -> None:
    name = definition.name
    if isinstance(raw, list) and len(raw) > 1:
        result.errors[name] = f"Send only one value for “{definition.label}”."
        return
    value = _first(raw)
    if raw is not None and raw != [] and value is None:
        result.errors[name] = f"“{definition.label}” must be text."
        return
    value = clean_text(value or "", multi_line=definition.type in MULTI_LINE_TYPES)

    if definition.type == "checkbox":
        checked = value.lower() in CHECKED_VALUES
        if value and not checked:
            result.errors[name] = f"“{definition.label}” can only be ticked or left empty."
        elif definition.required and not checked:
            result.errors[name] = f"Tick “{definition.label}” to continue."
        result.values[name] = "yes" if checked else ""
        return

    if not value:
        if definition.required:
            result.errors[name] = _required_message(definition)
        result.values[name] = ""
        return

    limit = definition.max_length or DEFAULT_MAX_LENGTH.get(
        definition.type, DEFAULT_SINGLE_LINE_MAX
    )
    if len(value) > limit:
        result.errors[name] = (
            f"“{definition.label}” must be {limit} characters or fewer (it has {len(value)})."
        )
        result.values[name] = value
        return

    message = None
    if definition.type in ("select", "radio"):
        if value not in definition.option_values:
            message = f"Choose one of the options for “{definition.label}”."
    elif definition.type == "email":
        value, message = _check_email(value, definition.label)
        if not message and not result.email:
            result.email = value
    elif definition.type == "url":
        message = _check_url(value, definition.label)
    elif definition.type == "tel":
        message = _check_phone(value, definition.label)
    if message:
        result.errors[name] = message
    result.values[name] = value


def _check_group(definition, raw, result: Result) -> None:
    name = definition.name
    if raw is None:
        raw = []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        result.errors[name] = f"“{definition.label}” must be a list of options."
        result.values[name] = []
        return
    chosen = []
    for item in raw:
        item = clean_text(item)
        if item and item not in chosen:
            chosen.append(item)
    unknown = [item for item in chosen if item not in definition.option_values]
    if unknown:
        result.errors[name] = f"Choose only from the options listed for “{definition.label}”."
    elif definition.required and not chosen:
        result.errors[name] = f"Tick at least one option for “{definition.label}”."
    # Keep the order of the definition, whatever order the browser sent.
    result.values[name] = [value for value in definition.option_values if value in chosen]


def _required_message(definition) -> str:
    if definition.type in ("select", "radio"):
        return f"Choose an option for “{definition.label}”."
    if definition.type == "hidden":
        return "This form is missing a value it needs; reload the page and try again."
    return f"Fill in “{definition.label}”."


def has_encoded_word(address: str) -> bool:
    """True when `address` holds "=?", the start of an RFC 2047 encoded word.

    Mail programs (and Python's own parser) decode "=?utf-8?q?...?=" in an address
    into other characters, even other addresses, so such an address is never accepted.
    """
    return "=?" in address


def _check_email(value: str, label: str):
    """Return (normalised address, error message or None). No DNS lookups."""
    from email_validator import EmailNotValidError, validate_email

    if has_encoded_word(value):
        return value, (
            f"Enter a real e-mail address in “{label}”, like name@example.org "
            "(it cannot contain “=?”)"
        )
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        return value, (f"Enter a real e-mail address in “{label}”, like name@example.org ({error})")
    return checked.normalized, None


def _check_url(value: str, label: str):
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if not parts or parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        return f"Enter a full web address in “{label}”, starting with https://"
    return None


def _check_phone(value: str, label: str):
    digits = sum(char.isdigit() for char in value)
    if not _PHONE.match(value) or digits < 5 or digits > 20:
        return f"Enter a phone number in “{label}”, using digits, spaces, + and brackets only."
    return None
