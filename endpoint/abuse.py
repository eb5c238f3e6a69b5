"""Defences against spam and floods, kept pure so each one is easy to test.

- honeypot: a text field people never see (`_hp`); anything in it marks a bot.
- time trap: `GET /forms/<id>/start` hands the page script a signed start time
  (`_started`); a submission sooner than MIN_FILL_SECONDS after it is not stored (a
  valid one is asked to be sent again: a person may be quick on the button). Without
  JavaScript there is no start time, so there is no time trap either.
- rate limits: token buckets (README, "The endpoint's limits") per salted hash of the
  address, counting valid submissions (a whole room on one Wi-Fi gets through) apart
  from junk (honeypot, too fast, invalid), per e-mail address, and per form. The raw
  address is never stored. Behind trusted proxies the address is the one they forward.
- origin allowlist: Origin, else the Referer's origin, must be one of ALLOWED_ORIGINS.
- idempotency: a random token per page view (`_token`); without one, duplicates are
  recognised by form, e-mail and a hash of the content.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from urllib.parse import urlsplit

from webforms.names import HONEYPOT as HONEYPOT_FIELD
from webforms.names import STARTED as STARTED_FIELD
from webforms.names import TOKEN as TOKEN_FIELD

from .storage.base import Limit

RESERVED_FIELDS = (HONEYPOT_FIELD, TOKEN_FIELD, STARTED_FIELD)
# A start time older than this is ignored rather than trusted (a tab left open for
# days still submits, just without the time trap).
START_MAX_AGE_SECONDS = 7 * 24 * 3600
# Clocks of different servers may disagree a little.
CLOCK_SKEW_SECONDS = 60

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_STARTED = re.compile(r"^(\d{1,12})\.([0-9a-f]{32})$")


def hash_ip(ip: str, salt: str) -> str:
    """Salted hash of an IP address (HMAC-SHA256), the only form in which it is kept."""
    return hmac.new(salt.encode(), (ip or "").encode(), hashlib.sha256).hexdigest()


def client_address(environ, trusted_proxies) -> str:
    """The address a post came from: REMOTE_ADDR, unless that is a trusted proxy.

    From a trusted proxy, X-Forwarded-For is read from the right (each proxy appends
    the address it saw) past every trusted hop; the first untrusted one is the sender.
    What lies further left was written by the sender and is never believed. Without
    trusted proxies the header is ignored altogether.
    """
    remote = environ.get("REMOTE_ADDR", "")
    if not trusted_proxies or not _trusted(remote, trusted_proxies):
        return remote
    hops = [hop.strip() for hop in environ.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            address = _address(hop)
            return str(address) if address is not None else hop
    # Every hop is a trusted address (a post from inside): the first one sent it.
    return hops[0] if hops else remote


def _address(text: str):
    """An IP address from "192.0.2.1", "192.0.2.1:4711" or "[2001:db8::1]:443"; else None."""
    import ipaddress  # only behind trusted proxies

    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def _trusted(text: str, networks) -> bool:
    address = _address(text.strip())
    return address is not None and any(address in network for network in networks)


def submission_limits(settings, submission) -> tuple[Limit, ...]:
    """The buckets a valid submission spends, all or none: its address, e-mail and form.

    In this order in every transaction, so concurrent ones lock the rows in one order.
    """
    limits = []
    if settings.rate_limit_per_hour:
        bucket = f"address:{submission.ip_hash}"
        limits.append(Limit(bucket, settings.rate_limit_per_hour, settings.rate_limit_burst))
    if settings.email_limit_per_hour and submission.email:
        bucket = f"email:{hash_ip(submission.email, settings.ip_hash_salt)[:32]}"
        limits.append(Limit(bucket, settings.email_limit_per_hour, settings.email_limit_per_hour))
    if settings.form_limit_per_hour:
        bucket = f"form:{submission.form_id}"
        limits.append(Limit(bucket, settings.form_limit_per_hour, settings.form_limit_per_hour))
    return tuple(limits)


def junk_limits(settings, ip_hash: str) -> tuple[Limit, ...]:
    """The bucket a post that stores nothing (honeypot, too fast, invalid) spends."""
    if not settings.junk_limit_per_hour:
        return ()
    per_hour = settings.junk_limit_per_hour
    return (Limit(f"junk:{ip_hash}", per_hour, per_hour),)


def new_token() -> str:
    """A fresh idempotency token for one page view."""
    import secrets  # only the start route needs it; kept off the cold path

    return secrets.token_urlsafe(24)


def clean_token(value) -> str | None:
    """The submitted token if it is well-formed, else None (treated as no token)."""
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if isinstance(value, str) and _TOKEN.match(value.strip()):
        return value.strip()
    return None


def _signature(secret: str, form_id: str, timestamp: str) -> str:
    message = f"{form_id}:{timestamp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def sign_start(secret: str, form_id: str, now: float) -> str:
    """A signed start time for `form_id`: "<unix seconds>.<signature>"."""
    timestamp = str(int(now))
    return f"{timestamp}.{_signature(secret, form_id, timestamp)}"


def sign_cancel(secret: str, submission_id: str) -> str:
    """The signature of a registration's cancel link: HMAC-SHA256 of its id, in hex."""
    message = f"cancel:{submission_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def cancel_signed(secret: str, submission_id: str, signature) -> bool:
    """True when `signature` is the cancel link's signature of `submission_id`."""
    if not isinstance(signature, str) or not isinstance(submission_id, str):
        return False
    expected = sign_cancel(secret, submission_id)
    return hmac.compare_digest(signature.strip().lower().encode(), expected.encode())


def time_trap(secret: str, form_id: str, value, now: float, min_seconds: float) -> str:
    """Judge the `_started` value: "fast" (a bot), "ok", or "absent" (no usable start).

    Missing, malformed, forged, future or very old values are all "absent": the person
    may simply have had JavaScript off, so they are not punished for it.
    """
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if not isinstance(value, str):
        return "absent"
    match = _STARTED.match(value.strip())
    if not match:
        return "absent"
    timestamp, signature = match.groups()
    if not hmac.compare_digest(signature, _signature(secret, form_id, timestamp)):
        return "absent"
    elapsed = now - int(timestamp)
    if elapsed < -CLOCK_SKEW_SECONDS or elapsed > START_MAX_AGE_SECONDS:
        return "absent"
    return "fast" if elapsed < min_seconds else "ok"


def honeypot_filled(data: dict) -> bool:
    """True when the hidden honeypot field holds anything but whitespace."""
    value = data.get(HONEYPOT_FIELD)
    if isinstance(value, list):
        return any(isinstance(item, str) and item.strip() for item in value)
    return isinstance(value, str) and bool(value.strip())


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of a URL, or None when it has none."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def request_origin(environ) -> str | None:
    """The Origin header, else the origin of the Referer; None when neither is usable."""
    origin = environ.get("HTTP_ORIGIN", "")
    if origin and origin != "null":
        return origin_of(origin)
    referer = environ.get("HTTP_REFERER", "")
    return origin_of(referer) if referer else None


def origin_allowed(origin: str | None, allowed) -> bool:
    """True when `origin` is in the allowlist (compared case-insensitively)."""
    return origin is not None and origin in {item.lower() for item in allowed}


def content_hash(form_id: str, values: dict) -> str:
    """A stable hash of a submission's cleaned values, for spotting duplicates."""
    canonical = json.dumps([form_id, values], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
