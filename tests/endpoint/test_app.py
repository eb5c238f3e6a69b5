"""The WSGI app in-process: routes, answers, what is stored, and each abuse defence."""

from urllib.parse import urlencode

import pytest
from lxml import html

from endpoint import abuse
from webforms.definitions import load_forms

from .conftest import SITE, FakeClock, valid

FORMS = load_forms()


def rows(client, form_id=None):
    return client.app.storage.submissions(form_id)


# --- Routes -------------------------------------------------------------------------


def test_health_reports_the_database(client):
    answer = client.request("GET", "/health")
    assert answer.status == 200
    assert answer.json() == {"ok": True, "database": "ok"}


def make_read_only(storage, monkeypatch):
    """Make every connection of `storage` refuse writes, as a read-only database does.

    (A chmod would not do: the tests may run as root, whom it does not stop.) The schema is migrated
    first, as it is on a database that turned read-only in service.
    """
    storage.migrate()
    storage.close()
    connect = storage._connect
    statement = (
        "PRAGMA query_only = ON"
        if storage.placeholder == "?"
        else "SET default_transaction_read_only = on"
    )

    def read_only():
        connection = connect()
        connection.execute(statement)
        return connection

    monkeypatch.setattr(storage, "_connect", read_only)


def test_health_says_when_the_database_cannot_take_a_write(make_client, database_url, monkeypatch):
    client = make_client(database_url=database_url)
    make_read_only(client.app.storage, monkeypatch)
    answer = client.request("GET", "/health")
    assert answer.status == 503
    data = answer.json()
    assert data["ok"] is False
    assert "write" in data["database"]
    # A submission fails the same way: the check is honest.
    assert client.post("help-request", valid("help-request")).status == 503


def test_unknown_form_and_path_are_404(client):
    assert client.post("no-such-form", valid("knowledge-donor")).status == 404
    assert client.request("GET", "/nothing").status == 404


def test_wrong_method_is_405_with_allow(client):
    answer = client.request("GET", "/forms/knowledge-donor")
    assert answer.status == 405
    assert answer.headers["allow"] == "POST, OPTIONS"
    assert client.request("POST", "/forms/knowledge-donor/start").status == 405
    assert client.request("DELETE", "/health").status == 405


def test_start_gives_a_token_and_a_signed_start_time(make_client):
    clock = FakeClock()
    client = make_client(clock=clock)
    answer = client.request("GET", "/forms/help-request/start", headers={"Origin": SITE})
    assert answer.status == 200
    data = answer.json()
    assert abuse.clean_token(data["token"]) == data["token"]
    assert abuse.time_trap("test-secret", "help-request", data["started"], clock.now + 5, 3) == "ok"
    assert answer.headers["access-control-allow-origin"] == SITE
    assert answer.headers["cache-control"] == "no-store"


# --- Success and what is stored ---------------------------------------------------------


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_each_form_accepts_a_valid_submission_as_json(client, form_id):
    answer = client.post(form_id, valid(form_id))
    expected = {"ok": True}
    if form_id == "training-registration":  # a registration says where it stands
        expected.update(status="registered", thank_you=f"{SITE}/trainings/registered/")
    if form_id == "comment":  # a comment says whether it waits for a moderator
        expected.update(status="held", message=answer.json().get("message"))
        assert expected["message"].startswith("Thank you: your comment has reached us.")
    assert (answer.status, answer.json()) == (200, expected)
    assert len(rows(client, form_id)) == 1


def test_without_json_accept_success_redirects_to_the_thank_you_page(client):
    answer = client.post("knowledge-donor", valid("knowledge-donor"), accept_json=False)
    assert answer.status == 303
    assert answer.headers["location"] == f"{SITE}/knowledge-donors/thanks/"


def test_json_bodies_are_accepted(client):
    data = valid("knowledge-donor", consent=True)
    answer = client.post("knowledge-donor", data, as_json=True)
    assert answer.status == 200
    assert rows(client)[0].fields["skills"] == ["social-media", "other"]


