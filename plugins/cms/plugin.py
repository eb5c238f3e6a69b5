"""The browser editor at /admin/: Decap CMS, configured from the content's field list.

Setting (every key optional)::

    CMS = {
        "enabled": True,
        "save_as": "admin",       # the editor's folder in the output
        "content": "content",     # the content folder, from the repository's root
        # Development: Decap's local-backend protocol at this address, which `make serve`
        # answers; the editor then reads and writes content/ directly. None: GitHub.
        "local_backend": None,
        # The GitHub backend: the repository (owner/name) and branch the editor commits
        # to, and its sign-in route on the form endpoint (FORMS["endpoint"]).
        "repo": "",
        "branch": "main",
        "auth_endpoint": "oauth/auth",
        "publish_mode": "",       # "editorial_workflow": each change is a pull request
    }

The build writes admin/index.html (theme template admin.html) and admin/config.yml:
one collection per kind of content (plugins/content_fields.py), each field with the
widget, required mark and hint its definition gives. config.yml is JSON, which is YAML.
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from pelican import signals

from plugins import content_fields
from plugins.content_check.checker import known_form_ids
from plugins.content_check.plugin import check_settings as content_check_settings
from plugins.content_fields import INTERN_CALL, PAGE, POST, TRAINING
from plugins.content_meta import merged_setting, write_bytes
from plugins.events.plugin import DEFAULTS as events_defaults
from plugins.forms.plugin import check_settings as forms_settings
from plugins.intern_calls.plugin import DEFAULTS as calls_defaults

from . import vendor

logger = logging.getLogger(__name__)

DEFAULTS = {
    "enabled": True,
    "save_as": "admin",
    "content": "content",
    "local_backend": None,
    "repo": "",
    "branch": "main",
    "auth_endpoint": "oauth/auth",
    "publish_mode": "",
}
PUBLISH_MODES = ("", "simple", "editorial_workflow")
FORMAT = "pelican"  # the custom format theme/static/admin/pelican-format.js registers
LABELS = {
    POST: ("Blog posts", "Blog post"),
    PAGE: ("Pages", "Page"),
    TRAINING: ("Trainings", "Training"),
    INTERN_CALL: ("Intern calls", "Intern call"),
}
# Decap's datetime widget, writing the date-times our files hold.
DATE_TIME = {"widget": "datetime", "format": "YYYY-MM-DD HH:mm", "picker_utc": False}
DATE_ONLY = {"widget": "datetime", "format": "YYYY-MM-DD", "date_format": "YYYY-MM-DD",
             "time_format": False, "picker_utc": False}  # fmt: skip
DATE_TIME_FIELDS = ("date", "modified", "start", "end")
# A training that is all day writes only dates: in the editor, both times at 00:00.
ALL_DAY_FIELDS = ("start", "end")
# The parts of each line of a list of records, and what separates them (intern_calls).
RECORDS = {"testimonials": ("name", "background", "quote")}
RECORD_SEPARATOR = "|"
# Fields whose value names a form (or a web address, which the editor cannot choose).
FORM_FIELDS = {"registration": "EVENTS", "application": "INTERN_CALLS", "form": None}
# The IANA zones a training may name (not the legacy aliases such as US/Eastern).
ZONE_AREAS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
              "Europe", "Indian", "Pacific")  # fmt: skip


class CmsSettingsError(ValueError):
    """The CMS setting is wrong; the message names the key and the fix."""


def check_settings(settings) -> dict:
    """CMS merged over the defaults; raises CmsSettingsError when a key is wrong."""
    config = merged_setting(settings, "CMS", "cms", DEFAULTS, CmsSettingsError)

    def wrong(key, what):
        raise CmsSettingsError(f"cms: CMS[{key!r}] must be {what}, not {config[key]!r}")

    if not isinstance(config["enabled"], bool):
        wrong("enabled", "True or False")
    for key in ("save_as", "content"):
        value = config[key]
        if not isinstance(value, str) or not value.strip("/") or ".." in value.split("/"):
            wrong(key, "a folder name such as " + repr(DEFAULTS[key]))
        config[key] = value.strip("/")
    local = config["local_backend"]
    if local is not None and (
        not isinstance(local, str) or urlsplit(local).scheme not in ("http", "https")
    ):
        wrong(
            "local_backend",
            "None or the dev server's address, such as http://127.0.0.1:8000/api/v1",
        )
    if not isinstance(config["repo"], str) or (
        config["repo"] and not re.fullmatch(r"[\w.-]+/[\w.-]+", config["repo"])
    ):
        wrong("repo", "the GitHub repository as owner/name")
    if not isinstance(config["branch"], str) or not config["branch"].strip():
        wrong("branch", "a branch name such as main")
    if not isinstance(config["auth_endpoint"], str) or config["auth_endpoint"].startswith("/"):
        wrong("auth_endpoint", "a path on the form endpoint, such as oauth/auth")
    if config["publish_mode"] not in PUBLISH_MODES:
        wrong("publish_mode", "'' (save directly) or 'editorial_workflow' (pull requests)")
    return config


def _form_ids(settings) -> list[str]:
    """Ids of the forms in forms/ (FORMS["directory"])."""
    return sorted(known_form_ids(settings))


def _zones() -> list[str]:
    return sorted(zone for zone in available_timezones() if zone.split("/")[0] in ZONE_AREAS)


def _form_choice(key: str, settings, form_ids) -> dict:
    """A select of our forms for Registration, Application or a page's Form."""
    section = FORM_FIELDS[key]
    options = [{"label": form_id, "value": form_id} for form_id in form_ids]
    if section:
        # The form `form` stands for, as the events and intern_calls plugins read it.
        defaults = {"EVENTS": events_defaults, "INTERN_CALLS": calls_defaults}[section]
        ours = (settings.get(section) or {}).get(f"{key}_form", defaults[f"{key}_form"])
        options.insert(0, {"label": f"form (our {ours} form)", "value": "form"})
    if key == "registration":
        options.append({"label": "none (no registration)", "value": "none"})
    return {"widget": "select", "options": options}


