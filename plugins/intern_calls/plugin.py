"""Signal handlers of the intern_calls plugin.

Articles in the internships section (content/internships/) become intern calls: their
own template and URL, open until the end of their apply-by day, schema.org JobPosting
JSON-LD, and the /internships/ listing with open calls first.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pelican import signals
from pelican.contents import Article

from plugins.content_meta import (
    by_year,
    forget_folders,
    in_section,
    merged_setting,
    now_setting,
    plain,
    set_address,
    unlisted_articles,
    write_listing,
)

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
    # Closed calls by year, so the listing stays short; it shows the latest `closed_recent`.
    "closed_save_as": "internships/closed/{year}/index.html",
    "closed_recent": 5,
    # Our own application form (forms/<id>.toml), used by `Application: form`.
    "application_form": "intern-application",
}


class InternCallsConfigurationError(Exception):
    """The INTERN_CALLS setting is wrong; the message says how to fix it."""


def check_settings(settings) -> dict:
    """Merge INTERN_CALLS over the defaults and check it."""
    config = merged_setting(
        settings, "INTERN_CALLS", "intern_calls", DEFAULTS, InternCallsConfigurationError
    )
    config["now"] = parse_now(settings)
    if not isinstance(config["closed_recent"], int) or config["closed_recent"] < 0:
        raise InternCallsConfigurationError(
            "intern_calls: INTERN_CALLS['closed_recent'] must be a whole number"
        )
    return config


def parse_now(settings) -> datetime:
    """The moment that splits open from closed: INTERN_CALLS['now'], SITE_NOW, the clock."""
    return now_setting(settings, "INTERN_CALLS", "intern_calls", InternCallsConfigurationError)


_config: dict = {}


def config_for(settings) -> dict:
    """The checked INTERN_CALLS config for these settings (checked once per settings)."""
    if _config.get("key") != id(settings):
        _config.update(key=id(settings), value=check_settings(settings))
    return _config["value"]


def initialized(pelican):
    """Check INTERN_CALLS before anything is read."""
    config_for(pelican.settings)


def content_object_init(instance):
    """Turn an article of the internships section into an intern call page."""
    if not isinstance(instance, Article):
        return
    config = config_for(instance.settings)
    if not in_section(instance, config["section"]):
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
    call.title = plain(instance.title)
    instance.intern_call = call
    if "template" not in instance.metadata:
        instance.template = "intern_call"
    set_address(instance, config["url"], config["save_as"])


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
    now = parse_now(generator.settings)
    calls = _calls(generator)
    # Drafts, hidden posts and translations get their pages too, but stay out of lists.
    others = unlisted_articles(generator, "intern_call")
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
    config = config_for(generator.settings)
    generator.context["closed_intern_call_years"] = by_year(
        closed_calls, lambda a: a.intern_call.apply_by.year, config["closed_save_as"]
    )
    generator.context["INTERN_CALLS"] = {k: v for k, v in config.items() if k != "now"}
    logger.info("intern_calls: %d open, %d closed", len(open_calls), len(closed_calls))


def article_writer_finalized(generator, writer):
    """Write the /internships/ listing."""
    config = config_for(generator.settings)
    write_listing(generator, writer, config["listing_save_as"], "internships")
    for group in generator.context["closed_intern_call_years"]:
        write_listing(generator, writer, group["save_as"], "internships_closed", closed_year=group)


def register():
    """Connect the plugin's signals."""
    signals.initialized.connect(initialized)
    signals.article_generator_init.connect(forget_folders)
    signals.content_object_init.connect(content_object_init)
    signals.article_generator_finalized.connect(article_generator_finalized)
    signals.article_writer_finalized.connect(article_writer_finalized)
