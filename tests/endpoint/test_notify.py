"""Notifications over a real SMTP server on loopback (aiosmtpd)."""

import io
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest

from endpoint.notify import build_message, safe_reply_to, send_pending
from endpoint.settings import Settings
from webforms.definitions import load_forms

from .conftest import SITE, valid

FORMS = load_forms()


def test_organizers_get_an_email_after_the_submission_is_stored(make_client, smtp_inbox):
    port, inbox = smtp_inbox
    client = make_client(smtp_host="127.0.0.1", smtp_port=port, mail_from="forms@example.org")
    answer = client.post("knowledge-donor", valid("knowledge-donor"))
    assert answer.status == 200
    [(sender, recipients, message)] = inbox.wait_for(1)
    assert sender == "forms@example.org"
    assert recipients == ["organizers@example.org"]
    assert message["Subject"] == "New submission: Sign up as a knowledge donor"
    assert message["Reply-To"] == "rosa@example.org"
    body = message.get_content()
    assert "Rosa Parks-Lopez" in body and "Social media, Other" in body
    [row] = client.app.storage.submissions()
    assert (row.notify_state, row.notify_attempts) == ("sent", 1)


def test_dead_smtp_server_leaves_the_submission_stored_and_pending(make_client, smtp_inbox):
    from tests.helpers import free_port

    dead_port = free_port()  # nothing listens here
    client = make_client(smtp_host="127.0.0.1", smtp_port=dead_port)
    answer = client.post("help-request", valid("help-request"), accept_json=False)
    assert answer.status == 303
    [row] = client.app.storage.submissions()
    assert (row.notify_state, row.notify_attempts) == ("pending", 1)

    # `invoke notify` later, with the mail server back: the pending one goes out once.
    port, inbox = smtp_inbox
    settings = Settings(
        database_url=client.app.settings.database_url, smtp_host="127.0.0.1", smtp_port=port,
        smtp_tls="none", forms_secret="s", ip_hash_salt="s",
    )  # fmt: skip
    assert send_pending(client.app.storage, FORMS, settings) == (1, 0)
    assert len(inbox.wait_for(1)) == 1
    assert client.app.storage.submissions()[0].notify_state == "sent"
    assert send_pending(client.app.storage, FORMS, settings) == (0, 0)


def test_without_smtp_host_notifications_wait(client):
    client.post("training-registration", valid("training-registration"))
    [row] = client.app.storage.submissions()
    assert (row.notify_state, row.notify_attempts) == ("pending", 0)


def _wsgi_post(app, form_id, data):
    """What the app hands the server for a POST: the body iterable, unread."""
    body = urlencode(data, doseq=True).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/forms/{form_id}",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "HTTP_ORIGIN": SITE,
        "HTTP_ACCEPT": "application/json",
    }
    setup_testing_defaults(environ)
    return app(environ, lambda status, headers, exc_info=None: None)


def test_only_an_answer_with_mail_after_it_is_streamed(make_client, smtp_inbox):
    # Granian sends a list in one piece and an iterable on its streaming path (a quarter
    # of the throughput under load), whose close() sends the mail after the answer.
    body = _wsgi_post(make_client().app, "knowledge-donor", valid("knowledge-donor"))
    assert isinstance(body, list)
    port, inbox = smtp_inbox
    app = make_client(smtp_host="127.0.0.1", smtp_port=port).app
    body = _wsgi_post(app, "knowledge-donor", valid("knowledge-donor", email="ann@example.org"))
    assert not isinstance(body, list)
    assert b"".join(body) == b'{"ok": true}'
    assert inbox.messages == []  # nothing is sent before the answer is
    body.close()
    assert len(inbox.wait_for(1)) == 1


@pytest.mark.parametrize(
    "field", ["name", "email", "phone", "region", "skills_other", "past_work", "source"]
)
def test_a_newline_in_any_field_cannot_reach_a_mail_header(make_client, smtp_inbox, field):
    port, inbox = smtp_inbox
    client = make_client(smtp_host="127.0.0.1", smtp_port=port)
    injected = "x@example.org\r\nBcc: victim@example.org\r\nSubject: pwned"
    client.post("knowledge-donor", valid("knowledge-donor", **{field: injected}))
    for _, recipients, message in inbox.wait_for(1, timeout=1):
        assert recipients == ["organizers@example.org"]
        assert message["Bcc"] is None
        assert message["Subject"] == "New submission: Sign up as a knowledge donor"
        assert message["Reply-To"] in (None, "rosa@example.org")
        for name, value in message.items():
            assert "\n" not in value and "victim" not in value, name


def test_reply_to_only_from_a_valid_address():
    assert safe_reply_to("ann@example.org") == "ann@example.org"
    for bad in ["", "ann@example.org\nBcc: x@y.org", "a@b.org, c@d.org", "<a@b.org>", "nope"]:
        assert safe_reply_to(bad) is None


def test_message_headers_come_from_the_definition_and_settings():
    from endpoint.storage import Submission

    form = FORMS["help-request"]
    submission = Submission(
        id="abc", form_id=form.id, submitted_at="2026-11-01T12:00:00.000000Z",
        fields={"name": "Evil\r\nBcc: x@y.org", "email": "bad\nBcc: x@y.org"},
        source="s\nX: y", consent_at="", consent_version="v", consent_sha256="",
        page_url="", ip_hash="", user_agent="", idempotency_token=None,
        email="bad\nbcc: x@y.org", content_hash="", notify_state="pending",
    )  # fmt: skip
    settings = Settings(forms_secret="s", ip_hash_salt="s", mail_from="forms@example.org")
    message = build_message(form, submission, settings)
    assert message["Reply-To"] is None
    assert sorted(message.keys()) == sorted(
        ["Subject", "From", "To", "Date", "Message-ID", "Content-Type",
         "Content-Transfer-Encoding", "MIME-Version"]
    )  # fmt: skip
    assert "Bcc" not in message.as_string().split("\n\n", 1)[0]
