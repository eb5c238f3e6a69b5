"""The events plugin, through a real Pelican build of small fixture content.

"Now" is fixed at 1 August 2013, noon in New York, so upcoming and past never drift.
"""

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import feedparser
import icalendar
import lxml.html
import pytest

from tests.helpers import ROOT, run_pelican, static_server
from tests.plugins.checks import axe_violations, html_errors

FIXTURE = ROOT / "tests" / "fixtures" / "events" / "content"
NOW = '{"now": "2013-08-01T12:00:00-04:00"}'
NEW_YORK = ZoneInfo("America/New_York")


def build(output):
    return run_pelican(FIXTURE, output, extra=["EVENTS=" + NOW])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    output = tmp_path_factory.mktemp("events-site")
    build(output)
    return output


def page(site, path):
    return lxml.html.parse(str(site / path)).getroot()


def json_ld(site, slug):
    doc = page(site, f"trainings/{slug}/index.html")
    blocks = [json.loads(s.text) for s in doc.xpath("//script[@type='application/ld+json']")]
    (event,) = [block for block in blocks if block["@type"] == "Event"]
    return event


def calendar(path):
    return icalendar.Calendar.from_ical(path.read_bytes())


def events_in(cal):
    return {str(event["UID"]): event for event in cal.walk("VEVENT")}


def test_event_ics_times_round_trip_with_time_zone(site):
    cal = calendar(site / "trainings/digital-skills/digital-skills.ics")
    (event,) = cal.walk("VEVENT")
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start == datetime(2013, 8, 21, 9, 30, tzinfo=NEW_YORK)
    assert start.astimezone(UTC) == datetime(2013, 8, 21, 13, 30, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2013, 8, 21, 21, 0, tzinfo=UTC)
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["America/New_York"]
    assert str(event["UID"]) == "digital-skills@organizing20.org"
    assert event.decoded("DTSTAMP").tzinfo is not None
    assert str(event["SUMMARY"]) == "Digital Skills Test Day"
    assert "275 Seventh Avenue, 16th Floor, New York, NY 10001" in str(event["LOCATION"])
    assert str(event["URL"]).endswith("/trainings/digital-skills/")
    assert "registration form" in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"
    assert cal["VERSION"] == "2.0" and cal["PRODID"]


def test_calendar_feed_has_every_event_and_marks_the_cancelled_one(site):
    cal = calendar(site / "trainings/calendar.ics")
    events = events_in(cal)
    slugs = {uid.split("@")[0] for uid in events}
    assert slugs == {
        "digital-skills",
        "online-weekend",
        "london-cancelled",
        "full-house",
        "spring-past",
        "older-past",
        "postponed-panel",
    }
    assert str(events["london-cancelled@organizing20.org"]["STATUS"]) == "CANCELLED"
    london = events["london-cancelled@organizing20.org"].decoded("DTSTART")
    assert london.astimezone(UTC) == datetime(2013, 8, 25, 17, 0, tzinfo=UTC)
    zones = {tz["TZID"] for tz in cal.walk("VTIMEZONE")}
    # All-day events use plain dates, so only timed events need a VTIMEZONE.
    assert zones == {"America/New_York", "Europe/London"}


def test_all_day_event_uses_dates_and_an_exclusive_end(site):
    (event,) = calendar(site / "trainings/online-weekend/online-weekend.ics").walk("VEVENT")
    assert event.decoded("DTSTART") == date(2013, 9, 14)
    assert event.decoded("DTEND") == date(2013, 9, 16)
    assert "https://meet.example.org/weekend" in str(event["LOCATION"])


def test_calendars_are_identical_across_builds(site, tmp_path):
    build(tmp_path)
    for name in ("trainings/calendar.ics", "trainings/digital-skills/digital-skills.ics"):
        assert (tmp_path / name).read_bytes() == (site / name).read_bytes(), name


def test_event_json_ld(site):
    data = json_ld(site, "digital-skills")
    assert data["@context"] == "https://schema.org" and data["@type"] == "Event"
    assert data["name"] == "Digital Skills Test Day"
    assert data["startDate"] == "2013-08-21T09:30:00-04:00"
    assert data["endDate"] == "2013-08-21T17:00:00-04:00"
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    assert data["eventAttendanceMode"] == "https://schema.org/OfflineEventAttendanceMode"
    assert data["location"]["@type"] == "Place"
    assert data["location"]["name"] == "Central Labor Council"
    assert data["location"]["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "275 Seventh Avenue, 16th Floor",
        "addressLocality": "New York",
        "addressRegion": "NY",
        "postalCode": "10001",
        "addressCountry": "US",
    }
    assert data["organizer"]["name"] == "Organizing 2.0"
    assert [s["name"] for s in data["sponsor"]] == ["Sponsor Alpha", "Sponsor Beta"]
    assert data["offers"]["url"].endswith("/trainings/digital-skills/#register")
    assert data["offers"]["availability"] == "https://schema.org/InStock"
    assert data["description"].startswith("A timed, in-person training")
    assert data["maximumAttendeeCapacity"] == 40


