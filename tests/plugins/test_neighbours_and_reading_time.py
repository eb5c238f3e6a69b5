"""Neighbours (the pelican-neighbors package) and plugins/reading_time on a small fixture site.

The theme shows `prev_article_in_category`, `next_article_in_category` and
`readtime`; these tests pin the names and values it relies on.
"""

import lxml.html
import pytest

from tests.helpers import run_pelican, write_settings

# (file, category folder, date, words in the body, status)
POSTS = [
    ("oldest.md", "news", "2020-01-01", 30, "published"),
    ("middle.md", "news", "2020-02-01", 450, "published"),
    ("newest.md", "news", "2020-03-01", 1000, "published"),
    ("elsewhere.md", "events", "2020-02-15", 10, "published"),
    ("unfinished.md", "news", "2020-02-20", 650, "draft"),
]
# Prints what the plugins set, in place of the simple theme's article page.
# pelican-neighbors sets nothing on a draft, so the names may be undefined.
ARTICLE_TEMPLATE = """\
{%- set older = article.prev_article_in_category %}
{%- set newer = article.next_article_in_category %}
<p id="older">{{ older.title if older else "none" }}</p>
<p id="newer">{{ newer.title if newer else "none" }}</p>
<p id="minutes">{{ article.readtime }}</p>
"""


def make_site(tmp_path, **settings):
    """Fixture posts, an article template showing the attributes, and a settings file."""
    content = tmp_path / "content"
    for name, category, date, words, status in POSTS:
        folder = content / category
        folder.mkdir(parents=True, exist_ok=True)
        body = " ".join(["word"] * words)
        text = f"Title: {name[:-3]}\nDate: {date} 10:00\nStatus: {status}\n\n{body}\n"
        (folder / name).write_text(text, encoding="utf-8")
    (content / "pages").mkdir()
    (content / "pages" / "about.md").write_text(
        "Title: About\n\n" + " ".join(["word"] * 600) + "\n", encoding="utf-8"
    )
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "article.html").write_text(ARTICLE_TEMPLATE, encoding="utf-8")
    (overrides / "page.html").write_text('<p id="minutes">{{ page.readtime }}</p>\n')
    values = {
        "SITEURL": "https://example.org",
        "TIMEZONE": "UTC",
        "USE_FOLDER_AS_CATEGORY": True,
        "ARTICLE_PATHS": ["news", "events"],
        "PAGE_PATHS": ["pages"],
        "THEME_TEMPLATES_OVERRIDES": [str(overrides)],
        "PLUGINS": ["pelican.plugins.neighbors", "plugins.reading_time"],
        "FEED_ALL_ATOM": None,
        "CATEGORY_FEED_ATOM": None,
        "AUTHOR_FEED_ATOM": None,
        "AUTHOR_FEED_RSS": None,
        **settings,
    }
    config = write_settings(tmp_path / "settings.py", values)
    return content, config


def shown(output, name):
    """{id: text} of the paragraphs the fixture template wrote for one page."""
    doc = lxml.html.parse(str(output / f"{name}.html")).getroot()
    return {p.get("id"): p.text_content() for p in doc.iter("p")}


def test_each_post_links_to_its_neighbours_within_its_category(tmp_path):
    content, config = make_site(tmp_path)
    run_pelican(content, tmp_path / "out", settings=config)
    out = tmp_path / "out"
    assert shown(out, "oldest") == {"older": "none", "newer": "middle", "minutes": "0"}
    assert shown(out, "middle")["older"] == "oldest"
    assert shown(out, "middle")["newer"] == "newest"
    assert shown(out, "newest")["newer"] == "none"
    # Alone in its category, though dated between two posts of another one.
    assert shown(out, "elsewhere")["older"] == shown(out, "elsewhere")["newer"] == "none"


def test_reading_time_counts_whole_minutes_for_articles_and_pages(tmp_path):
    content, config = make_site(tmp_path)
    run_pelican(content, tmp_path / "out", settings=config)
    out = tmp_path / "out"
    # 200 words a minute by default; the HTML's <p> tags count as words, as before.
    assert shown(out, "middle")["minutes"] == "2"
    assert shown(out, "newest")["minutes"] == "5"
    assert shown(out, "pages/about")["minutes"] == "3"
    faster = tmp_path / "faster"
    faster.mkdir()
    content, config = make_site(faster, READING_TIME={"words_per_minute": 500})
    run_pelican(content, faster / "out", settings=config)
    assert shown(faster / "out", "newest")["minutes"] == "2"


def test_a_malformed_reading_time_setting_is_refused_naming_the_key():
    from types import SimpleNamespace

    from plugins.reading_time.plugin import ReadingTimeSettingsError, check_settings

    pelican = SimpleNamespace(settings={"READING_TIME": {"words_per_minute": 0}})
    with pytest.raises(ReadingTimeSettingsError) as refused:
        check_settings(pelican)
    assert "words_per_minute in READING_TIME must be a whole number >= 1, not 0" in str(
        refused.value
    )


def test_drafts_get_their_reading_time_and_no_neighbours(tmp_path):
    # Why reading_time is ours: pelican-readtime times only published articles
    # and pages, so `make serve`'s draft and scheduled previews lost "N min read".
    content, config = make_site(tmp_path)
    run_pelican(content, tmp_path / "out", settings=config)
    out = tmp_path / "out"
    assert shown(out, "drafts/unfinished") == {"older": "none", "newer": "none", "minutes": "3"}
    # A draft is nobody's neighbour either.
    assert shown(out, "middle")["newer"] == "newest"
    assert shown(out, "newest")["older"] == "middle"
