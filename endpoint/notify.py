"""E-mail the form's organizers about a new submission, after it is committed, and the
person who sent a registration or application (their confirmation, from the outbox).

A send that fails leaves the submission stored with notify_state "pending";
`invoke notify` (or `python -m endpoint notify`) sends whatever is pending. A mail that
can never be sent as it stands (an address or header that cannot be written) is marked
"failed" instead, logged, and not tried again. User input never reaches a header: the
subject and addresses come from the definition and the settings, and only a validated
e-mail address may become the Reply-To (or the To of the person's own mail), written
from the parts validation checked, never parsed or decoded again. Non-ASCII addresses
go out as they are written when the server offers SMTPUTF8; otherwise the domain is
IDNA-encoded (xn--) and a non-ASCII local part, which cannot be written, is left out.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial

from . import confirm
from .settings import SettingsError
from .validation import has_encoded_word

log = logging.getLogger("endpoint")

# The headers that hold addresses: with SMTPUTF8 they may carry UTF-8 as written.
_ADDRESS_HEADERS = ("From", "To", "Cc", "Reply-To")


class MailSetupError(SettingsError):
    """The SMTP settings do not fit the server, so every send would fail the same way.

    Its message says what to set. The mail stays pending. (A SettingsError, so
    `python -m endpoint notify` prints it as an error and exits with status 2.)
    """


class PermanentMailError(Exception):
    """This one mail can never be sent as it stands (an address or header that cannot
    be written); it is marked failed rather than retried for ever."""


class MailNoLongerWanted(PermanentMailError):
    """What this mail tells is gone (a reply deleted, notifications stopped): it is
    marked failed, not sent, and that is no fault."""


def _checked_address(address: str):
    """email_validator's result for `address` when it is one valid address fit for a
    header, exactly as validation normalised it; else None."""
    if not address or any(char in address for char in '\r\n\0,;<>"') or len(address) > 254:
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in address) or has_encoded_word(address):
        return None
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked if checked.normalized == address else None


def safe_reply_to(address: str) -> str | None:
    """`address` if it is one valid e-mail address fit for a header, else None."""
    checked = _checked_address(address)
    return checked.normalized if checked else None


def mail_address(address: str, smtputf8: bool):
    """(`address` for a header and the envelope, None) or (None, why it cannot be).

    The address is an email.headerregistry.Address built from the validated local part
    and domain, so nothing re-parses (or decodes) the text. Without SMTPUTF8 the domain
    is IDNA-encoded, and a local part with non-ASCII characters cannot be written.
    """
    from email.headerregistry import Address

    checked = _checked_address(address)
    if checked is None:
        return None, "not a valid e-mail address"
    if smtputf8:
        return Address(username=checked.local_part, domain=checked.domain), None
    if not checked.local_part.isascii():
        return None, (
            "its local part (before the @) is not ASCII, and the mail server does not "
            "offer SMTPUTF8"
        )
    return Address(username=checked.local_part, domain=checked.ascii_domain), None


def build_message(form, submission, settings, smtputf8=False):
    """The notification e-mail for one stored submission (`smtputf8`: whether the
    server takes UTF-8 addresses)."""
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    message = EmailMessage()
    message["Subject"] = f"New submission: {form.title}"
    message["From"] = settings.mail_from
    message["To"] = ", ".join(form.notify)
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    reply_to, why_not = mail_address(submission.email, smtputf8)
    if reply_to is not None:
        message["Reply-To"] = reply_to

    if form.id == "comment":  # the moderators' mail, with signed links (comments.py)
        from .comments import moderation_lines

        message.replace_header("Subject", f"Comment to moderate: {submission.about}")
        message.set_content("\n".join(moderation_lines(submission, settings)))
        return message
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
    if reply_to is None and safe_reply_to(submission.email):
        lines += [
            "",
            f"No Reply-To: {submission.email} cannot be written in a header here ({why_not}).",
            "Write to it from a mail program that can send to such addresses.",
        ]
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


def _starttls_missing(settings) -> str:
    return (
        f"the mail server at {settings.smtp_host}:{settings.smtp_port} does not offer "
        "STARTTLS, which SMTP_TLS=starttls (the default) needs. If it takes TLS from the "
        "start, set SMTP_TLS=ssl and its TLS port as SMTP_PORT (usually 465); if it has no "
        "TLS at all (a relay on this machine or a network you trust), set SMTP_TLS=none; "
        "or point SMTP_HOST and SMTP_PORT at a server that offers STARTTLS (usually port 587)"
    )


def _connect(settings):
    """An SMTP connection as configured: greeted, encrypted as SMTP_TLS says, logged in."""
    import smtplib
    import ssl

    context = ssl.create_default_context()
    if settings.smtp_tls == "ssl":
        client = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=context
        )
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    try:
        client.ehlo_or_helo_if_needed()
        if settings.smtp_tls == "starttls":
            if not client.has_extn("starttls"):
                raise MailSetupError(_starttls_missing(settings))
            client.starttls(context=context)
            client.ehlo()  # what the server offers, asked again over TLS
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password)
    except BaseException:
        client.close()
        raise
    return client


def _deliver(settings, compose) -> None:
    """Connect, then send what `compose(smtputf8)` returns: (message, recipients).

    Raises MailSetupError when the settings do not fit the server, PermanentMailError
    when the message cannot be written, and OSError or smtplib's errors otherwise.
    """
    import io
    from email.generator import BytesGenerator

    with _connect(settings) as client:
        smtputf8 = client.has_extn("smtputf8")
        try:
            message, recipients = compose(smtputf8)
        except PermanentMailError:
            raise
        except Exception as error:  # noqa: BLE001 - a header that cannot be built
            # (Only the error's type is logged: its text may hold the address.)
            raise PermanentMailError(f"it cannot be written ({type(error).__name__})") from error
        addresses = [settings.mail_from, *recipients]
        addresses += [str(message[name]) for name in _ADDRESS_HEADERS if message[name]]
        if smtputf8 and not all(address.isascii() for address in addresses):
            # UTF-8 addresses as written (RFC 6531/6532), not RFC 2047 encoded words.
            data = io.BytesIO()
            BytesGenerator(data, policy=message.policy.clone(utf8=True)).flatten(
                message, linesep="\r\n"
            )
            client.sendmail(
                settings.mail_from,
                list(recipients),
                data.getvalue(),
                mail_options=["SMTPUTF8", "BODY=8BITMIME"],
            )
        else:
            client.send_message(message, from_addr=settings.mail_from, to_addrs=list(recipients))


def send_message(message, recipients, settings) -> None:
    """Send over SMTP as configured; raises MailSetupError (settings that do not fit the
    server), OSError or smtplib's errors on failure."""
    _deliver(settings, lambda smtputf8: (message, list(recipients)))


