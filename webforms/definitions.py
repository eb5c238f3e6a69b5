"""Form definitions: one TOML file per form in `forms/`, read by the theme and the endpoint.

`load_forms()` reads and checks every file; a mistake raises `FormDefinitionError` naming
the file and the field, so a volunteer editing a form sees exactly what to fix.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .names import CONSENT, SOURCE, SOURCE_MAX_LENGTH

DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "forms"

FIELD_TYPES = (
    "text",
    "email",
    "tel",
    "url",
    "textarea",
    "select",
    "radio",
    "checkboxes",
    "checkbox",
    "hidden",
)
CHOICE_TYPES = ("select", "radio", "checkboxes")
# Per-submission names the endpoint and page script use; never allowed in a definition.
RESERVED_NAMES = (CONSENT,)

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_FORM_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_FORM_KEYS = {
    "id",
    "title",
    "submit_label",
    "thank_you",
    "thank_you_for",
    "about",
    "notify",
    "double_opt_in",
    "consent",
    "fields",
}
# What a form's submissions may be about: the content the site's manifest lists.
ABOUT_KINDS = ("training", "internship")
# The outcomes of a registration that have a thank-you page of their own.
OUTCOMES = ("waitlisted", "already_registered")
_FIELD_KEYS = {
    "name",
    "label",
    "type",
    "required",
    "max_length",
    "autocomplete",
    "help",
    "options",
}


class FormDefinitionError(ValueError):
    """A form definition file is missing, unreadable or describes an impossible form."""

    def __init__(self, path, message, field_name=None):
        self.path = Path(path)
        self.field_name = field_name
        self.message = message
        where = f"{self.path.name}"
        if field_name:
            where += f": field {field_name!r}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Option:
    """One choice of a select, radio group or checkbox group."""

    value: str
    label: str


@dataclass(frozen=True)
class Field:
    """One field of a form, as the theme renders it and the endpoint validates it."""

    name: str
    label: str
    type: str
    required: bool = False
    max_length: int | None = None
    options: tuple[Option, ...] = ()
    help: str = ""
    autocomplete: str | None = None

    @property
    def option_values(self) -> tuple[str, ...]:
        """The values a submission may send for this field."""
        return tuple(option.value for option in self.options)


@dataclass(frozen=True)
class Consent:
    """The consent statement a person agrees to, and its version."""

    version: str
    text: str

    @property
    def sha256(self) -> str:
        """Hex digest of the exact text, stored with each submission as proof of wording."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FormDefinition:
    """A whole form: its fields, consent statement, thank-you page and who is notified."""

    id: str
    title: str
    submit_label: str
    fields: tuple[Field, ...]
    consent: Consent
    thank_you: str
    notify: tuple[str, ...] = ()
    # (kind, hidden field): each submission names a training or intern call by its slug.
    about: tuple[str, str] | None = None
    # {outcome: page} for registrations that were waitlisted or already registered.
    thank_you_for: tuple[tuple[str, str], ...] = ()
    # True: a submission counts once its address is confirmed (endpoint/confirm.py).
    double_opt_in: bool = False

    @property
    def about_kind(self) -> str:
        """What each submission is about ("training", "internship"), or "" for nothing."""
        return self.about[0] if self.about else ""

    def thank_you_page(self, outcome: str = "") -> str:
        """The site path of the thank-you page for this outcome (the usual one by default)."""
        return dict(self.thank_you_for).get(outcome, self.thank_you)

    def field(self, name: str) -> Field | None:
        """The field called `name`, or None when the form has no such field."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        return None

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of every defined field, in form order."""
        return tuple(f.name for f in self.fields)


def forms_directory(directory=None) -> Path:
    """The folder holding the definitions: the argument, else env FORMS_DIR, else forms/."""
    if directory is not None:
        return Path(directory)
    return Path(os.environ.get("FORMS_DIR") or DEFAULT_DIRECTORY)


def load_forms(directory=None) -> dict[str, FormDefinition]:
    """Read and check every `*.toml` in the forms folder; returns {form id: definition}."""
    folder = forms_directory(directory)
    if not folder.is_dir():
        raise FormDefinitionError(folder, "the forms folder does not exist")
    forms = {}
    for path in sorted(folder.glob("*.toml")):
        form = load_form_file(path)
        forms[form.id] = form
    return forms


@functools.lru_cache(maxsize=8)
def _cached_forms(folder: str) -> dict[str, FormDefinition]:
    return load_forms(folder)


def get_form(form_id: str, directory=None) -> FormDefinition | None:
    """The definition of `form_id` (read once per folder and cached), or None if unknown."""
    return _cached_forms(str(forms_directory(directory))).get(form_id)


def load_form_file(path) -> FormDefinition:
    """Read one definition file and check it; raises FormDefinitionError on any mistake."""
    import tomllib  # only when forms are first read: it is slow to import

    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise FormDefinitionError(path, f"is not valid TOML ({error})") from None
    except OSError as error:
        raise FormDefinitionError(path, f"cannot be read ({error.strerror})") from None
    return _parse_form(path, data)


