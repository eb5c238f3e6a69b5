"""Comments on posts: the form "comment", held until an organizer approves it.

A comment is a submission (`about` = the post's slug) checked like every form, and
refused (422, what was typed kept) for a post the site's manifest does not list or
whose comments are closed. It is stored HELD, or APPROVED at once when
COMMENTS_MODERATION=first and an earlier comment from the same address was approved,
never with more than two links. The moderators (the form's `notify`) get each held
comment with signed links:

    GET  /forms/comment/<approve|reject|delete>?r=<id>&s=<signature>  a page, one button
    POST the same address                                             does it
    GET  /forms/comment/held?post=SLUG   where a comment sent without JavaScript lands
    GET  /forms/comment/approved?post=SLUG[&since=ISO]   that post's approved comments
    GET  /forms/comment/approved   (Authorization: Bearer COMMENTS_TOKEN)  all of them
    GET  /forms/comment/<replies|unsubscribe>?r=<id>&s=<signature>   the commenter's
    POST the same address           links: start or stop the mail about replies

A commenter who ticked "notify_replies" is mailed, once the comment is approved, a link
to confirm (double opt-in); once confirmed, one mail per approved reply, each with a
link that stops them in one click (RFC 8058: List-Unsubscribe-Post, which the mail
program POSTs). Nothing is mailed about a reply before a moderator approves it.

Each kind of link is signed with a key of its own (signed_links.purpose_secret), so no
link mailed to a commenter works as a moderator's. Held comments nobody acted on are
deleted COMMENTS_PURGE_AFTER_DAYS after they were sent, on the next comment stored
(`purge`) and by `invoke comments`.
"""

from __future__ import annotations

import hmac
import logging
from datetime import datetime, timedelta
from html import escape
from urllib.parse import parse_qs, quote

from .manifest import Manifest, ManifestUnavailable
from .signed_links import Wording, open_link, page, purpose_secret, signed_link
from .storage.base import APPROVED, COMMENT_FORM, CONFIRM_REPLIES, HELD, REJECTED, REPLY
from .web import HTTPError, Response, application_uri

log = logging.getLogger("endpoint")

# More links than this and a comment always waits for an organizer.
MAX_LINKS_UNHELD = 2
MODERATION, REPLIES = "moderate", "replies"  # the purposes links are signed for
_HELP = "Open the link from the moderation e-mail again (all of it), or use `invoke comments`."
# action: (wording, status it sets (None deletes), button label, what is done)
ACTIONS = {
    action: (
        Wording(action, action, done, "comment", _HELP, purpose=MODERATION),
        status,
        label,
    )
    for action, done, status, label in (
        ("approve", "approved", APPROVED, "Approve and publish this comment"),
        ("reject", "rejected", REJECTED, "Reject this comment"),
        ("delete", "deleted", None, "Delete this comment for good"),
    )
}
_REPLIES_HELP = "Open the link from the e-mail again (all of it)."
REPLY_LINKS = {
    "replies": Wording("replies", "confirmation", "started", "comment", _REPLIES_HELP, REPLIES),
    "unsubscribe": Wording("unsubscribe", "unsubscribe", "stopped", "comment", _REPLIES_HELP,
                           REPLIES),
}  # fmt: skip


def post_refusal(entry: dict | None, now: datetime) -> str | None:
    """Why a comment on this post (its manifest entry) cannot be taken now, or None."""
    if entry is None:
        return "We could not find this post on the site. Nothing was saved."
    closes_at = entry.get("closes_at")
    if entry.get("comments") != "open" or (closes_at and datetime.fromisoformat(closes_at) <= now):
        return "Comments on this post are closed. Nothing was saved."
    return None


def parent_refusal(storage, post: str, parent: str) -> str | None:
    """Why a reply cannot answer `parent` (not an approved comment on `post`), or None."""
    if not parent:
        return None
    answered = storage.get(parent) if len(parent) == 32 else None
    if answered is None or (answered.form_id, answered.about, answered.status) != (
        COMMENT_FORM,
        post,
        APPROVED,
    ):
        return "The comment you answer is not on this post any more. Nothing was saved."
    return None


def initial_status(settings, storage, email: str, text: str) -> str:
    """HELD, or APPROVED for a known commenter when COMMENTS_MODERATION is "first"."""
    if settings.comments_moderation != "first":
        return HELD
    from webforms.comment_text import count_links  # only when needed: cold start

    if count_links(text) > MAX_LINKS_UNHELD or not storage.has_approved_comment(email):
        return HELD
    return APPROVED


HELD_TEXT = (
    "Thank you: your comment has reached us. An organizer reads every comment before it "
    "appears under the post. Your e-mail address is never shown."
)
PUBLISHED_TEXT = "Thank you: your comment is published. Reload the page to see it."


