"""`invoke match` and `invoke introduce`: open help requests, their donors ranked.

The data is built by POSTing the forms to the endpoint; the commands run as an
organizer runs them (`python -m endpoint ...`), on SQLite and on PostgreSQL.
"""

import csv
import io
from datetime import date

import pytest

from endpoint.matching import ANY_REGION, ANYWHERE, ELSEWHERE, SAME_PLACE, key_date, region_fit

from .conftest import FakeClock, run_command, valid

TODAY = "2026-11-10"  # the clock below starts on 2026-10-26


def match_rows(database_url, today=TODAY):
    result = run_command(database_url, "match", "--format", "csv", "--today", today)
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def donor(email, skills, hours="5-10", start="now", region="Denver", **changes):
    return valid(
        "knowledge-donor",
        name=email.split("@")[0].title(),
        email=email,
        skills=skills,
        hours=hours,
        start=start,
        region=region,
        skills_other="" if "other" not in skills else changes.pop("skills_other", "Podcasts"),
        **changes,
    )


# Request "Brooklyn" needs video and writing; in the order match must rank them:
BROOKLYN_DONORS = [
    donor("all@example.org", ["video", "writing"], hours="1-4", start="later", region="Chicago"),
    donor("hours-now@example.org", ["video", "social-media"], hours="20+", region="Oakland"),
    donor("hours-later@example.org", ["writing"], hours="20+", start="later", region="Queens"),
    donor("near@example.org", ["video"], region="brooklyn, ny"),
    donor("remote@example.org", ["video"], region="Anywhere (remote)"),
    donor("newer@example.org", ["writing"], region="Denver"),  # signs up after "older"
    donor("older@example.org", ["writing"], region="Denver"),
]


@pytest.fixture
def matched(make_client, database_url):
    """Requests and donors sent through the endpoint; returns (client, ids by e-mail)."""
    clock = FakeClock(1_793_000_000)  # 2026-10-26
    client = make_client(database_url=database_url, clock=clock)

    def post(form_id, data):
        clock.now += 60
        assert client.post(form_id, data).status == 200

    post("help-request", valid("help-request", organization="Brooklyn", email="bk@example.org",
         skills=["video", "writing"], region="Brooklyn, NY", deadline="On 2026-12-01"))  # fmt: skip
    post("help-request", valid("help-request", organization="Closed", email="closed@example.org",
         skills=["video"], deadline="Vote on November 1"))  # fmt: skip
    post("help-request", valid("help-request", organization="Nobody", email="nobody@example.org",
         skills=["advertising"], region="remote", deadline=""))  # fmt: skip
    post("help-request", valid("help-request", organization="Today", email="today@example.org",
         skills=["other"], skills_other="Translation", deadline="November 10"))  # fmt: skip
    for data in reversed(BROOKLYN_DONORS):  # older first: "newer" signs up after "older"
        post("knowledge-donor", data)
    # Would top the list, but asks to be forgotten below.
    post("knowledge-donor", donor("gone@example.org", ["video", "writing"], hours="20+"))
    # Signed up twice: only the newest signup counts, and it no longer offers video.
    post("knowledge-donor", donor("twice@example.org", ["video", "writing"], hours="20+"))
    post("knowledge-donor", donor("twice@example.org", ["social-media"], hours="20+"))
    post("knowledge-donor", donor("other@example.org", ["other"], skills_other="Translation"))
    post("training-registration", valid("training-registration", email="kim@example.org"))
    ids = {s.email: s.id for s in client.app.storage.submissions()}
    return client, ids


def test_key_dates_are_read_from_the_text_as_written():
    sent = date(2026, 10, 26)
    assert key_date("Strike on 2026-12-01", sent) == date(2026, 12, 1)
    assert key_date("October 3", sent) == date(2027, 10, 3)  # next October 3
    assert key_date("vote Nov. 12th, then a hearing 3 December", sent) == date(2026, 12, 3)
    assert key_date("1 March 2027", sent) == date(2027, 3, 1)
    assert key_date("as soon as possible", sent) is None
    assert key_date("February 30", sent) is None


def test_region_fit():
    assert region_fit("Brooklyn, NY", "brooklyn") == SAME_PLACE
    assert region_fit("Brooklyn, NY", "Queens, NY") == SAME_PLACE  # a shared part
    assert region_fit("Brooklyn, NY", "Anywhere") == ANYWHERE
    assert region_fit("Brooklyn, NY", "New York") == ELSEWHERE
    assert region_fit("Remote", "Chicago") == ANY_REGION
    assert region_fit("", "Chicago") == ANY_REGION


def test_match_ranks_donors_by_skills_availability_region_then_signup(matched, database_url):
    client, ids = matched
    rows = match_rows(database_url)
    brooklyn = [row for row in rows if row["organization"] == "Brooklyn"]
    # "gone" covers both skills with 20+ hours, now: first until forgotten (test below).
    assert [row["donor_email"] for row in brooklyn] == ["gone@example.org"] + [
        data["email"] for data in BROOKLYN_DONORS
    ]
    assert [row["rank"] for row in brooklyn] == [str(n) for n in range(1, 9)]
    brooklyn = brooklyn[1:]
    first = brooklyn[0]
    assert first["donor_id"] == ids["all@example.org"]
    assert first["donor_name"] == "All"
    assert first["skills_covered"] == "writing, video" and first["covered"] == "2 of 2"
    assert first["key_date"] == "2026-12-01" and first["request_id"] == ids["bk@example.org"]
    assert [row["region_fit"] for row in brooklyn[3:5]] == ["same place", "works anywhere"]
    assert brooklyn[1]["skills_covered"] == "video"  # social media is not needed here
    # The request whose key date passed is left out; one on its key date is still open.
    assert {row["organization"] for row in rows} == {"Brooklyn", "Nobody", "Today"}
    (nobody,) = [row for row in rows if row["organization"] == "Nobody"]
    assert nobody["donor_id"] == "" and "no knowledge donor" in nobody["note"]
    (today,) = [row for row in rows if row["organization"] == "Today"]
    assert today["donor_email"] == "other@example.org"
    assert today["skills_covered"] == "other (Translation)"
    # A day later, "Today" has passed too.
    assert {row["organization"] for row in match_rows(database_url, "2026-11-11")} == {
        "Brooklyn",
        "Nobody",
    }


