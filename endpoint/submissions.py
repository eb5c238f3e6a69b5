"""The submission flow: check one POSTed form, store it, and say what to answer.

Order of checks: honeypot, time trap, validation, then one storage transaction that
counts the sender against the rate limit, finds a repeat and stores the submission.
Every outcome that stores nothing still counts against the rate limit.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from webforms.names import CONSENT, SOURCE, SOURCE_MAX_LENGTH

from . import abuse
from .storage import RateLimited, Submission, format_time
from .validation import clean_text, validate
from .web import HTTPError, Response, application_uri, read_body

log = logging.getLogger("endpoint")

PAGE_URL_MAX_LENGTH = 2000
USER_AGENT_MAX_LENGTH = 500
OK_JSON = b'{"ok": true}'  # what Response.json(200, {"ok": True}) sends, made once


class SubmissionFlow:
    """Runs `submit` for the app; shares its settings, storage and clock."""

    def __init__(self, settings, storage, now):
        self.settings = settings
        self.storage = storage
        self.now = now

    def submit(self, form, environ, wants_json: bool) -> Response:
        """Check, store and answer one POST /forms/<id>."""
        settings = self.settings
        data = read_body(environ, settings.max_body_bytes, settings.max_fields)
        now = self.now()
        ip_hash = abuse.hash_ip(environ.get("REMOTE_ADDR", ""), settings.ip_hash_salt)
        if abuse.honeypot_filled(data):
            self.count_hit(form, ip_hash, now)
            log.info("endpoint: honeypot filled on %s; nothing stored", form.id)
            return self.success(form, wants_json)
        trap = abuse.time_trap(
            settings.forms_secret,
            form.id,
            data.get(abuse.STARTED_FIELD),
            now.timestamp(),
            settings.min_fill_seconds,
        )
        if trap == "fast":
            self.count_hit(form, ip_hash, now)
            log.info("endpoint: %s sent too fast after start; nothing stored", form.id)
            return self.success(form, wants_json)

        referer = environ.get("HTTP_REFERER", "")
        data[SOURCE] = [source(data.get(SOURCE), referer)]
        result = validate(form, data)
        if not result.ok:
            self.count_hit(form, ip_hash, now)
            return self.invalid(form, environ, data, result.errors, wants_json)

        fields = {name: value for name, value in result.values.items() if name != SOURCE}
        stamp = format_time(now)
        submission = Submission(
            id=os.urandom(16).hex(),  # what secrets.token_hex does
            form_id=form.id,
            submitted_at=stamp,
            fields=fields,
            source=result.values.get(SOURCE, ""),
            consent_at=stamp,
            consent_version=form.consent.version,
            consent_sha256=form.consent.sha256,
            page_url=clean_text(referer)[:PAGE_URL_MAX_LENGTH],
            ip_hash=ip_hash,
            user_agent=clean_text(environ.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX_LENGTH],
            idempotency_token=abuse.clean_token(data.get(abuse.TOKEN_FIELD)),
            email=result.email.lower(),
            content_hash=abuse.content_hash(form.id, fields),
            notify_state="pending" if form.notify else "none",
        )
        since = now - timedelta(seconds=settings.duplicate_window_seconds)
        try:
            stored, created = self.storage.store(submission, settings.rate_limit_per_hour, since)
        except RateLimited as limited:
            raise too_many(form, limited.retry_after) from None
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
            raise too_many(form, retry_after)

    def success(self, form, wants_json: bool) -> Response:
        """The answer to a stored (or spam, or repeated) submission."""
        if wants_json:
            return Response(200, OK_JSON, "application/json; charset=utf-8")
        return Response(
            303,
            b"Thank you. Your form was sent.",
            "text/plain; charset=utf-8",
            [("Location", f"{self.settings.site_url}/{form.thank_you}")],
        )

    def invalid(self, form, environ, data, errors, wants_json) -> Response:
        """422: the errors as JSON, or the error page with every typed value back in place."""
        if wants_json:
            return Response.json(422, {"ok": False, "errors": errors})
        from webforms.render import error_page

        values = {}
        for field in form.fields:
            raw = [item for item in data.get(field.name, []) if isinstance(item, str)]
            values[field.name] = raw if field.type == "checkboxes" else (raw[0] if raw else "")
        consent = data.get(CONSENT) or []
        values[CONSENT] = consent[0] if consent and isinstance(consent[0], str) else ""
        action = f"{application_uri(environ).rstrip('/')}/forms/{form.id}"
        return Response.html(422, error_page(form, action, values, errors, self.settings.site_url))

    def notify(self, form, submission) -> None:
        """Send the organizers' e-mail (after the answer; failures stay pending)."""
        from .notify import notify_submission

        notify_submission(self.storage, form, submission, self.settings)


def source(submitted, referer: str) -> str:
    """The `source` field, else ?source= or ?utm_source= of the page that sent it."""
    value = submitted[0] if isinstance(submitted, list) and submitted else ""
    value = clean_text(value) if isinstance(value, str) else ""
    if not value and referer:
        try:
            query = parse_qs(urlsplit(referer).query)
        except ValueError:
            query = {}
        for key in (SOURCE, "utm_source"):
            if query.get(key):
                value = clean_text(query[key][0])
                break
    return value[:SOURCE_MAX_LENGTH]


def too_many(form, retry_after: float) -> HTTPError:
    """The 429 answer for a sender over the rate limit."""
    log.info("endpoint: rate limit reached for a sender of %s", form.id)
    return HTTPError(
        429,
        "Too many forms were sent from your network. Nothing was saved; please try again later.",
        [("Retry-After", str(int(retry_after + 0.999)))],
    )
