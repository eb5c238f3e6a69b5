"""The form endpoint as a plain WSGI application: routing only.

Routes:
    GET  /health                 200 when the database takes a write, else 503 saying
                                 which part failed ({"ok": false, "database": ...})
    GET  /forms/<id>/start       {"token": ..., "started": ...} for the page script
    GET  /forms/<id>/cancel?r=<id>&s=<signature>   confirm cancelling a registration;
    POST /forms/<id>/cancel?r=<id>&s=<signature>   cancel it (cancel.py)
    GET  /forms/<id>/confirm?r=<id>&s=<signature>  confirm a newsletter signup's address;
    POST /forms/<id>/confirm?r=<id>&s=<signature>  confirm it (confirm.py)
    GET  /forms/comment/held?post=<slug>   where a comment sent without JavaScript lands
    GET  /forms/comment/approved?post=<slug>   approved comments, for the page script;
                                 without post, every one (Bearer COMMENTS_TOKEN)
    GET  /forms/comment/<approve|reject|delete>?r=<id>&s=<signature>   a moderator's
    POST the same address        link: a page with one button; the POST acts (comments.py)
    GET  /forms/comment/<replies|unsubscribe>?r=<id>&s=<signature>   a commenter's link:
    POST the same address        start or stop the mail about replies (comments.py)
    GET  /forms/<id>/places?for=<training slug>
                                 {"capacity", "registered", "waitlisted", "left", "open"}
    POST /forms/<id>             a submission, urlencoded or JSON
    OPTIONS on the form routes   CORS preflight (allowed origins only)
    GET  /oauth/auth, /oauth/callback   the browser editor's GitHub sign-in (oauth.py)

A POST with `Accept: application/json` is answered 200 {"ok": true} (a registration
adds "status" and its "thank_you" page) or 422 {"ok": false, "errors": {field:
message}} (a valid one sent too soon after the page opened: {"": "... press the button
again"}), or 409 {"ok": false, "error": ...} for a page's token sent again with other
answers (the first are kept); otherwise success is a 303 redirect
to the thank-you page and an invalid submission a 422 page that keeps every value.
A submission is committed before success is answered; when the database is down
the answer is 503 and nothing is claimed as saved.

HTTP plumbing (responses, errors, CORS, bodies) is in `web.py`; the submission flow
in `submissions.py`. Any WSGI server runs `application`; the documented one is granian
(`python -m endpoint`), and Lambda runs it through apig-wsgi (`lambda_handler.py`).
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs

from webforms.definitions import get_form, load_forms

from . import abuse
from .manifest import Manifest, ManifestUnavailable, closed_reason
from .settings import Settings
from .storage import REGISTERED, WAITLISTED, StorageUnavailable, open_storage
from .storage.base import COMMENT_FORM
from .submissions import SubmissionFlow, places_offered
from .web import HTTPError, Response, application_uri, error_response, log_unexpected, preflight
from .web import send as send_response

log = logging.getLogger("endpoint")

_FORM_ROUTE = re.compile(
    r"^/forms/([a-z0-9][a-z0-9-]{0,63})"
    r"(/start|/places|/cancel|/confirm|/approved|/held|/approve|/reject|/delete|/replies"
    r"|/unsubscribe)?/?$"
)
_COMMENT_ROUTES = (
    "/approved", "/held", "/approve", "/reject", "/delete", "/replies", "/unsubscribe",
)  # fmt: skip
NOT_SAVED = "Nothing was saved. Please try again in a few minutes; what you typed is kept."


class EndpointApp:
    """The WSGI callable. Build it with `create_app(settings)`."""

    def __init__(self, settings: Settings, storage=None, forms=None, clock=time.time):
        self.settings = settings
        self.storage = storage if storage is not None else open_storage(settings.database_url)
        self._forms = forms
        self.clock = clock
        self.manifest = Manifest(settings.site_manifest, settings.manifest_ttl)
        self.submissions = SubmissionFlow(settings, self.storage, self.now, self.manifest)
        self._known = {}
        self._allowed = frozenset(origin.lower() for origin in settings.allowed_origins)

    def form(self, form_id: str):
        """The definition of `form_id`, or None."""
        if self._forms is not None:
            return self._forms.get(form_id)
        # get_form caches the definitions, but finding its folder costs a Path per call:
        # known forms are kept here (unknown ids are not, so stray paths cannot grow it).
        form = self._known.get(form_id)
        if form is None:
            form = get_form(form_id, self.settings.forms_dir)
            if form is not None:
                self._known[form_id] = form
        return form

    def forms(self) -> dict:
        """Every form definition."""
        return self._forms if self._forms is not None else load_forms(self.settings.forms_dir)

    def now(self) -> datetime:
        """The current time (UTC), from the injectable clock."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def __call__(self, environ, start_response):
        origin = abuse.request_origin(environ)
        allowed = origin is not None and origin in self._allowed
        if origin is not None and not allowed:
            # The endpoint's own error page posts back to it: its own origin is allowed too.
            own = abuse.origin_of(application_uri(environ)) or ""
            allowed = abuse.origin_allowed(origin, (own,))
        wants_json = "application/json" in environ.get("HTTP_ACCEPT", "")
        try:
            response = self.route(environ, allowed, wants_json)
        except HTTPError as error:
            response = error_response(error, wants_json, self.settings.site_url)
        except StorageUnavailable as error:
            log.error("endpoint: %s; answered 503", error)
            response = error_response(HTTPError(503, NOT_SAVED), wants_json, self.settings.site_url)
        except Exception as error:  # noqa: BLE001 - never leak a traceback to a visitor
            log_unexpected(error)
            response = error_response(HTTPError(500, NOT_SAVED), wants_json, self.settings.site_url)
        cors = allowed and environ.get("PATH_INFO", "").startswith("/forms/")
        return send_response(response, start_response, origin if cors else None)

    def route(self, environ, allowed: bool, wants_json: bool) -> Response:
        """Dispatch one request by path and method."""
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if path.rstrip("/") == "/health":
            if method not in ("GET", "HEAD"):
                raise HTTPError(405, "Use GET.", [("Allow", "GET, HEAD")])
            try:
                self.storage.ping()  # a committed write: a full or read-only database fails
            except StorageUnavailable as error:
                log.error("endpoint: health check failed: %s", error)
                return Response.json(503, {"ok": False, "database": str(error)})
            return Response.json(200, {"ok": True, "database": "ok"})
        if path in ("/oauth/auth", "/oauth/callback"):  # the editor's sign-in (oauth.py)
            from .oauth import route as oauth_route

            return oauth_route(self, path, environ, method)
        match = _FORM_ROUTE.match(path)
        if not match:
            raise HTTPError(404, "There is nothing here.")
        form = self.form(match.group(1))
        if form is None:
            raise HTTPError(404, "There is no form with that name.")
        action = match.group(2)
        allow = "GET, OPTIONS" if action else "POST, OPTIONS"
        if method == "OPTIONS":
            return preflight(allowed, allow)
        if action == "/cancel":  # a registration's signed cancel link (cancel.py)
            from .cancel import cancel

            return cancel(self, form, environ, method, allowed)
        if action == "/confirm":  # a newsletter signup's signed confirmation link
            from .confirm import confirm

            return confirm(self, form, environ, method, allowed)
        if action in _COMMENT_ROUTES and form.id == COMMENT_FORM:  # comments.py
            from .comments import route as comments_route

            return comments_route(self, form, action[1:], environ, method, allowed)
        if action:
            if method not in ("GET", "HEAD"):
                raise HTTPError(405, "Use GET.", [("Allow", allow)])
            return self.start(form) if action == "/start" else self.places(form, environ)
        if method != "POST":
            raise HTTPError(405, "Send the form with POST.", [("Allow", allow)])
        if not allowed:
            log.info("endpoint: refused a post to %s from an origin not allowed", form.id)
            raise HTTPError(403, "This form can only be sent from our own website.")
        return self.submissions.submit(form, environ, wants_json)

    def start(self, form) -> Response:
        """A fresh idempotency token and signed start time for one page view."""
        started = abuse.sign_start(self.settings.forms_secret, form.id, self.clock())
        return Response.json(200, {"token": abuse.new_token(), "started": started})

    def places(self, form, environ) -> Response:
        """Places taken and left at one training (`?for=slug`), for the page's places line."""
        if form.about_kind != "training":
            raise HTTPError(404, "This form has no places.")
        slug = parse_qs(environ.get("QUERY_STRING", "")).get("for", [""])[0]
        try:
            entry = self.manifest.entry("training", slug)
        except ManifestUnavailable:
            raise HTTPError(503, "The list of trainings cannot be read just now.") from None
        if entry is None:
            raise HTTPError(404, "There is no such training.")
        counts = self.storage.places(form.id, slug)
        capacity = places_offered(entry) if entry.get("capacity") is not None else None
        registered = counts.get(REGISTERED, 0)
        return Response.json(
            200,
            {
                "capacity": capacity,
                "registered": registered,
                "waitlisted": counts.get(WAITLISTED, 0),
                "left": None if capacity is None else max(0, capacity - registered),
                "open": closed_reason("training", entry, self.now()) is None,
            },
            [("Cache-Control", "no-store")],
        )


def create_app(settings: Settings | None = None, **overrides) -> EndpointApp:
    """Build the WSGI app from `settings` (default: from the environment)."""
    return EndpointApp(settings or Settings.from_env(), **overrides)


_default_app = None


def application(environ, start_response):
    """The WSGI entry point; builds the app from the environment on first request."""
    global _default_app
    if _default_app is None:
        _default_app = create_app()
    return _default_app(environ, start_response)
