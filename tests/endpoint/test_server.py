"""The endpoint under its documented server (`python -m endpoint --port N`: granian), and
through Lambda (apig-wsgi)."""

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlencode

import pytest

from endpoint import lambda_handler
from endpoint.app import create_app
from tests.helpers import ROOT, descendants, free_port, process_alive

from .conftest import SITE, FakeClock, make_settings, valid

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Origin": SITE}


def _environment(tmp_path):
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'submissions.sqlite3'}",
        "SITE_URL": SITE,
        "ALLOWED_ORIGINS": SITE,
        "FORMS_SECRET": "socket-secret",
        "IP_HASH_SALT": "socket-salt",
        "SMTP_HOST": "",
    }


def _start(port, env, *options):
    server = subprocess.Popen(
        [sys.executable, "-m", "endpoint", "--port", str(port), *options],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        assert server.poll() is None, server.stderr.read()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            assert time.monotonic() < deadline, "the endpoint did not start"
            time.sleep(0.05)
        finally:
            connection.close()


@pytest.fixture
def running_endpoint(tmp_path):
    """`python -m endpoint --port N` on SQLite; yields (port, environment)."""
    port = free_port()
    env = _environment(tmp_path)
    server = _start(port, env)
    try:
        yield port, env
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=10)
        # Nothing personal in the server's log: no client address, no submitted values.
        assert "127.0.0.1 -" not in errors and "rosa@example.org" not in errors