def answer(environ, post: str, status: str, wants_json: bool) -> Response:
    """The answer to a comment taken (or a bot's, which looks the same): JSON with the
    message to show in place, or, without JavaScript, 303 to the held page, which links
    back to the post."""
    text = PUBLISHED_TEXT if status == APPROVED else HELD_TEXT
    if wants_json:
        return Response.json(200, {"ok": True, "status": status, "message": text})
    own = application_uri(environ).rstrip("/")
    return Response(
        303,
        b"Thank you. Your comment was sent.",
        "text/plain; charset=utf-8",
        [("Location", f"{own}/forms/{COMMENT_FORM}/held?post={quote(post)}")],
    )


def held(app, environ) -> Response:
    """The page a comment sent without JavaScript lands on: what happens next, and the
    way back to the post. It shows nothing of the comment, so it tells nobody anything."""
    post = (parse_qs(environ.get("QUERY_STRING", "")).get("post") or [""])[0]
    entry = _post_entry(app.manifest, post)
    paragraphs = [
        HELD_TEXT,
        "If you asked to hear about replies, we e-mail you a link to confirm once your "
        "comment is approved, and nothing about replies until you press it.",
    ]
    back = f"{app.settings.site_url}/blog/"
    label = "Back to the blog"
    if entry and entry.get("url"):
        back, label = f"{entry['url']}#comments", f"Back to “{entry.get('title') or post}”"
    link = f'<p><a href="{escape(back)}">{escape(label)}</a></p>\n'
    return page(200, "Your comment is waiting for moderation", paragraphs,
                app.settings.site_url, link)  # fmt: skip


def purge(storage, settings, now: datetime) -> int:
    """Delete held comments older than COMMENTS_PURGE_AFTER_DAYS; returns how many."""
    purged = storage.purge_held_comments(now - timedelta(days=settings.comments_purge_after_days))
    if purged:
        log.info("endpoint: removed %d held comment(s) nobody acted on", purged)
    return purged


def route(app, form, action: str, environ, method: str, allowed: bool) -> Response:
    """Answer /forms/comment/approved and the moderators' links."""
    if action in ("approved", "held"):
        if method not in ("GET", "HEAD"):
            raise HTTPError(405, "Use GET.", [("Allow", "GET, OPTIONS")])
        return approved(app, environ) if action == "approved" else held(app, environ)
    if action in REPLY_LINKS:
        return reply_mail_choice(app, form, action, environ, method, allowed)
    return moderate(app, form, action, environ, method, allowed)


def approved(app, environ) -> Response:
    """The approved comments of one post, or (with the token) of the whole site."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    post = (query.get("post") or [""])[0] or None
    since = (query.get("since") or [""])[0] or None
    if post is None:
        token = app.settings.comments_token
        given = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ").strip()
        if not token or not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPError(403, "Every comment at once needs the comments token.")
    try:
        comments = app.storage.approved_comments(post, since)
    except ValueError:
        raise HTTPError(400, "since must be an ISO 8601 time.") from None
    if comments:
        from webforms.comment_text import render_comment  # only when needed: cold start

        for comment in comments:
            comment["html"] = render_comment(comment["text"])
    return Response.json(200, {"comments": comments}, [("Cache-Control", "no-store")])


def moderate(app, form, action: str, environ, method: str, allowed: bool) -> Response:
    """GET: the comment and one button; POST: approve, reject or delete it."""
    wording, status, label = ACTIONS[action]
    site_url = app.settings.site_url
    link = open_link(app, form, environ, method, allowed, wording)
    if isinstance(link, Response):
        return link
    comment = link.submission
    if method == "POST":
        app.storage.moderate_comments([comment.id], status, app.now())
        log.info("endpoint: comment %s %s", comment.id, wording.done)
        response = page(
            200, f"Comment {wording.done}", [f"The comment is {wording.done}."], site_url
        )
        if status == APPROVED:
            response.after = lambda: mail_after_approval(
                app.storage, app.manifest, app.settings, [comment.id]
            )
        return response
    if comment.status == status:
        return page(
            200,
            f"Already {wording.done}",
            ["This comment is already so. Nothing changed."],
            site_url,
        )
    title = _post_title(app.manifest, comment.about)
    return page(
        200,
        f"{label}?",
        [
            f"On “{title}”, {comment.fields.get('name', '')} wrote:",
            comment.fields.get("comment", ""),
            f"It is {comment.status or HELD} now. Nothing changes until you press the button.",
        ],
        site_url,
        link.button(environ, label),
    )


def _post_entry(manifest, slug: str) -> dict | None:
    try:
        return manifest.entry("post", slug) if slug else None
    except ManifestUnavailable:
        return None


def _post_title(manifest, slug: str) -> str:
    return (_post_entry(manifest, slug) or {}).get("title") or slug


def moderation_lines(submission, settings) -> list[str]:
    """The moderators' mail about one held comment: the post, the text and signed links."""
    manifest = Manifest(settings.site_manifest, settings.manifest_ttl)
    endpoint = manifest.endpoint()
    if not endpoint:
        # Left pending (`invoke notify`) until the site's manifest names the endpoint.
        raise RuntimeError("no endpoint address to link to")
    entry = manifest.entry("post", submission.about) or {}
    secret = purpose_secret(settings.forms_secret, MODERATION)
    text = submission.fields.get("comment", "")
    lines = [
        f"A comment on “{entry.get('title') or submission.about}” waits for moderation.",
        f"Post: {entry.get('url', submission.about)}",
        f"Name: {submission.fields.get('name', '')}",
        "",
        *(f"    {line}" for line in text.splitlines()),
        "",
        "Nothing is shown until you approve it. Each link opens a page with one button:",
        "",
    ]
    for action in ACTIONS:
        lines.append(f"{action.capitalize()}: {signed_link(endpoint, submission, secret, action)}")
    lines += ["", f"Comment id: {submission.id} (or: invoke comments {{approve,reject}} ID)"]
    return lines


