"""The form endpoint: cold import time, and throughput under 32 concurrent clients.

The load run starts `python -m endpoint` on a free loopback port against a fresh
database and posts valid, distinct knowledge-donor signups (JavaScript-off path:
urlencoded, `Accept: application/json`, no start token) from client threads,
each with its own keep-nothing HTTP connection per request. For the run the
endpoint's abuse checks are relaxed through its own environment variables:
MIN_FILL_SECONDS=0 and RATE_LIMIT_PER_HOUR=10000000 (every client shares one
loopback address). Every other check (origin, honeypot, validation, duplicates)
stays on and is passed honestly.
"""

import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
FORM_ID = "knowledge-donor"
SITE = "http://127.0.0.1:8000"
IMPORT_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def cold_import_ms(runs=5):
    """Median over fresh interpreters of `import endpoint.app` plus the SQLite storage.

    Read from `python -X importtime`: the cumulative microseconds of every
    top-level import the statement triggers (interpreter start-up excluded).
    """
    env = {**os.environ, "DATABASE_URL": "sqlite:///" + tempfile.gettempdir() + "/bench.db"}
    code = "import endpoint.app; import endpoint.storage.sqlite"
    totals = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        total, started = 0, False
        for line in result.stderr.splitlines():
            match = IMPORT_LINE.match(line)
            if not match:
                continue
            _, cumulative, indent, name = match.groups()
            if name.startswith("endpoint"):
                started = True
            if started and len(indent) == 1:  # a top-level import
                total += int(cumulative)
        totals.append(total / 1000)
    return statistics.median(totals)


def _submission(client, number):
    return urlencode(
        {
            "name": f"Load Tester {client}-{number}",
            "email": f"load-{client}-{number}@example.org",
            "region": "Brooklyn, NY",
            "skills": ["social-media", "video"],
            "hours": "5-10",
            "start": "month",
            "past_work": f"https://example.org/work/{client}/{number}",
            "consent": "yes",
            "source": "bench",
            "_hp": "",
        },
        doseq=True,
    ).encode()


class _Client(threading.Thread):
    def __init__(self, number, port, deadline):
        super().__init__(daemon=True)
        self.number, self.port, self.deadline = number, port, deadline
        self.latencies, self.statuses = [], {}

    def run(self):
        sent = 0
        while time.monotonic() < self.deadline:
            body = _submission(self.number, sent)
            sent += 1
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                connection.request(
                    "POST",
                    f"/forms/{FORM_ID}",
                    body,
                    {
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Accept": "application/json",
                        "Origin": SITE,
                        "Referer": f"{SITE}/knowledge-donors/?source=bench",
                    },
                )
                response = connection.getresponse()
                answer = response.read()
                connection.close()
                status = response.status
                if status == 200 and not json.loads(answer).get("ok"):
                    status = "200-not-ok"
            except OSError as error:
                status = type(error).__name__
            elapsed = time.perf_counter() - started
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 200:
                self.latencies.append(elapsed)


def _wait_for_health(port, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the endpoint exited: {proc.stdout.read()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the endpoint did not answer /health in time")


def load_test(database_url, seconds, clients=32):
    """Run the load; returns {submissions_per_s, p50_ms, p99_ms, ok, stored, errors}."""
    from endpoint.storage import open_storage
    from tests.helpers import free_port

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SITE_URL": SITE,
        "ALLOWED_ORIGINS": SITE,
        "FORMS_SECRET": "bench-secret",
        "IP_HASH_SALT": "bench-salt",
        "MIN_FILL_SECONDS": "0",
        "RATE_LIMIT_PER_HOUR": "10000000",
        "SMTP_HOST": "",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "endpoint", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    # Drain the server's log so a full pipe never blocks it.
    drain = threading.Thread(target=lambda: proc.stdout.read(), daemon=True)
    try:
        _wait_for_health(port, proc)
        drain.start()
        deadline = time.monotonic() + seconds
        workers = [_Client(number, port, deadline) for number in range(clients)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(seconds + 60)
        elapsed = time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    latencies = sorted(value for worker in workers for value in worker.latencies)
    statuses = {}
    for worker in workers:
        for status, count in worker.statuses.items():
            statuses[str(status)] = statuses.get(str(status), 0) + count
    storage = open_storage(database_url)
    try:
        stored = sum(count for form_id, count, _ in storage.counts() if form_id == FORM_ID)
    finally:
        storage.close()
    ok = statuses.get("200", 0)
    return {
        "submissions_per_s": ok / elapsed,
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
        "ok": ok,
        "stored": stored,
        "lost": ok - stored,
        "errors": sum(count for status, count in statuses.items() if status != "200"),
        "statuses": statuses,
    }


def _percentile(sorted_values, percent):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(percent / 100 * (len(sorted_values) - 1)))
    return sorted_values[index]


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary folder, the way the endpoint tests start one."""

    def __enter__(self):
        from tests.endpoint.conftest import PostgresServer

        self.server = PostgresServer()
        return self.server.create_database()

    def __exit__(self, *exc):
        self.server.remove()


def sqlite_url(folder):
    """A fresh SQLite database URL in `folder`."""
    path = Path(folder) / "bench.sqlite3"
    if path.exists():
        path.unlink()
    return f"sqlite:///{path}"
