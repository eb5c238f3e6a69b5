"""The sample content builds with --fatal warnings, and the pages a reader expects are there.

Exact titles, years and counts are those of tests/fixtures/sample_site; the real
content/ is tested for what holds for any content in test_real_content.py."""

import re
import shutil
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
import pytest
from pelican.settings import read_settings

from tests.helpers import ROOT, SAMPLE_CONTENT, run_pelican
from tests.site.conftest import page_structure_problems

EXPECTED_PAGES = [
    "index.html",
    "404.html",
    "about/index.html",
    "privacy/index.html",
    "trainings/index.html",
    "internships/index.html",
    "knowledge-donors/index.html",
    "blog/index.html",
    "blog/categories/index.html",
    "blog/tags/index.html",
    "blog/authors/index.html",
    "blog/category/blog/index.html",
    "blog/tag/crm/index.html",
    "blog/tag/conference/index.html",
    "blog/author/charles-lenchner/index.html",
    "blog/2013/big-list-online-organizing/index.html",
    "blog/2011/organizing-2-0-conference-2011/index.html",
    "theme/css/site.css",
    "robots.txt",
    "sitemap.xml",
]
POST = "blog/2013/big-list-online-organizing/index.html"
OLDER_POST = "blog/2011/organizing-2-0-conference-2011/index.html"


def text_of(element):
    return " ".join(element.text_content().split())


@pytest.mark.parametrize("path", EXPECTED_PAGES)
def test_reader_pages_exist(built_site, path):
    assert (built_site / path).is_file(), f"{path} missing from the build"


def test_drafts_are_not_written(built_site):
    assert not (built_site / "drafts").exists()


def test_each_year_of_the_blog_has_its_own_archive_page(html_pages):
    # The archives index links the years; each year lists everything published in
    # it, with the category, so paginated year pages are never empty.
    archive = html_pages["blog/index.html"]
    years = [a.get("href") for a in archive.xpath("//section[h2[@id='by-year']]//li/a")]
    assert [href.rstrip("/").rsplit("/", 1)[-1] for href in years] == ["2013", "2011"]
    year = html_pages["blog/2013/index.html"]
    assert text_of(year.xpath("//h1")[0]) == "Published in 2013"
    items = year.xpath("//main//ul[@class='archive-list']/li")
    shown = {text_of(li.xpath("a")[0]).split(":")[0]: text_of(li) for li in items}
    assert set(shown) == {
        "Big list online organizing",
        "Digital Skills for Labor",
        "Fall 2013 internship",
    }
    assert shown["Big list online organizing"].endswith("in Blog")
    assert shown["Digital Skills for Labor"].endswith("in Trainings")
    nav = year.xpath("//nav[@aria-label='Main']")[0]
    assert nav.xpath(".//a[@aria-current='true']/text()") == ["Blog"]


def test_every_page_has_one_h1_landmarks_and_a_skip_link(html_pages):
    problems = page_structure_problems(html_pages)
    assert not problems, "\n".join(problems)


def test_nav_holds_every_section_and_marks_the_current_one(html_pages):
    nav = html_pages["about/index.html"].xpath("//nav[@aria-label='Main']")[0]
    labels = [text_of(a) for a in nav.xpath(".//a")]
    assert labels == ["Blog", "Trainings", "Internships", "Knowledge donors", "About", "Search"]
    assert nav.xpath(".//a[@aria-current='page']/text()") == ["About"]
    post_nav = html_pages[POST].xpath("//nav[@aria-label='Main']")[0]
    assert post_nav.xpath(".//a[@aria-current='true']/text()") == ["Blog"]
    archive_nav = html_pages["blog/index.html"].xpath("//nav[@aria-label='Main']")[0]
    assert archive_nav.xpath(".//a[@aria-current='page']/text()") == ["Blog"]


def test_no_stylesheet_script_or_font_from_another_origin(html_pages):
    offenders = []
    for path, doc in html_pages.items():
        for element in doc.xpath("//link[@rel='stylesheet'] | //script[@src] | //img | //iframe"):
            url = element.get("href") or element.get("src") or ""
            if re.match(r"^(https?:)?//", url) and not url.startswith("http://127.0.0.1"):
                offenders.append(f"{path}: {url}")
    assert not offenders, offenders