def test_match_on_screen_names_donors_and_says_when_none_fits(matched, database_url):
    _, ids = matched
    result = run_command(database_url, "match", "--today", TODAY, tool="invoke")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.index("Help request " + ids["bk@example.org"]) < text.index(
        "Help request " + ids["nobody@example.org"]
    )  # soonest key date first; none last
    assert f"2. All <all@example.org>  donor {ids['all@example.org']}" in text
    assert "No knowledge donor offers any of the skills this request needs." in text
    assert "closed@example.org" not in text


def test_forgotten_and_superseded_donors_never_appear(matched, database_url):
    before = match_rows(database_url)
    assert "gone@example.org" in {row["donor_email"] for row in before}
    assert "twice@example.org" not in {row["donor_email"] for row in before}
    forgotten = run_command(database_url, "forget", "Gone@Example.org")
    assert forgotten.returncode == 0, forgotten.stderr
    assert "Deleted 1 submission(s)" in forgotten.stdout
    after = match_rows(database_url)
    assert "gone@example.org" not in {row["donor_email"] for row in after}
    assert len(after) == len(before) - 1
    brooklyn = [row["donor_email"] for row in after if row["organization"] == "Brooklyn"]
    assert brooklyn == [data["email"] for data in BROOKLYN_DONORS]


def test_introductions_are_counted_while_their_request_is_open(matched, database_url):
    client, ids = matched
    helper = ids["hours-now@example.org"]
    for request in ("bk@example.org", "today@example.org", "closed@example.org"):
        result = run_command(database_url, "introduce", ids[request], helper)
        assert result.returncode == 0, result.stderr
        assert "Recorded:" in result.stdout
    again = run_command(database_url, "introduce", ids["bk@example.org"], helper, tool="invoke")
    assert again.returncode == 0, again.stderr
    assert "Already recorded" in again.stdout
    rows = match_rows(database_url)
    (row,) = [r for r in rows if r["donor_id"] == helper]
    assert row["open_introductions"] == "2"  # Brooklyn and Today; Closed has passed
    assert row["introduced_here"] == "yes"
    # Once "Today" has passed, one is left open.
    (row,) = [r for r in match_rows(database_url, "2026-11-11") if r["donor_id"] == helper]
    assert row["open_introductions"] == "1"
    others = [r for r in rows if r["donor_id"] and r["donor_id"] != helper]
    assert {r["open_introductions"] for r in others} == {"0"}
    # Forgetting a request forgets its introductions.
    assert run_command(database_url, "forget", "today@example.org").returncode == 0
    (row,) = [r for r in match_rows(database_url) if r["donor_id"] == helper]
    assert row["open_introductions"] == "1"
    pairs = [(request, donor) for request, donor, _ in client.app.storage.introductions()]
    assert pairs == [(ids["bk@example.org"], helper), (ids["closed@example.org"], helper)]


def test_introduce_refuses_unknown_ids_and_wrong_forms(matched, database_url):
    client, ids = matched
    request, helper = ids["bk@example.org"], ids["all@example.org"]
    unknown = run_command(database_url, "introduce", "no-such-id", helper)
    assert unknown.returncode == 2
    assert "REQUEST 'no-such-id' is no stored submission" in unknown.stderr
    swapped = run_command(database_url, "introduce", helper, request)
    assert swapped.returncode == 2
    assert "is a knowledge-donor submission, not a help-request one" in swapped.stderr
    assert "help request comes first" in swapped.stderr
    training = run_command(database_url, "introduce", request, ids["kim@example.org"])
    assert training.returncode == 2
    assert "is a training-registration submission, not a knowledge-donor one" in training.stderr
    assert client.app.storage.introductions() == []


def test_match_with_nothing_open_and_bad_options(sqlite_url):
    nothing = run_command(sqlite_url, "match")
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout == "No open help requests.\n"
    bad = run_command(sqlite_url, "match", "--today", "tomorrow")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_match_csv_to_a_file_neutralises_formulas(make_client, sqlite_url, tmp_path):
    client = make_client()
    client.post("help-request", valid("help-request", organization="=HYPERLINK(1)"))
    client.post("knowledge-donor", valid("knowledge-donor", skills=["video"]))
    target = tmp_path / "match.csv"
    result = run_command(
        sqlite_url, "match", "--format", "csv", "--output", str(target), tool="invoke"
    )
    assert result.returncode == 0, result.stderr
    assert "Wrote 1 open help request(s)" in result.stderr
    (row,) = csv.DictReader(io.StringIO(target.read_text(encoding="utf-8")))
    assert row["organization"] == "'=HYPERLINK(1)"
    assert row["donor_email"] == "rosa@example.org"