def _exported(env):
    result = subprocess.run(
        [sys.executable, "-m", "endpoint", "export", "--form", "knowledge-donor", "--format",
         "json"], cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def _post(port, body, headers, timeout=5, **request):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("POST", "/forms/knowledge-donor", body=body, headers=headers, **request)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_post_over_a_real_socket_redirects_and_stores(running_endpoint):
    port, env = running_endpoint
    response = _post(port, urlencode(valid("knowledge-donor"), doseq=True), FORM_HEADERS)
    assert response.status == 303
    assert response.getheader("Location") == f"{SITE}/knowledge-donors/thanks/"
    assert [row["email"] for row in _exported(env)] == ["rosa@example.org"]


def test_oversized_body_over_a_real_socket_is_413(running_endpoint):
    port, _ = running_endpoint
    response = _post(port, b"name=" + b"x" * 70_000, FORM_HEADERS)
    assert response.status == 413


def test_a_chunked_post_stores_every_field(running_endpoint):
    port, env = running_endpoint
    body = urlencode(valid("knowledge-donor"), doseq=True).encode()
    # Three chunks, no Content-Length: http.client sends Transfer-Encoding: chunked.
    chunks = iter([body[:10], body[10:40], body[40:]])
    headers = {**FORM_HEADERS, "Accept": "application/json"}
    response = _post(port, chunks, headers, encode_chunked=True)
    assert response.status == 200
    [row] = _exported(env)
    expected = valid("knowledge-donor")
    for name, value in expected.items():
        if name != "consent":
            assert row[name] == value, name


def test_idle_and_half_sent_clients_do_not_stop_it_answering(running_endpoint):
    port, env = running_endpoint
    body = urlencode(valid("knowledge-donor"), doseq=True).encode()
    held = []
    try:
        for number in range(40):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if number % 2:
                # Headers and half the body, then silence.
                sock.sendall(
                    b"POST /forms/knowledge-donor HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n"
                    + f"Origin: {SITE}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                    + body[: len(body) // 2]
                )
            elif number % 4 == 2:
                sock.sendall(b"POST /forms/knowledge-donor HTTP/1.1\r\nHost: x\r\n")
            held.append(sock)  # the others connect and send nothing
        for attempt in range(3):
            email = f"patient-{attempt}@example.org"
            started = time.monotonic()
            response = _post(
                port,
                urlencode(valid("knowledge-donor", email=email), doseq=True),
                {**FORM_HEADERS, "Accept": "application/json"},
                timeout=2,
            )
            assert response.status == 200
            assert time.monotonic() - started < 2
            time.sleep(0.5)
    finally:
        for sock in held:
            sock.close()
    assert sorted(row["email"] for row in _exported(env)) == [
        f"patient-{attempt}@example.org" for attempt in range(3)
    ]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_the_server_and_its_workers(tmp_path, stop):
    port = free_port()
    env = _environment(tmp_path)
    server = _start(port, env, "--workers", "2")
    workers = []
    try:
        workers = [pid for pid in descendants(server.pid) if process_alive(pid)]
        assert len(workers) >= 2
        response = _post(
            port,
            urlencode(valid("knowledge-donor"), doseq=True),
            {**FORM_HEADERS, "Accept": "application/json"},
        )
        assert response.status == 200
        server.send_signal(stop)
        _, errors = server.communicate(timeout=15)
        assert server.returncode == 0, errors
        deadline = time.monotonic() + 5
        while any(process_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "a worker outlived the server"
            time.sleep(0.05)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
        for pid in workers:
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("option", ["--workers", "--threads"])
def test_workers_and_threads_must_be_at_least_one(option, capsys):
    from endpoint.cli import main

    assert main([option, "0"]) == 2
    assert f"{option} must be 1 or more" in capsys.readouterr().err


# --- Lambda (apig-wsgi) ---------------------------------------------------------------


@pytest.fixture
def lambda_app(tmp_path, monkeypatch):
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'db.sqlite3'}"), clock=FakeClock())
    monkeypatch.setattr(lambda_handler, "_app", app)
    return app


def function_url_event(method, path, body=b"", headers=None):
    """A Lambda Function URL event (payload format 2.0), body base64 as AWS sends forms."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc.lambda-url.us-east-1.on.aws", "x-forwarded-proto": "https",
                    "x-forwarded-port": "443", **(headers or {})},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "198.51.100.4", "userAgent": "test"},
            "stage": "$default",
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }  # fmt: skip


def test_lambda_function_url_event_with_a_base64_body(lambda_app):
    body = urlencode(valid("help-request"), doseq=True).encode()
    headers = {"origin": SITE, "content-type": "application/x-www-form-urlencoded",
               "accept": "application/json"}  # fmt: skip
    response = lambda_handler.handler(function_url_event("POST", "/forms/help-request", body,
                                                         headers), None)  # fmt: skip
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    assert json.loads(response["body"]) == {"ok": True}
    # Payload 2.0 answers carry lower-case header names.
    assert response["headers"]["access-control-allow-origin"] == SITE
    [row] = lambda_app.storage.submissions()
    assert row.fields["organization"] == "Local 1199 organizing committee"
    assert row.ip_hash != "198.51.100.4" and len(row.ip_hash) == 64


def test_lambda_error_page_posts_back_to_the_function_url(lambda_app):
    body = urlencode(valid("help-request", email="not an address"), doseq=True).encode()
    headers = {"origin": SITE, "content-type": "application/x-www-form-urlencoded"}
    response = lambda_handler.handler(
        function_url_event("POST", "/forms/help-request", body, headers), None
    )
    assert response["statusCode"] == 422
    action = "https://abc.lambda-url.us-east-1.on.aws/forms/help-request"
    assert f'action="{action}"' in response["body"]
    assert lambda_app.storage.submissions() == []


def test_lambda_api_gateway_rest_event(lambda_app):
    event = {
        "httpMethod": "POST",
        "path": "/forms/training-registration",
        "headers": {"Host": "api.example.org", "Content-Type": "application/json"},
        "multiValueHeaders": {"Origin": [SITE], "Host": ["api.example.org"],
                              "Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {"identity": {"sourceIp": "198.51.100.5"}},
        "body": json.dumps(valid("training-registration")),
        "isBase64Encoded": False,
    }  # fmt: skip
    response = lambda_handler.handler(event, None)
    assert response["statusCode"] == 303
    assert response["multiValueHeaders"]["Location"] == [f"{SITE}/trainings/registered/"]
    health = lambda_handler.handler(
        {"httpMethod": "GET", "path": "/health", "headers": {}, "queryStringParameters": None,
         "requestContext": {"identity": {"sourceIp": "198.51.100.5"}}, "body": None}, None
    )  # fmt: skip
    assert health["statusCode"] == 200