def test_post_shows_dates_author_taxonomy_reading_time_and_neighbours(html_pages):
    doc = html_pages[POST]
    article = doc.xpath("//main//article")[0]
    assert "Big list online organizing" in text_of(article.xpath(".//h1")[0])
    published = article.xpath(".//header//time/@datetime")
    assert published[0] == "2013-08-05T10:00:00-04:00"
    meta = text_of(article.xpath(".//p[@class='meta']")[0])
    assert "By Charles Lenchner" in meta
    assert re.search(r"\d+ min read", meta)
    assert article.xpath(".//a[@rel='author']/@href") == ["../../../blog/author/charles-lenchner/"]
    assert article.xpath(".//a[@rel='tag']/text()") == ["email lists", "CRM", "elections", "data"]
    assert doc.xpath("//a[@rel='prev']/@href") == [
        "../../../blog/2011/organizing-2-0-conference-2011/"
    ]
    description = doc.xpath("//meta[@name='description']/@content")[0]
    assert description.startswith("What if the progressive groups")
    older = html_pages[OLDER_POST]
    assert older.xpath("//a[@rel='next']/@href") == [
        "../../../blog/2013/big-list-online-organizing/"
    ]


def test_post_shows_updated_date_when_modified(html_pages):
    times = html_pages[POST].xpath("//article//header//time")
    labels = text_of(html_pages[POST].xpath("//article//p[@class='meta']")[0])
    assert len(times) == 2 and "Updated" in labels
    assert times[1].get("datetime") > times[0].get("datetime")


def test_typogrify_is_on(built_site):
    html = (built_site / POST).read_text(encoding="utf-8")
    assert '<span class="caps">CRM</span>' in html
    assert "&rsquo;" in html or "\u2019" in html


@pytest.mark.parametrize(
    ("path", "feed"),
    [
        ("blog/category/blog/index.html", "feeds/category/blog.atom.xml"),
        ("blog/tag/crm/index.html", "feeds/tag/crm.atom.xml"),
        ("blog/author/charles-lenchner/index.html", "feeds/author/charles-lenchner.atom.xml"),
    ],
)
def test_section_pages_describe_themselves_and_offer_their_feed(html_pages, path, feed):
    doc = html_pages[path]
    alternates = doc.xpath("//head/link[@rel='alternate']/@href")
    assert any(href.endswith("/feeds/all.atom.xml") for href in alternates)
    assert any(href.endswith("/" + feed) for href in alternates), alternates
    # The page shows its feed's address to copy, and links to how to follow it.
    assert any(text.endswith("/" + feed) for text in doc.xpath("//main//code/text()"))
    assert any(href.endswith("subscribe/#feeds") for href in doc.xpath("//main//a/@href"))
    lead = text_of(doc.xpath("//main//p[@class='lead']")[0])
    assert len(lead.split()) >= 8, f"{path} needs a real introduction, has {lead!r}"
    assert doc.xpath("//main//ul[@class='post-list']/li"), f"{path} lists no posts"


def test_every_page_links_the_site_feeds(html_pages):
    for path, doc in html_pages.items():
        types = set(doc.xpath("//head/link[@rel='alternate']/@type"))
        assert {"application/atom+xml", "application/rss+xml", "application/feed+json"} <= types, (
            path
        )


def test_home_page_lists_latest_posts(html_pages):
    doc = html_pages["index.html"]
    titles = [text_of(a) for a in doc.xpath("//main//ul[@class='post-list']//h3/a")]
    assert titles[0].startswith("Big list online organizing")
    assert "Organizing 2.0 comes to New York on May 10, 2011" in titles


def test_overviews_list_every_term(html_pages):
    tags = [text_of(a) for a in html_pages["blog/tags/index.html"].xpath("//main//li/a")]
    assert {"CRM", "conference", "email lists", "elections", "data", "training"} <= set(tags)
    archive = html_pages["blog/index.html"]
    assert archive.xpath("//main//h2/text()") == ["Latest posts", "Everything by year"]
    # The blog archive lists blog posts only; trainings have their own section.
    assert len(archive.xpath("//main//ul[@class='archive-list']/li")) == 2


