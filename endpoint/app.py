"""The form endpoint as a plain WSGI application (no framework).

Routes:
    GET  /health                 200 when the database answers, else 503
    GET  /forms/<id>/start       {"token": ..., "started": ...} for the page script
    POST /forms/<id>             a submission, urlencoded or JSON
    OPTIONS on both form routes  CORS preflight (allowed origins only)

A POST with `Accept: application/json` is answered 200 {"ok": true} or
422 {"ok": false, "errors": {field: message}}; otherwise success is a 303 redirect
to the thank-you page and an invalid submission a 422 page that keeps every value.
A submission is committed before success is answered; when the database is down
the answer is 503 and nothing is claimed as saved.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, parse_qsl, urlsplit

from . import abuse
from .forms import get_form, load_forms
from .settings import Settings
from .storage import RateLimited, StorageUnavailable, Submission, format_time, open_storage
from .validation import CONSENT_FIELD, clean_text, validate

log = logging.getLogger("endpoint")

# JSON may escape half of a surrogate pair (\ud800): no text encoding can hold it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_FORM_ROUTE = re.compile(r"^/forms/([a-z0-9][a-z0-9-]{0,63})(/start)?/?$")
SOURCE_MAX_LENGTH = 100
PAGE_URL_MAX_LENGTH = 2000
USER_AGENT_MAX_LENGTH = 500
NOT_SAVED = "Nothing was saved. Please try again in a few minutes; what you typed is kept."

STATUS_TEXT = {
    200: "200 OK",
    204: "204 No Content",
    303: "303 See Other",
    400: "400 Bad Request",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Content Too Large",
    415: "415 Unsupported Media Type",
    422: "422 Unprocessable Content",
    429: "429 Too Many Requests",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}


class HTTPError(Exception):
    """An early answer: status and a message for the person (or script) that sent it."""

    def __init__(self, status: int, message: str, headers=()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


class Response:
    """Status, headers and body bytes, plus work to run once the body is sent."""

    def __init__(self, status: int, body: bytes = b"", content_type=None, headers=()):
        self.status = status
        self.body = body
        self.headers = list(headers)
        if content_type:
            self.headers.append(("Content-Type", content_type))
        self.after = None

    @classmethod
    def json(cls, status: int, data, headers=()) -> Response:
        """A JSON response."""
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return cls(status, body, "application/json; charset=utf-8", headers)

    @classmethod
    def html(cls, status: int, page: str, headers=()) -> Response:
        """An HTML response."""
        return cls(status, page.encode("utf-8"), "text/html; charset=utf-8", headers)


class _Body(list):
    """The WSGI body; the server calls close() after sending it, which runs `after`."""

    def __init__(self, chunks, after=None):
        super().__init__(chunks)
        self._after = after

    def close(self):
        """Run the post-response work (the notification e-mail) exactly once."""
        after, self._after = self._after, None
        if after is not None:
            try:
                after()
            except Exception as error:  # noqa: BLE001 - the answer is already sent
                log.warning("endpoint: after-response work failed (%s)", type(error).__name__)


def _simple_page(title: str, message: str, site_url: str) -> str:
    from html import escape

    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="stylesheet" href="{escape(site_url)}/theme/css/site.css">\n'
        '</head>\n<body>\n<main id="main" class="wrap">\n'
        f"<h1>{escape(title)}</h1>\n<p>{escape(message)}</p>\n"
        "<p>Use your browser's Back button to return to the form.</p>\n"
        "</main>\n</body>\n</html>\n"
    )


class EndpointApp:
    """The WSGI callable. Build it with `create_app(settings)`."""

    def __init__(self, settings: Settings, storage=None, forms=None, clock=time.time):
        self.settings = settings
        self.storage = storage if storage is not None else open_storage(settings.database_url)
        self._forms = forms
        self.clock = clock

    # --- Plumbing -------------------------------------------------------------

    def form(self, form_id: str):
        """The definition of `form_id`, or None."""
        if self._forms is not None:
            return self._forms.get(form_id)
        return get_form(form_id, self.settings.forms_dir)

    def forms(self) -> dict:
        """Every form definition."""
        return self._forms if self._forms is not None else load_forms(self.settings.forms_dir)

    def now(self) -> datetime:
        """The current time (UTC), from the injectable clock."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def __call__(self, environ, start_response):
        origin = abuse.request_origin(environ)
        # The endpoint's own error page posts back to it: its own origin is allowed too.
        allowed = abuse.origin_allowed(
            origin, (*self.settings.allowed_origins, self.own_origin(environ))
        )
        wants_json = "application/json" in environ.get("HTTP_ACCEPT", "")
        try:
            response = self.route(environ, origin, allowed, wants_json)
        except HTTPError as error:
            response = self.error_response(error, wants_json)
        except StorageUnavailable as error:
            log.error("endpoint: %s; answered 503", error)
            response = self.error_response(HTTPError(503, NOT_SAVED), wants_json)
        except Exception as error:  # noqa: BLE001 - never leak a traceback to a visitor
            # The type and where it happened, not the message: it may quote what was sent.
            frame = error.__traceback__
            while frame.tb_next:
                frame = frame.tb_next
            log.error(
                "endpoint: unexpected %s at %s:%d; answered 500",
                type(error).__name__,
                frame.tb_frame.f_code.co_filename.rpartition("/")[2],
                frame.tb_lineno,
            )
            response = self.error_response(HTTPError(500, NOT_SAVED), wants_json)
        if allowed and environ.get("PATH_INFO", "").startswith("/forms/"):
            response.headers += [
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Expose-Headers", "Retry-After"),
            ]
        response.headers += [
            ("Vary", "Origin, Accept"),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Length", str(len(response.body))),
        ]
        start_response(STATUS_TEXT[response.status], response.headers)
        return _Body([response.body], response.after)

    def error_response(self, error: HTTPError, wants_json: bool) -> Response:
        """An error as JSON or as a short HTML page."""
        if wants_json:
            return Response.json(error.status, {"ok": False, "error": error.message}, error.headers)
        title = "Your form was not sent" if error.status >= 400 else "Notice"
        page = _simple_page(title, error.message, self.settings.site_url)
        return Response.html(error.status, page, error.headers)

    def route(self, environ, origin, allowed, wants_json) -> Response:
        """Dispatch one request by path and method."""
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if path.rstrip("/") == "/health":
            if method not in ("GET", "HEAD"):
                raise HTTPError(405, "Use GET.", [("Allow", "GET, HEAD")])
            self.storage.ping()
            return Response.json(200, {"ok": True, "database": "ok"})
        match = _FORM_ROUTE.match(path)
        if not match:
            raise HTTPError(404, "There is nothing here.")
        form = self.form(match.group(1))
        if form is None:
            raise HTTPError(404, "There is no form with that name.")
        is_start = bool(match.group(2))
        allow = "GET, OPTIONS" if is_start else "POST, OPTIONS"
        if method == "OPTIONS":
            return self.preflight(allowed, allow)
        if is_start:
            if method not in ("GET", "HEAD"):
                raise HTTPError(405, "Use GET.", [("Allow", allow)])
            return self.start(form)
        if method != "POST":
            raise HTTPError(405, "Send the form with POST.", [("Allow", allow)])
        if not allowed:
            log.info("endpoint: refused a post to %s from an origin not allowed", form.id)
            raise HTTPError(403, "This form can only be sent from our own website.")
        return self.submit(form, environ, wants_json)

    def preflight(self, allowed: bool, allow: str) -> Response:
        """Answer a CORS preflight; only allowed origins get the Access-Control headers."""
        if not allowed:
            raise HTTPError(403, "This origin may not use the form endpoint.")
        return Response(
            204,
            headers=[
                ("Allow", allow),
                ("Access-Control-Allow-Methods", allow),
                ("Access-Control-Allow-Headers", "Content-Type, Accept"),
                ("Access-Control-Max-Age", "600"),
            ],
        )

    def start(self, form) -> Response:
        """A fresh idempotency token and signed start time for one page view."""
        started = abuse.sign_start(self.settings.forms_secret, form.id, self.clock())
        return Response.json(200, {"token": abuse.new_token(), "started": started})

    # --- Submissions ------------------------------------------------------------

    def success(self, form, wants_json: bool) -> Response:
        """The answer to a stored (or spam, or repeated) submission."""
        if wants_json:
            return Response.json(200, {"ok": True})
        location = f"{self.settings.site_url}/{form.thank_you}"
        return Response(
            303,
            b"Thank you. Your form was sent.",
            "text/plain; charset=utf-8",
            [("Location", location)],
        )

    def submit(self, form, environ, wants_json: bool) -> Response:
        """Check, store and answer one POST /forms/<id>."""
        data = self.read_body(environ)
        now = self.now()
        ip_hash = abuse.hash_ip(environ.get("REMOTE_ADDR", ""), self.settings.ip_hash_salt)
        # Every POST counts against the rate limit. A valid submission is counted, checked
        # for repeats and stored in one transaction (`storage.store`); every other outcome
        # only counts the hit, before it is answered.
        if abuse.honeypot_filled(data):
            self.count_hit(form, ip_hash, now)
            log.info("endpoint: honeypot filled on %s; nothing stored", form.id)
            return self.success(form, wants_json)
        trap = abuse.time_trap(
            self.settings.forms_secret,
            form.id,
            data.get(abuse.STARTED_FIELD),
            now.timestamp(),
            self.settings.min_fill_seconds,
        )
        if trap == "fast":
            self.count_hit(form, ip_hash, now)
            log.info("endpoint: %s sent too fast after start; nothing stored", form.id)
            return self.success(form, wants_json)

        referer = environ.get("HTTP_REFERER", "")
        data["source"] = [self.source(data.get("source"), referer)]
        result = validate(form, data)
        if not result.ok:
            self.count_hit(form, ip_hash, now)
            return self.invalid(form, environ, data, result.errors, wants_json)

        token = abuse.clean_token(data.get(abuse.TOKEN_FIELD))
        fields = {name: value for name, value in result.values.items() if name != "source"}
        digest = abuse.content_hash(form.id, fields)
        email_key = result.email.lower()
        stamp = format_time(now)
        submission = Submission(
            id=os.urandom(16).hex(),  # what secrets.token_hex does
            form_id=form.id,
            submitted_at=stamp,
            fields=fields,
            source=result.values.get("source", ""),
            consent_at=stamp,
            consent_version=form.consent.version,
            consent_sha256=form.consent.sha256,
            page_url=clean_text(referer)[:PAGE_URL_MAX_LENGTH],
            ip_hash=ip_hash,
            user_agent=clean_text(environ.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX_LENGTH],
            idempotency_token=token,
            email=email_key,
            content_hash=digest,
            notify_state="pending" if form.notify else "none",
        )
        since = now - timedelta(seconds=self.settings.duplicate_window_seconds)
        try:
            stored, created = self.storage.store(
                submission, self.settings.rate_limit_per_hour, since
            )
        except RateLimited as limited:
            raise self.too_many(form, limited.retry_after) from None
        response = self.success(form, wants_json)
        # Per-submission lines are DEBUG: `--access-log` shows them, production logs stay quiet.
        if created:
            log.debug("endpoint: stored submission %s for %s", stored.id, form.id)
            response.after = lambda: self.notify(form, stored)
        else:
            log.debug("endpoint: repeat of submission %s; answered as before", stored.id)
        return response

    def count_hit(self, form, ip_hash: str, now: datetime) -> None:
        """Count a POST that stores nothing against the rate limit; 429 when over it."""
        retry_after = self.storage.record_hit(ip_hash, now, self.settings.rate_limit_per_hour)
        if retry_after is not None:
            raise self.too_many(form, retry_after)

    def too_many(self, form, retry_after: float) -> HTTPError:
        """The 429 answer for a sender over the rate limit."""
        log.info("endpoint: rate limit reached for a sender of %s", form.id)
        return HTTPError(
            429,
            "Too many forms were sent from your network. Nothing was saved; "
            "please try again later.",
            [("Retry-After", str(int(retry_after + 0.999)))],
        )

    def notify(self, form, submission) -> None:
        """Send the organizers' e-mail (after the answer; failures stay pending)."""
        from .notify import notify_submission

        notify_submission(self.storage, form, submission, self.settings)

    def source(self, submitted, referer: str) -> str:
        """The `source` field, else ?source= or ?utm_source= of the page that sent it."""
        value = submitted[0] if isinstance(submitted, list) and submitted else ""
        value = clean_text(value) if isinstance(value, str) else ""
        if not value and referer:
            try:
                query = parse_qs(urlsplit(referer).query)
            except ValueError:
                query = {}
            for key in ("source", "utm_source"):
                if query.get(key):
                    value = clean_text(query[key][0])
                    break
        return value[:SOURCE_MAX_LENGTH]

    def invalid(self, form, environ, data, errors, wants_json) -> Response:
        """422: the errors as JSON, or the error page with every typed value back in place."""
        if wants_json:
            return Response.json(422, {"ok": False, "errors": errors})
        from .render import error_page

        values = {}
        for field in form.fields:
            raw = [item for item in data.get(field.name, []) if isinstance(item, str)]
            values[field.name] = raw if field.type == "checkboxes" else (raw[0] if raw else "")
        consent = data.get(CONSENT_FIELD) or []
        values[CONSENT_FIELD] = consent[0] if consent and isinstance(consent[0], str) else ""
        page = error_page(
            form, self.action_url(environ, form), values, errors, self.settings.site_url
        )
        return Response.html(422, page)

    def own_origin(self, environ) -> str:
        """scheme://host[:port] of this endpoint, as the request addressed it."""
        from wsgiref.util import application_uri

        return abuse.origin_of(application_uri(environ)) or ""

    def action_url(self, environ, form) -> str:
        """This endpoint's own address for `form`, as the browser reached it."""
        from wsgiref.util import application_uri

        return f"{application_uri(environ).rstrip('/')}/forms/{form.id}"

    # --- Reading the body ----------------------------------------------------------

    def read_body(self, environ) -> dict[str, list]:
        """The submitted fields as {name: [values]}; raises HTTPError for a bad body."""
        limit = self.settings.max_body_bytes
        length_header = (environ.get("CONTENT_LENGTH") or "").strip()
        stream = environ.get("wsgi.input")
        if length_header:
            try:
                length = int(length_header)
            except ValueError:
                raise HTTPError(400, "The request has a broken Content-Length.") from None
            if length < 0:
                raise HTTPError(400, "The request has a broken Content-Length.")
            if length > limit:
                raise HTTPError(413, f"The form is too large (over {limit} bytes).")
            body = stream.read(length) if stream and length else b""
        elif stream is not None and environ.get("wsgi.input_terminated"):
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise HTTPError(413, f"The form is too large (over {limit} bytes).")
        else:
            body = b""

        media_type, _, params = environ.get("CONTENT_TYPE", "").partition(";")
        media_type = media_type.strip().lower()
        charset = "utf-8"
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                charset = value.strip().strip('"').lower()
        try:
            codecs.lookup(charset)
        except LookupError:
            raise HTTPError(415, "Send the form in UTF-8.") from None

        if media_type in ("application/json",) or media_type.endswith("+json"):
            return self.parse_json(body, charset)
        if media_type in ("", "application/x-www-form-urlencoded"):
            return self.parse_urlencoded(body, charset)
        raise HTTPError(415, "Send the form urlencoded or as JSON.")

    def parse_urlencoded(self, body: bytes, charset: str) -> dict[str, list]:
        """Parse an urlencoded body, capping the number of fields."""
        try:
            text = body.decode(charset)
        except (UnicodeDecodeError, LookupError):
            raise HTTPError(400, f"The form is not valid {charset} text.") from None
        try:
            pairs = parse_qsl(
                text,
                keep_blank_values=True,
                encoding=charset,
                errors="replace",
                max_num_fields=self.settings.max_fields,
            )
        except ValueError:
            raise HTTPError(413, "The form has too many fields.") from None
        data: dict[str, list] = {}
        for name, value in pairs:
            data.setdefault(name, []).append(value)
        return data

    def parse_json(self, body: bytes, charset: str) -> dict[str, list]:
        """Parse a JSON object body: strings, lists of strings, booleans, numbers, null."""
        try:
            document = json.loads(body.decode(charset))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise HTTPError(400, "The form is not valid JSON.") from None
        if not isinstance(document, dict):
            raise HTTPError(400, "Send the fields as one JSON object.")
        data: dict[str, list] = {}
        count = 0
        for name, raw in document.items():
            items = raw if isinstance(raw, list) else [raw]
            count += max(1, len(items))
            if count > self.settings.max_fields:
                raise HTTPError(413, "The form has too many fields.")
            values = []
            for item in items:
                if item is None or item is False:
                    continue
                if item is True:
                    values.append("yes")
                elif isinstance(item, str):
                    values.append(_LONE_SURROGATE.sub("\ufffd", item))
                elif isinstance(item, int | float):
                    values.append(json.dumps(item))
                else:
                    # Nested objects cannot be any field's value; validation reports it.
                    values.append(None)
            data[_LONE_SURROGATE.sub("\ufffd", name)] = values
        return data


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
