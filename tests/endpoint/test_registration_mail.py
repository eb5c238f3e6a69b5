"""Mail to the people who register (or apply), over a real SMTP server on loopback.

The confirmation says when (in the training's own zone), where and what to bring,
attaches the site's own .ics of the training and links to a signed, one-click cancel
page; cancelling promotes the first on the waitlist, who is e-mailed too. A failed send
leaves the mail pending (the outbox) and the registration stored.
"""

import dataclasses
import json
import re
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
import lxml.html
import pytest

from endpoint.notify import send_pending
from tests.helpers import free_port
from webforms.definitions import load_forms

from .conftest import ENDPOINT_HOST, MANIFEST, FakeClock, valid

FORM = "training-registration"
FORMS = load_forms()
SMALL_ROOM = json.loads(MANIFEST.read_text(encoding="utf-8"))["trainings"]["small-room"]
WHEN = "Thursday, March 11, 2027, 9:30 AM to 5:00 PM EST (America/New_York time)"
OWN_ORIGIN = f"http://{ENDPOINT_HOST}"


def mailing_client(make_client, port, database_url=None):
    return make_client(
        database_url,
        FakeClock(),
        smtp_host="127.0.0.1",
        smtp_port=port,
        mail_from="forms@example.org",
    )


def register(client, email, event="small-room"):
    # A second apart, so the waitlist's order is the order of registering.
    client.app.clock.now += 1
    return client.post(FORM, valid(FORM, event=event, email=email, name=f"Person {email[:2]}"))


def mail_to(inbox, address, count=1):
    """The messages sent to `address` (waiting up to 5 s for `count` of them)."""
    for _ in range(2):
        mine = [m for _, recipients, m in inbox.messages if recipients == [address]]
        if len(mine) >= count:
            return mine
        inbox.wait_for(len(inbox.messages) + 1)
    return [m for _, recipients, m in inbox.messages if recipients == [address]]


