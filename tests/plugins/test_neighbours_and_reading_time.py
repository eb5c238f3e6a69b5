"""plugins/neighbours and plugins/reading_time on a small fixture site."""

import subprocess
import sys
import textwrap

import lxml.html

from tests.helpers import ROOT, run_pelican, write_settings

# (file, category folder, date, words in the body)
POSTS = [
    ("oldest.md", "news", "2020-01-01", 30),
    ("middle.md", "news", "2020-02-01", 450),
    ("newest.md", "news", "2020-03-01", 1000),
    ("elsewhere.md", "events", "2020-02-15", 10),
]
# Prints what the plugins set, in place of the simple theme's article page.
ARTICLE_TEMPLATE = """\
<p id="older">{{ article.prev_article_in_category.title or "none" }}</p>
<p id="newer">{{ article.next_article_in_category.title or "none" }}</p>
<p id="minutes">{{ article.readtime }}</p>
"""


def make_site(tmp_path, **settings):
    """Fixture posts, an article template showing the attributes, and a settings file."""
    content = tmp_path / "content"
    for name, category, date, words in POSTS:
        folder = content / category
        folder.mkdir(parents=True, exist_ok=True)
        body = " ".join(["word"] * words)
        text = f"Title: {name[:-3]}\nDate: {date} 10:00\n\n{body}\n"
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
        "PLUGIN_PATHS": [str(ROOT / "plugins")],
        "PLUGINS": ["neighbours", "reading_time"],
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


def test_a_malformed_reading_time_setting_stops_the_build_naming_the_key(tmp_path):
    content, config = make_site(tmp_path, READING_TIME={"words_per_minute": 0})
    result = run_pelican(content, tmp_path / "out", settings=config, check=False)
    assert result.returncode != 0
    message = " ".join((result.stdout + result.stderr).split())
    assert "words_per_minute in READING_TIME must be a whole number >= 1, not 0" in message


def test_every_post_keeps_a_shared_attribute_table(tmp_path):
    # CPython shares one table of attribute names among a class's objects for
    # the first 30 names; Pelican's own and the plugins' three leave room for a
    # training's metadata. The plugins they replace added ten, past the limit.
    content, config = make_site(tmp_path)
    probe = textwrap.dedent(
        f"""\
        import sys
        from pelican import main, signals
        from pelican.contents import Article

        def count(generator):
            names = set()
            for article in generator.articles:
                names.update(vars(article))
            print("NAMES", len(names))

        signals.article_generator_finalized.connect(count)
        sys.argv = ["pelican", {str(content)!r}, "-s", {str(config)!r},
                    "-o", {str(tmp_path / "out")!r}, "-q"]
        main()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    names = int(result.stdout.split("NAMES")[1].split()[0])
    # Pelican's own 23, the two neighbours and readtime; CPython shares up to 30.
    assert names <= 26, result.stdout
