"""The endpoint over a real socket (`python -m endpoint --port N`) and through Lambda."""

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlencode

import pytest

from endpoint import lambda_handler
from endpoint.app import create_app
from tests.helpers import ROOT, descendants, free_port, process_alive

from .conftest import SITE, FakeClock, make_settings, valid


@pytest.fixture
def running_endpoint(tmp_path):
    """`python -m endpoint --port N` on SQLite; yields (port, environment)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'submissions.sqlite3'}",
        "SITE_URL": SITE,
        "ALLOWED_ORIGINS": SITE,
        "FORMS_SECRET": "socket-secret",
        "IP_HASH_SALT": "socket-salt",
        "SMTP_HOST": "",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "endpoint", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            assert server.poll() is None, server.stderr.read()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "the endpoint did not start"
                time.sleep(0.05)
        yield port, env
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=10)
        # Nothing personal in the server's log: no client address, no submitted values.
        assert "127.0.0.1 -" not in errors and "rosa@example.org" not in errors


def test_post_over_a_real_socket_redirects_and_stores(running_endpoint):
    port, env = running_endpoint
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    body = urlencode(valid("knowledge-donor"), doseq=True)
    connection.request(
        "POST",
        "/forms/knowledge-donor",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": SITE},
    )
    response = connection.getresponse()
    response.read()
    assert response.status == 303
    assert response.getheader("Location") == f"{SITE}/knowledge-donors/thanks/"
    exported = subprocess.run(
        [sys.executable, "-m", "endpoint", "export", "--form", "knowledge-donor", "--format",
         "json"], cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert [row["email"] for row in json.loads(exported.stdout)] == ["rosa@example.org"]


def test_oversized_body_over_a_real_socket_is_413(running_endpoint):
    port, _ = running_endpoint
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request(
        "POST",
        "/forms/knowledge-donor",
        body=b"name=" + b"x" * 70_000,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": SITE},
    )
    assert connection.getresponse().status == 413


@pytest.fixture
def lambda_app(tmp_path, monkeypatch):
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'db.sqlite3'}"), clock=FakeClock())
    monkeypatch.setattr(lambda_handler, "_app", app)
    return app


def test_lambda_function_url_event(lambda_app):
    body = urlencode(valid("help-request"), doseq=True)
    event = {
        "version": "2.0",
        "rawPath": "/forms/help-request",
        "rawQueryString": "",
        "headers": {
            "host": "abc.lambda-url.us-east-1.on.aws",
            "origin": SITE,
            "content-type": "application/x-www-form-urlencoded",
            "accept": "application/json",
        },
        "requestContext": {"http": {"method": "POST", "sourceIp": "198.51.100.4"}},
        "body": base64.b64encode(body.encode()).decode(),
        "isBase64Encoded": True,
    }
    response = lambda_handler.handler(event, None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"ok": True}
    assert response["headers"]["Access-Control-Allow-Origin"] == SITE
    [row] = lambda_app.storage.submissions()
    assert row.ip_hash != "198.51.100.4" and len(row.ip_hash) == 64


def test_lambda_api_gateway_rest_event(lambda_app):
    event = {
        "httpMethod": "POST",
        "path": "/forms/training-registration",
        "headers": {"Host": "api.example.org", "Content-Type": "application/json"},
        "multiValueHeaders": {"Origin": [SITE]},
        "queryStringParameters": None,
        "requestContext": {"identity": {"sourceIp": "198.51.100.5"}},
        "body": json.dumps(valid("training-registration")),
        "isBase64Encoded": False,
    }
    response = lambda_handler.handler(event, None)
    assert response["statusCode"] == 303
    assert response["headers"]["Location"] == f"{SITE}/trainings/registered/"
    assert response["multiValueHeaders"]["Location"] == [f"{SITE}/trainings/registered/"]
    health = lambda_handler.handler({"httpMethod": "GET", "path": "/health", "headers": {}})
    assert health["statusCode"] == 200


def _has_open(pid, path):
    """Whether process `pid` holds `path` open."""
    folder = f"/proc/{pid}/fd"
    for fd in os.listdir(folder):
        try:
            if os.readlink(f"{folder}/{fd}") == path:
                return True
        except OSError:
            continue
    return False


@pytest.mark.parametrize("option", ["--workers", "--threads"])
def test_workers_and_threads_must_be_at_least_one(option, capsys):
    from endpoint.cli import main

    assert main([option, "0"]) == 2
    assert f"{option} must be 1 or more" in capsys.readouterr().err


def test_workers_share_the_socket_store_and_stop_on_ctrl_c(tmp_path):
    port = free_port()
    database = f"sqlite:///{tmp_path / 'submissions.sqlite3'}"
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "SITE_URL": SITE,
        "ALLOWED_ORIGINS": SITE,
        "FORMS_SECRET": "workers-secret",
        "IP_HASH_SALT": "workers-salt",
        "SMTP_HOST": "",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "endpoint", "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    workers = []
    try:
        deadline = time.monotonic() + 15
        while len(workers) < 2:
            assert server.poll() is None, server.stderr.read()
            assert time.monotonic() < deadline, "the workers did not start"
            workers = [pid for pid in descendants(server.pid) if process_alive(pid)]
            time.sleep(0.05)
        assert len(workers) == 2
        # The workers take turns accepting; each opens the database on its first request.
        database_file = str(tmp_path / "submissions.sqlite3")
        emails = []
        while not all(_has_open(pid, database_file) for pid in workers):
            assert len(emails) < 50, "a worker never answered"
            email = f"worker-{len(emails)}@example.org"
            body = urlencode(valid("knowledge-donor", email=email), doseq=True)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request(
                "POST", "/forms/knowledge-donor", body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded",
                         "Accept": "application/json", "Origin": SITE},
            )  # fmt: skip
            response = connection.getresponse()
            assert response.status == 200 and json.loads(response.read())["ok"] is True
            emails.append(email)
        exported = subprocess.run(
            [sys.executable, "-m", "endpoint", "export", "--form", "knowledge-donor",
             "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert sorted(row["email"] for row in json.loads(exported.stdout)) == sorted(emails)
        # Ctrl+C on the parent stops every worker; none is left behind.
        server.send_signal(signal.SIGINT)
        _, errors = server.communicate(timeout=10)
        assert server.returncode == 0, errors
        assert not any(process_alive(pid) for pid in workers)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
        for pid in workers:
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_workers_exit_when_the_parent_is_killed(tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "SITE_URL": SITE, "ALLOWED_ORIGINS": SITE, "SMTP_HOST": ""}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "endpoint", "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    workers = []
    while len(workers) < 2:
        assert time.monotonic() < deadline, "the workers did not start"
        workers = [pid for pid in descendants(server.pid) if process_alive(pid)]
        time.sleep(0.05)
    server.kill()
    server.wait()
    deadline = time.monotonic() + 5
    while any(process_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker outlived its killed parent"
        time.sleep(0.05)
