"""Mail about replies: double opt-in after approval, one mail per approved reply, a
one-click way out (RFC 8058), and nothing for a reply a moderator has not approved.

On SQLite and the real PostgreSQL server; mail through a real SMTP server on loopback.
"""

import re
from dataclasses import replace
from urllib.parse import urlsplit

from endpoint.storage.base import APPROVED

from .conftest import ENDPOINT_HOST, only_id, send
from .test_comments import open_link


def body(message):
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def mail_to(inbox, address):
    return [message for _, recipients, message in inbox.messages if recipients == [address]]


def approve(client, comment_id):
    """Approve as a moderator's button does (the mail goes out after the answer)."""
    client.app.storage.moderate_comments([comment_id], APPROVED, client.app.now())
    from endpoint.comments import mail_after_approval

    app = client.app
    mail_after_approval(app.storage, app.manifest, app.settings, [comment_id])


def test_reply_mail_needs_confirming_comes_after_approval_and_stops_in_one_click(
    comments_client, smtp_inbox
):
    port, inbox = smtp_inbox
    client = comments_client(smtp_host="127.0.0.1", smtp_port=port)
    send(client, name="Ann", email="ann@example.org", notify_replies="yes")
    ann = only_id(client, name="Ann")
    inbox.wait_for(1)
    assert mail_to(inbox, "ann@example.org") == []  # held: nothing to its writer yet

    approve(client, ann)
    [published] = mail_to(inbox, "ann@example.org")
    assert published["Subject"] == "Your comment is published: An open post"
    text = body(published)
    assert f"/blog/open-post/#comment-{ann}" in text
    [start] = re.findall(r"http://\S+/forms/comment/replies\?\S+", text)
    page = open_link(client, start)
    assert page.status == 200 and "Yes, e-mail me replies" in page.text
    assert client.app.storage.get(ann).confirmed_at is None  # a GET changes nothing
    assert open_link(client, start, "POST").status == 200
    assert client.app.storage.get(ann).confirmed_at is not None

    send(client, name="Bo", email="bo@example.org", parent=ann, comment="Held *reply*")
    bo = only_id(client, name="Bo")
    inbox.wait_for(2)  # the moderators' mail about Bo's reply
    assert len(mail_to(inbox, "ann@example.org")) == 1  # not before approval
    approve(client, bo)
    approve(client, bo)  # approving again sends nothing twice
    published, reply = mail_to(inbox, "ann@example.org")
    assert reply["Subject"] == "A reply to your comment: An open post"
    assert "Bo replied to your comment" in body(reply) and "Held *reply*" in body(reply)
    assert f"#comment-{bo}" in body(reply)
    assert mail_to(inbox, "bo@example.org") == []  # Bo asked for nothing

    # One click in the mail program: a POST without an Origin, as RFC 8058 has it.
    assert reply["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = urlsplit(reply["List-Unsubscribe"].strip("<>"))
    assert link.netloc == ENDPOINT_HOST and link.path == "/forms/comment/unsubscribe"
    answer = client.request(
        "POST",
        link.path,
        b"List-Unsubscribe=One-Click",
        {"Content-Type": "application/x-www-form-urlencoded"},
        QUERY_STRING=link.query,
    )
    assert answer.status == 200 and "no more e-mail" in answer.text
    send(client, name="Cy", email="cy@example.org", parent=ann)
    approve(client, only_id(client, name="Cy"))
    assert len(mail_to(inbox, "ann@example.org")) == 2


def test_a_reply_removed_before_its_mail_went_is_not_sent(comments_client, smtp_inbox):
    from endpoint.notify import send_pending
    from webforms.definitions import load_forms

    port, inbox = smtp_inbox
    client = comments_client()  # no SMTP_HOST: the mail waits in the outbox
    storage = client.app.storage
    send(client, name="Ann", email="ann@example.org", notify_replies="yes")
    ann = only_id(client, name="Ann")
    approve(client, ann)
    storage.confirm(ann, client.app.now())
    send(client, name="Bo", email="bo@example.org", parent=ann)
    bo = only_id(client, name="Bo")
    approve(client, bo)
    assert ("reply:" + bo, "pending", 0) in storage.mail_of(ann)
    storage.moderate_comments([bo], None)  # deleted by a moderator

    settings = replace(client.app.settings, smtp_host="127.0.0.1", smtp_port=port)
    send_pending(storage, load_forms(settings.forms_dir), settings, client.app.manifest)
    assert ("reply:" + bo, "failed", 1) in storage.mail_of(ann)
    assert [body(m) for m in mail_to(inbox, "ann@example.org") if "replied" in body(m)] == []
