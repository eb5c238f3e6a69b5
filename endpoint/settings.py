"""Endpoint settings, read from the environment once at start-up.

Every variable is optional for local development; production must set FORMS_SECRET,
IP_HASH_SALT, DATABASE_URL, SITE_URL and ALLOWED_ORIGINS (see the README).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("endpoint")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'data' / 'submissions.sqlite3'}"
DEFAULT_SITE_URL = "http://127.0.0.1:8000"
DEFAULT_ALLOWED_ORIGINS = ("http://127.0.0.1:8000", "http://localhost:8000")
SMTP_TLS_MODES = ("starttls", "ssl", "none")


class SettingsError(ValueError):
    """An environment variable holds a value the endpoint cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the endpoint can be configured with; see `from_env` for the variables."""

    database_url: str = DEFAULT_DATABASE_URL
    site_url: str = DEFAULT_SITE_URL
    allowed_origins: tuple[str, ...] = DEFAULT_ALLOWED_ORIGINS
    forms_secret: str = ""
    ip_hash_salt: str = ""
    min_fill_seconds: float = 3.0
    rate_limit_per_hour: int = 20
    max_body_bytes: int = 64 * 1024
    max_fields: int = 100
    duplicate_window_seconds: int = 600
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: str = "starttls"
    smtp_timeout: float = 10.0
    mail_from: str = "forms@example.org"
    forms_dir: str | None = None

    def __post_init__(self):
        # Without configured secrets, use random ones for this process: safe, but
        # start tokens and rate-limit hashes do not survive a restart. (os.urandom is
        # what secrets.token_hex uses; importing secrets costs the cold start.)
        if not self.forms_secret:
            object.__setattr__(self, "forms_secret", os.urandom(32).hex())
        if not self.ip_hash_salt:
            object.__setattr__(self, "ip_hash_salt", os.urandom(32).hex())
        if self.smtp_tls not in SMTP_TLS_MODES:
            raise SettingsError(f"SMTP_TLS must be one of {', '.join(SMTP_TLS_MODES)}")
        object.__setattr__(self, "site_url", self.site_url.rstrip("/"))
        object.__setattr__(
            self, "allowed_origins", tuple(origin.rstrip("/") for origin in self.allowed_origins)
        )

    @classmethod
    def from_env(cls, environ=None, warn=True) -> Settings:
        """Build settings from environment variables (os.environ by default)."""
        env = os.environ if environ is None else environ
        if warn and (not env.get("FORMS_SECRET") or not env.get("IP_HASH_SALT")):
            log.warning(
                "endpoint: FORMS_SECRET or IP_HASH_SALT not set; using random values "
                "for this process only (fine for development, not for production)"
            )
        origins = env.get("ALLOWED_ORIGINS")
        return cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            site_url=env.get("SITE_URL") or DEFAULT_SITE_URL,
            allowed_origins=(
                tuple(item.strip() for item in origins.split(",") if item.strip())
                if origins
                else DEFAULT_ALLOWED_ORIGINS
            ),
            forms_secret=env.get("FORMS_SECRET", ""),
            ip_hash_salt=env.get("IP_HASH_SALT", ""),
            min_fill_seconds=_number(env, "MIN_FILL_SECONDS", 3.0, float),
            rate_limit_per_hour=_number(env, "RATE_LIMIT_PER_HOUR", 20, int),
            max_body_bytes=_number(env, "MAX_BODY_BYTES", 64 * 1024, int),
            max_fields=_number(env, "MAX_FIELDS", 100, int),
            duplicate_window_seconds=_number(env, "DUPLICATE_WINDOW_SECONDS", 600, int),
            smtp_host=env.get("SMTP_HOST", ""),
            smtp_port=_number(env, "SMTP_PORT", 587, int),
            smtp_user=env.get("SMTP_USER", ""),
            smtp_password=env.get("SMTP_PASSWORD", ""),
            smtp_tls=(env.get("SMTP_TLS") or "starttls").lower(),
            smtp_timeout=_number(env, "SMTP_TIMEOUT", 10.0, float),
            mail_from=env.get("MAIL_FROM") or "forms@example.org",
            forms_dir=env.get("FORMS_DIR") or None,
        )


def _number(env, name, default, kind):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative")
    return value