def test_stored_record_holds_exactly_the_defined_fields_and_provenance(client):
    data = valid(
        "knowledge-donor",
        name="  Ａnn  Lee ",  # full-width A, extra spaces
        email="Ann.Lee@EXAMPLE.org",
        invented="never stored",
        is_admin="yes",
        _token="t" * 20,
    )
    answer = client.post(
        "knowledge-donor",
        data,
        headers={
            "Referer": f"{SITE}/knowledge-donors/?utm_source=afl-cio",
            "User-Agent": "Mozilla/5.0 (Test)",
        },
        REMOTE_ADDR="198.51.100.23",
    )
    assert answer.status == 200
    [row] = rows(client)
    form = FORMS["knowledge-donor"]
    assert set(row.fields) == set(form.field_names) - {"source"}
    assert row.fields["name"] == "Ann Lee"
    assert row.fields["email"] == "Ann.Lee@example.org"
    assert row.email == "ann.lee@example.org"
    assert row.source == "afl-cio"  # from the page address, as no field was sent
    assert row.page_url == f"{SITE}/knowledge-donors/?utm_source=afl-cio"
    assert row.user_agent == "Mozilla/5.0 (Test)"
    assert row.consent_version == form.consent.version
    assert row.consent_sha256 == form.consent.sha256
    assert row.consent_at == row.submitted_at and row.submitted_at.endswith("Z")
    assert row.idempotency_token == "t" * 20
    assert row.ip_hash == abuse.hash_ip("198.51.100.23", "test-salt")
    assert "198.51.100.23" not in repr(row)
    assert "never stored" not in repr(row) and "invented" not in repr(row)
    assert row.notify_state == "pending"


def test_source_field_wins_over_the_page_address(client):
    data = valid("help-request", source="union-list")
    client.post("help-request", data, headers={"Referer": f"{SITE}/x/?source=other"})
    assert rows(client)[0].source == "union-list"


def test_hidden_field_carries_the_event(client):
    client.post("training-registration", valid("training-registration"))
    assert rows(client)[0].fields["event"] == "digital-skills-for-labor"


# --- Invalid submissions -------------------------------------------------------------------


def test_invalid_json_answer_lists_errors_by_field_and_stores_nothing(client):
    data = valid("knowledge-donor", email="not-an-address", hours="200", consent=None)
    answer = client.post("knowledge-donor", data)
    assert answer.status == 422
    errors = answer.json()["errors"]
    assert set(errors) == {"email", "hours", "consent"}
    assert answer.json()["ok"] is False
    assert rows(client) == []


def test_invalid_without_javascript_gets_a_page_with_every_value_back(client):
    data = valid("knowledge-donor", email="rosa-at-example", consent=None, source="partner-7")
    answer = client.post("knowledge-donor", data, accept_json=False)
    assert answer.status == 422
    assert answer.headers["content-type"].startswith("text/html")
    page = html.fromstring(answer.body)
    summary = page.xpath('//*[contains(@class, "error-summary")]')[0].text_content()
    assert "E-mail address" in summary and "consent" in summary
    [form] = page.xpath("//form")
    assert form.get("action") == "http://forms.test/forms/knowledge-donor"

    def one(xpath):
        [element] = form.xpath(xpath)
        return element

    assert one('.//input[@name="name"]').get("value") == "Rosa Parks-Lopez"
    assert one('.//input[@name="email"]').get("value") == "rosa-at-example"
    checked = form.xpath('.//input[@name="skills"][@checked]/@value')
    assert checked == ["social-media", "other"]
    assert one('.//input[@name="skills_other"]').get("value") == "Podcast editing"
    assert one('.//select[@name="hours"]/option[@selected]').get("value") == "5-10"
    assert one('.//input[@name="start"][@checked]').get("value") == "month"
    assert one('.//textarea[@name="past_work"]').text.strip() == "https://example.org/campaign"
    assert one('.//input[@name="source"]').get("value") == "partner-7"
    assert rows(client) == []


def test_options_only_from_the_definition(client):
    answer = client.post("knowledge-donor", valid("knowledge-donor", skills=["hacking"]))
    assert answer.status == 422 and "skills" in answer.json()["errors"]


def test_too_long_value_is_refused(client):
    answer = client.post("knowledge-donor", valid("knowledge-donor", name="x" * 201))
    assert answer.status == 422
    assert "200 characters" in answer.json()["errors"]["name"]


# --- Abuse ---------------------------------------------------------------------------------


def test_honeypot_is_answered_as_accepted_but_nothing_is_stored(client):
    answer = client.post("knowledge-donor", valid("knowledge-donor", _hp="http://spam.example"))
    assert (answer.status, answer.json()) == (200, {"ok": True})
    answer = client.post("knowledge-donor", valid("knowledge-donor", _hp="x"), accept_json=False)
    assert answer.status == 303
    assert rows(client) == []


def one_second_after_start(make_client, **settings):
    """(client, clock, signed start) for a page opened one second ago (3 s are needed)."""
    clock = FakeClock()
    client = make_client(clock=clock, min_fill_seconds=3, **settings)
    started = client.request("GET", "/forms/knowledge-donor/start").json()["started"]
    clock.now += 1
    return client, clock, started


