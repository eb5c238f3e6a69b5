"""The real content/ as volunteers leave it: what must hold for any content that passes
the content check. Nothing here names a post, a year or a count, so adding, changing or
removing a post never breaks `make test`; exact values are tested on the frozen sample
(tests/fixtures/sample_site) in the other files of this folder."""

import json
from datetime import datetime

import feedparser
import lxml.etree
import pytest
from pelican.settings import read_settings

from tests.helpers import ROOT, run_pelican
from tests.site.conftest import (
    broken_references,
    build_file_for,
    page_structure_problems,
    parsed_pages,
)


@pytest.fixture(scope="module", params=["pelicanconf.py", "publishconf.py"])
def real_build(request, tmp_path_factory):
    """(output folder, settings, pages) of content/ built with each settings file."""
    output = tmp_path_factory.mktemp("real-" + request.param.split(".")[0])
    run_pelican(ROOT / "content", output, settings=ROOT / request.param)
    settings = read_settings(str(ROOT / request.param))
    return output, settings, parsed_pages(output)


def test_every_page_has_its_structure(real_build):
    _output, _settings, pages = real_build
    assert pages
    problems = page_structure_problems(pages)
    assert not problems, "\n".join(problems)


def test_every_internal_reference_resolves(real_build):
    output, settings, pages = real_build
    broken = broken_references(output, pages, settings["SITEURL"])
    assert not broken, "\n".join(broken)


def test_feeds_are_valid_and_every_entry_has_its_page(real_build):
    output, settings, _pages = real_build
    site = settings["SITEURL"]
    for name in ("all.atom.xml", "all.rss.xml"):
        feed = feedparser.parse((output / "feeds" / name).read_bytes())
        assert not feed.bozo, f"{name}: {feed.get('bozo_exception')}"
        for entry in feed.entries:
            assert build_file_for(entry.link, site, output), f"{name}: {entry.link}"
    items = json.loads((output / "feeds" / "all.json").read_text(encoding="utf-8"))["items"]
    published = [datetime.fromisoformat(item["date_published"]) for item in items]
    assert published == sorted(published, reverse=True), "JSON Feed is not newest first"
    for item in items:
        assert build_file_for(item["url"], site, output), item["url"]


def test_the_sitemap_lists_only_built_pages(real_build):
    output, settings, _pages = real_build
    tree = lxml.etree.parse(str(output / "sitemap.xml"))
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    for location in tree.xpath("//s:url/s:loc/text()", namespaces=ns):
        assert build_file_for(location, settings["SITEURL"], output), location