def test_online_event_json_ld_has_a_virtual_location(site):
    data = json_ld(site, "online-weekend")
    assert data["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
    assert data["location"] == {
        "@type": "VirtualLocation",
        "url": "https://meet.example.org/weekend",
    }
    assert data["startDate"] == "2013-09-14" and data["endDate"] == "2013-09-15"
    assert data["offers"]["url"] == "https://tickets.example.org/weekend"


def test_cancelled_event_says_so_and_cannot_be_registered_for(site):
    doc = page(site, "trainings/london-cancelled/index.html")
    banner = doc.xpath("//*[contains(@class, 'status-banner--cancelled')]")
    assert banner and "Cancelled" in banner[0].text_content()
    assert not doc.xpath("//form") and not doc.xpath("//*[@id='register']")
    data = json_ld(site, "london-cancelled")
    assert data["eventStatus"] == "https://schema.org/EventCancelled"
    when = doc.xpath("//dl[@class='event-facts']//time")[0]
    assert "6:00 PM to 8:00 PM BST (Europe/London time)" in when.text_content()


def test_registration_form_only_while_registration_is_possible(site):
    open_page = page(site, "trainings/digital-skills/index.html")
    (form,) = open_page.xpath("//section[@id='register']//form")
    assert form.get("action").endswith("/forms/training-registration")
    assert form.xpath(".//input[@name='event']/@value") == ["digital-skills"]
    assert open_page.xpath("//a[@class='button' and @href='#register']")
    for slug in ("full-house", "spring-past", "older-past", "london-cancelled"):
        doc = page(site, f"trainings/{slug}/index.html")
        assert not doc.xpath("//form"), slug
        assert not doc.xpath("//a[@class='button']"), slug
    full = page(site, "trainings/full-house/index.html")
    assert "Fully booked" in full.text_content()
    past = page(site, "trainings/spring-past/index.html")
    assert "This event is over" in past.text_content()


def test_outside_registration_link(site):
    doc = page(site, "trainings/online-weekend/index.html")
    links = doc.xpath("//section[@id='register']//a/@href")
    assert links == ["https://tickets.example.org/weekend"]


def test_event_page_shows_time_zone_venue_sponsors_and_calendar_links(site):
    doc = page(site, "trainings/digital-skills/index.html")
    text = " ".join(doc.text_content().split())
    assert "Wednesday, August 21, 2013, 9:30 AM to 5:00 PM EDT (America/New_York time)" in text
    assert "275 Seventh Avenue" in text and "Central Labor Council" in text
    assert "Sponsor Alpha" in text and "Trainer Two" in text
    hrefs = doc.xpath("//ul[contains(@class, 'calendar-links')]//a/@href")
    assert hrefs[0].endswith("trainings/digital-skills/digital-skills.ics")
    assert "dates=20130821T133000Z%2F20130821T210000Z" in hrefs[1]
    assert "ctz=America%2FNew_York" in hrefs[1]
    assert doc.xpath("//nav[@aria-label='Main']//a[@aria-current]/text()") == ["Trainings"]


def titles(doc, section_id):
    return [
        " ".join(t.split()) for t in doc.xpath(f"//section[h2[@id='{section_id}']]//h3/a/text()")
    ]


def test_listing_splits_upcoming_soonest_first_and_past_latest_first(site):
    doc = page(site, "trainings/index.html")
    assert titles(doc, "upcoming") == [
        "Digital Skills Test Day",
        "London Evening",
        "Online Weekend",
        "Full House",
        "Postponed Panel",
    ]
    # Past events: one line each, then a page per year.
    past = doc.xpath("//section[h2[@id='past']]//ul[@class='archive-list']/li/a/text()")
    assert [" ".join(t.split()) for t in past] == ["Spring Past", "Older Past"]
    assert "Cancelled" in doc.xpath("//section[h2[@id='upcoming']]//li[2]")[0].text_content()


def test_past_events_have_a_page_per_year_linked_from_the_listing(site):
    doc = page(site, "trainings/index.html")
    years = doc.xpath("//section[h2[@id='past']]//ul[@class='term-list']//a/@href")
    pages = sorted(site.glob("trainings/past/*/index.html"))
    assert pages and len(years) == len(pages)
    for href, year_page in zip(years, sorted(pages, reverse=True), strict=True):
        assert href.rstrip("/").endswith(year_page.parent.relative_to(site).as_posix())
        year = page(site, year_page.relative_to(site).as_posix())
        assert year.xpath("//h1/text()")[0].endswith(year_page.parent.name)
        assert year.xpath("//nav[@aria-label='Main']//a[@aria-current]/text()") == ["Trainings"]
    shown = [
        " ".join(t.split())
        for year_page in pages
        for t in page(site, year_page.relative_to(site).as_posix()).xpath(
            "//main//ul[@class='archive-list']/li/a/text()"
        )
    ]
    assert sorted(shown) == ["Older Past", "Spring Past"]


def test_home_page_shows_the_next_upcoming_trainings(site):
    doc = page(site, "index.html")
    (section,) = doc.xpath("//section[@aria-labelledby='upcoming-trainings']")
    shown = [" ".join(t.split()) for t in section.xpath(".//h3/a/text()")]
    assert shown == ["Digital Skills Test Day", "London Evening", "Online Weekend"]


def test_home_page_shows_nothing_when_no_training_is_ahead(tmp_path):
    later = json.dumps({"now": "2014-01-02T00:00:00+00:00"})
    run_pelican(FIXTURE, tmp_path, extra=["EVENTS=" + later])
    doc = page(tmp_path, "index.html")
    assert not doc.xpath("//section[@aria-labelledby='upcoming-trainings']")
    assert titles(page(tmp_path, "trainings/index.html"), "upcoming") == []


def test_trainings_have_a_category_feed(site):
    feed = feedparser.parse(str(site / "feeds/category/trainings.atom.xml"))
    assert not feed.bozo
    links = {entry.link for entry in feed.entries}
    assert any(link.endswith("/trainings/digital-skills/") for link in links)
    assert len(feed.entries) == 7


EVENT_PAGES = [
    "trainings/index.html",
    "trainings/digital-skills/index.html",
    "trainings/online-weekend/index.html",
    "trainings/london-cancelled/index.html",
    "trainings/full-house/index.html",
    "trainings/spring-past/index.html",
    "index.html",
]


def test_event_pages_are_valid_html(site):
    assert html_errors([site / path for path in EVENT_PAGES]) == []


@pytest.mark.browser
def test_event_pages_pass_axe_in_light_and_dark(site, browser):
    # The listing and the real sample pages are checked by the site tests; here the
    # states they lack: an open registration form and a cancelled event.
    with static_server(site) as url:
        urls = [f"{url}/trainings/{slug}/" for slug in ("digital-skills", "london-cancelled")]
        assert axe_violations(browser, urls) == []


def test_postponed_event_is_marked_everywhere_and_takes_no_registrations(site):
    doc = page(site, "trainings/postponed-panel/index.html")
    assert "Postponed." in doc.xpath("//*[contains(@class, 'status-banner')]")[0].text_content()
    assert not doc.xpath("//section[@id='register']")  # until it has its new date
    data = json_ld(site, "postponed-panel")
    assert data["eventStatus"] == "https://schema.org/EventPostponed"
    assert data["eventAttendanceMode"] == "https://schema.org/MixedEventAttendanceMode"
    assert [place["@type"] for place in data["location"]] == ["Place", "VirtualLocation"]
    (event,) = calendar(site / "trainings/postponed-panel/postponed-panel.ics").walk("VEVENT")
    assert str(event["STATUS"]) == "TENTATIVE"


def test_a_wrong_events_setting_stops_the_build_with_a_clear_message(tmp_path):
    result = run_pelican(
        FIXTURE, tmp_path, extra=['EVENTS={"now": "first of August"}'], check=False
    )
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert "events: 'now' is 'first of August'" in output


def test_json_ld_availability_follows_the_status_the_build_knows(site):
    def availability(slug):
        return json_ld(site, slug)["offers"]["availability"].rsplit("/", 1)[1]

    assert availability("digital-skills") == "InStock"
    assert availability("full-house") == "SoldOut"
    assert availability("postponed-panel") == "OutOfStock"
    assert availability("london-cancelled") == "Discontinued"
    assert availability("spring-past") == "Discontinued"


def test_the_endpoint_manifest_lists_every_training_taking_our_form(site):
    manifest = json.loads((site / "forms" / "manifest.json").read_text(encoding="utf-8"))
    trainings = manifest["trainings"]
    # online-weekend registers elsewhere; the blog post is no training.
    assert "online-weekend" not in trainings and "hello" not in trainings
    assert {"digital-skills", "full-house", "london-cancelled", "postponed-panel"} <= set(trainings)
    skills = trainings["digital-skills"]
    assert (skills["start"], skills["end"]) == (
        "2013-08-21T09:30:00-04:00", "2013-08-21T17:00:00-04:00"
    )  # fmt: skip
    assert (skills["capacity"], skills["status"], skills["zone"]) == (
        40,
        "scheduled",
        "America/New_York",
    )
    assert skills["url"].endswith("/trainings/digital-skills/")
    assert skills["ics_url"].endswith("/trainings/digital-skills/digital-skills.ics")
    assert trainings["london-cancelled"]["status"] == "cancelled"
    assert trainings["full-house"]["status"] == "full"


def test_the_manifest_carries_each_trainings_own_ics_for_the_confirmation_mail(site):
    manifest = json.loads((site / "forms" / "manifest.json").read_text(encoding="utf-8"))
    # The endpoint writes its cancel links with its own public address (FORMS["endpoint"]).
    assert manifest["endpoint"].startswith(("http://", "https://"))
    for slug in ("digital-skills", "full-house"):
        ics = manifest["trainings"][slug]["ics"]
        assert ics.encode("utf-8") == (site / f"trainings/{slug}/{slug}.ics").read_bytes()
        (event,) = icalendar.Calendar.from_ical(ics).walk("VEVENT")
        assert str(event["UID"]) == f"{slug}@organizing20.org"
