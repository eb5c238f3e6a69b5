"""Addresses in mail headers: no encoded words, Unicode addresses, and clear SMTP errors.

Over real SMTP servers on loopback (aiosmtpd): one that offers SMTPUTF8 and one that
does not (neither offers STARTTLS). The raw bytes of each message are kept, because
Python's parser would decode an encoded word and hide what a mail program shows.
"""

import dataclasses
import logging
import sqlite3

import pytest

from endpoint.notify import safe_reply_to, send_pending
from endpoint.validation import validate
from tests.helpers import free_port
from webforms.definitions import load_forms

from .conftest import Inbox, valid

FORMS = load_forms()
FORM = "training-registration"
ENCODED_COMMA = "=?utf-8?q?x=40evil.example=2C_y?=@example.org"  # "x@evil.example, y"
ENCODED_CRLF = "=?utf-8?q?a=0D=0Ab?=@example.org"


class RawInbox(Inbox):
    """An Inbox that also keeps each message's envelope and raw bytes."""

    def __init__(self):
        super().__init__()
        self.raw = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        self.raw.append((list(envelope.rcpt_tos), envelope.content, list(envelope.mail_options)))
        return await super().handle_DATA(server, session, envelope)

    def raw_to(self, recipient):
        """The raw headers of the one message sent to `recipient`."""
        self.wait_for(len(self.messages))
        [content] = [content for rcpts, content, _ in self.raw if rcpts == [recipient]]
        return content.split(b"\r\n\r\n", 1)[0]


def start_server(smtputf8):
    from aiosmtpd.controller import Controller

    inbox = RawInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=smtputf8)
    controller.start()
    return controller, inbox


def serving(smtputf8):
    """Yield (port, inbox) of a loopback SMTP server, stopped afterwards."""
    controller, inbox = start_server(smtputf8)
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


@pytest.fixture
def utf8_server():
    """A loopback SMTP server that offers SMTPUTF8; yields (port, inbox)."""
    yield from serving(True)


@pytest.fixture
def ascii_server():
    """A loopback SMTP server without SMTPUTF8 (and without STARTTLS)."""
    yield from serving(False)


def header(raw, name):
    """The raw value of header `name` (bytes), or None."""
    for line in raw.split(b"\r\n"):
        if line.lower().startswith(name.lower().encode() + b":"):
            return line.split(b":", 1)[1].strip()
    return None


def stored_with(make_client, sqlite_url, email, form=FORM):
    """A client whose one pending submission has `email`, written straight into the
    database (as an address stored before validation refused it would be)."""
    client = make_client()  # no SMTP_HOST: everything waits
    data = valid(form, event="small-room") if form == FORM else valid(form)
    assert client.post(form, data).status == 200
    if email is not None:
        path = sqlite_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as connection:
            connection.execute("UPDATE submissions SET email = ?", (email,))
        connection.close()
    return client


def send(client, port, **changes):
    settings = dataclasses.replace(
        client.app.settings, smtp_host="127.0.0.1", smtp_port=port, **changes
    )
    return send_pending(client.app.storage, FORMS, settings, client.app.manifest)


# --- 1. Encoded words ------------------------------------------------------------


@pytest.mark.parametrize("email", [ENCODED_COMMA, ENCODED_CRLF, "=?utf-8?b?w6RubsOk?=@a.org"])
def test_validation_refuses_an_address_in_encoded_word_form(email):
    result = validate(FORMS["knowledge-donor"], valid("knowledge-donor", email=email))
    assert "email" in result.errors
    assert "=?" in result.errors["email"]
    assert result.email == ""
    assert safe_reply_to(email) is None


def test_an_encoded_word_stored_earlier_never_becomes_a_reply_to(
    make_client, sqlite_url, ascii_server
):
    port, inbox = ascii_server
    client = stored_with(make_client, sqlite_url, ENCODED_COMMA, "knowledge-donor")
    assert send(client, port) == (1, 0)
    raw = inbox.raw_to("organizers@example.org")
    assert header(raw, "Reply-To") is None
    assert b"evil" not in raw
    [(_, _, message)] = inbox.messages
    assert message["Reply-To"] is None


def test_an_address_that_cannot_be_written_does_not_stay_pending_forever(
    make_client, sqlite_url, ascii_server, caplog
):
    port, inbox = ascii_server
    client = stored_with(make_client, sqlite_url, ENCODED_CRLF)
    storage = client.app.storage
    [row] = storage.submissions()
    # The organizers are told (without a Reply-To); the mail to the "person" fails for good.
    with caplog.at_level(logging.WARNING, logger="endpoint"):
        assert send(client, port) == (1, 0)
    assert storage.submissions()[0].notify_state == "sent"
    assert storage.mail_of(row.id) == [("registered", "failed", 1)]
    assert "failed" in caplog.text and row.id in caplog.text
    [(recipients, _, _)] = inbox.raw
    assert recipients == ["trainings@example.org"]
    assert header(inbox.raw_to("trainings@example.org"), "Reply-To") is None
    # `invoke notify` does not try it again.
    assert send(client, port) == (0, 0)
    assert storage.mail_of(row.id) == [("registered", "failed", 1)]


