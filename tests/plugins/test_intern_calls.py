"""The intern_calls plugin, through a real Pelican build of small fixture content.

"Now" is fixed at 1 August 2013, noon in New York.
"""

import json

import feedparser
import lxml.html
import pytest

from tests.helpers import ROOT, run_pelican, static_server
from tests.plugins.checks import axe_violations, html_errors

FIXTURE = ROOT / "tests" / "fixtures" / "intern_calls" / "content"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    output = tmp_path_factory.mktemp("intern-site")
    run_pelican(FIXTURE, output, extra=['INTERN_CALLS={"now": "2013-08-01T12:00:00-04:00"}'])
    return output


def page(site, slug):
    return lxml.html.parse(str(site / f"internships/{slug}/index.html")).getroot()


def job_posting(doc):
    blocks = [json.loads(s.text) for s in doc.xpath("//script[@type='application/ld+json']")]
    (posting,) = [block for block in blocks if block["@type"] == "JobPosting"]
    return posting


def test_open_call_has_the_application_form(site):
    doc = page(site, "open-call")
    (form,) = doc.xpath("//section[@id='apply']//form")
    assert form.get("action").endswith("/forms/intern-application")
    assert form.xpath(".//input[@name='call']/@value") == ["open-call"]
    assert doc.xpath("//a[@class='button' and @href='#apply']")
    assert "Apply by Friday, August 30, 2013" in doc.text_content()


def test_closed_call_keeps_its_page_says_closed_and_has_no_apply_button(site):
    doc = page(site, "closed-call")
    text = " ".join(doc.text_content().split())
    assert "This call is closed." in text
    assert "Spring Intern Call" in text
    assert not doc.xpath("//form")
    assert not doc.xpath("//*[@id='apply']")
    assert not doc.xpath("//a[@class='button']")
    assert "https://apply.example.org/spring" not in lxml.html.tostring(doc, encoding=str)


def test_testimonials_are_quotations_with_attribution(site):
    doc = page(site, "open-call")
    figures = doc.xpath("//section[contains(@class, 'testimonials')]/figure")
    assert len(figures) == 2
    first = figures[0]
    assert " ".join(first.xpath("blockquote/p")[0].text_content().split()) == (
        "I was part of the team from week one."
    )
    caption = " ".join(first.xpath("figcaption")[0].text_content().split())
    assert caption == "Katie, Graduate, from Brooklyn"


def test_job_posting_json_ld(site):
    data = job_posting(page(site, "open-call"))
    assert data["@context"] == "https://schema.org" and data["@type"] == "JobPosting"
    assert data["title"] == "Online organizing intern"
    assert "An open call for interns" in data["description"]
    assert data["datePosted"] == "2013-07-15T10:00:00-04:00"
    # Open through the whole apply-by day, New York time.
    assert data["validThrough"] == "2013-08-31T00:00:00-04:00"
    assert data["employmentType"] == "INTERN"
    assert data["hiringOrganization"]["name"] == "Organizing 2.0"
    assert data["jobLocation"]["address"]["addressLocality"] == "New York"
    assert data["directApply"] is True


def test_remote_call_with_outside_application(site):
    data = job_posting(page(site, "closed-call"))
    assert data["jobLocationType"] == "TELECOMMUTE"
    assert data["applicantLocationRequirements"] == {"@type": "Country", "name": "US"}
    assert "jobLocation" not in data
    assert data["directApply"] is False


def test_outside_application_link_while_open(site):
    doc = page(site, "later-call")
    assert doc.xpath("//section[@id='apply']//a/@href") == ["https://apply.example.org/winter"]


def test_listing_shows_open_calls_first(site):
    doc = lxml.html.parse(str(site / "internships/index.html")).getroot()
    open_titles = doc.xpath("//section[h2[@id='open-calls']]//h3/a/text()")
    closed_titles = doc.xpath(
        "//section[h2[@id='closed-calls']]//ul[@class='archive-list']/li/a/text()"
    )
    clean = [" ".join(t.split()) for t in open_titles + closed_titles]
    assert clean == ["Fall Intern Call", "Winter Intern Call", "Spring Intern Call"]
    assert doc.xpath("//nav[@aria-label='Main']//a[@aria-current='page']/text()") == ["Internships"]


def test_closed_calls_have_a_page_per_year_linked_from_the_listing(site):
    doc = lxml.html.parse(str(site / "internships/index.html")).getroot()
    links = doc.xpath("//section[h2[@id='closed-calls']]//ul[@class='term-list']//a/@href")
    pages = sorted(site.glob("internships/closed/*/index.html"), reverse=True)
    assert pages and len(links) == len(pages)
    for href, year_page in zip(links, pages, strict=True):
        assert href.rstrip("/").endswith(year_page.parent.relative_to(site).as_posix())
        year = lxml.html.parse(str(year_page)).getroot()
        titles = year.xpath("//main//ul[@class='archive-list']/li/a/text()")
        assert [" ".join(t.split()) for t in titles] == ["Spring Intern Call"]
        nav = year.xpath("//nav[@aria-label='Main']//a[@aria-current]/text()")
        assert nav == ["Internships"]


def test_intern_calls_have_a_category_feed(site):
    feed = feedparser.parse(str(site / "feeds/category/internships.atom.xml"))
    assert not feed.bozo and len(feed.entries) == 3


INTERN_PAGES = [
    "internships/index.html",
    "internships/open-call/index.html",
    "internships/closed-call/index.html",
    "internships/later-call/index.html",
]


def test_intern_pages_are_valid_html(site):
    assert html_errors([site / path for path in INTERN_PAGES]) == []


@pytest.mark.browser
def test_intern_pages_pass_axe_in_light_and_dark(site, browser):
    # Open (with the form and testimonials) and closed; the listing is a site-test page.
    with static_server(site) as url:
        urls = [f"{url}/internships/{slug}/" for slug in ("open-call", "closed-call")]
        assert axe_violations(browser, urls) == []
