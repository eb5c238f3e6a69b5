"""Comments on posts at the endpoint: held, moderated from signed links, read back.

Every test runs on SQLite and on the real PostgreSQL server; mail goes through a real
SMTP server on loopback.
"""

from datetime import timedelta
from urllib.parse import urlsplit

import lxml.html

from endpoint.storage.base import APPROVED, HELD, REJECTED

from .conftest import ENDPOINT_HOST, SITE, comment, links_in, only_id, send, status_of

OWN_ORIGIN = f"http://{ENDPOINT_HOST}"


def approved(client, query="post=open-post", headers=None):
    return client.request("GET", "/forms/comment/approved", QUERY_STRING=query, headers=headers)


def open_link(client, link, method="GET"):
    parts = urlsplit(link)
    assert parts.netloc == ENDPOINT_HOST
    headers = {"Origin": OWN_ORIGIN} if method == "POST" else {}
    return client.request(method, parts.path, QUERY_STRING=parts.query, headers=headers)


def moderation_mail(inbox):
    [(_, recipients, message)] = inbox.wait_for(1)
    assert recipients == ["moderators@example.org"]
    return message, message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def test_a_comment_is_held_and_never_shown_until_approved(comments_client):
    client = comments_client()
    answer = send(client)
    assert answer.status == 200
    assert (answer.json()["ok"], answer.json()["status"]) == (True, HELD)
    [stored] = client.app.storage.submissions("comment")
    assert (stored.about, stored.status) == ("open-post", HELD)
    assert approved(client).json() == {"comments": []}
    client.app.storage.moderate_comments([stored.id], APPROVED)
    [shown] = approved(client).json()["comments"]
    assert set(shown) == {"id", "post", "parent", "name", "text", "created", "html"}
    assert shown["text"] == "Great point about *phone banks*."
    assert "<em>phone banks</em>" in shown["html"]
    assert "dana@example.org" not in approved(client).text


def test_without_javascript_the_sender_goes_to_the_held_page_naming_the_post(comments_client):
    client = comments_client()
    client.app.clock.now += 1

    answer = client.post("comment", comment(), accept_json=False)
    assert answer.status == 303
    location = urlsplit(answer.headers["location"])
    assert (location.netloc, location.path) == (ENDPOINT_HOST, "/forms/comment/held")
    page = client.request("GET", location.path, QUERY_STRING=location.query)
    assert page.status == 200 and "waiting for moderation" in page.text
    assert "Great point" not in page.text  # it repeats nothing typed
    [back] = lxml.html.fromstring(page.text).xpath("//main//a")
    assert back.get("href") == "/blog/open-post/#comments"
    assert back.text_content() == "Back to “An open post”"
    # With JavaScript the message comes in the answer, shown in place.
    client.app.clock.now += 1
    answer = client.post("comment", comment(comment="Another one"))
    assert answer.json()["message"].startswith("Thank you: your comment has reached us.")


def test_closed_unknown_and_expired_posts_are_refused_keeping_the_text(comments_client):
    client = comments_client()

    for post, reason in (
        ("closed-post", "closed"),
        ("old-post", "closed"),
        ("no-such-post", "could not find this post"),
    ):
        client.app.clock.now += 1
        answer = client.post("comment", comment(post=post, comment="Keep <b>me</b>"))
        assert answer.status == 422
        assert reason in answer.json()["errors"]["post"]
        page = client.post(
            "comment", comment(post=post, comment="Keep <b>me</b>"), accept_json=False
        )
        assert page.status == 422
        document = lxml.html.fromstring(page.body)
        [typed] = document.xpath('//textarea[@name="comment"]')
        assert typed.text_content() == "Keep <b>me</b>"
        assert reason in document.text_content()
    assert client.app.storage.submissions("comment") == []


def test_a_reply_must_answer_an_approved_comment_on_the_same_post(comments_client):
    client = comments_client()
    send(client)
    first = only_id(client, name="Dana Reyes")
    refused = send(client, name="Ray", email="ray@example.org", parent=first)
    assert refused.status == 422  # still held: nothing to answer yet
    client.app.storage.moderate_comments([first], APPROVED)
    assert send(client, name="Ray", email="ray@example.org", parent=first).status == 200
    assert (
        send(client, name="Sue", email="sue@example.org", parent=first, post="other-post").status
        == 422
    )
    [reply] = [s for s in client.app.storage.submissions("comment") if s.fields["name"] == "Ray"]
    client.app.storage.moderate_comments([reply.id], APPROVED)
    shown = approved(client).json()["comments"]
    assert [(c["name"], c["parent"]) for c in shown] == [("Dana Reyes", None), ("Ray", first)]


