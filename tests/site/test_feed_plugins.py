"""Our feed plugins (plugins/json_feed, plugins/feed_stylesheet) on small fixture sites."""

import json
import textwrap

import feedparser
import lxml.etree
import pytest

from plugins.feed_stylesheet.plugin import FeedStylesheetSettingsError
from plugins.feed_stylesheet.plugin import check_settings as check_stylesheet
from plugins.json_feed.plugin import JsonFeedSettingsError
from plugins.json_feed.plugin import check_settings as check_json_feed
from tests.helpers import run_pelican, write_settings

POSTS = {
    "first.md": """\
        Title: First & foremost
        Date: 2020-01-02 10:00
        Modified: 2020-02-03 11:00
        Author: Ada Organizer
        Tags: alpha, beta
        Summary: The first post.

        Hello from the [second post]({filename}second.md).
        """,
    "second.md": """\
        Title: Second
        Date: 2020-03-04 10:00
        Author: Ada Organizer

        Body of the second post.
        """,
    "third.md": """\
        Title: Third
        Date: 2020-05-06 10:00
        Author: Ada Organizer

        Body of the third post.
        """,
}


def make_site(tmp_path, **settings):
    """A three-post site and a settings file using only our two feed plugins."""
    content = tmp_path / "content"
    (content / "blog").mkdir(parents=True)
    for name, text in POSTS.items():
        (content / "blog" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    values = {
        "SITENAME": "Fixture site",
        "SITEURL": "https://example.org/sub",
        "TIMEZONE": "UTC",
        "PATH": str(content),
        "PLUGINS": ["plugins.json_feed", "plugins.feed_stylesheet"],
        "FEED_DOMAIN": "https://example.org/sub",
        "FEED_ALL_ATOM": "feeds/all.atom.xml",
        "FEED_ALL_RSS": "feeds/all.rss.xml",
        "TAG_FEED_ATOM": "feeds/tag/{slug}.atom.xml",
        "CATEGORY_FEED_ATOM": None,
        "AUTHOR_FEED_ATOM": None,
        "AUTHOR_FEED_RSS": None,
        "TRANSLATION_FEED_ATOM": None,
        **settings,
    }
    config = write_settings(tmp_path / "settings.py", values)
    return content, config


def build(tmp_path, check=True, **settings):
    content, config = make_site(tmp_path, **settings)
    output = tmp_path / "output"
    result = run_pelican(content, output, settings=config, check=check)
    return output, result


def test_json_feed_lists_newest_first_with_absolute_links(tmp_path):
    output, _ = build(tmp_path, JSON_FEED={"save_as": "feed.json", "max_items": 2})
    feed = json.loads((output / "feed.json").read_text(encoding="utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Fixture site"
    assert feed["home_page_url"] == "https://example.org/sub/"
    assert feed["feed_url"] == "https://example.org/sub/feed.json"
    assert [item["title"] for item in feed["items"]] == ["Third", "Second"]
    for item in feed["items"]:
        assert item["id"] == item["url"]
        assert item["url"].startswith("https://example.org/sub/")
        assert item["date_published"].endswith("+00:00")


def test_json_feed_item_fields(tmp_path):
    output, _ = build(tmp_path)
    feed = json.loads((output / "feeds/all.json").read_text(encoding="utf-8"))
    first = next(item for item in feed["items"] if item["title"] == "First & foremost")
    assert first["summary"] == "The first post."
    assert first["date_modified"] == "2020-02-03T11:00:00+00:00"
    assert first["tags"] == ["alpha", "beta"]
    assert first["authors"][0]["name"] == "Ada Organizer"
    assert 'href="https://example.org/sub/second.html"' in first["content_html"]


def test_json_feed_can_be_turned_off(tmp_path):
    output, _ = build(tmp_path, JSON_FEED={"save_as": ""})
    assert not list(output.rglob("*.json"))


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"save_to": "x.json"}, "unknown JSON_FEED key(s) ['save_to']"),
        ({"max_items": 0}, "JSON_FEED['max_items'] must be a positive whole number"),
        ({"save_as": "../x.json"}, "must stay inside the output folder"),
    ],
)
def test_a_bad_json_feed_setting_is_refused_with_a_clear_message(setting, message):
    # Checked in-process: the check runs at start-up, before anything is read.
    with pytest.raises(JsonFeedSettingsError) as refused:
        check_json_feed({"JSON_FEED": setting, "OUTPUT_PATH": "output"})
    assert message in str(refused.value)


def test_a_bad_json_feed_setting_stops_the_build(tmp_path):
    output, result = build(tmp_path, check=False, JSON_FEED={"max_items": 0})
    assert result.returncode != 0
    assert "must be a positive whole number" in " ".join((result.stdout + result.stderr).split())
    assert not (output / "index.html").exists()


def test_every_feed_points_at_the_stylesheet_relative_to_itself(tmp_path):
    output, _ = build(tmp_path)
    expected = {
        "feeds/all.atom.xml": "pretty-feed.xsl",
        "feeds/tag/alpha.atom.xml": "../pretty-feed.xsl",
    }
    for feed, href in expected.items():
        tree = lxml.etree.parse(str(output / feed))
        (instruction,) = tree.xpath("/processing-instruction('xml-stylesheet')")
        assert instruction.get("href") == href
        assert not feedparser.parse((output / feed).read_bytes()).bozo
    assert (output / "feeds/pretty-feed.xsl").is_file()
    lxml.etree.XSLT(lxml.etree.parse(str(output / "feeds/pretty-feed.xsl")))


def test_stylesheet_location_is_configurable(tmp_path):
    output, _ = build(tmp_path, FEED_STYLESHEET={"save_as": "style/feed.xsl"})
    tree = lxml.etree.parse(str(output / "feeds/tag/beta.atom.xml"))
    (instruction,) = tree.xpath("/processing-instruction('xml-stylesheet')")
    assert instruction.get("href") == "../../style/feed.xsl"
    assert (output / "style/feed.xsl").is_file()


def test_a_bad_stylesheet_setting_is_refused_with_a_clear_message():
    with pytest.raises(FeedStylesheetSettingsError, match="must be a path ending in .xsl"):
        check_stylesheet({"FEED_STYLESHEET": {"save_as": "feeds/pretty.css"}})
