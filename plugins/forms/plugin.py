"""Signal handlers and the `form_html` Jinja global of the forms plugin."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import pass_context
from markupsafe import Markup, escape
from pelican import signals

from webforms import render
from webforms.definitions import FormDefinitionError, load_forms

from .manifest import write_manifest

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = {
    "endpoint": "http://127.0.0.1:8001",
    "directory": "forms",
    # What the endpoint reads to know the trainings and intern calls (manifest.py).
    "manifest_save_as": "forms/manifest.json",
}


class FormsConfigurationError(Exception):
    """The FORMS setting or a form definition is wrong; the message says how to fix it."""


def check_settings(settings) -> dict:
    """Merge `FORMS` over the defaults and check it; raises FormsConfigurationError."""
    given = settings.get("FORMS") or {}
    if not isinstance(given, dict):
        raise FormsConfigurationError(
            'forms: FORMS must be a dict like {"endpoint": "https://forms.example.org"}'
        )
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise FormsConfigurationError(
            f"forms: unknown FORMS key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(DEFAULTS))}"
        )
    config = {**DEFAULTS, **given}
    endpoint = config["endpoint"]
    parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
    if not parts or parts.scheme not in ("http", "https") or not parts.netloc:
        raise FormsConfigurationError(
            f"forms: FORMS['endpoint'] must be an http(s) address such as "
            f"https://forms.example.org, not {endpoint!r}"
        )
    config["endpoint"] = endpoint.rstrip("/")
    directory = Path(config["directory"])
    if not directory.is_absolute():
        directory = PROJECT_ROOT / directory
    config["directory"] = directory
    return config


def _load(config) -> dict:
    try:
        forms = load_forms(config["directory"])
    except FormDefinitionError as error:
        raise FormsConfigurationError(f"forms: {error}") from None
    if not forms:
        logger.warning("forms: no form definitions found in %s", config["directory"])
    return forms


def make_form_html(config, forms):
    """The Jinja global: `form_html(form_id, **hidden)` returns the form as Markup."""

    @pass_context
    def form_html(context, form_id, **hidden):
        form = forms.get(form_id)
        if form is None:
            raise FormsConfigurationError(
                f"forms: a template asks for form {form_id!r}, but there is no "
                f"forms/{form_id}.toml; known forms: {', '.join(sorted(forms))}"
            )
        hidden_names = {field.name for field in form.fields if field.type == "hidden"}
        wrong = sorted(set(hidden) - hidden_names)
        if wrong:
            raise FormsConfigurationError(
                f"forms: form {form_id!r} has no hidden field(s) {', '.join(wrong)}; "
                f"its hidden fields are: {', '.join(sorted(hidden_names))}"
            )
        siteurl = context.get("SITEURL", "")
        html = render.form_html(
            form,
            f"{config['endpoint']}/forms/{form.id}",
            hidden={name: "" if value is None else str(value) for name, value in hidden.items()},
            thank_you_url=f"{siteurl}/{form.thank_you}",
        )
        # The script guards against running twice when a page holds two forms. Its
        # hashed name in the publish build comes from plugins/asset_names.
        script_path = render.SCRIPT_PATH
        if "asset_url" in context.environment.filters:
            asset_url = context.environment.filters["asset_url"]
            script_path = asset_url(script_path.removeprefix("theme/"))
        script = f'<script src="{escape(siteurl)}/{script_path}" defer></script>'
        return Markup(f"{html}\n{script}")

    return form_html


def initialized(pelican):
    """Check FORMS and every definition at start-up, so mistakes stop the build early."""
    config = check_settings(pelican.settings)
    forms = _load(config)
    logger.debug("forms: %d form(s) posting to %s", len(forms), config["endpoint"])


def add_global(generator):
    """Expose `form_html` and `form_definition` to every template this generator renders.

    The definitions are read again for each generator (a few small files), so a dev
    server that rebuilds picks up an edited forms/*.toml without a restart.
    """
    config = check_settings(generator.settings)
    forms = _load(config)
    generator.env.globals["form_html"] = make_form_html(config, forms)
    # Templates read a form's title, fields or thank-you path from its definition.
    generator.env.globals["form_definition"] = forms.get


def article_writer_finalized(generator, writer):
    """Write the endpoint's manifest of trainings and intern calls."""
    config = check_settings(generator.settings)
    write_manifest(generator, writer, config["manifest_save_as"], config["endpoint"])


def register():
    """Connect the plugin's signals (Pelican calls this once per run)."""
    signals.initialized.connect(initialized)
    signals.generator_init.connect(add_global)
    signals.article_writer_finalized.connect(article_writer_finalized)
