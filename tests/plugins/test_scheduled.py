"""plugins/scheduled: a post or page dated in the future stays out of the published site
until "now" (SITE_NOW here) reaches its Date, then appears like any other.

Everything scheduled in the fixture goes out at 14:00 UTC on 5 January 2027: 9 AM in
New York, the site's time zone, and 2 PM for the training, whose Date Pelican reads in
its own Timezone (Europe/London).
"""

import html
import json
import subprocess
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar
import lxml.html
import pytest

from plugins.scheduled.schedule import (
    ScheduledConfigurationError,
    check_settings,
    goes_out_at,
    goes_out_text,
    now,
)
from tests.helpers import ROOT, output_files, run_pelican, static_server
from tests.plugins.checks import axe_violations, html_errors

FIXTURE = ROOT / "tests" / "fixtures" / "scheduled" / "content"
BEFORE = "2027-01-05T13:59:00+00:00"
AT = "2027-01-05T14:00:00+00:00"
NEW_YORK = ZoneInfo("America/New_York")
SITE = {"TIMEZONE": "America/New_York"}

# slug: title of everything scheduled in the fixture.
SCHEDULED = {
    "quiet-harbor-announcement": "Quiet Harbor Announcement",
    "lantern-workshop-evening": "Lantern Workshop Evening",
    "meadow-research-internship": "Meadow Research Internship",
    "orchard-volunteer-guide": "Orchard Volunteer Guide",
}
# A scheduled Spanish translation of a post that is already out (so only its title is its own).
TRANSLATION = "Aviso del Puerto Tranquilo"
# A page its author marked `Status: draft`: never published, whatever the date.
DRAFT_PAGE = {"unfinished-draft-notes": "Unfinished Draft Notes"}
MARKERS = [*SCHEDULED, *SCHEDULED.values(), TRANSLATION, *DRAFT_PAGE, *DRAFT_PAGE.values()]


