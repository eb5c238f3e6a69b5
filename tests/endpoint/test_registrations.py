"""Training registrations: places, the waitlist, refusals with reasons, one place per person.

The trainings and intern calls come from tests/fixtures/manifest.json (what the site's
build publishes), with dates after FakeClock's "now".
"""

import json
import multiprocessing

import pytest

from endpoint.app import create_app
from endpoint.storage import open_storage

from .conftest import SITE, Client, FakeClock, make_settings, valid

FORM = "training-registration"


def register(client, event, email, **changes):
    return client.post(FORM, valid(FORM, event=event, email=email, **changes))


def statuses(database_url, event):
    storage = open_storage(database_url)
    try:
        return sorted(s.status for s in storage.submissions(FORM) if s.about == event)
    finally:
        storage.close()


def test_past_capacity_people_are_waitlisted_and_told_so(make_client, database_url):
    client = make_client(database_url)
    answers = [register(client, "small-room", f"p{n}@example.org") for n in range(5)]
    assert [a.json()["status"] for a in answers] == ["registered"] * 3 + ["waitlisted"] * 2
    assert answers[-1].json()["thank_you"] == f"{SITE}/trainings/waitlisted/"
    assert statuses(database_url, "small-room") == ["registered"] * 3 + ["waitlisted"] * 2


def test_without_javascript_the_waitlisted_go_to_the_waitlist_page(client):
    for n in range(3):
        register(client, "small-room", f"p{n}@example.org")
    answer = client.post(
        FORM, valid(FORM, event="small-room", email="late@example.org"), accept_json=False
    )
    assert (answer.status, answer.headers["location"]) == (303, f"{SITE}/trainings/waitlisted/")


def test_the_same_email_takes_no_second_place_and_learns_nothing_else(client):
    assert register(client, "small-room", "kim@example.org").json()["status"] == "registered"
    again = register(client, "small-room", "KIM@example.org", name="Someone Else")
    assert again.json() == {
        "ok": True,
        "status": "already_registered",
        "thank_you": f"{SITE}/trainings/already-registered/",
    }
    # Another person's registration is not mentioned: the answer is the same shape.
    assert register(client, "small-room", "new@example.org").json()["status"] == "registered"
    places = client.request(
        "GET", "/forms/training-registration/places", QUERY_STRING="for=small-room"
    )
    assert places.json()["registered"] == 2


def test_a_retried_request_gets_its_first_answer_again(client):
    data = valid(FORM, event="small-room", email="kim@example.org", _token="t" * 32)
    first = client.post(FORM, data).json()
    assert client.post(FORM, data).json() == first


def test_no_capacity_means_no_waitlist(client):
    answers = [register(client, "open-hall", f"p{n}@example.org") for n in range(12)]
    assert {a.json()["status"] for a in answers} == {"registered"}


def test_marked_full_by_its_writer_everyone_joins_the_waitlist(client):
    assert register(client, "marked-full", "kim@example.org").json()["status"] == "waitlisted"


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("called-off", "cancelled"),
        ("put-back", "postponed"),
        ("long-over", "has ended"),
        ("not-on-the-site", "could not find this training"),
    ],
)
def test_closed_or_unknown_trainings_are_refused_with_the_reason(client, event, reason):
    answer = register(client, event, "kim@example.org")
    assert answer.status == 422
    assert reason in answer.json()["errors"]["event"]
    assert "Nothing was saved" in answer.json()["errors"]["event"]
    assert client.app.storage.submissions(FORM) == []


def test_a_refusal_without_javascript_keeps_what_was_typed(client):
    answer = client.post(
        FORM,
        valid(FORM, event="called-off", name="Kim Typed-This", organization="Local 32BJ"),
        accept_json=False,
    )
    assert answer.status == 422
    assert "was cancelled" in answer.text
    assert 'value="Kim Typed-This"' in answer.text and 'value="Local 32BJ"' in answer.text


def test_the_registration_closes_when_the_training_ends_whatever_the_page_says(make_client):
    clock = FakeClock()
    client = make_client(clock=clock)
    assert register(client, "small-room", "early@example.org").status == 200
    clock.now += 60 * 24 * 3600  # past 2027-03-11
    late = register(client, "small-room", "late@example.org")
    assert late.status == 422 and "has ended" in late.json()["errors"]["event"]


def test_applications_are_refused_after_apply_by(client):
    form = "intern-application"
    assert client.post(form, valid(form, call="fall-2013")).status == 200
    answer = client.post(form, valid(form, call="spring-closed", email="late@example.org"))
    assert answer.status == 422
    assert "closed at the end of Tuesday, December 1, 2026" in answer.json()["errors"]["call"]


