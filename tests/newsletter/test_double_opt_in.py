"""E-mail updates with double opt-in, end to end through a real SMTP server on loopback.

A signup is stored unconfirmed and the address gets a signed link; opening it (GET)
changes nothing, the page's button (POST) confirms; only confirmed people are exported
as subscribed. The contact form notifies the organizers like every form.
"""

import json
import re
import time
from urllib.parse import urlsplit

import lxml.html

from endpoint import cli
from endpoint.export import export
from tests.endpoint.conftest import ENDPOINT_HOST, SITE, FakeClock

OWN_ORIGIN = f"http://{ENDPOINT_HOST}"
SIGNUP = {
    "email": "ana@example.org",
    "name": "Ana Ruiz",
    "interests": ["trainings", "blog"],
    "consent": "yes",
}


def mailing_client(make_client, port, database_url=None):
    return make_client(database_url, FakeClock(), smtp_host="127.0.0.1", smtp_port=port)


def sign_up(client, **changes):
    client.app.clock.now += 1
    answer = client.post("newsletter", {**SIGNUP, **changes})
    assert answer.status == 200, answer.text
    return answer


def mail_to(inbox, address, count):
    """The `count` messages sent to `address` (waiting up to 5 s for them)."""
    deadline = time.monotonic() + 5
    while True:
        mine = [m for _, to, m in inbox.messages if to == [address]]
        if len(mine) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(mine) == count, [m["Subject"] for _, _, m in inbox.messages]
    return mine


def body_of(message):
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def confirm_link(message):
    [link] = re.findall(r"https?://\S+/confirm\?\S+", body_of(message))
    return link


def open_link(client, link, method="GET", origin=None):
    parts = urlsplit(link)
    assert parts.netloc == ENDPOINT_HOST  # the endpoint's address, from the site's manifest
    headers = {"Origin": origin} if origin else {}
    return client.request(method, parts.path, headers=headers, QUERY_STRING=parts.query)


def the_signup(client):
    [stored] = client.app.storage.submissions("newsletter")
    return stored


def osdi(client):
    form = client.app.form("newsletter")
    return json.loads(export(client.app.storage, form, "osdi"))


def test_only_the_button_on_the_linked_page_confirms_and_only_then_is_it_exported(
    make_client, smtp_inbox, database_url
):
    port, inbox = smtp_inbox
    client = mailing_client(make_client, port, database_url)
    assert sign_up(client).json() == {"ok": True}

    [message] = mail_to(inbox, "ana@example.org", 1)
    assert message["Subject"] == "Please confirm: e-mail updates from Organizing 2.0"
    # Nothing typed into the form reaches the mail: anyone can type anyone's address.
    assert body_of(message).startswith("Hello,\n") and "Ana" not in body_of(message)
    link = confirm_link(message)
    assert link.startswith(f"{OWN_ORIGIN}/forms/newsletter/confirm?r=")
    stored = the_signup(client)
    assert stored.confirmed_at is None
    assert client.app.storage.mail_of(stored.id) == [("confirm", "sent", 1)]
    assert osdi(client) == []
    # The newsletter notifies no organizer: the person's mail is the only one.
    assert len(inbox.messages) == 1

    # Opening the link (as a mail scanner would) shows a button and changes nothing.
    page = open_link(client, link)
    assert page.status == 200
    doc = lxml.html.fromstring(page.text)
    [form] = doc.xpath("//form[@method='post']")
    assert form.get("action") == link
    assert doc.xpath("string(//form//button)") == "Yes, send me e-mail updates"
    assert the_signup(client).confirmed_at is None

    confirmed = open_link(client, form.get("action"), "POST", OWN_ORIGIN)
    assert confirmed.status == 303
    assert confirmed.headers["location"] == f"{SITE}/subscribe/confirmed/"
    first = the_signup(client).confirmed_at
    assert first is not None

    # Twice is harmless: the same page, the first time kept.
    client.app.clock.now += 60
    again = open_link(client, link, "POST", OWN_ORIGIN)
    assert again.status == 303
    assert the_signup(client).confirmed_at == first
    assert "already confirmed" in open_link(client, link).text

    [person] = osdi(client)
    assert person["person"]["email_addresses"] == [
        {"address": "ana@example.org", "status": "subscribed"}
    ]
    assert person["person"]["given_name"] == "Ana"
    assert person["add_tags"] == ["newsletter", "interests: trainings", "interests: blog"]


