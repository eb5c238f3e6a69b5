"""Double opt-in: a newsletter signup counts only once its address is confirmed.

A form with `double_opt_in = true` in its TOML (forms/newsletter.toml) works so: a signup
is stored unconfirmed and the outbox mails the address a signed link
(Storage.store queues CONFIRM; an address that confirmed before gets ALREADY_CONFIRMED,
a note that there is nothing to do, so the page answers everyone alike and tells a
stranger nothing). Signing up again while unconfirmed stores the new signup and mails
a new link, within the per-address and per-e-mail rate limits of every form.

    GET  /forms/<id>/confirm?r=<submission id>&s=<signature>   a page with one button
    POST the same address                                     confirms, then 303 to
                                                              the site's confirmed page

A GET changes nothing (mail scanners and link previews follow links). The signature is
a cancel link's (abuse.sign_cancel: HMAC-SHA256 of the submission id with FORMS_SECRET);
each route takes only its own form's submissions, so one link never works on the other.
A wrong or changed signature is refused with 403 and nothing changes; confirming twice
keeps the first time. Exports mark only confirmed people as subscribed (export.py).
"""

from __future__ import annotations

import logging

from .signed_links import Wording, open_link, page, signed_link
from .storage.base import ALREADY_CONFIRMED, CONFIRM
from .web import HTTPError, Response

log = logging.getLogger("endpoint")

# The site's page a confirmed person is sent to (content/pages/newsletter-confirmed.md).
CONFIRMED_PAGE = "subscribe/confirmed/"

SUBJECTS = {
    CONFIRM: "Please confirm: e-mail updates from Organizing 2.0",
    ALREADY_CONFIRMED: "You already get e-mail updates from Organizing 2.0",
}

WORDING = Wording(
    action="confirm",
    link="confirmation",
    done="confirmed",
    thing="signup",
    help="Open the link from the e-mail again (all of it), or sign up again on our "
    "site to get a new one.",
)


def confirm_link(endpoint: str, submission, secret: str) -> str:
    """The signed address that confirms `submission` ("" without an endpoint)."""
    return signed_link(endpoint, submission, secret, "confirm") if endpoint else ""


def mail_lines(kind: str, submission, secret: str, endpoint: str) -> list[str]:
    """The body of a CONFIRM or ALREADY_CONFIRMED mail, after its greeting."""
    if kind == ALREADY_CONFIRMED:
        return [
            "Someone asked for e-mail updates from Organizing 2.0 with this address, but",
            "you already get them, so there is nothing to do and nothing has changed.",
            "",
            "If it was not you, you can ignore this e-mail.",
        ]
    link = confirm_link(endpoint, submission, secret)
    if not link:
        # Left pending (`invoke notify`) until the site's manifest names the endpoint.
        raise RuntimeError("no endpoint address to link to")
    return [
        "Thank you for asking for e-mail updates from Organizing 2.0. To start them,",
        "open this link and press the button on the page:",
        "",
        link,
        "",
        "If you did not ask for them, ignore this e-mail: we send nothing to an",
        "address until it is confirmed.",
    ]


def confirm(app, form, environ, method: str, allowed: bool) -> Response:
    """Answer GET (a page with the button) or POST (confirm) on /forms/<id>/confirm."""
    site_url = app.settings.site_url
    if not form.double_opt_in:
        raise HTTPError(404, "This form has nothing to confirm.")
    link = open_link(app, form, environ, method, allowed, WORDING)
    if isinstance(link, Response):
        return link
    submission = link.submission
    if method == "POST":
        if submission.confirmed_at is None:
            app.storage.confirm(submission.id, app.now())
            log.debug("endpoint: signup %s confirmed", submission.id)
        return Response(
            303,
            b"Confirmed. Thank you.",
            "text/plain; charset=utf-8",
            [("Location", f"{site_url}/{CONFIRMED_PAGE}")],
        )
    if submission.confirmed_at is not None:
        return page(
            200,
            "Your address is already confirmed",
            ["You get our e-mail updates already. Nothing was changed."],
            site_url,
        )
    return page(
        200,
        "Confirm your e-mail updates",
        [
            "Press the button to start getting e-mail updates from Organizing 2.0 at the "
            "address this link was sent to.",
            "Nothing changes until you press it.",
        ],
        site_url,
        link.button(environ, "Yes, send me e-mail updates"),
    )