def notify_submission(storage, form, submission, settings) -> bool:
    """Try to send one notification and record the outcome; True when it was sent.

    Never raises: a failure leaves the submission pending, or failed when it can never
    be sent.
    """
    try:
        return _notify(storage, form, submission, settings) == "sent"
    except MailSetupError:
        return False  # logged, and left pending


def _attempt(what: str, send) -> tuple[str, MailSetupError | None]:
    """Run `send()`; returns the mail's state afterwards and the setup error, if any.

    "sent"; "failed" for a mail that can never go (never retried); "pending" for
    anything else, with the MailSetupError when the SMTP settings do not fit the server.
    """
    try:
        send()
    except MailNoLongerWanted as error:
        log.info("endpoint: %s dropped: %s", what, error)
        return "failed", None
    except PermanentMailError as error:
        log.warning(
            "endpoint: %s failed for good (%s); marked failed, `invoke notify` will not retry it",
            what,
            error,
        )
        return "failed", None
    except MailSetupError as error:
        log.warning("endpoint: %s not sent: %s; left pending for `invoke notify`", what, error)
        return "pending", error
    except Exception as error:  # noqa: BLE001 - any other failure must leave it pending
        log.warning(
            "endpoint: %s not sent (%s); left pending for `invoke notify`",
            what,
            type(error).__name__,
        )
        return "pending", None
    return "sent", None


def _notify(storage, form, submission, settings) -> str:
    """Send one notification; its state afterwards ("sent", "pending", "failed", or
    "" when there was nothing to do). Raises MailSetupError after recording it."""
    if submission.notify_state != "pending" or not form.notify:
        return ""
    if not settings.smtp_host:
        # The server warns once at start-up; a line per submission would only repeat it.
        log.debug("endpoint: SMTP_HOST not set; notification %s left pending", submission.id)
        return "pending"
    state, setup_error = _attempt(
        f"notification {submission.id}",
        lambda: _deliver(
            settings,
            lambda smtputf8: (
                build_message(form, submission, settings, smtputf8),
                list(form.notify),
            ),
        ),
    )
    try:
        if state == "failed":
            storage.mark_undeliverable(submission.id, notification=True)
        else:
            storage.mark_notified(submission.id, state == "sent", datetime.now(UTC))
    except Exception as error:  # noqa: BLE001 - the submission itself is safe
        log.warning("endpoint: could not record notification state (%s)", type(error).__name__)
    if setup_error is not None:
        raise setup_error
    return state


