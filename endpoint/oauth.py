"""Sign-in for the browser editor (Decap CMS's GitHub backend) without Netlify: the OAuth
handshake with GitHub, served by the endpoint, for members of the site's organisation.

    GET /oauth/auth       the editor's sign-in window: off to GitHub's authorize page,
                          with a `state` signed with FORMS_SECRET and kept in a cookie
    GET /oauth/callback   back from GitHub: checks the state against the cookie, trades
                          the code for a token, checks the person is an active member of
                          CMS_GITHUB_ORG (and of CMS_GITHUB_TEAM when set), then hands
                          the token to the editor's window by postMessage, only to the
                          site's own origin (SITE_URL)

The GitHub OAuth app's id and secret are GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET
(parameters of template.yaml); without them both routes answer 404. The token is never
stored or logged. A wrong, old or foreign `state` is refused (403) before GitHub is asked
anything. GITHUB_URL and GITHUB_API_URL exist for the tests' stand-in GitHub.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import time
from html import escape
from urllib.parse import parse_qs, urlencode, urlsplit

from . import abuse
from .signed_links import page, purpose_secret
from .web import HTTPError, Response, application_uri

log = logging.getLogger("endpoint")

STATE_COOKIE = "cms_oauth_state"
STATE_SECONDS = 600  # time to sign in at GitHub
# What the editor needs: the repository's contents and pull requests, and (read:org)
# whether the person belongs to the organisation.
SCOPE = "repo,read:org"
_PURPOSE = "oauth"


def route(app, path: str, environ, method: str) -> Response:
    """Answer /oauth/auth and /oauth/callback."""
    settings = app.settings
    if not (settings.github_client_id and settings.github_client_secret):
        raise HTTPError(404, "Sign-in for the editor is not set up on this endpoint.")
    if method not in ("GET", "HEAD"):
        raise HTTPError(405, "Use GET.", [("Allow", "GET")])
    callback = f"{application_uri(environ).rstrip('/')}/oauth/callback"
    if path == "/oauth/auth":
        return _start(settings, callback)
    return _finish(app, environ, callback)


def _sign(settings, text: str) -> str:
    return abuse.sign_cancel(purpose_secret(settings.forms_secret, _PURPOSE), text)


def _start(settings, callback: str) -> Response:
    nonce = os.urandom(16).hex()
    expires = int(time.time()) + STATE_SECONDS
    state = f"{nonce}.{expires}.{_sign(settings, f'{nonce}.{expires}')}"
    query = urlencode(
        {
            "client_id": settings.github_client_id,
            "redirect_uri": callback,
            "scope": SCOPE,
            "state": state,
        }
    )
    cookie = (
        f"{STATE_COOKIE}={state}; Max-Age={STATE_SECONDS}; Path=/oauth; HttpOnly; "
        f"SameSite=Lax{'; Secure' if callback.startswith('https:') else ''}"
    )
    return Response(
        303,
        b"Off to GitHub to sign in.",
        "text/plain; charset=utf-8",
        [("Location", f"{settings.github_url}/login/oauth/authorize?{query}"),
         ("Set-Cookie", cookie)],
    )  # fmt: skip


def state_refusal(settings, given: str, cookie: str, now: float) -> str | None:
    """Why the `state` GitHub sent back cannot be trusted, or None."""
    nonce, _, rest = given.partition(".")
    expires, _, signature = rest.partition(".")
    if not given or given != cookie:
        return "This sign-in did not start in this browser (or took too long)."
    if not abuse.cancel_signed(
        purpose_secret(settings.forms_secret, _PURPOSE), f"{nonce}.{expires}", signature
    ):
        return "This sign-in's state was changed."
    if not expires.isdigit() or int(expires) < now:
        return "This sign-in took too long."
    return None


def _cookie(environ, name: str) -> str:
    for part in environ.get("HTTP_COOKIE", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _finish(app, environ, callback: str) -> Response:
    settings = app.settings
    query = parse_qs(environ.get("QUERY_STRING", ""))
    code = (query.get("code") or [""])[0]
    state = (query.get("state") or [""])[0]
    refusal = state_refusal(settings, state, _cookie(environ, STATE_COOKIE), time.time())
    if refusal is None and not code:
        refusal = "GitHub sent no code: the sign-in was cancelled or refused."
    if refusal:
        log.info("endpoint: editor sign-in refused (%s)", refusal)
        return _failure(settings, 403, refusal)
    try:
        token = _github(
            settings,
            f"{settings.github_url}/login/oauth/access_token",
            {
                "client_id": settings.github_client_id,
                "client_secret": settings.github_client_secret,
                "code": code,
                "redirect_uri": callback,
            },
        ).get("access_token")
        if not token:
            return _failure(settings, 403, "GitHub did not give a token for this sign-in.")
        member, login = _membership(settings, token)
    except OSError as error:
        log.warning("endpoint: GitHub did not answer the sign-in (%s)", type(error).__name__)
        return _failure(settings, 503, "GitHub could not be reached. Try again in a minute.")
    if not member:
        log.info("endpoint: editor sign-in refused for %s (not a member)", login or "someone")
        who = settings.cms_github_team or settings.cms_github_org
        return _failure(settings, 403, f"Only members of {who} on GitHub can use the editor. "
                        "Ask an organizer to add you.")  # fmt: skip
    log.info("endpoint: editor sign-in for %s", login)
    return _handover(settings, {"token": token, "provider": "github"})


def _github(settings, url: str, form=None, token: str = "") -> dict:
    """POST `form` (or GET) to GitHub; its JSON answer ({} for 404). Raises OSError."""
    import urllib.error
    import urllib.request

    headers = {"Accept": "application/json", "User-Agent": "organizing20-endpoint"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data, headers)
    try:
        with urllib.request.urlopen(request, timeout=settings.github_timeout) as answer:
            return json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        if error.code in (401, 403, 404):
            return {}
        raise


def _membership(settings, token: str) -> tuple[bool, str]:
    """(whether the token's person may edit, their login)."""
    api = settings.github_api_url
    login = _github(settings, f"{api}/user", token=token).get("login", "")
    org = settings.cms_github_org
    if not org or not login:
        return False, login
    if settings.cms_github_team:
        url = f"{api}/orgs/{org}/teams/{settings.cms_github_team}/memberships/{login}"
    else:
        url = f"{api}/user/memberships/orgs/{org}"
    return _github(settings, url, token=token).get("state") == "active", login


def _handover(settings, result: dict) -> Response:
    """The page that gives the editor's window its token, the way Decap CMS expects:
    announce "authorizing:github", then answer the editor's reply with the token, to the
    site's origin only."""
    parts = urlsplit(settings.site_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    message = "authorization:github:success:" + json.dumps(result)
    script = (
        "(() => {\n"
        f"  const origin = {json.dumps(origin)};\n"
        "  window.addEventListener('message', (event) => {\n"
        "    if (event.origin !== origin) return;\n"
        f"    window.opener.postMessage({json.dumps(message)}, origin);\n"
        "  });\n"
        "  window.opener.postMessage('authorizing:github', origin);\n"
        "})();\n"
    )
    body = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Signing in</title>\n</head>\n<body>\n<p>Signing you in to the editor…</p>\n"
        f"<script>{script}</script>\n</body>\n</html>\n"
    )
    # The token is in this page: only this script (hashed exactly as it stands between
    # the tags) runs, and nothing frames it.
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = f"default-src 'none'; script-src 'sha256-{digest}'; frame-ancestors 'none'"
    headers = [("Content-Security-Policy", policy), ("Referrer-Policy", "no-referrer")]
    return Response.html(200, body, headers)


def _failure(settings, status: int, reason: str) -> Response:
    back = f'<p><a href="{escape(settings.site_url)}/admin/">Back to the editor</a></p>\n'
    return page(status, "You are not signed in", [reason], settings.site_url, back)