def test_places_left_for_the_page(client):
    def places(event):
        answer = client.request(
            "GET", f"/forms/{FORM}/places", QUERY_STRING=f"for={event}", HTTP_ORIGIN=SITE
        )
        assert answer.headers["access-control-allow-origin"] == SITE
        return answer.json()

    assert places("small-room") == {
        "capacity": 3, "registered": 0, "waitlisted": 0, "left": 3, "open": True
    }  # fmt: skip
    for n in range(4):
        register(client, "small-room", f"p{n}@example.org")
    assert places("small-room")["left"] == 0 and places("small-room")["waitlisted"] == 1
    assert places("called-off")["open"] is False
    assert places("open-hall")["capacity"] is None
    unknown = client.request("GET", f"/forms/{FORM}/places", QUERY_STRING="for=nothing")
    assert unknown.status == 404


def test_a_cancelled_place_goes_to_the_first_on_the_waitlist(make_client, database_url):
    client = make_client(database_url)
    clock = client.app.clock
    for n in range(5):
        register(client, "small-room", f"p{n}@example.org")
        clock.now += 1
    storage = client.app.storage
    by_email = {s.email: s for s in storage.submissions(FORM)}
    cancelled, promoted = storage.cancel_registration(by_email["p1@example.org"].id)
    assert (cancelled.status, promoted.email, promoted.status) == (
        "cancelled", "p3@example.org", "registered"
    )  # fmt: skip
    assert storage.cancel_registration(cancelled.id) == (None, None)  # twice changes nothing
    assert statuses(database_url, "small-room") == [
        "cancelled", "registered", "registered", "registered", "waitlisted"
    ]  # fmt: skip
    # The cancelled person may register again: at the back of the queue.
    assert register(client, "small-room", "p1@example.org").json()["status"] == "waitlisted"


def test_unavailable_manifest_saves_nothing_and_says_so(make_client, tmp_path):
    client = make_client(site_manifest=str(tmp_path / "missing.json"))
    answer = register(client, "small-room", "kim@example.org")
    assert answer.status == 503
    assert client.app.storage.submissions(FORM) == []
    # Forms about nothing on the site are not affected.
    assert client.post("knowledge-donor", valid("knowledge-donor")).status == 200


def _register_at_once(database_url, barrier, number, results):
    app = create_app(make_settings(database_url), clock=FakeClock())
    client = Client(app)
    barrier.wait()
    answer = register(client, "small-room", f"racer{number}@example.org")
    results.put(answer.json()["status"])
    app.storage.close()


def test_eight_processes_racing_for_three_places(database_url):
    """8 endpoint processes submit at the same moment: exactly 3 places, 5 on the waitlist."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(8), context.Queue()
    setup = open_storage(database_url)
    setup.migrate()  # as `python -m endpoint` does before its workers start
    setup.close()
    processes = [
        context.Process(target=_register_at_once, args=(database_url, barrier, n, results))
        for n in range(8)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    answers = sorted(results.get(timeout=5) for _ in processes)
    assert answers == ["registered"] * 3 + ["waitlisted"] * 5
    assert statuses(database_url, "small-room") == ["registered"] * 3 + ["waitlisted"] * 5


def test_organizers_get_counts_a_sign_in_sheet_and_the_status_in_exports(
    make_client, sqlite_url, monkeypatch, capsys, tmp_path
):
    from endpoint import cli

    client = make_client()
    people = [("Zoe Park", "Local 1"), ("Ana Díaz", "=cmd()"), ("Bo Chen", ""), ("Cy Low", "")]
    for number, (name, organization) in enumerate(people):
        register(client, "small-room", f"p{number}@example.org", name=name,
                 organization=organization)  # fmt: skip
        client.app.clock.now += 1
    register(client, "open-hall", "other@example.org")
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SITE_MANIFEST", str(client.app.settings.site_manifest))

    assert cli.main(["registrations", "small-room", "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert "small-room: 3 registered, 1 waitlisted, 0 cancelled" in err
    rows = [line.split(",") for line in out.strip().splitlines()]
    assert rows[0] == ["Status", "Name", "Organization", "Here"]
    # The registered by name (formulas neutralised), then the waitlist in order.
    assert [row[:3] for row in rows[1:]] == [
        ["registered", "Ana Díaz", "'=cmd()"],
        ["registered", "Bo Chen", ""],
        ["registered", "Zoe Park", "Local 1"],
        ["waitlisted", "Cy Low", ""],
    ]

    sheet = tmp_path / "sheet.html"
    assert cli.main(["registrations", "small-room", "--output", str(sheet)]) == 0
    html = sheet.read_text(encoding="utf-8")
    assert "<h1>Sign-in sheet: Small Room</h1>" in html and "Waitlist, in order (1)" in html

    assert cli.main(["export", "--form", FORM, "--format", "json", "--event", "small-room"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert [(row["email"], row["status"]) for row in exported] == [
        ("p0@example.org", "registered"), ("p1@example.org", "registered"),
        ("p2@example.org", "registered"), ("p3@example.org", "waitlisted"),
    ]  # fmt: skip
    assert cli.main(["registrations", "no-such-training"]) == 2
