"""The editor's sign-in (endpoint/oauth.py) against a stand-in for GitHub on loopback: the
handshake completes for a member, in real headless Chromium as Decap CMS runs it, and a
wrong state, a stranger or a missing setup get nothing."""

import http.server
import json
import threading
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs, urlencode, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from tests.helpers import loopback_server

from .conftest import ENDPOINT_HOST, SITE

TOKEN = "gho_stand_in_token"
MEMBERS = {"ann"}


class _GitHub(http.server.BaseHTTPRequestHandler):
    """GitHub's authorize page (which agrees at once), token exchange and API."""

    asked: list = []
    login = "ann"

    def _json(self, status, data):
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - the stdlib's name
        self.asked.append(self.path)
        path, _, query = self.path.partition("?")
        if path == "/login/oauth/authorize":
            given = parse_qs(query)
            back = (
                given["redirect_uri"][0]
                + "?"
                + urlencode({"code": "good-code", "state": given["state"][0]})
            )
            self.send_response(302)
            self.send_header("Location", back)
            self.end_headers()
            return
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._json(401, {"message": "Bad credentials"})
        if path == "/user":
            return self._json(200, {"login": self.login})
        if path == "/user/memberships/orgs/organizing20" and self.login in MEMBERS:
            return self._json(200, {"state": "active", "role": "member"})
        return self._json(404, {"message": "Not Found"})

    def do_POST(self):  # noqa: N802 - the stdlib's name
        self.asked.append(self.path)
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        good = form.get("code") == ["good-code"] and form.get("client_secret") == ["shh"]
        self._json(200, {"access_token": TOKEN} if good else {"error": "bad_verification_code"})

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


@pytest.fixture
def github():
    _GitHub.asked, _GitHub.login = [], "ann"
    with loopback_server(_GitHub) as url:
        yield url, _GitHub


@pytest.fixture
def oauth_client(make_client, sqlite_url, github):
    url, _ = github
    return make_client(
        sqlite_url,
        github_client_id="client-id",
        github_client_secret="shh",
        github_url=url,
        github_api_url=url,
        cms_github_org="organizing20",
    )


def start(client):
    """GET /oauth/auth; returns (its answer, the state it sent to GitHub)."""
    answer = client.request("GET", "/oauth/auth", QUERY_STRING="provider=github&scope=repo")
    state = parse_qs(urlsplit(answer.headers["location"]).query)["state"][0]
    return answer, state


def callback(client, state, cookie_state, code="good-code"):
    query = urlencode({"code": code, "state": state})
    cookie = {"Cookie": f"cms_oauth_state={cookie_state}"} if cookie_state else {}
    return client.request("GET", "/oauth/callback", headers=cookie, QUERY_STRING=query)


def test_auth_sends_the_editor_to_github_with_a_signed_state_kept_in_a_cookie(oauth_client):
    answer, state = start(oauth_client)
    assert answer.status == 303
    location = urlsplit(answer.headers["location"])
    assert location.path == "/login/oauth/authorize"
    query = parse_qs(location.query)
    assert query["client_id"] == ["client-id"] and query["scope"] == ["repo,read:org"]
    assert query["redirect_uri"] == [f"http://{ENDPOINT_HOST}/oauth/callback"]
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"cms_oauth_state={state};") and "HttpOnly" in cookie


def test_a_member_gets_the_token_handed_to_the_site_only(oauth_client, github):
    _, state = start(oauth_client)
    answer = callback(oauth_client, state, state)
    assert answer.status == 200
    assert f'"token": "{TOKEN}"' in answer.text.replace('\\"', '"')
    # Only to the site's origin, and only this page's own script runs.
    assert f'const origin = "{SITE}";' in answer.text
    policy = answer.headers["content-security-policy"]
    assert "script-src 'sha256-" in policy and "unsafe-inline" not in policy
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "state, cookie",
    [("fresh", "other"), ("fresh", ""), ("changed", "changed"), ("", "")],
    ids=["another-browser", "no-cookie", "changed-signature", "none"],
)
def test_a_wrong_state_is_refused_before_github_is_asked(oauth_client, github, state, cookie):
    _, real = start(oauth_client)
    values = {"fresh": real, "other": start(oauth_client)[1], "": ""}
    values["changed"] = real[:-1] + ("0" if real[-1] != "0" else "1")
    answer = callback(oauth_client, values[state], values[cookie])
    assert answer.status == 403 and TOKEN not in answer.text
    assert not any(path.startswith("/login/oauth/access_token") for path in github[1].asked)


def test_someone_outside_the_organisation_is_refused(oauth_client, github):
    github[1].login = "stranger"
    _, state = start(oauth_client)
    answer = callback(oauth_client, state, state)
    assert answer.status == 403 and TOKEN not in answer.text
    assert "Only members of organizing20" in answer.text


def test_without_the_oauth_app_the_routes_do_not_exist(make_client, sqlite_url):
    client = make_client(sqlite_url)
    assert client.request("GET", "/oauth/auth").status == 404


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """Chromium keeps spare connections open: one thread each, or the next request waits."""

    daemon_threads = True


class _QuietWSGI(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


@pytest.mark.browser
def test_the_handshake_completes_in_chromium_as_decap_cms_runs_it(make_client, sqlite_url,
                                                                    github, browser):  # fmt: skip
    """A page on the site's origin opens the sign-in window and answers its
    "authorizing:github" as Decap CMS does; the token comes back by postMessage."""

    class _Site(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            body = b"<!doctype html><title>admin</title><p>editor"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
            pass

    with loopback_server(_Site) as site:
        client = make_client(
            sqlite_url, site_url=site, github_client_id="client-id", github_client_secret="shh",
            github_url=github[0], github_api_url=github[0], cms_github_org="organizing20",
        )  # fmt: skip
        server = make_server(
            "127.0.0.1", 0, client.app, _ThreadingWSGIServer, handler_class=_QuietWSGI
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        endpoint = f"http://127.0.0.1:{server.server_port}"
        try:
            page = browser.new_page()
            page.goto(site + "/admin/")
            token = page.evaluate(
                """(endpoint) => new Promise((resolve, reject) => {
                  setTimeout(() => reject(new Error("no token within 20 s")), 20000);
                  const popup = window.open(`${endpoint}/oauth/auth?provider=github&scope=repo`);
                  window.addEventListener("message", (event) => {
                    if (event.origin !== endpoint) return;
                    const prefix = "authorization:github:success:";
                    if (event.data === "authorizing:github") {
                      popup.postMessage(event.data, event.origin);
                    } else if (event.data.startsWith(prefix)) {
                      resolve(JSON.parse(event.data.slice(prefix.length)));
                    }
                  });
                })""",
                endpoint,
            )
            assert token == {"token": TOKEN, "provider": "github"}
        finally:
            server.shutdown()
            server.server_close()
