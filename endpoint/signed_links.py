"""Links mailed to a person that act on one of their submissions: cancelling a
registration (cancel.py), confirming a newsletter signup (confirm.py).

    GET  /forms/<id>/<action>?r=<submission id>&s=<signature>   a page with one button
    POST the same address                                       does it

A GET changes nothing (mail scanners and link previews follow links); the page's one
button POSTs back to the same address. The signature is HMAC-SHA256 of the submission id
with FORMS_SECRET (abuse.sign_cancel); a wrong or changed one is refused with 403 and
nothing changes. Each route takes only its own form's submissions.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from html import escape
from urllib.parse import parse_qs

from . import abuse
from .web import HTTPError, Response, application_uri, notice_page

log = logging.getLogger("endpoint")

_SUBMISSION_ID = re.compile(r"^[0-9a-f]{32}$")
ALLOW = "GET, HEAD, POST"


def page(status: int, title: str, paragraphs, site_url: str, form: str = "") -> Response:
    """A short page in the site's style: one h1, the paragraphs, maybe a form."""
    return Response.html(status, notice_page(title, paragraphs, site_url, form))


def purpose_secret(secret: str, purpose: str) -> str:
    """The key that signs links of `purpose` (FORMS_SECRET itself for "")."""
    return f"{purpose}:{secret}" if purpose else secret


def signed_link(endpoint: str, submission, secret: str, action: str) -> str:
    """The signed address of `action` ("cancel", "confirm") for `submission`."""
    signature = abuse.sign_cancel(secret, submission.id)
    return f"{endpoint}/forms/{submission.form_id}/{action}?r={submission.id}&s={signature}"


@dataclass(frozen=True)
class Wording:
    """How the pages of one kind of link name things."""

    action: str  # the route: "cancel"
    link: str  # "cancel" link, "confirmation" link
    done: str  # nothing was "cancelled"
    thing: str  # we could not find this "registration"
    help: str  # what to do about a broken link
    # Links of another purpose are signed with a key of their own, so a link mailed to a
    # commenter never works as a moderator's (comments.py); "" keeps FORMS_SECRET.
    purpose: str = ""


@dataclass(frozen=True)
class OpenedLink:
    """A link whose signature holds, and the submission it names."""

    submission: object
    signature: str
    wording: Wording

    def button(self, environ, label: str) -> str:
        """The form whose one button POSTs back to this link."""
        action = (
            f"{application_uri(environ).rstrip('/')}/forms/{self.submission.form_id}/"
            f"{self.wording.action}?r={self.submission.id}&amp;s={escape(self.signature)}"
        )
        return (
            f'<form method="post" action="{action}">\n'
            f'<button type="submit">{escape(label)}</button>\n</form>\n'
        )


def open_link(app, form, environ, method: str, allowed: bool, wording: Wording):
    """The OpenedLink a request names, or the Response that refuses it.

    A POST must come from the page's own button (the endpoint's origin) or the site.
    """
    site_url = app.settings.site_url
    if method not in ("GET", "HEAD", "POST"):
        raise HTTPError(405, f"Use the button on the {wording.link} page.", [("Allow", ALLOW)])
    query = parse_qs(environ.get("QUERY_STRING", ""))
    submission_id = (query.get("r") or [""])[0]
    signature = (query.get("s") or [""])[0]
    secret = purpose_secret(app.settings.forms_secret, wording.purpose)
    if not _SUBMISSION_ID.match(submission_id) or not abuse.cancel_signed(
        secret, submission_id, signature
    ):
        log.info("endpoint: refused a %s link with a wrong signature for %s", wording.link, form.id)
        return page(
            403,
            f"This {wording.link} link does not work",
            [
                f"The link is incomplete or was changed, so nothing was {wording.done}.",
                wording.help,
            ],
            site_url,
        )
    submission = app.storage.get(submission_id)
    if submission is None or submission.form_id != form.id:
        return page(
            404,
            f"We could not find this {wording.thing}",
            ["It may have been deleted at your request. Nothing was changed."],
            site_url,
        )
    if method == "POST" and not allowed and abuse.request_origin(environ) is not None:
        raise HTTPError(403, f"Use the button on the {wording.link} page.")
    return OpenedLink(submission, signature, wording)
