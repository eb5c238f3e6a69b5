"""Signal handlers of the intern_calls plugin.

Articles in the internships section (content/internships/) become intern calls: their
own template and URL, open until the end of their apply-by day, schema.org JobPosting
JSON-LD, and the /internships/ listing with open calls first.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from markupsafe import Markup
from pelican import signals
from pelican.contents import Article

from .model import parse_intern_call

logger = logging.getLogger(__name__)

DEFAULTS = {
    # Content folder holding intern calls (its name is also their category).
    "section": "internships",
    # "Now" for open/closed: an ISO date-time (site time zone if no offset), or None for
    # the build time. The SITE_NOW environment variable is used when this is None.
    "now": None,
    "url": "internships/{slug}/",
    "save_as": "internships/{slug}/index.html",
    "listing_save_as": "internships/index.html",
    # Our own application form (forms/<id>.toml), used by `Application: form`.
    "application_form": "intern-application",
}


class InternCallsConfigurationError(Exception):
    """The INTERN_CALLS setting is wrong; the message says how to fix it."""


def check_settings(settings) -> dict:
    """Merge INTERN_CALLS over the defaults and check it."""
    given = settings.get("INTERN_CALLS") or {}
    if not isinstance(given, dict):
        raise InternCallsConfigurationError(
            'intern_calls: INTERN_CALLS must be a dict like {"now": None}'
        )
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise InternCallsConfigurationError(
            f"intern_calls: unknown INTERN_CALLS key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(DEFAULTS))}"
        )
    config = {**DEFAULTS, **given}
    config["now"] = parse_now(config["now"], settings.get("TIMEZONE") or "UTC")
    return config


def parse_now(value, zone_name: str) -> datetime:
    """The moment that splits open from closed: setting, then SITE_NOW, then the clock."""
    value = value or os.environ.get("SITE_NOW") or None
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InternCallsConfigurationError(
                f"intern_calls: 'now' is {value!r}; write it as an ISO date-time such as "
                "2013-08-01T12:00 (in INTERN_CALLS['now'] or the SITE_NOW environment "
                "variable)"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone_name))
    return value


_config: dict = {}


def config_for(settings) -> dict:
    """The checked INTERN_CALLS config for these settings (checked once per settings)."""
    if _config.get("key") != id(settings):
        _config.update(key=id(settings), value=check_settings(settings))
    return _config["value"]


def initialized(pelican):
    """Check INTERN_CALLS before anything is read."""
    config_for(pelican.settings)


def _in_section(instance, section: str) -> bool:
    try:
        relative = (
            Path(instance.source_path)
            .resolve()
            .relative_to(Path(instance.settings["PATH"]).resolve())
        )
    except (TypeError, ValueError):
        return False
    return relative.parts[:1] == (section,)


def _plain(html) -> str:
    return Markup(html or "").striptags().replace("\xa0", " ")


def content_object_init(instance):
    """Turn an article of the internships section into an intern call page."""
    if not isinstance(instance, Article):
        return
    config = config_for(instance.settings)
    if not _in_section(instance, config["section"]):
        return
    call, problems = parse_intern_call(
        instance.metadata,
        instance.settings.get("TIMEZONE") or "UTC",
        default_form=config["application_form"],
    )
    if call is None:
        for problem in problems:
            logger.error(
                "intern_calls: %s: %s: %s", instance.source_path, problem.field, problem.message
            )
        return
    call.title = _plain(instance.title)
    instance.intern_call = call
    if "template" not in instance.metadata:
        instance.template = "intern_call"
    if getattr(instance, "status", "published") == "draft":
        return  # drafts keep Pelican's draft address, so they are never published early
    if "url" not in instance.metadata:
        instance.override_url = config["url"].format(slug=instance.slug)
    if "save_as" not in instance.metadata:
        instance.override_save_as = config["save_as"].format(slug=instance.slug)


def job_posting_json_ld(article, settings) -> dict:
    """schema.org JobPosting for one intern call."""
    call = article.intern_call
    siteurl = settings["SITEURL"].rstrip("/")
    data = {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": call.role,
        "description": str(article.content),
        "url": f"{siteurl}/{article.url}",
        "datePosted": article.date.isoformat(),
        "validThrough": call.closes_at.isoformat(),
        "employmentType": "INTERN",
        "hiringOrganization": {
            "@type": "Organization",
            "name": settings["SITENAME"],
            "sameAs": f"{siteurl}/",
        },
        "directApply": call.application[0] == "form",
    }
    address = {"@type": "PostalAddress"}
    for key, value in (
        ("addressLocality", call.city),
        ("addressRegion", call.region),
        ("addressCountry", call.country),
    ):
        if value:
            address[key] = value
    if call.city:
        data["jobLocation"] = {"@type": "Place", "address": address}
    if call.remote:
        data["jobLocationType"] = "TELECOMMUTE"
        data["applicantLocationRequirements"] = {
            "@type": "Country",
            "name": call.country or "US",
        }
    return data


def _calls(generator) -> list:
    return [a for a in generator.articles if getattr(a, "intern_call", None)]


def article_generator_finalized(generator):
    """Open or closed, JSON-LD, and the open-first list every template can use."""
    # Worked out on every build, so a long-running dev server never goes stale.
    now = parse_now(
        (generator.settings.get("INTERN_CALLS") or {}).get("now"),
        generator.settings.get("TIMEZONE") or "UTC",
    )
    calls = _calls(generator)
    # Drafts, hidden posts and translations get their pages too, but stay out of lists.
    others = [
        a
        for name in (
            "drafts",
            "hidden_articles",
            "translations",
            "drafts_translations",
            "hidden_translations",
        )
        for a in getattr(generator, name, [])
        if getattr(a, "intern_call", None)
    ]
    for article in calls + others:
        article.call_open = article.intern_call.is_open(now)
        article.job_posting_json_ld = job_posting_json_ld(article, generator.settings)
    open_calls = sorted((a for a in calls if a.call_open), key=lambda a: a.intern_call.apply_by)
    closed_calls = sorted(
        (a for a in calls if not a.call_open),
        key=lambda a: a.intern_call.apply_by,
        reverse=True,
    )
    generator.context["open_intern_calls"] = open_calls
    generator.context["closed_intern_calls"] = closed_calls
    logger.info("intern_calls: %d open, %d closed", len(open_calls), len(closed_calls))


def article_writer_finalized(generator, writer):
    """Write the /internships/ listing."""
    config = config_for(generator.settings)
    writer.write_file(
        config["listing_save_as"],
        generator.get_template("internships"),
        generator.context,
        relative_urls=generator.settings["RELATIVE_URLS"],
        url=config["listing_save_as"].removesuffix("index.html"),
        template_name="internships",
        page_name="internships",
    )


def register():
    """Connect the plugin's signals."""
    signals.initialized.connect(initialized)
    signals.content_object_init.connect(content_object_init)
    signals.article_generator_finalized.connect(article_generator_finalized)
    signals.article_writer_finalized.connect(article_writer_finalized)