def send_pending(storage, forms, settings, manifest=None) -> tuple[int, int]:
    """Send every pending e-mail; returns (sent, still pending), both queues counted.

    The organizers' notifications, then the mail to the people who sent forms (their
    registration or application; `manifest` defaults to SITE_MANIFEST's). Mail that
    can never be sent is marked failed and counted in neither. Raises MailSetupError
    (its message says what to set) when the SMTP settings do not fit the server: the
    first such failure stops the run, and everything stays pending.
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
        state = _notify(storage, form, submission, settings)
        sent, failed = sent + (state == "sent"), failed + (state == "pending")
    if manifest is None:
        from .manifest import Manifest

        manifest = Manifest(settings.site_manifest, settings.manifest_ttl)
    mailed, unsent = _send_person_mail(storage, manifest, settings, forms, None, True)
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
    from .signed_links import signed_link

    return signed_link(endpoint, submission, secret, "cancel") if endpoint else ""


def _one_line(text) -> str:
    return " ".join(str(text or "").split())


def person_envelope(subject, submission, settings, reply_to=(), smtputf8=False):
    """An e-mail to the person who sent `submission`, headers only (no body yet).

    The To is the address as validated (see `mail_address`; `smtputf8`: whether the
    server takes UTF-8 addresses); PermanentMailError when it cannot be written.
    """
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.mail_from
    to, why_not = mail_address(submission.email, smtputf8)
    if to is None:
        raise PermanentMailError(f"the address cannot be sent to: {why_not}")
    message["To"] = to
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    if reply_to:
        message["Reply-To"] = ", ".join(reply_to)
    return message


def build_person_message(
    kind, submission, entry, settings, endpoint="", reply_to=(), smtputf8=False
):
    """The e-mail to the person who sent `submission`, telling them `kind`.

    `entry` is the manifest's entry for the training or intern call (None when the site
    no longer lists it: the mail then names it by its slug). Registrations say when (in
    the training's own zone), where and what to bring, attach the site's .ics of the
    training and give a signed link to cancel; a newsletter signup's mail gives its signed
    link to confirm (confirm.py). Headers as `person_envelope` writes them.
    """
    entry = entry or {}
    title = _one_line(entry.get("title")) or submission.about
    subject = confirm.SUBJECTS.get(kind) or PERSON_SUBJECTS[kind].format(title=title)
    message = person_envelope(subject, submission, settings, reply_to, smtputf8)

    # Anyone may type anyone's address into the newsletter form: its mail (confirm.py)
    # repeats nothing else they typed.
    name = "" if kind in confirm.SUBJECTS else _one_line(submission.fields.get("name"))
    lines = [f"Hello {name}," if name else "Hello,", ""]
    if kind in confirm.SUBJECTS:
        lines += confirm.mail_lines(kind, submission, settings.forms_secret, endpoint)
    elif kind == "applied":
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
    that cannot be sent now stays pending, one more attempt counted; one that can never be
    sent as it stands (an address that cannot be written) is marked failed.
    """
    return _send_person_mail(storage, manifest, settings, forms, submission_ids, False)


def _compose_person_mail(build, submission, smtputf8):
    """(The mail `build(smtputf8=...)` writes, [its recipient]) as `_deliver` asks for it."""
    message = build(smtputf8=smtputf8)
    to, _ = mail_address(submission.email, smtputf8)
    return message, [str(to)]


def _send_person_mail(storage, manifest, settings, forms, submission_ids, raise_setup):
    """`send_person_mail`; with `raise_setup`, a MailSetupError is raised (once recorded)."""
    from .storage.base import APPLIED, COMMENT_FORM

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
    for number, (mail_id, kind, submission) in enumerate(pending):
        form = (forms or {}).get(submission.form_id)

        def send(kind=kind, submission=submission, form=form):
            if safe_reply_to(submission.email) is None:
                raise PermanentMailError("not a valid address to send to")
            if submission.form_id == COMMENT_FORM:  # a commenter's mail (comments.py)
                from .comments import commenter_message

                build = partial(
                    commenter_message, kind, submission, manifest.entry("post", submission.about),
                    storage, settings, manifest.endpoint(),
                )  # fmt: skip
            else:
                about_kind = "internship" if kind == APPLIED else "training"
                entry = manifest.entry(about_kind, submission.about) if submission.about else None
                build = partial(
                    build_person_message, kind, submission, entry, settings, manifest.endpoint(),
                    form.notify if form else (),
                )  # fmt: skip
            _deliver(settings, partial(_compose_person_mail, build, submission))

        state, setup_error = _attempt(f"{kind} mail for {submission.id}", send)
        try:
            if state == "failed":
                storage.mark_undeliverable(mail_id, notification=False)
            else:
                storage.mark_mail(mail_id, state == "sent", datetime.now(UTC))
        except Exception as error:  # noqa: BLE001 - the registration itself is safe
            log.warning("endpoint: could not record mail state (%s)", type(error).__name__)
        sent, failed = sent + (state == "sent"), failed + (state == "pending")
        if setup_error is not None:
            # Every other mail would fail the same way: they stay pending, untried.
            if raise_setup:
                raise setup_error
            return sent, failed + len(pending) - number - 1
    return sent, failed
