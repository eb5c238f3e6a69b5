"""Comments end to end, in real headless Chromium against `make serve` (`invoke serve` on a
copy of the project) with its endpoint on SQLite and mail to a real SMTP server on
loopback: held, approved from the moderator's mail and from the terminal, shown live
and after a rebuild, replies mailed only once approved, hostile text inert, a closed
post refused, and `invoke forget`.

The tests run in order and share one dev server: each goes on from the last.
"""

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import feedparser
import pytest
from aiosmtpd.controller import Controller

from tests.endpoint.conftest import Inbox
from tests.helpers import copy_project, dev_server, free_port

pytestmark = pytest.mark.browser

SLUG, CLOSED_SLUG = "comments-end-to-end", "comments-closed-here"
# Everything a comment may try: none of it may run, load or link anywhere.
HOSTILE = (
    "<script>alert('script')</script> <img src=x onerror=alert('img')>\n\n"
    "[click](javascript:alert('link')) and [data](data:text/html,<b>hi</b>)\n\n"
    "**never closed _emphasis [half a link]("
)


def post_file(slug, title, date, comments=""):
    field = f"Comments: {comments}\n" if comments else ""
    return (
        f"Title: {title}\nDate: {date:%Y-%m-%d} 10:00\nSlug: {slug}\n{field}"
        f"Summary: A post for the comments test.\n\nWhat do you think? Comment below.\n"
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The dev server of a project copy with an open and a closed post, and its inbox."""
    base = copy_project(tmp_path_factory.mktemp("comments-e2e"))
    yesterday = datetime.now(ZoneInfo("America/New_York")) - timedelta(days=1)
    post = base / "content" / "blog" / f"{SLUG}.md"
    post.write_text(post_file(SLUG, "Comments end to end", yesterday), "utf-8")
    closed = base / "content" / "blog" / f"{CLOSED_SLUG}.md"
    closed.write_text(post_file(CLOSED_SLUG, "Closed here", yesterday, "closed"), "utf-8")
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        "DATABASE_URL": f"sqlite:///{base / 'comments.sqlite3'}",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_TLS": "none",
        "MIN_FILL_SECONDS": "0",
        "FORMS_SECRET": "e2e-secret",
        "IP_HASH_SALT": "e2e-salt",
    }
    try:
        with dev_server(base, env) as server:
            path = f"/blog/{yesterday:%Y}/"
            yield {
                **server,
                "base": base,
                "env": env,
                "inbox": inbox,
                "post": post,
                "page": f"{server['url']}{path}{SLUG}/",
                "closed_page": f"{server['url']}{path}{CLOSED_SLUG}/",
                "ids": {},
            }
    finally:
        smtp.stop()


def mail(inbox, to, count, timeout=10.0):
    """The first `count` messages to `to`: (subject, plain text, message)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for _, rcpt, m in inbox.messages if rcpt == [to]]
        if len(found) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(found) >= count, f"{len(found)} mail(s) to {to}, expected {count}"
    return [
        (m["Subject"], m.get_body(("plain",)).get_content().replace("\r\n", "\n"), m)
        for m in found[:count]
    ]


