"""Atom, RSS and JSON feeds: valid, absolute, pointing at pages that exist; styled for browsers."""

import json

import feedparser
import lxml.etree
import lxml.html
import pytest

from tests.site.conftest import build_file_for

ATOM = "http://www.w3.org/2005/Atom"


def feed_files(build):
    return sorted(p for p in (build / "feeds").rglob("*.xml"))


def test_feed_paths_cover_site_categories_tags_and_authors(built_site):
    names = {p.relative_to(built_site / "feeds").as_posix() for p in feed_files(built_site)}
    for name in (
        "all.atom.xml",
        "all.rss.xml",
        "category/blog.atom.xml",
        "category/blog.rss.xml",
        "tag/crm.atom.xml",
        "tag/crm.rss.xml",
        "tag/email-lists.rss.xml",
        "author/charles-lenchner.atom.xml",
    ):
        assert name in names


def test_feed_paths_never_collide(dev_settings):
    # A category, tag and author with the same slug must still get three feeds.
    patterns = [
        dev_settings[key].format(slug="same")
        for key in (
            "CATEGORY_FEED_ATOM",
            "TAG_FEED_ATOM",
            "AUTHOR_FEED_ATOM",
            "CATEGORY_FEED_RSS",
            "TAG_FEED_RSS",
            "AUTHOR_FEED_RSS",
        )
    ] + [dev_settings["FEED_ALL_ATOM"], dev_settings["FEED_ALL_RSS"]]
    assert len(set(patterns)) == len(patterns)
    assert dev_settings["FEED_MAX_ITEMS"]


def test_every_feed_is_well_formed_and_parses_without_bozo(built_site, dev_settings):
    site = dev_settings["SITEURL"]
    problems = []
    for path in feed_files(built_site):
        lxml.etree.parse(str(path))  # raises on malformed XML
        parsed = feedparser.parse(path.read_bytes())
        name = path.relative_to(built_site)
        if parsed.bozo:
            problems.append(f"{name}: {parsed.bozo_exception}")
        if not parsed.entries:
            problems.append(f"{name}: no entries")
        for entry in parsed.entries:
            if build_file_for(entry.link, site, built_site) is None:
                problems.append(f"{name}: {entry.link} is not a page of the build")
    assert not problems, "\n".join(problems)


def test_atom_has_full_content_and_rss_the_summary(built_site):
    atom = feedparser.parse((built_site / "feeds/all.atom.xml").read_bytes())
    rss = feedparser.parse((built_site / "feeds/all.rss.xml").read_bytes())
    big_list_atom = next(e for e in atom.entries if "big-list" in e.link)
    big_list_rss = next(e for e in rss.entries if "big-list" in e.link)
    assert "Member complaints" in big_list_atom.content[0].value
    assert "Member complaints" not in big_list_rss.summary
    assert "What if the progressive groups" in big_list_rss.summary


def test_feeds_point_browsers_at_our_own_stylesheet(built_site):
    for path in feed_files(built_site):
        tree = lxml.etree.parse(str(path))
        instructions = [
            node
            for node in tree.xpath("/processing-instruction('xml-stylesheet')")
            if node.get("type") == "text/xsl"
        ]
        assert len(instructions) == 1, path
        href = instructions[0].get("href")
        assert "//" not in href, f"{path}: stylesheet must come from our own origin"
        assert (path.parent / href).resolve() == (built_site / "feeds/pretty-feed.xsl").resolve()


@pytest.mark.parametrize("feed", ["feeds/all.atom.xml", "feeds/tag/crm.rss.xml"])
def test_stylesheet_turns_a_feed_into_a_page_explaining_feeds(built_site, feed):
    transform = lxml.etree.XSLT(lxml.etree.parse(str(built_site / "feeds/pretty-feed.xsl")))
    result = str(transform(lxml.etree.parse(str(built_site / feed))))
    page = lxml.html.fromstring(result)
    assert "This is a web feed" in page.text_content()
    assert page.xpath("//h1")[0].text_content().startswith("Organizing 2.0")
    links = page.xpath("//ol/li//a/@href")
    assert any("big-list-online-organizing" in href for href in links)
    assert not page.xpath("//script | //link[@rel='stylesheet']")


def test_json_feed_has_the_required_members(built_site, dev_settings):
    site = dev_settings["SITEURL"]
    feed = json.loads((built_site / "feeds/all.json").read_text(encoding="utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Organizing 2.0"
    assert feed["home_page_url"] == f"{site}/"
    assert feed["feed_url"] == f"{site}/feeds/all.json"
    assert len(feed["items"]) >= 2
    ids = [item["id"] for item in feed["items"]]
    assert len(set(ids)) == len(ids)
    for item in feed["items"]:
        assert item["content_html"] or item["content_text"]
        assert build_file_for(item["url"], site, built_site) is not None, item["url"]
        assert item["date_published"].startswith(("2013-", "2011-"))
    newest = next(item for item in feed["items"] if "big-list" in item["url"])
    assert newest["title"].startswith("Big list online organizing")
    assert newest["date_modified"] > newest["date_published"]
    assert newest["authors"] == [
        {"name": "Charles Lenchner", "url": f"{site}/blog/author/charles-lenchner/"}
    ]
    assert "CRM" in newest["tags"]
