"""Cancelling a registration from the signed link in its confirmation e-mail.

    GET  /forms/<id>/cancel?r=<submission id>&s=<signature>   a page asking to confirm
    POST the same address                                    cancels, says so

The link is checked as signed_links.py says. Cancelling frees the place, gives it to the
first person on the waitlist and queues both people's mail in the same transaction
(Storage.cancel_registration); the mail goes out after the answer, or with `invoke notify`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from .manifest import ManifestUnavailable
from .signed_links import Wording, open_link, page
from .storage import CANCELLED
from .web import HTTPError, Response

log = logging.getLogger("endpoint")

WORDING = Wording(
    action="cancel",
    link="cancel",
    done="cancelled",
    thing="registration",
    help="Open the link from your confirmation e-mail again (all of it), or reply to "
    "that e-mail and we will cancel for you.",
)


def cancel(app, form, environ, method: str, allowed: bool) -> Response:
    """Answer GET (confirm) or POST (cancel) on /forms/<id>/cancel."""
    site_url = app.settings.site_url
    if form.about_kind != "training":
        raise HTTPError(404, "This form has no registrations to cancel.")
    link = open_link(app, form, environ, method, allowed, WORDING)
    if isinstance(link, Response):
        return link
    submission = link.submission
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
        cancelled, promoted = app.storage.cancel_registration(submission.id)
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
    waitlisted = submission.status != "registered"
    what = "your place on the waitlist" if waitlisted else "your place"
    button = link.button(environ, f"Cancel {what}")
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