def mail_after_approval(storage, manifest, settings, ids) -> None:
    """Send what approving comments `ids` queued (their writers' confirmation links, the
    mail about a reply to its parent's writer); what fails waits for `invoke notify`."""
    if not settings.smtp_host:
        return
    from .notify import send_person_mail

    comments = [storage.get(comment_id) for comment_id in ids]
    parents = [c.fields["parent"] for c in comments if c and c.fields.get("parent")]
    send_person_mail(storage, manifest, settings, None, [*ids, *parents])


def reply_mail_choice(app, form, action: str, environ, method: str, allowed: bool) -> Response:
    """A commenter's link: GET a page with one button; POST starts (`replies`) or stops
    (`unsubscribe`, also a mail program's one-click POST) the mail about replies."""
    wording = REPLY_LINKS[action]
    site_url = app.settings.site_url
    link = open_link(app, form, environ, method, allowed, wording)
    if isinstance(link, Response):
        return link
    comment = link.submission
    title = _post_title(app.manifest, comment.about)
    starting = action == "replies"
    if method == "POST":
        if starting:
            app.storage.confirm(comment.id, app.now())
            done = f"We will e-mail you when someone replies to your comment on “{title}”."
        else:
            app.storage.withdraw_confirmation(comment.id)
            done = f"We will send no more e-mail about replies to your comment on “{title}”."
        log.info("endpoint: reply mail %s for comment %s", wording.done, comment.id)
        return page(200, f"Reply e-mails {wording.done}", [done], site_url)
    if starting:
        question = f"E-mail me when someone replies to my comment on “{title}”"
        label = "Yes, e-mail me replies"
    else:
        question = f"Stop the e-mails about replies to my comment on “{title}”"
        label = "Stop these e-mails"
    return page(
        200,
        f"{question}?",
        ["Nothing changes until you press the button."],
        site_url,
        link.button(environ, label),
    )


def commenter_message(kind, comment, entry, storage, settings, endpoint, smtputf8=False):
    """The mail to a comment's writer: CONFIRM_REPLIES (the link that starts the mail
    about replies) or REPLY + a reply's id (that reply, and the one-click way out).

    MailNoLongerWanted when there is nothing to tell any more (the reply was removed,
    or the writer stopped the mail since it was queued).
    """
    from .notify import MailNoLongerWanted, person_envelope

    if not endpoint:
        # Left pending (`invoke notify`) until the site's manifest names the endpoint.
        raise RuntimeError("no endpoint address to link to")
    entry = entry or {}
    title = " ".join(str(entry.get("title") or comment.about).split())
    secret = purpose_secret(settings.forms_secret, REPLIES)
    name = " ".join(comment.fields.get("name", "").split())
    lines = [f"Hello {name}," if name else "Hello,", ""]
    if kind == CONFIRM_REPLIES:
        message = person_envelope(f"Your comment is published: {title}", comment, settings,
                                  smtputf8=smtputf8)  # fmt: skip
        lines += [
            f"Your comment on “{title}” is now published:",
            f"{entry.get('url', '')}#comment-{comment.id}",
            "",
            "You asked to be told of replies. To start, open this link and press the",
            "button on the page:",
            "",
            signed_link(endpoint, comment, secret, "replies"),
            "",
            "If you did not ask, ignore this e-mail: we send nothing more.",
        ]
        message.set_content("\n".join(lines))
        return message
    reply = storage.get(kind.removeprefix(REPLY))
    if reply is None or reply.status != APPROVED:
        raise MailNoLongerWanted("the reply is no longer shown")
    if comment.confirmed_at is None:
        raise MailNoLongerWanted("its reader stopped the mail about replies")
    unsubscribe = signed_link(endpoint, comment, secret, "unsubscribe")
    message = person_envelope(f"A reply to your comment: {title}", comment, settings,
                              smtputf8=smtputf8)  # fmt: skip
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    lines += [
        f"{' '.join(reply.fields.get('name', '').split())} replied to your comment on “{title}”:",
        "",
        *(f"    {line}" for line in reply.fields.get("comment", "").splitlines()),
        "",
        f"Read it on the site: {entry.get('url', '')}#comment-{reply.id}",
        "",
        "To stop these e-mails about your comment, open this link:",
        unsubscribe,
    ]
    message.set_content("\n".join(lines))
    return message
