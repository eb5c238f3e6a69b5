"""E-mail the form's organizers about a new submission, after it is committed, and the
person who sent a registration or application (their confirmation, from the outbox).

A send that fails leaves the submission stored with notify_state "pending";
`invoke notify` (or `python -m endpoint notify`) sends whatever is pending. User input
never reaches a header: the subject and addresses come from the definition and the
settings, and only a validated e-mail address may become the Reply-To.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

log = logging.getLogger("endpoint")


def safe_reply_to(address: str) -> str | None:
    """`address` if it is one valid e-mail address fit for a header, else None."""
    if not address or any(char in address for char in '\r\n\0,;<>"') or len(address) > 254:
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in address):
        return None
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.normalized if checked.normalized == address else None


def build_message(form, submission, settings):
    """The notification e-mail for one stored submission."""
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    message = EmailMessage()
    message["Subject"] = f"New submission: {form.title}"
    message["From"] = settings.mail_from
    message["To"] = ", ".join(form.notify)
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    reply_to = safe_reply_to(submission.email)
    if reply_to:
        message["Reply-To"] = reply_to

    lines = [f"A new submission to “{form.title}” was stored.", ""]
    for field in form.fields:
        if field.name == "source":
            continue
        value = submission.fields.get(field.name, "")
        if isinstance(value, list):
            labels = {option.value: option.label for option in field.options}
            value = ", ".join(labels.get(item, item) for item in value)
        if "\n" in value:
            value = "\n    " + value.replace("\n", "\n    ")
        lines.append(f"{field.label}: {value}")
    lines += [
        "",
        f"Source: {submission.source or '(none)'}",
        f"Page: {submission.page_url or '(unknown)'}",
        f"Received: {submission.submitted_at}",
        f"Consent: version {submission.consent_version}",
        f"Submission id: {submission.id}",
        "",
        f"Export them all with: invoke export --form {form.id} --format csv",
    ]
    message.set_content("\n".join(lines))
    return message


def send_message(message, recipients, settings) -> None:
    """Send over SMTP as configured; raises OSError (or smtplib's errors) on failure."""
    import smtplib
    import ssl

    context = ssl.create_default_context()
    if settings.smtp_tls == "ssl":
        client = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=context
        )
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    with client:
        if settings.smtp_tls == "starttls":
            client.starttls(context=context)
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password)
        client.send_message(message, from_addr=settings.mail_from, to_addrs=list(recipients))


def notify_submission(storage, form, submission, settings) -> bool:
    """Try to send one notification and record the outcome; True when it was sent.

    Never raises: a failure only leaves the submission pending.
    """
    if submission.notify_state != "pending" or not form.notify:
        return False
    if not settings.smtp_host:
        # The server warns once at start-up; a line per submission would only repeat it.
        log.debug("endpoint: SMTP_HOST not set; notification %s left pending", submission.id)
        return False
    try:
        send_message(build_message(form, submission, settings), form.notify, settings)
    except Exception as error:  # noqa: BLE001 - any failure must leave it pending
        log.warning(
            "endpoint: notification %s not sent (%s); left pending for `invoke notify`",
            submission.id,
            type(error).__name__,
        )
        sent = False
    else:
        sent = True
    try:
        storage.mark_notified(submission.id, sent, datetime.now(UTC))
    except Exception as error:  # noqa: BLE001 - the submission itself is safe
        log.warning("endpoint: could not record notification state (%s)", type(error).__name__)
    return sent


def send_pending(storage, forms, settings, manifest=None) -> tuple[int, int]:
    """Send every pending e-mail; returns (sent, still pending), both queues counted.

    The organizers' notifications, then the mail to the people who sent forms (their
    registration or application; `manifest` defaults to SITE_MANIFEST's).
    """
    sent = failed = 0
    for submission in storage.pending_notifications():
        form = forms.get(submission.form_id)
        if form is None or not form.notify:
            log.warning(
                "endpoint: submission %s has no form or recipients to notify", submission.id
            )
            failed += 1
            continue
        if notify_submission(storage, form, submission, settings):
            sent += 1
        else:
            failed += 1
    if manifest is None:
        from .manifest import Manifest

        manifest = Manifest(settings.site_manifest, settings.manifest_ttl)
    mailed, unsent = send_person_mail(storage, manifest, settings, forms)
    return sent + mailed, failed + unsent


# --- Mail to the person who sent the form (the outbox, migration 0007) ------------
#
# A registration queues "registered" or "waitlisted" in the transaction that stores it,
# a cancellation "cancelled" (and "promoted" for the first on the waitlist), an intern
# application "applied". The text is written when the mail is sent, from the submission
# and the site's manifest entry (endpoint/manifest.py), so a failed send loses nothing.

PERSON_SUBJECTS = {
    "registered": "You are registered: {title}",
    "waitlisted": "You are on the waitlist: {title}",
    "promoted": "A place opened up, you are registered: {title}",
    "cancelled": "Your registration is cancelled: {title}",
    "applied": "We received your application: {title}",
}
PERSON_OPENINGS = {
    "registered": "You are registered for {title}. We look forward to seeing you.",
    "waitlisted": (
        "{title} is full, so you are on the waitlist. If a place opens up it goes to the "
        "first person on the waitlist, and we will e-mail you as soon as it is yours."
    ),
    "promoted": (
        "Good news: a place opened up at {title}, and it is yours. You are now registered "
        "(no longer on the waitlist)."
    ),
    "cancelled": (
        "Your registration for {title} is cancelled, as you asked. If a place was held for "
        "you, it now goes to the next person on the waitlist."
    ),
}
# Kinds that tell of a place held or awaited: they carry the .ics and a cancel link.
_WITH_EVENT = ("registered", "waitlisted", "promoted")