def test_a_changed_link_is_refused_and_confirms_nothing(make_client, smtp_inbox):
    port, inbox = smtp_inbox
    client = mailing_client(make_client, port)
    sign_up(client)
    link = confirm_link(mail_to(inbox, "ana@example.org", 1)[0])
    signature = link.rsplit("s=", 1)[1]
    other_id = "0" * 32
    tampered = [
        link[:-1] + ("0" if link[-1] != "0" else "1"),  # one character of the signature
        re.sub(r"r=[0-9a-f]{32}", f"r={other_id}", link),  # another signup, same signature
        link.split("&s=")[0],  # no signature at all
        f"{OWN_ORIGIN}/forms/newsletter/confirm?r=nonsense&s={signature}",
    ]
    for bad in tampered:
        for method in ("GET", "POST"):
            answer = open_link(client, bad, method, OWN_ORIGIN if method == "POST" else None)
            assert answer.status == 403, (bad, method)
            assert "does not work" in answer.text
    assert the_signup(client).confirmed_at is None
    # A training's cancel route does not take the newsletter's link either.
    cancel = link.replace("/forms/newsletter/confirm", "/forms/training-registration/cancel")
    assert open_link(client, cancel, "POST", OWN_ORIGIN).status == 404
    assert the_signup(client).confirmed_at is None


def test_signing_up_again_sends_a_new_link_until_confirmed_then_says_so_kindly(
    make_client, smtp_inbox
):
    port, inbox = smtp_inbox
    client = mailing_client(make_client, port)
    first_answer = sign_up(client)
    first = confirm_link(mail_to(inbox, "ana@example.org", 1)[0])
    # Unconfirmed, the same address again (a new page, another name): a new link.
    assert sign_up(client, name="Ana R.").json() == first_answer.json()
    second = mail_to(inbox, "ana@example.org", 2)[1]
    assert confirm_link(second) != first
    assert open_link(client, confirm_link(second), "POST", OWN_ORIGIN).status == 303

    # Confirmed: the page answers exactly as for anyone; the mail says there is nothing
    # to do, and holds no link and nothing the sender typed.
    assert sign_up(client, name="Someone Else").json() == first_answer.json()
    third = mail_to(inbox, "ana@example.org", 3)[2]
    assert third["Subject"] == "You already get e-mail updates from Organizing 2.0"
    body = body_of(third)
    assert "nothing to do" in body
    assert "http" not in body and "Someone Else" not in body
    # Only the confirmed signup is exported, once.
    assert [p["person"]["given_name"] for p in osdi(client)] == ["Ana"]


def test_the_export_and_forget_commands(make_client, smtp_inbox, sqlite_url, monkeypatch, capsys):
    port, inbox = smtp_inbox
    client = mailing_client(make_client, port)
    sign_up(client)
    sign_up(client, email="ben@example.org", name="Ben Oduya")
    link = confirm_link(mail_to(inbox, "ben@example.org", 1)[0])
    assert open_link(client, link, "POST", OWN_ORIGIN).status == 303
    monkeypatch.setenv("DATABASE_URL", sqlite_url)

    assert cli.main(["export", "--form", "newsletter", "--format", "osdi"]) == 0
    out, err = capsys.readouterr()
    [person] = json.loads(out)
    assert person["person"]["email_addresses"][0]["address"] == "ben@example.org"
    assert "Wrote 1 row(s) of newsletter as osdi" in err
    # The spreadsheet export shows everyone, with when (or whether) they confirmed.
    assert cli.main(["export", "--form", "newsletter", "--format", "csv"]) == 0
    rows = capsys.readouterr()[0].splitlines()
    assert rows[0].startswith("id,form_id,submitted_at,confirmed_at,email,name,interests")
    assert [row.split(",")[3] != "" for row in rows[1:]] == [False, True]

    assert cli.main(["forget", "BEN@example.org"]) == 0
    capsys.readouterr()
    assert [s.email for s in client.app.storage.submissions("newsletter")] == ["ana@example.org"]
    assert osdi(client) == []


def test_a_contact_message_is_stored_and_the_organizers_are_told(make_client, smtp_inbox):
    port, inbox = smtp_inbox
    client = mailing_client(make_client, port)
    message = {
        "name": "Lee Park",
        "email": "lee@example.org",
        "message": "Can you run a training for our local in March?",
        "consent": "yes",
    }
    answer = client.post("contact", message, accept_json=False)
    assert answer.status == 303
    assert answer.headers["location"] == f"{SITE}/contact/thanks/"
    [stored] = client.app.storage.submissions("contact")
    assert stored.fields["message"] == message["message"]
    [notice] = mail_to(inbox, "organizers@example.org", 1)
    assert notice["Subject"] == "New submission: Write to us"
    assert notice["Reply-To"] == "lee@example.org"
    assert "Your message: Can you run a training for our local in March?" in body_of(notice)
    assert len(inbox.messages) == 1  # nothing mailed to the sender