def test_time_trap_asks_a_fast_valid_sender_to_send_again_and_keeps_the_second(make_client):
    client, clock, started = one_second_after_start(make_client)
    data = valid("knowledge-donor", _started=started, _token="F" * 32)
    fast = client.post("knowledge-donor", data)
    # Not a silent "thank you": nothing was stored, so the person is asked to send again.
    assert fast.status == 422 and fast.json()["ok"] is False
    assert "again" in fast.json()["errors"][""]
    assert rows(client) == []
    clock.now += 5
    slow = client.post("knowledge-donor", data)
    assert slow.status == 200 and len(rows(client)) == 1


def test_fast_submission_with_empty_required_fields_gets_its_errors(make_client):
    client, clock, started = one_second_after_start(make_client)
    answer = client.post("knowledge-donor", {"_started": started})
    assert answer.status == 422
    assert {"name", "email", "consent"} <= set(answer.json()["errors"])
    assert rows(client) == []


def test_fast_valid_submission_without_javascript_gets_the_form_back_filled_in(make_client):
    client, clock, started = one_second_after_start(make_client)
    data = valid("knowledge-donor", _started=started)
    answer = client.post("knowledge-donor", data, accept_json=False)
    assert answer.status == 422
    page = html.fromstring(answer.body)
    summary = page.xpath('//*[contains(@class, "error-summary")]')[0].text_content()
    assert "again" in summary
    assert page.xpath('//input[@name="name"]/@value') == ["Rosa Parks-Lopez"]
    assert rows(client) == []


def test_too_fast_and_honeypot_count_against_the_junk_allowance(make_client):
    client, clock, started = one_second_after_start(make_client, junk_limit_per_hour=2)
    fast = valid("knowledge-donor", _started=started)
    assert client.post("knowledge-donor", fast).status == 422
    assert client.post("knowledge-donor", valid("knowledge-donor", _hp="x")).status == 200
    assert client.post("knowledge-donor", fast).status == 429
    # The honeypot stays silent: a bot is told it was accepted (until the junk limit).
    assert rows(client) == []


def test_forged_or_missing_start_time_means_no_time_trap(make_client):
    clock = FakeClock()
    client = make_client(clock=clock, min_fill_seconds=3)
    forged = f"{int(clock.now)}.{'0' * 32}"
    client.post("knowledge-donor", valid("knowledge-donor", _started=forged))
    client.post("help-request", valid("help-request"))
    assert len(rows(client)) == 2


def test_start_time_of_another_form_does_not_count(make_client):
    clock = FakeClock()
    client = make_client(clock=clock)
    started = client.request("GET", "/forms/help-request/start").json()["started"]
    assert abuse.time_trap("test-secret", "knowledge-donor", started, clock.now, 3) == "absent"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {},
    ],
    ids=["other-origin", "null-origin", "other-referer", "no-origin"],
)
def test_origin_not_allowed_is_403_without_cors(client, headers):
    answer = client.post("knowledge-donor", valid("knowledge-donor"), origin=None, headers=headers)
    assert answer.status == 403
    assert "access-control-allow-origin" not in answer.headers
    assert rows(client) == []


def test_referer_of_an_allowed_page_is_enough(client):
    answer = client.post(
        "knowledge-donor",
        valid("knowledge-donor"),
        origin=None,
        headers={"Referer": f"{SITE}/knowledge-donors/"},
    )
    assert answer.status == 200


def test_cors_preflight_only_for_allowed_origins(client):
    allowed = client.request(
        "OPTIONS",
        "/forms/knowledge-donor",
        headers={"Origin": SITE, "Access-Control-Request-Method": "POST"},
    )
    assert allowed.status == 204
    assert allowed.headers["access-control-allow-origin"] == SITE
    assert "POST" in allowed.headers["access-control-allow-methods"]
    refused = client.request(
        "OPTIONS", "/forms/knowledge-donor", headers={"Origin": "https://evil.example"}
    )
    assert refused.status == 403
    assert "access-control-allow-origin" not in refused.headers


def test_body_over_the_size_cap_is_413(make_client):
    client = make_client(max_body_bytes=2000)
    answer = client.post("knowledge-donor", valid("knowledge-donor", past_work="x" * 3000))
    assert answer.status == 413
    assert rows(client) == []


def test_too_many_fields_is_413(make_client):
    client = make_client(max_fields=20)
    data = valid("knowledge-donor")
    data.update({f"extra{number}": "x" for number in range(30)})
    assert client.post("knowledge-donor", data).status == 413
    assert client.post("knowledge-donor", data, as_json=True).status == 413
    assert rows(client) == []