def cancel_link(endpoint: str, submission, secret: str) -> str:
    """The signed one-click cancel address of a registration ("" without an endpoint)."""
    if not endpoint:
        return ""
    from . import abuse

    signature = abuse.sign_cancel(secret, submission.id)
    return f"{endpoint}/forms/{submission.form_id}/cancel?r={submission.id}&s={signature}"


def _one_line(text) -> str:
    return " ".join(str(text or "").split())


def build_person_message(kind, submission, entry, settings, endpoint="", reply_to=()):
    """The e-mail to the person who sent `submission`, telling them `kind`.

    `entry` is the manifest's entry for the training or intern call (None when the site
    no longer lists it: the mail then names it by its slug). Registrations say when (in
    the training's own zone), where and what to bring, attach the site's .ics of the
    training and give a signed link to cancel.
    """
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    entry = entry or {}
    title = _one_line(entry.get("title")) or submission.about
    message = EmailMessage()
    message["Subject"] = PERSON_SUBJECTS[kind].format(title=title)
    message["From"] = settings.mail_from
    message["To"] = submission.email
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    if reply_to:
        message["Reply-To"] = ", ".join(reply_to)

    name = _one_line(submission.fields.get("name"))
    lines = [f"Hello {name}," if name else "Hello,", ""]
    if kind == "applied":
        lines.append(f"Thank you for applying for {title}. We received your application")
        lines.append("and will be in touch once we have read it.")
        if entry.get("apply_by_text"):
            lines += ["", f"Applications close at the end of {entry['apply_by_text']}."]
    else:
        lines.append(PERSON_OPENINGS[kind].format(title=title))
        if kind != "cancelled":
            lines.append("")
            if entry.get("when"):
                lines.append(f"When: {entry['when']}")
            if entry.get("where"):
                lines.append(f"Where: {entry['where']}")
            if entry.get("bring"):
                lines.append("What to bring:")
                lines += [f"  - {item}" for item in entry["bring"]]
    if entry.get("url"):
        lines += ["", f"Details: {entry['url']}"]
    attach = kind in _WITH_EVENT and entry.get("ics")
    if attach:
        lines += ["", f"The attached {submission.about}.ics adds it to your calendar."]
    link = cancel_link(endpoint, submission, settings.forms_secret) if kind in _WITH_EVENT else ""
    if link:
        what = "your place" if kind != "waitlisted" else "your place on the waitlist"
        lines += [
            "",
            f"Cannot come after all? Cancel {what} here, so it goes to someone else:",
            link,
        ]
    if reply_to:
        lines += ["", "Questions? Reply to this e-mail."]
    message.set_content("\n".join(lines))
    if attach:
        message.add_attachment(
            entry["ics"].encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename=f"{submission.about}.ics",
            params={"method": "PUBLISH", "charset": "utf-8"},
        )
    return message


def send_person_mail(storage, manifest, settings, forms=None, submission_ids=None):
    """Send the pending mail to the people who sent forms; returns (sent, still pending).

    `submission_ids` limits it to those submissions (after the answer); `forms` ({id:
    definition}) gives each mail its Reply-To, the form's organizers. Never raises: a mail
    that cannot be written or sent stays pending, one more attempt counted.
    """
    from .storage.base import APPLIED

    try:
        pending = storage.pending_mail(submission_ids)
    except Exception as error:  # noqa: BLE001 - the mail stays queued
        log.warning("endpoint: could not read the mail queue (%s)", type(error).__name__)
        return 0, 0
    if not pending:
        return 0, 0
    if not settings.smtp_host:
        log.debug("endpoint: SMTP_HOST not set; %d mail(s) left pending", len(pending))
        return 0, len(pending)
    sent = failed = 0
    for mail_id, kind, submission in pending:
        form = (forms or {}).get(submission.form_id)
        try:
            about_kind = "internship" if kind == APPLIED else "training"
            entry = manifest.entry(about_kind, submission.about) if submission.about else None
            endpoint = manifest.endpoint()
            to = safe_reply_to(submission.email)
            if to is None:
                raise ValueError("not an address to send to")
            message = build_person_message(
                kind, submission, entry, settings, endpoint, form.notify if form else ()
            )
            send_message(message, [to], settings)
        except Exception as error:  # noqa: BLE001 - any failure must leave it pending
            log.warning(
                "endpoint: %s mail for %s not sent (%s); left pending for `invoke notify`",
                kind,
                submission.id,
                type(error).__name__,
            )
            ok = False
        else:
            ok = True
        try:
            storage.mark_mail(mail_id, ok, datetime.now(UTC))
        except Exception as error:  # noqa: BLE001 - the registration itself is safe
            log.warning("endpoint: could not record mail state (%s)", type(error).__name__)
        sent, failed = sent + ok, failed + (not ok)
    return sent, failed