def test_robots_txt_names_the_sitemap_at_the_site_url(built_site, dev_settings):
    robots = (built_site / "robots.txt").read_text(encoding="utf-8")
    assert f"Sitemap: {dev_settings['SITEURL']}/sitemap.xml" in robots.splitlines()


def test_sitemap_lists_pages_and_posts_but_not_the_404(built_site, dev_settings):
    tree = lxml.etree.parse(str(built_site / "sitemap.xml"))
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locations = tree.xpath("//s:url/s:loc/text()", namespaces=ns)
    site = dev_settings["SITEURL"]
    assert f"{site}/blog/2013/big-list-online-organizing/" in locations
    assert f"{site}/about/" in locations
    assert not [loc for loc in locations if "404" in loc]


def test_index_paginates(tmp_path):
    run_pelican(SAMPLE_CONTENT, tmp_path, extra=["DEFAULT_PAGINATION=1"])
    second = lxml.html.parse(str(tmp_path / "page/2/index.html")).getroot()
    assert text_of(second.xpath("//h1")[0]) == "Blog, page 2"
    assert second.xpath("//a[@rel='prev']/@href") == ["../../"]
    first = lxml.html.parse(str(tmp_path / "index.html")).getroot()
    assert first.xpath("//nav[@aria-label='Pages']//a[@rel='next']/@href") == ["./page/2/"]


def test_publish_build_links_absolutely_and_leaves_drafts_out(tmp_path):
    settings = read_settings(str(ROOT / "publishconf.py"))
    site = settings["SITEURL"]
    content = tmp_path / "content"
    shutil.copytree(SAMPLE_CONTENT, content)
    (content / "blog" / "2099-01-01-unfinished.md").write_text(
        "Title: Unfinished thoughts\nDate: 2099-01-01\nStatus: draft\n\nNot yet.\n",
        encoding="utf-8",
    )
    output = tmp_path / "output"
    run_pelican(content, output, settings=ROOT / "publishconf.py")
    post = lxml.html.parse(str(output / POST)).getroot()
    (stylesheet,) = post.xpath("//link[@rel='stylesheet']/@href")
    assert re.fullmatch(re.escape(f"{site}/assets/css/site.") + r"[0-9a-f]{10}\.css", stylesheet)
    assert post.xpath("//link[@rel='canonical']/@href") == [
        f"{site}/blog/2013/big-list-online-organizing/"
    ]
    assert f"Sitemap: {site}/sitemap.xml" in (output / "robots.txt").read_text().splitlines()
    everything = " ".join(p.read_text(encoding="utf-8") for p in output.rglob("*.html"))
    assert "Unfinished thoughts" not in everything
    assert not (output / "drafts").exists()


def test_every_page_has_its_icons_canonical_address_and_share_card(built_site):
    """No page asks for an icon that is not there; every page says how to share it."""
    pages = sorted(built_site.rglob("*.html"))
    assert pages
    for path in pages:
        head = lxml.html.parse(str(path)).getroot().head
        page_url = "http://site/" + path.relative_to(built_site).as_posix()
        for link in head.xpath("link[@rel='icon' or @rel='apple-touch-icon']"):
            target = urlsplit(urljoin(page_url, link.get("href"))).path
            assert (built_site / target.lstrip("/")).is_file(), (path, link.get("href"))
        meta = {m.get("property") or m.get("name"): m.get("content") for m in head.xpath("meta")}
        canonical = head.xpath("link[@rel='canonical']/@href")
        assert len(canonical) == 1, path
        assert meta["og:url"] == canonical[0], path
        assert meta["og:url"].startswith(("http://", "https://")), path
        assert meta["og:title"] and meta["og:description"], path
        assert meta["og:image"].endswith("/theme/img/share.png"), path
        assert meta["og:image:alt"] and meta["twitter:card"] == "summary_large_image", path
    assert (built_site / "theme/img/favicon.ico").read_bytes()[:4] == b"\0\0\1\0"  # an icon