def invoke(site, *args):
    """`invoke ARGS` in the project copy, as an organizer runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=site["base"],
        # The organizer's terminal names the site, as the dev server tells its endpoint.
        env={**os.environ, **site["env"], "SITE_URL": site["url"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def rebuild_until(site, *, present=(), absent=()):
    """Save the post again (the dev server rebuilds it) until its HTML has `present`
    and lacks `absent`; returns the HTML."""
    site["post"].write_text(site["post"].read_text("utf-8") + "\n", "utf-8")
    deadline = time.monotonic() + 15
    while True:
        with urllib.request.urlopen(site["page"], timeout=5) as response:
            html = response.read().decode("utf-8")
        if all(t in html for t in present) and not any(t in html for t in absent):
            return html
        assert time.monotonic() < deadline, "the rebuilt page:\n" + site["log"].read_text()
        time.sleep(0.2)


def watch(page):
    """Collect dialogs and console errors of `page` (a dialog is dismissed)."""
    problems = []
    page.on(
        "dialog", lambda dialog: (problems.append(f"dialog {dialog.message}"), dialog.dismiss())
    )
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def fill_comment(form, name, email, text, replies=False):
    form.get_by_label("Your name").fill(name)
    form.get_by_label("E-mail address (never shown)").fill(email)
    form.get_by_label("Your comment").fill(text)
    if replies:
        form.get_by_label("E-mail me when someone replies").check()
    form.get_by_label("I agree that").check()


def test_without_javascript_a_comment_is_held_then_approved_from_the_moderators_mail(site, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site["page"])
    fill_comment(page.locator("#form-comment"), "Ann Organizer", "ann@example.org",
                 "Phone banks *work* for our local.", replies=True)  # fmt: skip
    page.get_by_role("button", name="Send the comment").click()
    page.wait_for_url(f"{site['endpoint']}/forms/comment/held?post={SLUG}")
    assert page.locator("h1").inner_text() == "Your comment is waiting for moderation"
    page.get_by_role("link", name="Back to “Comments end to end”").click()
    page.wait_for_url(site["page"] + "#comments")
    assert "Phone banks" not in page.content()  # held: not on the page, nor in a feed
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{site['url']}/feeds/comments/{SLUG}.atom.xml", timeout=5)

    [(subject, text, _)] = mail(site["inbox"], "moderators@example.org", 1)
    assert subject == f"Comment to moderate: {SLUG}" and "Phone banks *work*" in text
    site["ids"]["ann"] = re.search(r"Comment id: ([0-9a-f]{32})", text).group(1)
    assert mail(site["inbox"], "ann@example.org", 0) == []  # nothing to Ann while held
    page.goto(re.search(r"^Approve: (\S+)$", text, re.M).group(1))
    page.get_by_role("button", name="Approve and publish this comment").click()
    assert page.locator("h1").inner_text() == "Comment approved"

    # Ann asked for replies: once approved, she is asked to confirm, and does.
    [(subject, text, _)] = mail(site["inbox"], "ann@example.org", 1)
    assert subject == "Your comment is published: Comments end to end"
    page.goto(re.search(r"\S+/forms/comment/replies\?\S+", text).group(0))
    page.get_by_role("button", name="Yes, e-mail me replies").click()
    assert page.locator("h1").inner_text() == "Reply e-mails started"
    context.close()


def test_with_javascript_the_approved_comment_shows_live_and_a_hostile_reply_waits(site, browser):
    ann = site["ids"]["ann"]
    page = browser.new_page()
    problems = watch(page)
    page.goto(site["page"])
    # Approved after the build: the page script fetches it from the endpoint.
    page.locator(f"#comment-{ann}").wait_for()
    assert page.locator(f"#comment-{ann} .comment__text em").inner_text() == "work"
    page.wait_for_function("document.querySelector(\"input[name='_token']\").value !== ''")
    page.locator(f"#comment-{ann} .comment__reply").click()
    form = page.locator("#form-comment")
    fill_comment(form, "Bo <b>Bold</b>", "bo@example.org", HOSTILE)
    form.get_by_role("button", name="Send the comment").click()
    status = page.locator(".form-status")
    status.filter(has_text="your comment has reached us").wait_for()
    assert page.url == site["page"]  # the message in place, without leaving the page

    [_, (_, text, _)] = mail(site["inbox"], "moderators@example.org", 2)
    site["ids"]["bo"] = re.search(r"Comment id: ([0-9a-f]{32})", text).group(1)
    assert len(mail(site["inbox"], "ann@example.org", 1)) == 1  # no reply mail while held
    page.reload()
    page.locator(f"#comment-{ann}").wait_for()
    assert page.locator(f"#comment-{site['ids']['bo']}").count() == 0
    assert problems == []
    page.close()


def test_approved_from_the_terminal_the_reply_is_mailed_shown_inert_and_built(site, browser):
    ann, bo = site["ids"]["ann"], site["ids"]["bo"]
    listed = invoke(site, "comments")
    assert listed.split()[0] == bo and "Bo <b>Bold</b>" in listed
    assert "Approved 1 of 1" in invoke(site, "comments", "approve", bo)

    [_, (subject, text, message)] = mail(site["inbox"], "ann@example.org", 2)
    assert subject == "A reply to your comment: Comments end to end"
    assert "Bo <b>Bold</b> replied to your comment" in text and f"#comment-{bo}" in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail(site["inbox"], "bo@example.org", 0) == []

    for javascript in (True, False):
        if not javascript:  # the built page, once the dev server rebuilt it
            rebuild_until(site, present=[f'id="comment-{ann}"', f'id="comment-{bo}"'])
        context = browser.new_context(java_script_enabled=javascript)
        page = context.new_page()
        problems = watch(page)
        page.goto(site["page"])
        reply = page.locator(f"#comment-{ann} .comment-list--replies > #comment-{bo}")
        reply.wait_for()
        assert "<script>alert('script')</script>" in reply.locator(".comment__text").inner_text()
        assert reply.locator(".comment__name").inner_text() == "Bo <b>Bold</b>"
        for hostile in ("script", "img", "[onerror]", "a[href^='javascript']", "a[href^='data']"):
            assert reply.locator(hostile).count() == 0, hostile
        page.wait_for_timeout(300)  # time for anything that would run
        assert problems == []
        context.close()

    with urllib.request.urlopen(f"{site['url']}/feeds/comments/{SLUG}.atom.xml") as response:
        feed = feedparser.parse(response.read())
    assert sorted(entry.author for entry in feed.entries) == ["Ann Organizer", "Bo <b>Bold</b>"]


def test_a_closed_post_takes_no_comment_on_the_page_or_at_the_endpoint(site, browser):
    page = browser.new_page()
    page.goto(site["closed_page"])
    assert page.locator("#form-comment").count() == 0
    assert page.locator(".comments__closed").inner_text() == "Comments on this post are closed."
    page.close()
    typed = "A comment the closed post must refuse."
    body = urllib.parse.urlencode(
        {
            "name": "Cy",
            "email": "cy@example.org",
            "comment": typed,
            "post": CLOSED_SLUG,
            "consent": "yes",
        }  # fmt: skip
    ).encode()
    request = urllib.request.Request(
        f"{site['endpoint']}/forms/comment", body, {"Origin": site["url"]}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    answer = refused.value.read().decode("utf-8")
    assert refused.value.code == 422 and "Comments on this post are closed" in answer
    assert typed in answer  # what was typed is kept


def test_forget_removes_a_commenter_and_the_reply_stays_answering_a_removed_comment(site):
    ann, bo = site["ids"]["ann"], site["ids"]["bo"]
    assert "Deleted 1 submission" in invoke(site, "forget", "ann@example.org")
    html = rebuild_until(site, present=[f'id="comment-{bo}"'], absent=[f'id="comment-{ann}"'])
    assert "Answering a removed comment." in html
