"""Endpoint settings, read from the environment once at start-up.

Every variable is optional for local development; production must set FORMS_SECRET,
IP_HASH_SALT, DATABASE_URL, SITE_URL and ALLOWED_ORIGINS (see the README).

ENVIRONMENT=production (or any PostgreSQL DATABASE_URL) makes FORMS_SECRET and
IP_HASH_SALT required: `from_env` raises SettingsError naming the missing ones, so the
server (`python -m endpoint`) and the Lambda handler refuse to start. Without them each
process (each Lambda container, each worker) would make up its own, and the rate limits
and signed start times would change from one request to the next.
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
COMMENTS_MODERATION_MODES = ("all", "first")
REQUIRED_SECRETS = ("FORMS_SECRET", "IP_HASH_SALT")


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
    # Rate limits (README, "The endpoint's limits"). Each is a bucket of posts that
    # refills at its hourly rate; 0 switches a limit off. People on one network share
    # one address (a training room's Wi-Fi, a campus, a union hall), so the per-address
    # limit counts only valid submissions and lets a whole room through at once ...
    rate_limit_per_hour: int = 100
    rate_limit_burst: int = 100
    # ... while junk (honeypot, too fast, invalid) from an address has a smaller bucket
    # of its own: a bot in the room never spends the people's allowance.
    junk_limit_per_hour: int = 30
    # One person sending again and again, from anywhere (all forms together).
    email_limit_per_hour: int = 10
    # A circuit breaker for one form, all addresses together: a flood from many
    # addresses stops here, far above a big campaign's busiest hour.
    form_limit_per_hour: int = 2000
    # Behind a reverse proxy or CDN every post comes from the proxy's address: list the
    # proxies (addresses or networks) whose X-Forwarded-For is believed. No one else's is.
    trusted_proxies: tuple = ()
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
    # Where the site publishes its trainings and intern calls (endpoint/manifest.py):
    # an http(s) address or a file; empty means SITE_URL/forms/manifest.json.
    site_manifest: str = ""
    manifest_ttl: float = 60.0
    # Comments (endpoint/comments.py): "all" holds every comment for an organizer;
    # "first" lets an address with an approved comment through at once.
    comments_moderation: str = "all"
    comments_purge_after_days: int = 30
    comments_token: str = ""  # lets a build elsewhere read every approved comment
    # Sign-in for the browser editor (endpoint/oauth.py): the GitHub OAuth app, and who
    # may sign in (the organisation's members, or only one team's when set).
    github_client_id: str = ""
    github_client_secret: str = ""
    cms_github_org: str = ""
    cms_github_team: str = ""
    github_url: str = "https://github.com"  # the tests point these at a stand-in
    github_api_url: str = "https://api.github.com"
    github_timeout: float = 10.0

    def __post_init__(self):
        # Without configured secrets, use random ones for this process: safe, but
        # start tokens and rate-limit hashes do not survive a restart. (os.urandom is
        # what secrets.token_hex uses; importing secrets costs the cold start.)
        if not self.forms_secret:
            object.__setattr__(self, "forms_secret", os.urandom(32).hex())
        if not self.ip_hash_salt:
            object.__setattr__(self, "ip_hash_salt", os.urandom(32).hex())
        if self.comments_moderation not in COMMENTS_MODERATION_MODES:
            raise SettingsError("COMMENTS_MODERATION must be all or first")
        if self.smtp_tls not in SMTP_TLS_MODES:
            raise SettingsError(f"SMTP_TLS must be one of {', '.join(SMTP_TLS_MODES)}")
        object.__setattr__(self, "site_url", self.site_url.rstrip("/"))
        if self.rate_limit_per_hour and self.rate_limit_burst < 1:
            raise SettingsError(
                "RATE_LIMIT_BURST must be at least 1 (how many people on one address may "
                "send a form at once); to switch the per-address limit off, set "
                "RATE_LIMIT_PER_HOUR=0"
            )
        object.__setattr__(self, "trusted_proxies", _networks(self.trusted_proxies))
        if not self.site_manifest:
            object.__setattr__(self, "site_manifest", f"{self.site_url}/forms/manifest.json")
        object.__setattr__(
            self, "allowed_origins", tuple(origin.rstrip("/") for origin in self.allowed_origins)
        )

    @classmethod
    def from_env(cls, environ=None, warn=True, require_secrets=True) -> Settings:
        """Build settings from environment variables (os.environ by default).

        In production (ENVIRONMENT=production, or a PostgreSQL DATABASE_URL) raises
        SettingsError unless FORMS_SECRET and IP_HASH_SALT are set; `require_secrets`
        False is for the organizers' commands that only read the database.
        """
        env = os.environ if environ is None else environ
        database_url = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        production = (env.get("ENVIRONMENT") or "").strip().lower() == "production"
        if require_secrets and (production or database_url.lower().startswith("postgres")):
            missing = [name for name in REQUIRED_SECRETS if not env.get(name)]
            if missing:
                why = "ENVIRONMENT=production" if production else "DATABASE_URL is PostgreSQL"
                raise SettingsError(
                    f"{' and '.join(missing)} must be set in production ({why}): every "
                    "process would otherwise use random values of its own, and the rate "
                    "limits and the forms' start times would differ from one request to the "
                    "next. Set each to a long random string (python -c 'import secrets; "
                    "print(secrets.token_hex(32))'), the same for every process."
                )
        if warn and (not env.get("FORMS_SECRET") or not env.get("IP_HASH_SALT")):
            log.warning(
                "endpoint: FORMS_SECRET or IP_HASH_SALT not set; using random values "
                "for this process only (fine for development, not for production)"
            )
        origins = env.get("ALLOWED_ORIGINS")
        return cls(
            database_url=database_url,
            site_url=env.get("SITE_URL") or DEFAULT_SITE_URL,
            allowed_origins=(
                tuple(item.strip() for item in origins.split(",") if item.strip())
                if origins
                else DEFAULT_ALLOWED_ORIGINS
            ),
            forms_secret=env.get("FORMS_SECRET", ""),
            ip_hash_salt=env.get("IP_HASH_SALT", ""),
            min_fill_seconds=_number(env, "MIN_FILL_SECONDS", 3.0, float),
            rate_limit_per_hour=_number(env, "RATE_LIMIT_PER_HOUR", 100, int),
            rate_limit_burst=_number(env, "RATE_LIMIT_BURST", 100, int),
            junk_limit_per_hour=_number(env, "JUNK_LIMIT_PER_HOUR", 30, int),
            email_limit_per_hour=_number(env, "EMAIL_LIMIT_PER_HOUR", 10, int),
            form_limit_per_hour=_number(env, "FORM_LIMIT_PER_HOUR", 2000, int),
            trusted_proxies=env.get("TRUSTED_PROXIES", ""),
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
            site_manifest=env.get("SITE_MANIFEST", ""),
            manifest_ttl=_number(env, "MANIFEST_TTL", 60.0, float),
            comments_moderation=(env.get("COMMENTS_MODERATION") or "all").strip().lower(),
            comments_purge_after_days=_number(env, "COMMENTS_PURGE_AFTER_DAYS", 30, int),
            comments_token=env.get("COMMENTS_TOKEN", ""),
            github_client_id=env.get("GITHUB_CLIENT_ID", ""),
            github_client_secret=env.get("GITHUB_CLIENT_SECRET", ""),
            cms_github_org=env.get("CMS_GITHUB_ORG", ""),
            cms_github_team=env.get("CMS_GITHUB_TEAM", ""),
            github_url=(env.get("GITHUB_URL") or "https://github.com").rstrip("/"),
            github_api_url=(env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        )


def _number(env, name, default, kind):
    raw = env.get(name)
    if raw in (None, ""):
        return default
    what = "a whole number" if kind is int else "a number"
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {what} (such as {default}), not {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative (the default is {default})")
    return value


def _networks(value) -> tuple:
    """TRUSTED_PROXIES ("10.0.0.0/8, 192.0.2.10", or a sequence) as IP networks."""
    items = value.split(",") if isinstance(value, str) else value
    items = [item.strip() if isinstance(item, str) else item for item in items]
    items = [item for item in items if item]
    if not items:
        return ()
    import ipaddress  # only when proxies are configured: kept off the cold start

    networks = []
    for item in items:
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(
                f"TRUSTED_PROXIES: {item!r} is not an IP address or network; list your "
                "proxies' addresses, comma-separated, e.g. TRUSTED_PROXIES=10.0.0.0/8,192.0.2.10"
            ) from None
        if network.prefixlen == 0:
            raise SettingsError(
                f"TRUSTED_PROXIES: {item} would believe X-Forwarded-For from anyone, so every "
                "sender could choose the address they are counted under; list only your "
                "proxies' addresses or networks"
            )
        networks.append(network)
    return tuple(networks)
