"""The submission flow: check one POSTed form, store it, and say what to answer.

Order of checks: honeypot, validation (a submission with errors always gets them), the
time trap, then one storage transaction that counts the sender against the rate limit,
finds a repeat and stores the submission. The honeypot is answered as a success (a bot
is not told); a valid submission caught only by the time trap is asked to be sent again
(a person who pressed the button quickly), never silently dropped. Every outcome that
stores nothing still counts, against its address's junk allowance (never the one real
people on that address share). An idempotency token sent again with other content is
a 409 conflict; the first submission is kept.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from webforms.names import CONSENT, SOURCE, SOURCE_MAX_LENGTH

from . import abuse
from .manifest import ManifestUnavailable, closed_reason
from .storage import RateLimited, Submission, format_time
from .storage.base import APPROVED, COMMENT_FORM, CONFIRM, HELD, email_key
from .validation import clean_text, validate
from .web import HTTPError, Response, application_uri, read_body

log = logging.getLogger("endpoint")

PAGE_URL_MAX_LENGTH = 2000
USER_AGENT_MAX_LENGTH = 500
OK_JSON = b'{"ok": true}'  # what Response.json(200, {"ok": True}) sends, made once
NOT_SAVED_MANIFEST = (
    "Registration is unavailable for a moment: we could not check the training. "
    "Nothing was saved; please try again in a few minutes."
)
SEND_AGAIN = (
    "The form was sent very soon after the page opened, so it was not saved yet. "
    "Please check your answers and press the button again."
)
ALREADY_SENT = (
    "This form was already sent from this page, with other answers; the first answers "
    "were kept. To send another, reload the page."
)


class SubmissionFlow:
    """Runs `submit` for the app; shares its settings, storage and clock."""

    def __init__(self, settings, storage, now, manifest):
        self.settings = settings
        self.storage = storage
        self.now = now
        self.manifest = manifest

    def submit(self, form, environ, wants_json: bool) -> Response:
        """Check, store and answer one POST /forms/<id>."""
        settings = self.settings
        data = read_body(environ, settings.max_body_bytes, settings.max_fields)
        now = self.now()
        sender = abuse.client_address(environ, settings.trusted_proxies)
        ip_hash = abuse.hash_ip(sender, settings.ip_hash_salt)
        if abuse.honeypot_filled(data):
            self.count_hit(form, ip_hash, now)
            log.info("endpoint: honeypot filled on %s; nothing stored", form.id)
            if form.id == COMMENT_FORM:
                from .comments import answer

                return answer(environ, str((data.get("post") or [""])[0]), HELD, wants_json)
            return self.success(form, wants_json)
        trap = abuse.time_trap(
            settings.forms_secret,
            form.id,
            data.get(abuse.STARTED_FIELD),
            now.timestamp(),
            settings.min_fill_seconds,
        )

        referer = environ.get("HTTP_REFERER", "")
        data[SOURCE] = [source(data.get(SOURCE), referer)]
        result = validate(form, data)
        if not result.ok:
            self.count_hit(form, ip_hash, now)
            return self.invalid(form, environ, data, result.errors, wants_json)

        about, entry = "", None
        about_spec = form.about or (("post", "post") if form.id == COMMENT_FORM else None)
        if about_spec:
            # A registration, application or comment: only on what the site lists, while open.
            kind, about_field = about_spec
            about = result.values.get(about_field, "")
            try:
                entry = self.manifest.entry(kind, about)
            except ManifestUnavailable as error:
                log.error("endpoint: site manifest unavailable (%s)", error)
                raise HTTPError(503, NOT_SAVED_MANIFEST) from None
            refusal = closed_reason(kind, entry, now)
            if refusal:
                self.count_hit(form, ip_hash, now)
                return self.invalid(form, environ, data, {about_field: refusal}, wants_json)
            if form.id == COMMENT_FORM:
                from .comments import parent_refusal

                refusal = parent_refusal(self.storage, about, result.values.get("parent", ""))
                if refusal:
                    self.count_hit(form, ip_hash, now)
                    return self.invalid(form, environ, data, {"": refusal}, wants_json)
        if trap == "fast":
            # A bot, or a person quick on the button: ask to send again (not stored).
            self.count_hit(form, ip_hash, now)
            log.info("endpoint: %s sent too fast after start; asked to send again", form.id)
            return self.invalid(form, environ, data, {"": SEND_AGAIN}, wants_json)

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
            page_url=page_address(referer),
            ip_hash=ip_hash,
            user_agent=clean_text(environ.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX_LENGTH],
            idempotency_token=abuse.clean_token(data.get(abuse.TOKEN_FIELD)),
            email=email_key(result.email),
            content_hash=abuse.content_hash(form.id, fields),
            notify_state="pending" if form.notify else "none",
            about=about,
        )
        if form.id == COMMENT_FORM:
            from .comments import initial_status

            status = initial_status(settings, self.storage, result.email, fields.get("comment", ""))
            # The moderators hear of held comments only.
            notify = "pending" if form.notify and status == HELD else "none"
            submission = replace(submission, status=status, notify_state=notify)
        since = now - timedelta(seconds=settings.duplicate_window_seconds)
        outcome = ""
        try:
            if form.about_kind == "training":
                stored, outcome = self.storage.register(
                    submission, places_offered(entry), abuse.submission_limits(settings, submission)
                )
                created = stored.id == submission.id
            else:
                stored, created = self.storage.store(
                    submission,
                    abuse.submission_limits(settings, submission),
                    since,
                    # An intern application's confirmation, or a newsletter signup's
                    # link to confirm its address (confirm.py), queued with it (outbox).
                    mail_kind=person_mail_kind(form),
                )
        except RateLimited as limited:
            return self.too_many(form, environ, data, limited, wants_json)
        if not created and conflicts(stored, submission):
            log.info("endpoint: token of %s sent again with other content; 409", stored.id)
            return self.already_sent(form, environ, data, wants_json)
        if form.id == COMMENT_FORM:
            from .comments import answer

            response = answer(environ, stored.about, stored.status, wants_json)
        else:
            response = self.success(form, wants_json, outcome)
        # Per-submission lines are DEBUG: `--access-log` shows them, production logs stay quiet.
        if created:
            log.debug("endpoint: stored submission %s for %s", stored.id, form.id)
            if settings.smtp_host or form.id == COMMENT_FORM:
                # The e-mail goes out after the answer (and a comment's purge runs).
                # Without SMTP_HOST there is nothing to send: the notification waits in
                # the database for `invoke notify`, and the answer goes out whole.
                response.after = lambda: self.notify(form, stored)
        else:
            log.debug("endpoint: repeat of submission %s; answered as before", stored.id)
        return response

    def count_hit(self, form, ip_hash: str, now: datetime) -> None:
        """Count a POST that stores nothing against its address's junk allowance; 429 over it.

        Junk (honeypot, too fast, invalid) has a bucket of its own: it never spends the
        allowance of the real people on the same address.
        """
        limits = abuse.junk_limits(self.settings, ip_hash)
        if limits:
            retry_after = self.storage.record_hit(ip_hash, now, limits)
            if retry_after is not None:
                raise too_many(form, retry_after)

    def too_many(self, form, environ, data, limited: RateLimited, wants_json) -> Response:
        """429 for a valid submission over a limit: nothing saved, everything typed kept.

        Without JavaScript the form comes back filled in, the reason above it (as for
        a 422), so nothing typed depends on the browser's Back button.
        """
        error = too_many(form, limited.retry_after, limited.kind)
        if wants_json:
            return Response.json(429, {"ok": False, "error": error.message}, error.headers)
        response = self.invalid(form, environ, data, {"": error.message}, wants_json)
        response.status = 429
        response.headers += error.headers
        return response

    def already_sent(self, form, environ, data, wants_json) -> Response:
        """409 for a page's token sent again with other answers: the first ones are kept."""
        if wants_json:
            return Response.json(409, {"ok": False, "error": ALREADY_SENT})
        response = self.invalid(form, environ, data, {"": ALREADY_SENT}, wants_json)
        response.status = 409
        return response

    def success(self, form, wants_json: bool, outcome: str = "") -> Response:
        """The answer to a stored (or spam, or repeated) submission.

        A registration's outcome (registered, waitlisted, already_registered) is in the
        JSON, with the address of its thank-you page; without JavaScript the browser is
        sent to that page.
        """
        page = f"{self.settings.site_url}/{form.thank_you_page(outcome)}"
        if wants_json:
            if not outcome:
                return Response(200, OK_JSON, "application/json; charset=utf-8")
            return Response.json(200, {"ok": True, "status": outcome, "thank_you": page})
        return Response(
            303,
            b"Thank you. Your form was sent.",
            "text/plain; charset=utf-8",
            [("Location", page)],
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
        """Send the organizers' e-mail, then the sender's own (after the answer).

        Failures stay pending for `invoke notify`.
        """
        from .notify import notify_submission, send_person_mail

        notify_submission(self.storage, form, submission, self.settings)
        if form.id == COMMENT_FORM:
            from .comments import mail_after_approval, purge

            purge(self.storage, self.settings, self.now())
            if submission.status == APPROVED:
                mail_after_approval(self.storage, self.manifest, self.settings, [submission.id])
        elif (form.about or form.double_opt_in) and self.settings.smtp_host:
            # The person's own mail, queued with the submission.
            send_person_mail(
                self.storage, self.manifest, self.settings, {form.id: form}, [submission.id]
            )


def person_mail_kind(form) -> str | None:
    """The mail queued for the sender of `form` with their submission, if any."""
    if form.double_opt_in:
        return CONFIRM
    return "applied" if form.about_kind == "internship" else None


def conflicts(stored, submission) -> bool:
    """True when `stored` holds `submission`'s idempotency token but other content."""
    token = submission.idempotency_token
    return (
        token is not None
        and stored.idempotency_token == token
        and stored.content_hash != submission.content_hash
    )


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


def page_address(referer: str) -> str:
    """The page that sent the form: its address without the query keys the site does not use.

    Scheme, host and path, and only ?source= and utm_* (how a partner's link is tagged):
    a link may carry someone's e-mail, phone or a token, which is not the page's address.
    No user name or password, no fragment.
    """
    try:
        parts = urlsplit(clean_text(referer))
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    if port is not None:
        host = f"{host}:{port}"
    kept = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key == SOURCE or key.startswith("utm_")
    ]
    address = urlunsplit((parts.scheme, host, parts.path, urlencode(kept), ""))
    return address[:PAGE_URL_MAX_LENGTH]


def places_offered(training: dict) -> int | None:
    """The training's capacity (None: no limit); none while its writer marks it full."""
    return 0 if training.get("status") == "full" else training.get("capacity")


TOO_MANY = {
    "address": "Too many forms were sent from your network",
    "junk": "Too many forms were sent from your network",
    "email": "Too many forms were sent with this e-mail address",
    "form": "This form is receiving more submissions than it can take right now",
}


def too_many(form, retry_after: float, kind: str = "junk") -> HTTPError:
    """The 429 answer for a post over the rate limit of `kind` (see abuse.py)."""
    if kind == "form":
        # The circuit breaker: real people may be refused too, so organizers should know.
        log.warning("endpoint: %s is over FORM_LIMIT_PER_HOUR; answering 429", form.id)
    else:
        log.info("endpoint: %s rate limit reached for a sender of %s", kind, form.id)
    minutes = max(1, int(retry_after + 59) // 60)
    when = f"in {minutes} minute{'s' if minutes != 1 else ''}"
    return HTTPError(
        429,
        f"{TOO_MANY.get(kind, TOO_MANY['junk'])}. Nothing was saved; please try again {when}.",
        [("Retry-After", str(int(retry_after + 0.999)))],
    )
