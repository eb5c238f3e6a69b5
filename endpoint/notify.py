"""E-mail the form's organizers about a new submission, after it is committed.

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


def send_pending(storage, forms, settings) -> tuple[int, int]:
    """Send every pending notification; returns (sent, still pending)."""
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
    return sent, failed
