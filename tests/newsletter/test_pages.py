"""The /subscribe/ and contact pages, the signup after each post and the footer, as built.

The sample site (tests/fixtures/sample_site) is built with the development settings
(`built_site`) and once with the publishing ones: the addresses to copy must be
absolute and lead to files of that build either way.
"""

from pathlib import Path

import lxml.html
import pytest
from pelican.settings import read_settings

from endpoint.confirm import CONFIRMED_PAGE
from tests.helpers import ROOT, SAMPLE_CONTENT, run_pelican
from webforms.definitions import get_form


@pytest.fixture(scope="module")
def published_site(tmp_path_factory):
    output = tmp_path_factory.mktemp("published")
    run_pelican(SAMPLE_CONTENT, output, ROOT / "publishconf.py")
    return output


def parse(path: Path):
    return lxml.html.parse(str(path)).getroot()


def pages(site: Path):
    return {p.relative_to(site).as_posix(): parse(p) for p in site.rglob("*.html")}


def assert_every_control_is_labelled(form):
    """Each control a person fills in has its own label (a group also has a legend)."""
    controls = form.xpath(".//input[not(@type='hidden')] | .//textarea | .//select")
    assert controls
    for control in controls:
        if control.getparent().get("class") == "form-hp":
            continue  # the honeypot, hidden from people
        [label] = form.xpath(f".//label[@for='{control.get('id')}']")
        assert label.text_content().strip(), control.get("id")
        if control.get("type") == "checkbox" and control.get("name") != "consent":
            assert control.xpath("ancestor::fieldset/legend")


@pytest.mark.parametrize("build", ["built_site", "published_site"])
def test_the_subscribe_page_gives_every_address_absolute_and_right(request, build):
    site = request.getfixturevalue(build)
    settings_file = "pelicanconf.py" if build == "built_site" else "publishconf.py"
    domain = read_settings(str(ROOT / settings_file))["FEED_DOMAIN"]
    doc = parse(site / "subscribe" / "index.html")
    boxes = doc.xpath("//main//div[@class='copy-field']/input")
    addresses = {box.get("id"): box.get("value") for box in boxes}
    assert {"feed-atom", "feed-rss", "feed-json", "calendar-address"} <= set(addresses)
    for box in boxes:
        assert box.get("readonly") is not None
        [label] = doc.xpath(f"//label[@for='{box.get('id')}']")
        assert label.text_content().strip()
        address = box.get("value")
        assert address.startswith(f"{domain}/"), address
        assert (site / address.removeprefix(f"{domain}/")).is_file(), address
    assert addresses["calendar-address"].endswith("/trainings/calendar.ics")
    steps = doc.xpath("//section[h2[@id='calendar']]/h3/text()")
    assert steps == ["Google Calendar", "Apple Calendar", "Outlook"]
    [form] = doc.xpath("//main//form[@data-form='newsletter']")
    assert_every_control_is_labelled(form)


def test_the_forms_are_where_people_look_for_them(built_site):
    contact = parse(built_site / "contact" / "index.html")
    [form] = contact.xpath("//main//form[@data-form='contact']")
    assert_every_control_is_labelled(form)
    assert form.xpath(".//textarea[@name='message'][@required]")
    posts = [doc for doc in pages(built_site).values() if doc.xpath("//article[@class='post']")]
    assert len(posts) >= 2
    for post in posts:
        [form] = post.xpath("//main//aside[@class='newsletter-signup']//form")
        assert form.get("data-form") == "newsletter"
        assert_every_control_is_labelled(form)
    # Every page a form sends people to exists, the confirmed page too.
    for page in (
        get_form("newsletter").thank_you,
        get_form("contact").thank_you,
        CONFIRMED_PAGE,
    ):
        assert (built_site / page / "index.html").is_file(), page


def test_every_footer_has_the_contact_line_and_no_page_links_a_raw_feed(built_site):
    settings = read_settings(str(ROOT / "pelicanconf.py"))
    feeds = (settings["FEED_ALL_ATOM"], settings["FEED_ALL_RSS"], "calendar.ics", ".atom.xml")
    checked = 0
    for path, doc in pages(built_site).items():
        footer = doc.xpath("//footer[@class='site-footer']")
        if not footer:
            continue  # the endpoint's own pages have none
        checked += 1
        links = footer[0].xpath(".//a/@href")
        assert any(href.endswith("contact/") for href in links), path
        assert any(href.endswith("subscribe/") for href in links), path
        assert "Write to us" in footer[0].text_content()
        for href in doc.xpath("//body//a/@href"):
            assert not href.endswith(feeds), f"{path} links {href} for people"
        # Feed readers still find the feeds in the head.
        types = set(doc.xpath("//head/link[@rel='alternate']/@type"))
        assert {"application/atom+xml", "application/rss+xml"} <= types, path
    assert checked > 10