def widget(field: content_fields.Field, kind: str, settings, form_ids, zones) -> dict:
    """The Decap field for one of our fields in a file of `kind`."""
    key = field.key
    example = field.example_for(kind)
    if key in RECORDS:
        no_separator = [f"^[^{RECORD_SEPARATOR}]*$", f"without a {RECORD_SEPARATOR}"]
        parts = [{"name": part, "label": part.capitalize(), "widget": "string",
                  "pattern": no_separator} for part in RECORDS[key]]  # fmt: skip
        summary = "{{fields." + parts[0]["name"] + "}}"
        found = {"widget": "list", "fields": parts, "summary": summary}
    elif field.is_list:
        item = {"name": "item", "label": field.name, "widget": "string"}
        found = {"widget": "list", "field": item, "collapsed": False}
    elif field.options:
        found = {"widget": "select", "options": list(field.options)}
        # Status stays empty (published, DEFAULT_METADATA); the others start at the usual value.
        if example in field.options and key != "status":
            found["default"] = example
    elif key in FORM_FIELDS:
        found = _form_choice(key, settings, form_ids)
        if example:
            found["default"] = example
    elif key in DATE_TIME_FIELDS:
        found = dict(DATE_TIME, default="{{now}}") if key == "date" else dict(DATE_TIME)
    elif key == "apply_by":
        found = dict(DATE_ONLY)
    elif key == "timezone":
        found = {"widget": "select", "options": zones, "default": settings.get("TIMEZONE") or "UTC"}
    elif key == "image":
        found = {"widget": "image", "choose_url": False}
    elif key == "capacity":
        found = {"widget": "number", "value_type": "int", "min": 1}
    elif key == "summary":
        found = {"widget": "text"}
    else:
        found = {"widget": "string"}
    hint = content_fields.help_text(field, kind)
    if key == "image_alt":
        hint += " (required when there is an Image)"
    return {
        "name": key,
        "label": field.name.replace("_", " "),
        **found,
        "required": kind in field.required,
        "hint": hint,
    }


def extra_fields(settings) -> tuple:
    """The site's own field names (CONTENT_CHECK["extra_fields"], as the check reads it)."""
    return tuple(content_check_settings(settings)["extra_fields"])


def editor_written(config) -> bool:
    """Whether the build writes the editor: on, with a backend to save through."""
    return config["enabled"] and bool(config["local_backend"] or config["repo"])


def collection(kind: str, config: dict, settings, form_ids, zones) -> dict:
    """The Decap collection of one kind of content, in its folder."""
    label, singular = LABELS[kind]
    fields = content_fields.fields_of(kind, extra_fields(settings)).values()
    body = {"name": "body", "label": "Text", "widget": "markdown", "required": False,
            # Images only: a code block's languages would load parts of Decap not vendored.
            "editor_components": ["image"],
            "hint": "Markdown; an image needs a description between its brackets"}  # fmt: skip
    return {
        "name": content_fields.FOLDERS[kind],
        "label": label,
        "label_singular": singular,
        "folder": f"{config['content']}/{content_fields.FOLDERS[kind]}",
        "create": True,
        "extension": "md",
        "format": FORMAT,
        # content/<folder>/YYYY-MM-DD-slug.md, as `invoke new-post` names a file.
        "slug": "{{year}}-{{month}}-{{day}}-{{slug}}",
        # Newest first where there is a Date; pages by title.
        "sortable_fields": (
            [{"field": "date", "default_sort": "desc"}, "title"] if kind != PAGE else ["title"]
        ),
        "fields": [widget(field, kind, settings, form_ids, zones) for field in fields] + [body],
    }


