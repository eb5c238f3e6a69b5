"""The theme's templates: the head is written once, and each page kind has one template."""

import re

from tests.helpers import ROOT

TEMPLATES = ROOT / "theme" / "templates"
COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
MACRO = re.compile(r"\{%-?\s*macro\s+(\w+)\(.*?\{%-?\s*endmacro\s*-?%\}", re.DOTALL)
FEED_LINK = re.compile(
    r"<link\b[^>]*\btype=\"application/(?:atom\+xml|rss\+xml|feed\+json)\"", re.IGNORECASE
)
HEAD_TAGS = {
    "<title>": re.compile(r"<title\b", re.IGNORECASE),
    'rel="canonical"': re.compile(r"rel=\"canonical\"", re.IGNORECASE),
    "description meta": re.compile(r"<meta\b[^>]*\bname=\"description\"", re.IGNORECASE),
}


def templates():
    """{name relative to theme/templates: source without Jinja comments}."""
    return {
        path.relative_to(TEMPLATES).as_posix(): COMMENT.sub("", path.read_text("utf-8"))
        for path in sorted(TEMPLATES.rglob("*"))
        if path.is_file()
    }


def test_base_html_alone_writes_title_description_and_canonical():
    sources = templates()
    for tag, pattern in HEAD_TAGS.items():
        writers = [name for name, source in sources.items() if pattern.search(source)]
        assert writers == ["base.html"], f"{tag} is written in {writers}"
        assert len(pattern.findall(sources["base.html"])) == 1, tag


def test_feed_links_are_written_only_by_the_feed_links_macro():
    writers = []
    for name, source in templates().items():
        macros = {match.group(1): match.group(0) for match in MACRO.finditer(source)}
        outside = MACRO.sub("", source)
        writers += [name for _ in FEED_LINK.finditer(outside)]
        writers += [f"{name}:{macro}" for macro, body in macros.items() if FEED_LINK.search(body)]
    assert sorted(set(writers)) == ["partials/macros.html:feed_head_links"], writers
    # The site's feeds and a section's own both go through it, from base.html.
    assert len(re.findall(r"ui\.feed_head_links\(", templates()["base.html"])) == 2


def test_category_tag_and_author_pages_are_one_template():
    sources = templates()
    for kind in ("category", "tag", "author"):
        source = " ".join(sources[f"{kind}.html"].split())
        assert source == f'{{% set kind = "{kind}" %}} {{% extends "taxonomy.html" %}}', kind
    assert '{% extends "base.html" %}' in sources["taxonomy.html"]
