"""Fixtures for the endpoint tests: an in-process WSGI client, storages, PostgreSQL, SMTP."""

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest

from endpoint.app import create_app
from endpoint.settings import Settings
from endpoint.storage import open_storage
from tests.helpers import ROOT, free_port, run_bounded

SITE = "http://127.0.0.1:8000"
MANIFEST = Path(__file__).resolve().parent.parent / "fixtures" / "manifest.json"
ENDPOINT_HOST = "forms.test"
INVOKE = os.path.join(os.path.dirname(sys.executable), "invoke")

VALID = {
    "knowledge-donor": {
        "name": "Rosa Parks-Lopez",
        "email": "rosa@example.org",
        "phone": "+1 212 555 0100",
        "region": "Brooklyn, NY",
        "skills": ["social-media", "other"],
        "skills_other": "Podcast editing",
        "hours": "5-10",
        "start": "month",
        "past_work": "https://example.org/campaign",
        "consent": "yes",
    },
    "help-request": {
        "organization": "Local 1199 organizing committee",
        "name": "Sam Ortiz",
        "email": "sam@example.org",
        "phone": "212 555 0199",
        "fight": "A strike vote next month; we have no online plan.",
        "skills": ["video"],
        "deadline": "October 3",
        "consent": "yes",
    },
    "training-registration": {
        "name": "Kim Lee",
        "email": "kim@example.org",
        "event": "digital-skills-for-labor",
        "consent": "yes",
    },
    "intern-application": {
        "name": "Katie Doe",
        "email": "katie@example.org",
        "why": "I want to learn online organizing.",
        "call": "fall-2013",
        "consent": "yes",
    },
    "newsletter": {
        "email": "ana@example.org",
        "name": "Ana Ruiz",
        "interests": ["trainings", "blog"],
        "consent": "yes",
    },
    "contact": {
        "name": "Lee Park",
        "email": "lee@example.org",
        "message": "Can you run a training for our local?",
        "consent": "yes",
    },
    "comment": {
        "name": "Lee Park",
        "email": "lee@example.org",
        "comment": "We tried this at our local and it *worked*.",
        "post": "open-post",
        "consent": "yes",
    },
}


def run_command(database_url, *args, tool="python"):
    """Run an organizer's command the way they do, `python -m endpoint ARGS` (or
    `invoke ARGS` with tool="invoke"), on `database_url`; returns the CompletedProcess."""
    command = [INVOKE, *args] if tool == "invoke" else [sys.executable, "-m", "endpoint", *args]
    env = {**os.environ, "DATABASE_URL": database_url}
    return run_bounded(command, timeout=60, cwd=ROOT, env=env)


def valid(form_id, **changes):
    """A valid submission for `form_id` (as {name: value or list}), with changes."""
    data = {**VALID[form_id], **changes}
    return {name: value for name, value in data.items() if value is not None}


@dataclass
class Answer:
    """What the app answered: status code, headers (lower-case names), body."""

    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8")


class Client:
    """Calls a WSGI app in-process, as a server would (including close())."""

    def __init__(self, app):
        self.app = app

    def request(self, method, path, body=b"", headers=None, **environ):
        env = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "HTTP_HOST": ENDPOINT_HOST,
            "SERVER_NAME": ENDPOINT_HOST,
            "SERVER_PORT": "80",
            "REMOTE_ADDR": "203.0.113.7",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
        }
        setup_testing_defaults(env)
        for name, value in (headers or {}).items():
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            env[key] = value
        env.update(environ)
        captured = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"] = int(status.split()[0])
            captured["headers"] = {name.lower(): value for name, value in response_headers}

        result = self.app(env, start_response)
        try:
            data = b"".join(result)
        finally:
            if hasattr(result, "close"):  # as a WSGI server does: a list has none
                result.close()
        return Answer(captured["status"], captured["headers"], data)

    def post(
        self, form_id, data, as_json=False, accept_json=True, origin=SITE, headers=None, **environ
    ):
        """POST `data` to /forms/<form_id>, urlencoded (default) or as JSON."""
        all_headers = {}
        if origin:
            all_headers["Origin"] = origin
        if accept_json:
            all_headers["Accept"] = "application/json"
        if as_json:
            body = json.dumps(data).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        else:
            body = data if isinstance(data, bytes) else urlencode(data, doseq=True).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        all_headers.update(headers or {})
        return self.request("POST", f"/forms/{form_id}", body, all_headers, **environ)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now=1_800_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


def make_settings(database_url, **overrides):
    """Settings for tests: fixed secrets, no time trap unless asked, a generous rate limit."""
    values = {
        "database_url": database_url,
        "site_url": SITE,
        "allowed_origins": (SITE,),
        "forms_secret": "test-secret",
        "ip_hash_salt": "test-salt",
        "min_fill_seconds": 3.0,
        "rate_limit_per_hour": 1000,
        "smtp_host": "",
        "smtp_tls": "none",
        "smtp_timeout": 5.0,
        # The trainings and intern calls the tests register for (dates after FakeClock's).
        "site_manifest": str(MANIFEST),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def sqlite_url(tmp_path):
    """A fresh SQLite database file."""
    return f"sqlite:///{tmp_path / 'submissions.sqlite3'}"


@pytest.fixture
def make_client(sqlite_url):
    """Factory: a Client for a fresh app on SQLite with settings overrides."""
    apps = []

    def build(database_url=None, clock=None, **overrides):
        settings = make_settings(database_url or sqlite_url, **overrides)
        app = create_app(settings, clock=clock or FakeClock())
        apps.append(app)
        return Client(app)

    yield build
    for app in apps:
        app.storage.close()


@pytest.fixture
def client(make_client):
    """A Client for a fresh app on SQLite."""
    return make_client()


# --- PostgreSQL -----------------------------------------------------------------


def _pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if versions:
        return str(versions[-1])
    raise AssertionError(
        f"{name} not found: install PostgreSQL's server package (Debian: postgresql)"
    )


class PostgresServer:
    """A throwaway PostgreSQL cluster on loopback, owned by the test session."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="endpoint-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        self.prefix = []
        if os.geteuid() == 0:
            # initdb refuses to run as root: run the cluster as the postgres user.
            shutil.chown(self.base, "postgres", "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run(
            _pg_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.start()

    def _run(self, *args):
        result = subprocess.run(
            [*self.prefix, *args], cwd=self.base, capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0:
            raise AssertionError(f"{args[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def start(self):
        options = f"-h 127.0.0.1 -p {self.port} -k {self.base} -F"
        self._run(
            _pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.base / "log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self):
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self):
        """A new empty database; returns its URL."""
        import psycopg

        self.count = getattr(self, "count", 0) + 1
        name = f"test_{self.count}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def remove(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on a free loopback port for the whole session."""
    server = PostgresServer()
    yield server
    server.remove()


@pytest.fixture
def postgres_url(postgres_server):
    """URL of a fresh, empty PostgreSQL database."""
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request):
    """Each storage test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def storage(database_url):
    """A migrated storage on a fresh database (SQLite and PostgreSQL)."""
    store = open_storage(database_url)
    store.migrate()
    yield store
    store.close()


# --- SMTP -----------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        import email
        from email import policy

        self.messages.append(
            (
                envelope.mail_from,
                list(envelope.rcpt_tos),
                email.message_from_bytes(envelope.content, policy=policy.default),
            )
        )
        return "250 Message accepted"

    def wait_for(self, count, timeout=5.0):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


@pytest.fixture
def smtp_inbox():
    """A real SMTP server on loopback; yields (port, inbox)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()