def _backend(config, settings) -> dict:
    if config["local_backend"]:
        return {"name": "proxy", "proxy_url": config["local_backend"]}
    return {
        "name": "github",
        "repo": config["repo"],
        "branch": config["branch"],
        "base_url": forms_settings(settings)["endpoint"],
        "auth_endpoint": config["auth_endpoint"],
    }


def decap_config(settings) -> dict:
    """The whole configuration Decap CMS reads from admin/config.yml."""
    config = check_settings(settings)
    form_ids, zones = _form_ids(settings), _zones()
    found = {"backend": _backend(config, settings)}
    if config["local_backend"]:
        found["local_backend"] = {"url": config["local_backend"]}
    if config["publish_mode"]:
        found["publish_mode"] = config["publish_mode"]
    site = settings.get("SITEURL", "")
    found.update(
        site_url=site,
        display_url=site,
        media_folder=f"{config['content']}/images",
        # How a post names an uploaded picture: Pelican's {static} link to the copy
        # the build makes of content/images/ (at /images/ under SITEURL).
        public_folder="{static}/images",
        slug={"encoding": "ascii", "clean_accents": True},
        collections=[
            collection(kind, config, settings, form_ids, zones) for kind in content_fields.KINDS
        ],
    )
    return found


def format_spec(settings) -> dict:
    """What pelican-format.js needs to know of our fields (its script tag's data-spec)."""
    fields = [*content_fields.FIELDS]
    known = {field.key for field in fields}
    fields += [content_fields.Field(name, (), "") for name in extra_fields(settings)
               if name.lower() not in known]  # fmt: skip
    return {
        "format": FORMAT,
        "names": [field.name for field in fields],
        # Items one per line; trainings' lists also split at ";" (plugins/events/model.py).
        "lists": {
            field.key: ";" if field.kinds == (TRAINING,) else ""
            for field in fields
            if field.is_list
        },
        "records": {key: list(parts) for key, parts in RECORDS.items()},
        "recordSeparator": RECORD_SEPARATOR,
        "dates": list(DATE_TIME_FIELDS),
        "allDay": list(ALL_DAY_FIELDS),
    }


def content_security_policy(config, settings) -> str:
    """The editor page's own policy: scripts and data from this site and its backend only.

    Decap's styles are inline (emotion), its GitHub backend talks to api.github.com and
    shows the user's avatar; everything else (such as githubstatus.com, which Decap polls
    every five minutes) is refused, and Decap reads a refused poll as "no outage".
    """
    connect, images = ["'self'"], ["'self'", "data:", "blob:"]
    if config["local_backend"]:
        local = urlsplit(config["local_backend"])
        connect.append(f"{local.scheme}://{local.netloc}")
    else:
        connect.append("https://api.github.com")
        images.append("https://avatars.githubusercontent.com")
    directives = {
        "default-src": ["'self'"],
        # Decap compiles its configuration's schema (ajv) with new Function().
        "script-src": ["'self'", "'unsafe-eval'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": images,
        "connect-src": connect,
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def write_admin(generator, writer):
    """page_writer_finalized: write admin/index.html and admin/config.yml."""
    settings = generator.settings
    config = check_settings(settings)
    if not editor_written(config):
        if config["enabled"]:
            logger.info(
                "cms: the editor was not written: CMS has neither local_backend nor a "
                "GitHub repo (set GITHUB_REPOSITORY=owner/name, as GitHub Actions does)"
            )
        return
    folder = config["save_as"]
    header = "# Written by plugins/cms from plugins/content_fields.py; edit those, not this.\n"
    data = header + json.dumps(decap_config(settings), indent=2, ensure_ascii=False) + "\n"
    write_bytes(writer, writer.output_path, f"{folder}/config.yml", data.encode("utf-8"))
    # The vendored bundle with its compressed copies (so pelican-precompress skips it),
    # in a folder named after the release: a new release is a new address.
    bundle = f"{folder}/decap-{vendor.VERSION}/{vendor.BUNDLE_NAME}"
    for source in sorted(vendor.FOLDER.glob(vendor.BUNDLE_NAME + "*")):
        name = bundle.removesuffix(vendor.BUNDLE_NAME) + source.name
        write_bytes(writer, writer.output_path, name, source.read_bytes())
    writer.write_file(
        f"{folder}/index.html",
        generator.get_template("admin"),
        generator.context,
        relative_urls=settings["RELATIVE_URLS"],
        url=f"{folder}/",
        template_name="admin",
        cms_folder=folder,
        cms_bundle=bundle,
        cms_spec=json.dumps(format_spec(settings), separators=(",", ":")),
        cms_policy=content_security_policy(config, settings),
    )
    logger.debug("cms: wrote %s/index.html, config.yml and %s", folder, bundle)


def check_at_start(pelican):
    """initialized: stop the build at once on a malformed CMS setting."""
    check_settings(pelican.settings)


def register():
    """Connect the plugin's signals."""
    signals.initialized.connect(check_at_start)
    signals.page_writer_finalized.connect(write_admin)