def _parse_form(path: Path, data: dict) -> FormDefinition:
    unknown = sorted(set(data) - _FORM_KEYS)
    if unknown:
        raise FormDefinitionError(
            path, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_FORM_KEYS))}"
        )
    form_id = _text(path, data, "id")
    if not _FORM_ID.match(form_id):
        raise FormDefinitionError(path, f"id {form_id!r} must use only a-z, 0-9 and hyphens")
    if form_id != path.stem:
        raise FormDefinitionError(path, f"id {form_id!r} must match the file name {path.stem!r}")
    thank_you = _site_path(path, _text(path, data, "thank_you"), "thank_you")
    thank_you_for = data.get("thank_you_for", {})
    if not isinstance(thank_you_for, dict) or set(thank_you_for) - set(OUTCOMES):
        raise FormDefinitionError(
            path, f"thank_you_for must be a table with some of: {', '.join(OUTCOMES)}"
        )
    for outcome, page in thank_you_for.items():
        _site_path(path, page, f"thank_you_for.{outcome}")
    notify = data.get("notify", [])
    if not isinstance(notify, list) or not all(
        isinstance(address, str) and "@" in address for address in notify
    ):
        raise FormDefinitionError(path, "notify must be a list of e-mail addresses")

    double_opt_in = data.get("double_opt_in", False)
    if not isinstance(double_opt_in, bool):
        raise FormDefinitionError(path, "double_opt_in must be true or false")

    consent_data = data.get("consent")
    if not isinstance(consent_data, dict):
        raise FormDefinitionError(path, "needs a [consent] table with version and text")
    consent = Consent(
        version=_text(path, consent_data, "version", "consent.version"),
        text=_text(path, consent_data, "text", "consent.text"),
    )

    raw_fields = data.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise FormDefinitionError(path, "needs at least one [[fields]] entry")
    fields = []
    seen = set()
    for number, raw in enumerate(raw_fields, start=1):
        parsed = _parse_field(path, raw, number)
        if parsed.name in seen:
            raise FormDefinitionError(path, "is defined twice", parsed.name)
        seen.add(parsed.name)
        fields.append(parsed)
    if SOURCE not in seen:
        fields.append(Field(SOURCE, "Source", "hidden", max_length=SOURCE_MAX_LENGTH))
    about = data.get("about")
    if about is not None:
        hidden = [field.name for field in fields if field.type == "hidden" and field.required]
        if (
            not isinstance(about, dict)
            or set(about) != {"kind", "field"}
            or about["kind"] not in ABOUT_KINDS
            or about["field"] not in hidden
        ):
            raise FormDefinitionError(
                path,
                f'about must be like {{ kind = "training", field = "event" }}: kind one of '
                f"{', '.join(ABOUT_KINDS)}, field one of this form's required hidden fields",
            )
        about = (about["kind"], about["field"])
    return FormDefinition(
        id=form_id,
        title=_text(path, data, "title"),
        submit_label=_text(path, data, "submit_label"),
        fields=tuple(fields),
        consent=consent,
        thank_you=thank_you,
        notify=tuple(notify),
        about=about,
        thank_you_for=tuple(sorted(thank_you_for.items())),
        double_opt_in=double_opt_in,
    )


def _site_path(path: Path, value, key: str) -> str:
    if not isinstance(value, str) or not value or "://" in value or value.startswith("/"):
        raise FormDefinitionError(
            path, f"{key} must be a site path relative to SITEURL, like 'forms/thanks/'"
        )
    return value


def _parse_field(path: Path, raw, number: int) -> Field:
    if not isinstance(raw, dict):
        raise FormDefinitionError(path, f"[[fields]] entry {number} is not a table")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise FormDefinitionError(path, f"[[fields]] entry {number} needs a name")
    if name.startswith("_") or name in RESERVED_NAMES:
        raise FormDefinitionError(path, "this name is reserved for the endpoint", name)
    if not _NAME.match(name):
        raise FormDefinitionError(path, "names use only a-z, 0-9 and _ (start with a letter)", name)
    unknown = sorted(set(raw) - _FIELD_KEYS)
    if unknown:
        raise FormDefinitionError(
            path,
            f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_FIELD_KEYS))}",
            name,
        )
    field_type = raw.get("type", "text")
    if field_type not in FIELD_TYPES:
        raise FormDefinitionError(
            path, f"type {field_type!r} is not one of {', '.join(FIELD_TYPES)}", name
        )
    label = raw.get("label")
    if not isinstance(label, str) or not label.strip():
        raise FormDefinitionError(path, "needs a label", name)
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise FormDefinitionError(path, "required must be true or false", name)
    max_length = raw.get("max_length")
    if max_length is not None and (
        not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1
    ):
        raise FormDefinitionError(path, "max_length must be a positive whole number", name)
    help_text = raw.get("help", "")
    if not isinstance(help_text, str):
        raise FormDefinitionError(path, "help must be text", name)
    autocomplete = raw.get("autocomplete")
    if autocomplete is not None and not isinstance(autocomplete, str):
        raise FormDefinitionError(path, "autocomplete must be text", name)
    options = _parse_options(path, raw.get("options"), field_type, name)
    return Field(
        name=name,
        label=label.strip(),
        type=field_type,
        required=required,
        max_length=max_length,
        options=options,
        help=help_text.strip(),
        autocomplete=autocomplete,
    )


def _parse_options(path: Path, raw, field_type: str, name: str) -> tuple[Option, ...]:
    if field_type not in CHOICE_TYPES:
        if raw:
            raise FormDefinitionError(path, f"a {field_type} field takes no options", name)
        return ()
    if not isinstance(raw, list) or not raw:
        raise FormDefinitionError(path, f"a {field_type} field needs a list of options", name)
    options = []
    for entry in raw:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("value"), str)
            or not isinstance(entry.get("label"), str)
            or not entry["value"].strip()
            or not entry["label"].strip()
        ):
            raise FormDefinitionError(
                path, 'each option needs a value and a label: { value = "x", label = "X" }', name
            )
        options.append(Option(entry["value"].strip(), entry["label"].strip()))
    values = [option.value for option in options]
    if len(set(values)) != len(values):
        raise FormDefinitionError(path, "option values must be unique", name)
    return tuple(options)


def _text(path: Path, data: dict, key: str, label: str | None = None) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FormDefinitionError(path, f"{label or key} is required and must be text")
    return value.strip()
