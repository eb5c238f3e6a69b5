"""Cancelling a registration from the signed link in its confirmation e-mail.

    GET  /forms/<id>/cancel?r=<submission id>&s=<signature>   a page asking to confirm
    POST the same address                                    cancels, says so

A GET changes nothing (mail scanners and link previews follow links); the page's one
button POSTs back to the same address. The signature is HMAC-SHA256 of the id with
FORMS_SECRET (abuse.sign_cancel); a wrong or changed one is refused with 403 and nothing
changes. Cancelling frees the place, gives it to the first person on the waitlist and
queues both people's mail in the same transaction (Storage.cancel_registration); the
mail goes out after the answer, or with `invoke notify`.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from html import escape
from urllib.parse import parse_qs

from . import abuse
from .manifest import ManifestUnavailable
from .storage import CANCELLED
from .web import HTTPError, Response, application_uri, notice_page

log = logging.getLogger("endpoint")

_SUBMISSION_ID = re.compile(r"^[0-9a-f]{32}$")
ALLOW = "GET, HEAD, POST"


def page(status: int, title: str, paragraphs, site_url: str, form: str = "") -> Response:
    """A short page in the site's style: one h1, the paragraphs, maybe a form."""
    return Response.html(status, notice_page(title, paragraphs, site_url, form))


def cancel(app, form, environ, method: str, allowed: bool) -> Response:
    """Answer GET (confirm) or POST (cancel) on /forms/<id>/cancel."""
    site_url = app.settings.site_url
    if form.about_kind != "training":
        raise HTTPError(404, "This form has no registrations to cancel.")
    if method not in ("GET", "HEAD", "POST"):
        raise HTTPError(405, "Use the button on the cancel page.", [("Allow", ALLOW)])
    query = parse_qs(environ.get("QUERY_STRING", ""))
    submission_id = (query.get("r") or [""])[0]
    signature = (query.get("s") or [""])[0]
    if not _SUBMISSION_ID.match(submission_id) or not abuse.cancel_signed(
        app.settings.forms_secret, submission_id, signature
    ):
        log.info("endpoint: refused a cancel link with a wrong signature for %s", form.id)
        return page(
            403,
            "This cancel link does not work",
            [
                "The link is incomplete or was changed, so nothing was cancelled.",
                "Open the link from your confirmation e-mail again (all of it), or reply to "
                "that e-mail and we will cancel for you.",
            ],
            site_url,
        )
    submission = app.storage.get(submission_id)
    if submission is None or submission.form_id != form.id:
        return page(
            404,
            "We could not find this registration",
            ["It may have been deleted at your request. Nothing was changed."],
            site_url,
        )
    try:
        entry = app.manifest.entry("training", submission.about)
    except ManifestUnavailable:
        entry = None
    title = (entry or {}).get("title") or submission.about
    if submission.status == CANCELLED:
        return already_cancelled(title, site_url)
    if entry and datetime.fromisoformat(entry["end"]) <= app.now():
        return page(
            200,
            f"{title} has ended",
            ["There is nothing left to cancel. Nothing was changed."],
            site_url,
        )
    if method == "POST":
        if not allowed and abuse.request_origin(environ) is not None:
            # The page's own button posts from the endpoint's origin, which is allowed.
            raise HTTPError(403, "Cancel with the button on the cancel page.")
        cancelled, promoted = app.storage.cancel_registration(submission_id)
        if cancelled is None:
            return already_cancelled(title, site_url)
        log.debug("endpoint: registration %s cancelled", cancelled.id)
        response = page(
            200,
            "Your place is cancelled",
            [
                f"Your registration for {title} is cancelled. Thank you for letting us know: "
                "the place goes to the next person on the waitlist.",
                "We are sending you an e-mail to confirm.",
            ],
            site_url,
        )
        ids = [cancelled.id] + ([promoted.id] if promoted else [])
        if app.settings.smtp_host:
            response.after = lambda: send_mail(app, form, ids)
        return response
    action = (
        f"{application_uri(environ).rstrip('/')}/forms/{form.id}/cancel"
        f"?r={submission_id}&amp;s={escape(signature)}"
    )
    waitlisted = submission.status != "registered"
    what = "your place on the waitlist" if waitlisted else "your place"
    button = (
        f'<form method="post" action="{action}">\n'
        f'<button type="submit">Cancel {what}</button>\n</form>\n'
    )
    details = [f"You are about to cancel {what} at {title}."]
    if entry and entry.get("when"):
        details.append(f"When: {entry['when']}")
    details.append("Nothing changes until you press the button.")
    return page(200, f"Cancel your registration for {title}?", details, site_url, button)


def already_cancelled(title: str, site_url: str) -> Response:
    """The page for a link used again: nothing to do."""
    return page(
        200,
        "Your place is already cancelled",
        [f"Your registration for {title} was cancelled earlier. Nothing was changed."],
        site_url,
    )


def send_mail(app, form, submission_ids) -> None:
    """Send the cancelled and promoted people's mail (after the answer)."""
    from .notify import send_person_mail

    send_person_mail(app.storage, app.manifest, app.settings, {form.id: form}, submission_ids)