def build(output, now, settings="publishconf.py"):
    """Build the fixture with SITE_NOW set, as `SITE_NOW=... make publish` would."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SITE_NOW", now)
        run_pelican(FIXTURE, output, settings=ROOT / settings)
    return output


@pytest.fixture(scope="module")
def before(tmp_path_factory):
    return build(tmp_path_factory.mktemp("scheduled-before"), BEFORE)


@pytest.fixture(scope="module")
def after(tmp_path_factory):
    return build(tmp_path_factory.mktemp("scheduled-after"), AT)


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    return build(tmp_path_factory.mktemp("scheduled-dev"), BEFORE, settings="pelicanconf.py")


def texts(folder):
    """{path: text} of every output file, as a reader or feed reader would see the words.

    iCalendar lines are unfolded (a long line is split inside words), entities decoded
    and white space (typogrify's non-breaking spaces too) made single spaces.
    """
    found = {}
    for name, data in output_files(folder).items():
        text = data.decode("utf-8", errors="replace")
        if name.endswith(".ics"):
            text = text.replace("\r\n ", "").replace("\r\n\t", "")
        found[name] = " ".join(html.unescape(text).split())
    return found


def where(folder, marker):
    return sorted(name for name, text in texts(folder).items() if marker in text)


def test_before_its_date_nothing_scheduled_is_in_any_output_file(before):
    files = texts(before)
    # Every kind of output is there to search: pages, listings, feeds, sitemap, calendars.
    for name in (
        "index.html",
        "blog/index.html",
        "blog/2026/index.html",
        "blog/category/blog/index.html",
        "blog/tag/news/index.html",
        "blog/author/charles-lenchner/index.html",
        "trainings/index.html",
        "internships/index.html",
        "feeds/all.atom.xml",
        "feeds/all.rss.xml",
        "feeds/all.json",
        "feeds/category/trainings.atom.xml",
        "sitemap.xml",
        "trainings/calendar.ics",
        "trainings/regular-training-day/regular-training-day.ics",
    ):
        assert name in files, name
    found = [(name, marker) for name, text in files.items() for marker in MARKERS if marker in text]
    assert found == []
    assert not [name for name in files if name.startswith("drafts/")]
    # Their own tag, author and year pages come only with them.
    for name in ("blog/tag/lanterns/index.html", "blog/author/wren-example/index.html"):
        assert name not in files
    assert "blog/2027/index.html" not in files


def test_once_its_date_is_reached_each_scheduled_item_is_everywhere_a_post_is(after):
    post = "quiet-harbor-announcement"
    for marker in (post, SCHEDULED[post]):
        assert set(where(after, marker)) >= {
            f"blog/2027/{post}/index.html",
            "index.html",
            "blog/index.html",
            "blog/2027/index.html",
            "blog/category/blog/index.html",
            "blog/tag/lanterns/index.html",
            "blog/author/wren-example/index.html",
            "feeds/all.atom.xml",
            "feeds/all.rss.xml",
            "feeds/all.json",
            "feeds/tag/lanterns.atom.xml",
            "feeds/author/wren-example.atom.xml",
        }, marker
    training = "lantern-workshop-evening"
    for marker in (training, SCHEDULED[training]):
        assert set(where(after, marker)) >= {
            f"trainings/{training}/index.html",
            f"trainings/{training}/{training}.ics",
            "trainings/calendar.ics",
            "trainings/index.html",
            "blog/category/trainings/index.html",
            "feeds/all.json",
            "feeds/category/trainings.atom.xml",
        }, marker
    call = "meadow-research-internship"
    for marker in (call, SCHEDULED[call]):
        assert set(where(after, marker)) >= {
            f"internships/{call}/index.html",
            "internships/index.html",
            "feeds/all.json",
            "feeds/category/internships.atom.xml",
        }, marker
    page = "orchard-volunteer-guide"
    assert where(after, SCHEDULED[page]) == [f"{page}/index.html"]
    # Every address is in the sitemap.
    sitemap = texts(after)["sitemap.xml"]
    for address in (f"blog/2027/{post}/", f"trainings/{training}/", f"internships/{call}/"):
        assert f"https://organizing20.example.org/{address}<" in sitemap
    assert f"https://organizing20.example.org/{page}/<" in sitemap
    assert "plain-published-post-es.html" in where(after, TRANSLATION)
    assert not [name for name in output_files(after) if name.startswith("drafts/")]


def test_once_out_the_feeds_and_calendar_carry_it_as_any_other(after):
    feed = json.loads((after / "feeds/all.json").read_text(encoding="utf-8"))
    items = {item["url"]: item for item in feed["items"]}
    post = items["https://organizing20.example.org/blog/2027/quiet-harbor-announcement/"]
    assert post["date_published"] == "2027-01-05T09:00:00-05:00"
    cal = icalendar.Calendar.from_ical((after / "trainings/calendar.ics").read_bytes())
    uids = {str(event["UID"]) for event in cal.walk("VEVENT")}
    assert uids == {
        "regular-training-day@organizing20.org",
        "lantern-workshop-evening@organizing20.org",
    }


def test_a_plain_draft_page_is_never_published(after):
    # publishconf.py used to leave DRAFT_PAGE_SAVE_AS at Pelican's drafts/pages/{slug}.html.
    for marker in (*DRAFT_PAGE, *DRAFT_PAGE.values()):
        assert where(after, marker) == []


def banner(folder, path):
    doc = lxml.html.parse(str(folder / path)).getroot()
    found = doc.xpath(
        "//main//p[@role='note'][contains(@class, 'status-banner--scheduled') "
        "or contains(@class, 'status-banner--draft')]"
    )
    return found, doc


def test_dev_build_shows_each_scheduled_item_at_its_draft_address_with_when_it_goes_out(dev):
    new_york = "Tuesday, January 5, 2027, 9:00 AM EST (America/New_York time)"
    london = "Tuesday, January 5, 2027, 2:00 PM GMT (Europe/London time)"
    for path, when, moment in (
        ("drafts/quiet-harbor-announcement/index.html", new_york, "2027-01-05T09:00:00-05:00"),
        ("drafts/lantern-workshop-evening/index.html", london, "2027-01-05T14:00:00+00:00"),
        ("drafts/meadow-research-internship/index.html", new_york, "2027-01-05T09:00:00-05:00"),
        ("drafts/pages/orchard-volunteer-guide.html", new_york, "2027-01-05T09:00:00-05:00"),
        ("drafts/plain-published-post-es.html", new_york, "2027-01-05T09:00:00-05:00"),
    ):
        (note,), _doc = banner(dev, path)
        assert " ".join(note.text_content().split()) == f"Scheduled — goes out on {when}.", path
        assert note.xpath(".//time/@datetime") == [moment], path
    (note,), _doc = banner(dev, "drafts/pages/unfinished-draft-notes.html")
    assert note.text_content() == "Draft — not published."
    # A published post has no banner.
    found, _doc = banner(dev, "blog/2026/plain-published-post/index.html")
    assert found == []


def test_dev_build_keeps_scheduled_items_out_of_every_listing_feed_and_calendar(dev):
    files = texts(dev)
    assert "trainings/calendar.ics" in files and "feeds/all.json" in files
    found = [
        (name, marker)
        for name, text in files.items()
        if not name.startswith("drafts/")
        for marker in MARKERS
        if marker in text
    ]
    assert found == []
    # No calendar file for a training that is not out yet.
    assert not [name for name in files if name.endswith(".ics") and "lantern" in name]


def test_draft_pages_are_valid_html(dev):
    paths = [
        "drafts/quiet-harbor-announcement/index.html",
        "drafts/lantern-workshop-evening/index.html",
        "drafts/pages/unfinished-draft-notes.html",
    ]
    assert html_errors([dev / path for path in paths]) == []


@pytest.mark.browser
def test_banners_pass_axe_in_light_and_dark(dev, browser):
    with static_server(dev) as url:
        urls = [
            f"{url}/drafts/quiet-harbor-announcement/",
            f"{url}/drafts/pages/unfinished-draft-notes.html",
        ]
        assert axe_violations(browser, urls) == []


def test_a_wrong_scheduled_setting_is_refused_with_a_clear_message():
    with pytest.raises(ScheduledConfigurationError, match="scheduled: 'now' is 'soon'"):
        now({**SITE, "SCHEDULED": {"now": "soon"}})
    with pytest.raises(ScheduledConfigurationError) as refused:
        check_settings({**SITE, "SCHEDULED": {"when": None}})
    assert "unknown SCHEDULED key(s) when; allowed: now" in str(refused.value)


# --- goes_out_at: what the content check calls --------------------------------------


def settings(now):
    return {**SITE, "SCHEDULED": {"now": now}}


def test_goes_out_at_reads_a_date_as_written_in_the_site_time_zone():
    moment = goes_out_at("2027-01-05 09:00", settings(BEFORE))
    assert moment == datetime(2027, 1, 5, 9, 0, tzinfo=NEW_YORK)
    assert moment.utcoffset() is not None
    # Out the moment "now" reaches its Date.
    assert goes_out_at("2027-01-05 09:00", settings(AT)) is None
    assert goes_out_at("2027-01-05 09:00", settings("2027-01-06T00:00:00+00:00")) is None


def test_goes_out_at_takes_the_file_time_zone_and_written_offsets():
    london = goes_out_at("2027-01-05 14:00", settings(BEFORE), timezone="Europe/London")
    assert london.astimezone(UTC) == datetime(2027, 1, 5, 14, 0, tzinfo=UTC)
    assert goes_out_at("2027-01-05 14:00", settings(AT), timezone="Europe/London") is None
    offset = goes_out_at("2027-01-05T14:00:00+00:00", settings(BEFORE))
    assert offset == datetime(2027, 1, 5, 14, 0, tzinfo=UTC)


def test_goes_out_at_reads_dates_as_pelican_does():
    # A date alone is midnight; Pelican also reads "_" as a space.
    assert goes_out_at("2027-01-06", settings(AT)) == datetime(2027, 1, 6, tzinfo=NEW_YORK)
    assert goes_out_at("2027-01-06_10:30", settings(AT)) == datetime(
        2027, 1, 6, 10, 30, tzinfo=NEW_YORK
    )
    assert goes_out_at(datetime(2027, 1, 6, 10, 30), settings(AT)).tzinfo is not None


def test_a_naive_now_is_in_the_site_time_zone():
    # 08:59 in New York is 13:59 UTC: a minute before.
    assert goes_out_at("2027-01-05 09:00", settings("2027-01-05T08:59"))
    assert goes_out_at("2027-01-05 09:00", settings("2027-01-05T09:00")) is None


def test_now_is_the_setting_then_site_now_then_the_clock(monkeypatch):
    monkeypatch.setenv("SITE_NOW", AT)
    assert goes_out_at("2027-01-05 09:00", SITE) is None
    assert goes_out_at("2027-01-05 09:00", settings(BEFORE))
    monkeypatch.delenv("SITE_NOW")
    assert check_settings(SITE)["now"] <= datetime.now(UTC)
    assert goes_out_at("2999-01-01", SITE) == datetime(2999, 1, 1, tzinfo=NEW_YORK)
    assert goes_out_at("2001-01-01", SITE) is None


def test_goes_out_at_gives_none_for_what_cannot_be_read():
    for value in ("", "   ", None, "first of January", "2027-13-45"):
        assert goes_out_at(value, settings(BEFORE)) is None, value
    assert goes_out_at("2027-01-05 09:00", settings(BEFORE), timezone="Mars/Olympus") is None
    with pytest.raises(ScheduledConfigurationError, match="scheduled: 'now' is 'soon'"):
        goes_out_at("2027-01-05 09:00", settings("soon"))


def test_goes_out_text_names_day_time_and_zone():
    moment = datetime(2027, 7, 5, 15, 5, tzinfo=NEW_YORK)
    assert goes_out_text(moment) == "Monday, July 5, 2027, 3:05 PM EDT (America/New_York time)"
    assert goes_out_text(datetime(2027, 1, 5, 0, 0, tzinfo=UTC)).endswith("12:00 AM UTC")


def test_schedule_module_imports_without_pelican():
    # As `invoke check` runs the content check: plugins/ and the project on the path.
    code = (
        "import sys; import plugins.scheduled.schedule; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'pelican'], 'pelican'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