def body_of(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    return text.replace("\r\n", "\n")


def cancel_link(message) -> str:
    [link] = re.findall(r"https?://\S+/cancel\?\S+", body_of(message))
    return link


def path_and_query(link):
    parts = urlsplit(link)
    assert parts.netloc == ENDPOINT_HOST  # the manifest's "endpoint" address
    return parts.path, parts.query


def statuses(client, event="small-room"):
    return {s.email: s.status for s in client.app.storage.submissions(FORM) if s.about == event}


def test_the_registered_person_gets_time_place_bring_ics_and_cancel_link(
    make_client, smtp_inbox, database_url
):
    port, inbox = smtp_inbox
    client = mailing_client(make_client, port, database_url)
    assert register(client, "kim@example.org").json()["status"] == "registered"

    [message] = mail_to(inbox, "kim@example.org")
    assert message["Subject"] == "You are registered: Small Room"
    assert message["From"] == "forms@example.org"
    assert message["Reply-To"] == "trainings@example.org"
    body = body_of(message)
    assert "You are registered for Small Room" in body
    assert "waitlist" not in body.split("Cancel")[0].lower()
    # The time in the training's own zone, as the site's page says it.
    assert f"When: {WHEN}" in body
    assert "Where: Union Hall, 275 Seventh Avenue, New York, NY 10001" in body
    assert "What to bring:\n  - A laptop" in body
    assert "Details: http://127.0.0.1:8000/trainings/small-room/" in body
    assert cancel_link(message).startswith(f"{OWN_ORIGIN}/forms/{FORM}/cancel?r=")

    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "small-room.ics"
    assert attachment.get_content() == SMALL_ROOM["ics"]  # the site's own calendar file
    [event] = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert str(event["UID"]) == "small-room@organizing20.org"
    new_york = ZoneInfo("America/New_York")
    assert event.decoded("DTSTART") == datetime(2027, 3, 11, 9, 30, tzinfo=new_york)
    assert event.decoded("DTEND") == datetime(2027, 3, 11, 17, 0, tzinfo=new_york)

    # The organizers were told too, and the person's mail is marked sent.
    assert len(mail_to(inbox, "trainings@example.org")) == 1
    [stored] = client.app.storage.submissions(FORM)
    assert client.app.storage.mail_of(stored.id) == [("registered", "sent", 1)]


def test_the_waitlisted_person_is_told_they_are_waitlisted(make_client, smtp_inbox):
    port, inbox = smtp_inbox
    client = mailing_client(make_client, port)
    for n in range(3):
        register(client, f"p{n}@example.org")
    assert register(client, "late@example.org").json()["status"] == "waitlisted"
    [message] = mail_to(inbox, "late@example.org")
    assert message["Subject"] == "You are on the waitlist: Small Room"
    body = body_of(message)
    assert "Small Room is full, so you are on the waitlist" in body
    assert "You are registered" not in body
    assert f"When: {WHEN}" in body
    assert "Cancel your place on the waitlist here" in body
    assert [a.get_filename() for a in message.iter_attachments()] == ["small-room.ics"]


def test_smtp_down_keeps_the_registration_and_the_mail_waits_for_notify(make_client, smtp_inbox):
    dead_port = free_port()  # nothing listens here
    client = make_client(smtp_host="127.0.0.1", smtp_port=dead_port)
    assert register(client, "kim@example.org").json()["status"] == "registered"
    [stored] = client.app.storage.submissions(FORM)
    assert stored.status == "registered"
    assert client.app.storage.mail_of(stored.id) == [("registered", "pending", 1)]

    # `invoke notify` later, with the mail server back: both queues go out, once.
    port, inbox = smtp_inbox
    settings = dataclasses.replace(client.app.settings, smtp_port=port)
    storage, manifest = client.app.storage, client.app.manifest
    assert send_pending(storage, FORMS, settings, manifest) == (2, 0)
    [message] = mail_to(inbox, "kim@example.org")
    assert message["Subject"] == "You are registered: Small Room"
    assert len(mail_to(inbox, "trainings@example.org")) == 1
    assert storage.mail_of(stored.id) == [("registered", "sent", 2)]
    assert send_pending(storage, FORMS, settings, manifest) == (0, 0)


def test_without_smtp_the_mail_waits_and_forget_deletes_it(client):
    register(client, "kim@example.org")
    [stored] = client.app.storage.submissions(FORM)
    assert client.app.storage.mail_of(stored.id) == [("registered", "pending", 0)]
    assert [kind for _, kind, _ in client.app.storage.pending_mail()] == ["registered"]
    assert client.app.storage.forget("kim@example.org") == 1
    assert client.app.storage.mail_of(stored.id) == []
    assert client.app.storage.pending_mail() == []


def test_the_cancel_link_confirms_cancels_and_promotes_the_waitlist(
    make_client, smtp_inbox, database_url
):
    port, inbox = smtp_inbox
    client = mailing_client(make_client, port, database_url)
    for n in range(3):
        register(client, f"p{n}@example.org")
    register(client, "next@example.org")
    register(client, "after@example.org")
    before = statuses(client)
    assert before["next@example.org"] == before["after@example.org"] == "waitlisted"
    path, query = path_and_query(cancel_link(mail_to(inbox, "p0@example.org")[0]))

    # GET (a person, or a mail scanner following the link) only shows the page.
    page = client.request("GET", path, QUERY_STRING=query)
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    doc = lxml.html.fromstring(page.body)
    assert [h1.text_content() for h1 in doc.xpath("//h1")] == [
        "Cancel your registration for Small Room?"
    ]
    [form] = doc.xpath("//form")
    assert form.get("method") == "post"
    assert urlsplit(form.get("action")).query == query
    assert [b.text_content() for b in form.xpath(".//button")] == ["Cancel your place"]
    assert doc.xpath("//link[@rel='stylesheet']/@href") == [
        "http://127.0.0.1:8000/theme/css/site.css"
    ]
    assert statuses(client) == before

    # The page's button posts from the endpoint's own origin: the place is freed.
    done = client.request("POST", path, headers={"Origin": OWN_ORIGIN}, QUERY_STRING=query)
    assert done.status == 200
    [h1] = lxml.html.fromstring(done.body).xpath("//h1")
    assert h1.text_content() == "Your place is cancelled"
    after = statuses(client)
    assert after["p0@example.org"] == "cancelled"
    assert after["next@example.org"] == "registered"  # the first on the waitlist
    assert after["after@example.org"] == "waitlisted"

    cancelled = mail_to(inbox, "p0@example.org", 2)[1]
    assert cancelled["Subject"] == "Your registration is cancelled: Small Room"
    assert list(cancelled.iter_attachments()) == []
    promoted = mail_to(inbox, "next@example.org", 2)[1]
    assert promoted["Subject"] == "A place opened up, you are registered: Small Room"
    body = body_of(promoted)
    assert "it is yours" in body and f"When: {WHEN}" in body
    assert [a.get_filename() for a in promoted.iter_attachments()] == ["small-room.ics"]
    assert cancel_link(promoted) != cancel_link(mail_to(inbox, "p0@example.org")[0])
    assert mail_to(inbox, "after@example.org") and len(mail_to(inbox, "after@example.org")) == 1

    # The same link again: nothing left to do, nothing changes, no more mail.
    sent = len(inbox.messages)
    again = client.request("POST", path, headers={"Origin": OWN_ORIGIN}, QUERY_STRING=query)
    assert again.status == 200 and b"already cancelled" in again.body
    assert statuses(client) == after
    assert len(inbox.messages) == sent


def test_a_tampered_or_foreign_link_is_refused_and_changes_nothing(make_client, smtp_inbox):
    port, inbox = smtp_inbox
    client = mailing_client(make_client, port)
    for n in range(3):
        register(client, f"p{n}@example.org")
    register(client, "next@example.org")
    before = statuses(client)
    path, query = path_and_query(cancel_link(mail_to(inbox, "p0@example.org")[0]))
    signature = query.rpartition("s=")[2]
    other = {s.email: s.id for s in client.app.storage.submissions(FORM)}["p1@example.org"]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    bad_queries = [
        query.replace(signature, flipped),  # one character changed
        query.replace(signature, ""),  # no signature
        f"r={other}&s={signature}",  # p0's signature on p1's registration
    ]
    sent = len(inbox.messages)
    for bad in bad_queries:
        for method in ("GET", "POST"):
            answer = client.request(method, path, headers={"Origin": OWN_ORIGIN}, QUERY_STRING=bad)
            assert answer.status == 403, (method, bad)
            [h1] = lxml.html.fromstring(answer.body).xpath("//h1")
            assert h1.text_content() == "This cancel link does not work"
            assert b"nothing was cancelled" in answer.body
    assert statuses(client) == before
    assert len(inbox.messages) == sent
    assert [kind for _, kind, _ in client.app.storage.pending_mail()] == []


def test_a_cancel_post_from_another_site_is_refused(client):
    register(client, "kim@example.org")
    [stored] = client.app.storage.submissions(FORM)
    from endpoint.abuse import sign_cancel

    query = f"r={stored.id}&s={sign_cancel('test-secret', stored.id)}"
    path = f"/forms/{FORM}/cancel"
    answer = client.request(
        "POST", path, headers={"Origin": "https://evil.example"}, QUERY_STRING=query
    )
    assert answer.status == 403
    assert statuses(client) == {"kim@example.org": "registered"}


@pytest.mark.parametrize("form_id", ["knowledge-donor", "intern-application"])
def test_only_training_registrations_have_a_cancel_page(client, form_id):
    assert client.request("GET", f"/forms/{form_id}/cancel").status == 404


def test_the_intern_applicant_gets_a_confirmation(make_client, smtp_inbox):
    port, inbox = smtp_inbox
    client = mailing_client(make_client, port)
    answer = client.post("intern-application", valid("intern-application"))
    assert answer.status == 200
    [message] = mail_to(inbox, "katie@example.org")
    assert message["Subject"] == "We received your application: Fall intern"
    assert message["Reply-To"] == "internships@example.org"
    body = body_of(message)
    assert body.startswith("Hello Katie Doe,")
    assert "Thank you for applying for Fall intern" in body
    assert "Applications close at the end of Monday, March 1, 2027." in body
    assert "/cancel?" not in body
    assert list(message.iter_attachments()) == []
    [stored] = client.app.storage.submissions("intern-application")
    assert client.app.storage.mail_of(stored.id) == [("applied", "sent", 1)]