def test_rate_limit_is_429_with_retry_after(make_client):
    clock = FakeClock()
    client = make_client(clock=clock, rate_limit_per_hour=3, rate_limit_burst=3)
    for number in range(3):
        data = valid("help-request", email=f"n{number}@example.org")
        assert client.post("help-request", data).status == 200
    answer = client.post("help-request", valid("help-request", email="n9@example.org"))
    assert answer.status == 429
    # 3 an hour: one post's room comes back every 20 minutes.
    assert int(answer.headers["retry-after"]) == 1200
    assert "retry-after" in answer.headers["access-control-expose-headers"].lower()
    # Another address is not affected; the first sender may try again 20 minutes later.
    other = client.post("help-request", valid("help-request"), REMOTE_ADDR="192.0.2.1")
    assert other.status == 200
    clock.now += 1200
    assert client.post("help-request", valid("help-request", email="n9@example.org")).status == 200
    assert len(rows(client)) == 5


def test_same_token_is_stored_once_and_answered_as_the_first(client):
    data = valid("knowledge-donor", _token="A" * 32)
    first = client.post("knowledge-donor", data)
    again = client.post("knowledge-donor", data)
    again_html = client.post("knowledge-donor", data, accept_json=False)
    assert (first.status, again.status, again_html.status) == (200, 200, 303)
    assert again.json() == {"ok": True}
    assert [row.fields["name"] for row in rows(client)] == ["Rosa Parks-Lopez"]


def test_same_token_with_other_content_is_a_conflict_and_the_first_is_kept(client):
    data = valid("knowledge-donor", _token="A" * 32)
    assert client.post("knowledge-donor", data).status == 200
    changed = client.post("knowledge-donor", {**data, "name": "Someone Else"})
    assert changed.status == 409
    assert changed.json()["ok"] is False
    assert "already sent" in changed.json()["error"] and "reload" in changed.json()["error"]
    page = client.post("knowledge-donor", {**data, "name": "Someone Else"}, accept_json=False)
    assert page.status == 409 and page.headers["content-type"].startswith("text/html")
    assert "already sent" in html.fromstring(page.body).text_content()
    assert [row.fields["name"] for row in rows(client)] == ["Rosa Parks-Lopez"]


@pytest.mark.parametrize("change", [{"name": "Kim Other"}, {"email": "other@example.org"}])
def test_registration_token_repeat_with_other_content_is_a_conflict(client, change):
    data = valid("training-registration", _token="R" * 32)
    first = client.post("training-registration", data)
    assert first.json()["status"] == "registered"
    assert client.post("training-registration", data).json() == first.json()
    changed = client.post("training-registration", {**data, **change})
    assert changed.status == 409 and "already sent" in changed.json()["error"]
    [row] = rows(client)
    assert (row.fields["name"], row.email) == ("Kim Lee", "kim@example.org")


def test_without_javascript_an_identical_resend_is_recognised(make_client):
    clock = FakeClock()
    client = make_client(clock=clock, duplicate_window_seconds=600)
    data = valid("knowledge-donor")
    assert client.post("knowledge-donor", data, accept_json=False).status == 303
    assert client.post("knowledge-donor", data, accept_json=False).status == 303
    assert len(rows(client)) == 1
    # Different content, or the same after the window, is a new submission.
    client.post("knowledge-donor", {**data, "hours": "1-4"}, accept_json=False)
    clock.now += 601
    client.post("knowledge-donor", data, accept_json=False)
    assert len(rows(client)) == 3


def test_no_ip_address_in_logs(client, caplog):
    caplog.set_level("DEBUG", logger="endpoint")
    client.post("knowledge-donor", valid("knowledge-donor"), REMOTE_ADDR="198.51.100.99")
    client.post("knowledge-donor", valid("knowledge-donor", _hp="x"), REMOTE_ADDR="198.51.100.99")
    logged = caplog.text
    assert "stored submission" in logged
    for personal in ("198.51.100.99", "rosa@example.org", "Rosa"):
        assert personal not in logged


def test_urlencoded_body_in_another_charset(client):
    body = urlencode(valid("knowledge-donor", name="Zoë"), doseq=True, encoding="latin-1").encode(
        "ascii"
    )
    answer = client.post(
        "knowledge-donor",
        body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=ISO-8859-1"},
    )
    assert answer.status == 200
    assert rows(client)[0].fields["name"] == "Zoë"


def test_unsupported_media_type_is_415(client):
    answer = client.post(
        "knowledge-donor", b"--x--", headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert answer.status == 415


def test_an_unexpected_error_is_500_saying_nothing_was_saved_and_logs_nothing_personal(
    client, caplog, monkeypatch
):
    def broken(*args, **kwargs):
        raise ValueError("rosa@example.org broke it")

    monkeypatch.setattr(client.app.storage, "store", broken)
    answer = client.post("knowledge-donor", valid("knowledge-donor"))
    assert answer.status == 500
    assert "Nothing was saved" in answer.json()["error"]
    assert "ValueError" in caplog.text and "rosa@example.org" not in caplog.text
    assert rows(client) == []