def test_a_notification_that_cannot_be_built_is_marked_failed_not_retried(
    make_client, sqlite_url, ascii_server, monkeypatch, caplog
):
    port, inbox = ascii_server
    client = stored_with(make_client, sqlite_url, None, "knowledge-donor")
    storage = client.app.storage
    # A transient failure (nothing listening) still leaves it pending.
    assert send(client, free_port()) == (0, 1)
    assert storage.submissions()[0].notify_state == "pending"

    def cannot_build(*args, **kwargs):
        raise ValueError("invalid arguments; address parts cannot contain CR or LF")

    monkeypatch.setattr("endpoint.notify.build_message", cannot_build)
    with caplog.at_level(logging.WARNING, logger="endpoint"):
        assert send(client, port) == (0, 0)
    [row] = storage.submissions()
    assert (row.notify_state, row.notify_attempts) == ("failed", 2)
    assert "ValueError" in caplog.text and "failed" in caplog.text
    assert send(client, port) == (0, 0)
    assert storage.submissions()[0].notify_attempts == 2
    assert inbox.messages == []


# --- 2. Non-ASCII addresses -------------------------------------------------------


@pytest.mark.parametrize("email", ["ännä@example.org", "ann@exämple.org"])
def test_with_smtputf8_a_unicode_address_arrives_intact(make_client, utf8_server, email):
    port, inbox = utf8_server
    client = make_client(smtp_host="127.0.0.1", smtp_port=port)
    assert client.post(FORM, valid(FORM, event="small-room", email=email)).status == 200
    inbox.wait_for(2)
    notification = inbox.raw_to("trainings@example.org")
    assert header(notification, "Reply-To") == email.encode("utf-8")
    # The person's own mail: envelope and To: as they wrote it.
    mine = inbox.raw_to(email)
    assert header(mine, "To") == email.encode("utf-8")
    assert b"=?" not in header(mine, "To")
    options = [opts for rcpts, _, opts in inbox.raw if rcpts == [email]][0]
    assert "SMTPUTF8" in options
    [stored] = client.app.storage.submissions()
    assert client.app.storage.mail_of(stored.id) == [("registered", "sent", 1)]
    assert stored.notify_state == "sent"


def test_without_smtputf8_the_domain_is_idna_encoded(make_client, ascii_server):
    port, inbox = ascii_server
    client = make_client(smtp_host="127.0.0.1", smtp_port=port)
    post = valid(FORM, event="small-room", email="ann@exämple.org")
    assert client.post(FORM, post).status == 200
    inbox.wait_for(2)
    assert header(inbox.raw_to("trainings@example.org"), "Reply-To") == b"ann@xn--exmple-cua.org"
    mine = inbox.raw_to("ann@xn--exmple-cua.org")
    assert header(mine, "To") == b"ann@xn--exmple-cua.org"
    [stored] = client.app.storage.submissions()
    assert client.app.storage.mail_of(stored.id) == [("registered", "sent", 1)]


def test_without_smtputf8_a_unicode_local_part_is_named_not_mangled(
    make_client, ascii_server, caplog
):
    port, inbox = ascii_server
    client = make_client(smtp_host="127.0.0.1", smtp_port=port)
    with caplog.at_level(logging.WARNING, logger="endpoint"):
        post = valid(FORM, event="small-room", email="ännä@example.org")
        assert client.post(FORM, post).status == 200
    [(recipients, content, _)] = inbox.raw  # only the organizers' notification
    assert recipients == ["trainings@example.org"]
    raw = inbox.raw_to("trainings@example.org")
    assert header(raw, "Reply-To") is None
    [(_, _, message)] = inbox.messages
    body = message.get_content()
    assert "ännä@example.org" in body and "SMTPUTF8" in body
    # The person's confirmation cannot be addressed on this server: failed, and said so.
    [stored] = client.app.storage.submissions()
    assert stored.notify_state == "sent"
    assert client.app.storage.mail_of(stored.id) == [("registered", "failed", 1)]
    assert "SMTPUTF8" in caplog.text


# --- 3. STARTTLS that the server does not offer -----------------------------------


def test_starttls_not_offered_says_what_to_set_in_the_log(make_client, ascii_server, caplog):
    port, inbox = ascii_server
    client = make_client(smtp_host="127.0.0.1", smtp_port=port, smtp_tls="starttls")
    with caplog.at_level(logging.WARNING, logger="endpoint"):
        assert client.post("knowledge-donor", valid("knowledge-donor")).status == 200
    assert "STARTTLS" in caplog.text
    assert "SMTP_TLS=none" in caplog.text and "SMTP_TLS=ssl" in caplog.text
    assert "SMTP_PORT" in caplog.text
    assert client.app.storage.submissions()[0].notify_state == "pending"
    assert inbox.messages == []


def test_starttls_not_offered_makes_notify_say_what_to_set(
    make_client, sqlite_url, ascii_server, monkeypatch, capsys
):
    from endpoint import cli

    port, inbox = ascii_server
    client = stored_with(make_client, sqlite_url, None, "knowledge-donor")
    for name in ("SMTP_TLS", "SMTP_USER", "SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SITE_MANIFEST", str(client.app.settings.site_manifest))
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    assert cli.main(["notify"]) == 2
    _, err = capsys.readouterr()
    assert "STARTTLS" in err
    assert "SMTP_TLS=none" in err and "SMTP_TLS=ssl" in err and "SMTP_PORT" in err
    assert client.app.storage.submissions()[0].notify_state == "pending"
    assert inbox.messages == []