def test_moderators_get_signed_links_and_a_get_changes_nothing(comments_client, smtp_inbox):
    port, inbox = smtp_inbox
    client = comments_client(smtp_host="127.0.0.1", smtp_port=port)
    send(client, comment="Line one\n\nSee [this](https://example.org/a).")
    comment_id = only_id(client, name="Dana Reyes")
    message, text = moderation_mail(inbox)
    assert message["Subject"] == "Comment to moderate: open-post"
    assert "An open post" in text and "See [this](https://example.org/a)." in text
    links = links_in(text)
    assert set(links) == {"Approve", "Reject", "Delete"}

    page = open_link(client, links["Approve"])
    assert page.status == 200
    assert "<button" in page.text and "Line one" in page.text
    assert status_of(client, comment_id) == HELD  # a GET changes nothing

    assert open_link(client, links["Approve"], "POST").status == 200
    assert status_of(client, comment_id) == APPROVED
    assert [c["id"] for c in approved(client).json()["comments"]] == [comment_id]

    assert open_link(client, links["Reject"], "POST").status == 200
    assert status_of(client, comment_id) == REJECTED
    assert approved(client).json()["comments"] == []

    assert open_link(client, links["Delete"], "POST").status == 200
    assert client.app.storage.get(comment_id) is None
    assert open_link(client, links["Approve"]).status == 404


def test_a_changed_or_foreign_signature_is_refused(comments_client, smtp_inbox):
    from endpoint import abuse

    port, inbox = smtp_inbox
    client = comments_client(smtp_host="127.0.0.1", smtp_port=port)
    send(client)
    comment_id = only_id(client, name="Dana Reyes")
    _, text = moderation_mail(inbox)
    link = links_in(text)["Approve"]
    changed = link[:-1] + ("1" if link.endswith("0") else "0")
    assert open_link(client, changed, "POST").status == 403
    # A cancel or confirmation link's signature (the plain FORMS_SECRET) is no moderator's.
    plain = abuse.sign_cancel("test-secret", comment_id)
    foreign = f"http://{ENDPOINT_HOST}/forms/comment/approve?r={comment_id}&s={plain}"
    assert open_link(client, foreign, "POST").status == 403
    assert status_of(client, comment_id) == HELD


def test_moderation_first_lets_a_known_commenter_through_unless_links_abound(comments_client):
    client = comments_client(comments_moderation="first")
    assert send(client).json()["status"] == HELD
    client.app.storage.moderate_comments([only_id(client, name="Dana Reyes")], APPROVED)
    assert send(client, comment="Again, thanks.").json()["status"] == APPROVED
    many = "[a](https://a.org) [b](https://b.org) https://c.org"
    assert send(client, comment=many).json()["status"] == HELD
    assert send(client, email="new@example.org", comment="Hello").json()["status"] == HELD
    texts = [c["text"] for c in approved(client).json()["comments"]]
    assert texts == ["Great point about *phone banks*.", "Again, thanks."]


def test_the_approved_route_for_everything_needs_the_token(comments_client):
    client = comments_client(comments_token="build-token")
    send(client)
    send(client, post="other-post", name="Ray", email="ray@example.org")
    send(client, name="Held", email="held@example.org")
    ids = [only_id(client, name="Dana Reyes"), only_id(client, name="Ray")]
    client.app.storage.moderate_comments(ids, APPROVED)

    assert approved(client, "").status == 403
    assert approved(client, "", {"Authorization": "Bearer wrong"}).status == 403
    everything = approved(client, "", {"Authorization": "Bearer build-token"})
    assert everything.status == 200
    assert [c["post"] for c in everything.json()["comments"]] == ["open-post", "other-post"]
    assert "Held" not in everything.text and "@" not in everything.text

    one_post = approved(client, "post=open-post", {"Origin": SITE})
    assert one_post.headers["access-control-allow-origin"] == SITE
    [first] = one_post.json()["comments"]
    assert approved(client, f"post=open-post&since={first['created']}").json()["comments"] == []
    assert approved(client, "post=open-post&since=yesterday").status == 400


def test_without_a_token_setting_nobody_reads_everything(comments_client):
    client = comments_client()
    assert approved(client, "", {"Authorization": "Bearer "}).status == 403


def test_held_comments_nobody_acted_on_are_purged(comments_client):
    client = comments_client(comments_purge_after_days=30)
    send(client)
    send(client, name="Kept", email="kept@example.org")
    client.app.storage.moderate_comments([only_id(client, name="Kept")], APPROVED)
    client.app.clock.now += timedelta(days=29).total_seconds()
    send(client, name="Recent", email="recent@example.org")
    assert len(client.app.storage.held_comments()) == 2
    client.app.clock.now += timedelta(days=2).total_seconds()
    send(client, name="Later", email="later@example.org")
    names = sorted(s.fields["name"] for s in client.app.storage.submissions("comment"))
    assert names == ["Kept", "Later", "Recent"]


def test_forget_removes_a_commenters_comments_and_keeps_the_replies(comments_client):
    client = comments_client()
    send(client)
    first = only_id(client, name="Dana Reyes")
    client.app.storage.moderate_comments([first], APPROVED)
    send(client, name="Ray", email="ray@example.org", parent=first)
    client.app.storage.moderate_comments([only_id(client, name="Ray")], APPROVED)
    assert client.app.storage.forget("DANA@example.org") == 1
    [reply] = approved(client).json()["comments"]
    assert (reply["name"], reply["parent"]) == ("Ray", first)
