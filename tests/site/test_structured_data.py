"""What search engines and shared links read: JSON-LD with the properties Google asks
for on each kind of page, a post's own share picture, and lists that date a training
by its own day and place. Exact values are those of tests/fixtures/sample_site."""

import json
import shutil

import lxml.html
import pytest

from tests.helpers import SAMPLE_CONTENT, run_pelican

POST = "blog/2013/big-list-online-organizing/index.html"
TRAINING = "trainings/digital-skills-for-labor/index.html"

# What Google's rich results need (required, and for articles the recommended set).
REQUIRED = {
    "BlogPosting": {"headline", "image", "datePublished", "author"},
    "Event": {"name", "startDate", "location"},
    "JobPosting": {"title", "description", "datePosted", "hiringOrganization"},
    "Organization": {"name", "url", "logo"},
    "WebSite": {"name", "url", "potentialAction"},
    "BreadcrumbList": {"itemListElement"},
}


def json_ld(doc):
    """Every JSON-LD block of a page, by @type."""
    blocks = [json.loads(s.text) for s in doc.xpath("//script[@type='application/ld+json']")]
    return {block["@type"]: block for block in blocks}


def test_every_json_ld_block_parses_and_has_what_its_type_requires(html_pages):
    seen = set()
    for path, doc in html_pages.items():
        for kind, block in json_ld(doc).items():
            assert block["@context"] == "https://schema.org", path
            assert kind in REQUIRED, (path, kind)
            missing = REQUIRED[kind] - {key for key, value in block.items() if value}
            assert not missing, (path, kind, missing)
            seen.add(kind)
    assert seen == set(REQUIRED)


def test_breadcrumbs_lead_from_home_through_the_section_to_the_page(html_pages):
    trail = json_ld(html_pages[TRAINING])["BreadcrumbList"]["itemListElement"]
    assert [item["position"] for item in trail] == [1, 2, 3]
    assert [item["name"] for item in trail][:2] == ["Organizing 2.0", "Trainings"]
    assert trail[0]["item"].endswith("/") and trail[1]["item"].endswith("/trainings/")
    canonical = html_pages[TRAINING].xpath("//link[@rel='canonical']/@href")[0]
    assert trail[2]["item"] == canonical
    section = json_ld(html_pages["trainings/index.html"])["BreadcrumbList"]["itemListElement"]
    assert [item["name"] for item in section] == ["Organizing 2.0", "Trainings"]
    tag = json_ld(html_pages["blog/tag/crm/index.html"])["BreadcrumbList"]["itemListElement"]
    assert [item["name"] for item in tag][:2] == ["Organizing 2.0", "Blog"]
    assert "BreadcrumbList" not in json_ld(html_pages["index.html"])


def test_home_page_names_the_network_and_its_search(html_pages):
    blocks = json_ld(html_pages["index.html"])
    search = blocks["WebSite"]["potentialAction"]
    assert search["@type"] == "SearchAction"
    template = search["target"]["urlTemplate"]
    assert template.endswith("/search/?q={search_term_string}")
    assert search["query-input"] == "required name=search_term_string"
    assert blocks["Organization"]["logo"].endswith(".png")


def test_post_has_blogposting_json_ld(html_pages):
    data = json_ld(html_pages[POST])["BlogPosting"]
    assert data["headline"].startswith("Big list online organizing")
    assert data["datePublished"] == "2013-08-05T10:00:00-04:00"
    assert data["author"]["name"] == "Charles Lenchner"
    assert data["image"].endswith("/theme/img/share.png")


def test_lists_date_a_training_by_its_own_day_and_place(html_pages):
    entries = html_pages["index.html"].xpath("//ul[@class='post-list']/li")
    lines = {
        " ".join(li.xpath(".//h3")[0].text_content().split()): " ".join(
            li.xpath(".//p[@class='meta']")[0].text_content().split()
        )
        for li in entries
    }
    assert lines["Digital Skills for Labor"].startswith("Event: Wed 21 Aug 2013, New York")
    post_line = next(line for title, line in lines.items() if title.startswith("Big list"))
    assert post_line.startswith("August 5, 2013")


@pytest.fixture(scope="module")
def post_with_picture(tmp_path_factory):
    """The sample site plus a post that has its own share picture."""
    content = tmp_path_factory.mktemp("picture") / "content"
    shutil.copytree(SAMPLE_CONTENT, content)
    (content / "images").mkdir(exist_ok=True)
    (content / "images" / "rally.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (content / "blog" / "2013-09-01-rally.md").write_text(
        "Title: Rally day\nDate: 2013-09-01 10:00\nSummary: What we saw.\n"
        "Image: images/rally.png\nImage_Alt: Union members with signs on the steps\n\n"
        "A short post.\n",
        encoding="utf-8",
    )
    output = content.parent / "output"
    run_pelican(content, output)
    return output


def test_a_post_with_its_own_picture_shares_that_picture(post_with_picture):
    page = post_with_picture / "blog/2013/rally-day/index.html"
    doc = lxml.html.parse(str(page)).getroot()
    meta = {m.get("property"): m.get("content") for m in doc.head.xpath("meta[@property]")}
    assert meta["og:image"].endswith("/images/rally.png")
    assert meta["og:image:alt"] == "Union members with signs on the steps"
    assert "og:image:width" not in meta  # the size of the site's own picture is not this one's
    assert (post_with_picture / "images/rally.png").is_file()
    assert json_ld(doc)["BlogPosting"]["image"] == meta["og:image"]
