"""Organizers' tasks: export (CSV, JSON, OSDI), forget, submissions."""

import csv
import io
import json

import pytest

from endpoint.export import neutralise, osdi_signup, parse_since
from webforms.definitions import load_forms

from .conftest import SITE, FakeClock, run_command, valid

FORMS = load_forms()
HYPERLINK = '=HYPERLINK("http://x","y")'


@pytest.fixture
def filled(make_client, sqlite_url):
    """An app whose database holds three knowledge donors and one help request."""
    clock = FakeClock(1_793_000_000)  # 2026-10-26
    client = make_client(clock=clock)
    client.post("knowledge-donor", valid("knowledge-donor", name=HYPERLINK, source="afl"))
    clock.now += 7 * 86400
    client.post("knowledge-donor", valid("knowledge-donor", email="two@example.org", phone=""))
    clock.now += 60
    client.post("knowledge-donor", valid("knowledge-donor", email="Rosa@Example.org", hours="20+"))
    clock.now += 60
    client.post("help-request", valid("help-request", email="rosa@example.org"))
    assert len(client.app.storage.submissions()) == 4
    return client


@pytest.mark.parametrize("cell", [HYPERLINK, "+1 212", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(cell):
    assert neutralise(cell) == "'" + cell


def test_plain_cells_are_left_alone():
    assert neutralise("Rosa") == "Rosa"
    assert neutralise("") == ""


def test_csv_export_neutralises_and_reads_back(filled, sqlite_url):
    result = run_command(sqlite_url, "export", "--form", "knowledge-donor", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 3
    assert rows[0]["name"] == "'" + HYPERLINK
    assert rows[0]["source"] == "afl"
    assert rows[0]["skills"] == "social-media; other"
    assert rows[0]["phone"] == "'+1 212 555 0100"
    assert rows[1]["email"] == "two@example.org"
    assert list(rows[0]) == [
        "id", "form_id", "submitted_at", "name", "email", "phone", "region", "skills",
        "skills_other", "hours", "start", "past_work", "source", "page_url", "consent_at",
        "consent_version", "consent_sha256", "notify_state",
    ]  # fmt: skip


def test_json_export_since_a_date_to_a_file(filled, sqlite_url, tmp_path):
    target = tmp_path / "donors.json"
    result = run_command(
        sqlite_url, "export", "--form", "knowledge-donor", "--format", "json",
        "--since", "2026-11-01", "--output", str(target), tool="invoke",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = json.loads(target.read_text(encoding="utf-8"))
    assert [record["email"] for record in records] == ["two@example.org", "Rosa@example.org"]
    assert records[0]["skills"] == ["social-media", "other"]
    assert all(record["submitted_at"] >= "2026-11-01" for record in records)


def test_osdi_export_is_the_person_signup_helper_shape(filled, sqlite_url):
    result = run_command(sqlite_url, "export", "--form", "knowledge-donor", "--format", "osdi")
    assert result.returncode == 0, result.stderr
    bodies = json.loads(result.stdout)
    assert len(bodies) == 3
    third = bodies[2]
    person = third["person"]
    assert person["given_name"] == "Rosa"
    assert person["family_name"] == "Parks-Lopez"
    assert person["email_addresses"] == [{"address": "Rosa@example.org"}]
    assert person["phone_numbers"] == [{"number": "+1 212 555 0100"}]
    assert person["postal_addresses"] == [{"locality": "Brooklyn, NY"}]
    assert person["custom_fields"]["knowledge_donor_hours"] == "20+"
    assert person["custom_fields"]["knowledge_donor_skills"] == "social-media; other"
    assert third["add_tags"] == ["knowledge-donor", "skills: social-media", "skills: other"]
    assert "phone_numbers" not in bodies[1]["person"]  # left empty on the form


def test_forget_deletes_every_submission_with_the_address_and_says_how_many(filled, sqlite_url):
    result = run_command(sqlite_url, "forget", "ROSA@example.org", tool="invoke")
    assert result.returncode == 0, result.stderr
    assert "Deleted 3 submission(s)" in result.stdout
    left = filled.app.storage.submissions()
    assert [row.email for row in left] == ["two@example.org"]


def test_submissions_counts_per_form_with_the_newest_time(filled, sqlite_url):
    result = run_command(sqlite_url, "submissions", tool="invoke")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("help-request: 1 submission(s), newest 2026-11-02T")
    assert lines[1].startswith("knowledge-donor: 3 submission(s), newest 2026-11-02T")


def test_export_mistakes_are_explained(sqlite_url):
    unknown = run_command(sqlite_url, "export", "--form", "no-such-form")
    assert unknown.returncode == 2
    assert "no form 'no-such-form'" in unknown.stderr and "knowledge-donor" in unknown.stderr
    bad_date = run_command(sqlite_url, "export", "--form", "help-request", "--since", "last week")
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr


def test_parse_since_is_utc_unless_told():
    assert parse_since("2026-11-01").isoformat() == "2026-11-01T00:00:00+00:00"
    assert parse_since("2026-11-01T09:30-05:00").utcoffset().total_seconds() == -5 * 3600
    assert parse_since(None) is None


def test_osdi_single_word_name():
    from endpoint.storage import Submission

    form = FORMS["training-registration"]
    submission = Submission(
        id="a", form_id=form.id, submitted_at="t", fields={"name": "Cher", "email": "c@e.org",
        "organization": "", "event": "digital-skills"}, source="", consent_at="t",
        consent_version="v", consent_sha256="", page_url="", ip_hash="", user_agent="",
        idempotency_token=None, email="c@e.org", content_hash="", notify_state="none",
    )  # fmt: skip
    body = osdi_signup(form, submission)
    assert body["person"]["given_name"] == "Cher" and "family_name" not in body["person"]
    assert body["person"]["custom_fields"]["training_registration_event"] == "digital-skills"
    assert body["add_tags"] == ["training-registration"]


# --- Filters: a partner's own people (--source), one training (--event) -------------


@pytest.fixture
def partners(make_client, database_url):
    """Signups through two partners' links and none, and registrations for two trainings."""
    client = make_client(database_url=database_url)
    link = f"{SITE}/knowledge-donors/?source=afl"
    client.post("knowledge-donor", valid("knowledge-donor", email="a1@example.org", source="afl"))
    client.post("knowledge-donor", valid("knowledge-donor", email="a2@example.org"),
                headers={"Referer": link})  # fmt: skip
    client.post("knowledge-donor", valid("knowledge-donor", email="b1@example.org", source="AFLX"))
    client.post("knowledge-donor", valid("knowledge-donor", email="n1@example.org"))
    for email, event, source in [
        ("t1@example.org", "digital-skills-for-labor", "afl"),
        ("t2@example.org", "digital-skills-for-labor", ""),
        ("t3@example.org", "open-hall", "afl"),
    ]:
        data = valid("training-registration", email=email, event=event, source=source or None)
        assert client.post("training-registration", data).status == 200
    assert len(client.app.storage.submissions()) == 7
    return client


def test_export_source_gives_a_partner_only_its_own_people_in_every_format(partners, database_url):
    emails = {"a1@example.org", "a2@example.org"}
    csv_out = run_command(database_url, "export", "--form", "knowledge-donor", "--source", "afl")
    assert csv_out.returncode == 0, csv_out.stderr
    rows = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert {row["email"] for row in rows} == emails
    assert {row["source"] for row in rows} == {"afl"}
    assert "Wrote 2 row(s) of knowledge-donor as csv" in csv_out.stderr
    assert "filter: source 'afl'" in csv_out.stderr
    json_out = run_command(database_url, "export", "--form", "knowledge-donor", "--format", "json",
                           "--source", "afl", tool="invoke")  # fmt: skip
    assert json_out.returncode == 0, json_out.stderr
    assert {record["email"] for record in json.loads(json_out.stdout)} == emails
    osdi_out = run_command(database_url, "export", "--form", "knowledge-donor", "--format", "osdi",
                           "--source", "afl")  # fmt: skip
    assert osdi_out.returncode == 0, osdi_out.stderr
    bodies = json.loads(osdi_out.stdout)
    assert {body["person"]["email_addresses"][0]["address"] for body in bodies} == emails
    assert {body["person"]["custom_fields"]["source"] for body in bodies} == {"afl"}
    nobody = run_command(database_url, "export", "--form", "knowledge-donor", "--source", "nobody")
    assert nobody.returncode == 0 and nobody.stdout.count("\n") == 1  # the header alone
    assert "Wrote 0 row(s)" in nobody.stderr


def test_export_event_gives_one_trainings_registrations(partners, database_url, tmp_path):
    target = tmp_path / "training.csv"
    result = run_command(
        database_url, "export", "--form", "training-registration", "--event",
        "digital-skills-for-labor", "--output", str(target), tool="invoke",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert sorted(row["email"] for row in rows) == ["t1@example.org", "t2@example.org"]
    assert f"Wrote 2 row(s) of training-registration as csv to {target}" in result.stderr
    assert "filter: event 'digital-skills-for-labor'" in result.stderr
    both = run_command(database_url, "export", "--form", "training-registration",
                       "--format", "json", "--event", "digital-skills-for-labor",
                       "--source", "afl")  # fmt: skip
    assert both.returncode == 0, both.stderr
    assert [record["email"] for record in json.loads(both.stdout)] == ["t1@example.org"]
    assert "filter: source 'afl', event 'digital-skills-for-labor'" in both.stderr


def test_export_without_filters_says_so(partners, database_url):
    result = run_command(database_url, "export", "--form", "knowledge-donor", "--format", "osdi")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 4
    assert "Wrote 4 row(s) of knowledge-donor as osdi to standard output; no filter." in (
        result.stderr
    )


def test_export_filter_mistakes_are_explained(sqlite_url):
    wrong_form = run_command(sqlite_url, "export", "--form", "knowledge-donor", "--event", "x")
    assert wrong_form.returncode == 2
    assert "--event only applies to a form with an event field" in wrong_form.stderr
    assert "training-registration" in wrong_form.stderr
    empty = run_command(sqlite_url, "export", "--form", "knowledge-donor", "--source", " ")
    assert empty.returncode == 2 and "?source=CODE" in empty.stderr
