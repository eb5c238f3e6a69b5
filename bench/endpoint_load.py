"""The form endpoint: cold import time, and throughput under 32 concurrent clients.

The load run starts `python -m endpoint` on a free loopback port against a fresh
database and posts valid, distinct knowledge-donor signups (JavaScript-off path:
urlencoded, `Accept: application/json`, no start token) from 32 concurrent
clients in one asyncio loop (cheap on the cores it shares with the server), each
on a new HTTP/1.1 connection per request from its own loopback address. For the
run the endpoint's abuse checks are relaxed through its own environment
variables: MIN_FILL_SECONDS=0 and RATE_LIMIT_PER_HOUR=10000000 (each client
sends hundreds). Every other check (origin, honeypot, validation, duplicates)
stays on and is passed honestly.
"""

import asyncio
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
    The endpoint's bytecode is compiled first, as it is on a server after its first
    start and in the Lambda zip: with PYTHONDONTWRITEBYTECODE set and no bytecode,
    every run would compile the endpoint's sources again (about 12 ms more here).
    """
    import compileall

    compileall.compile_dir(ROOT / "endpoint", quiet=1)
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


def _request(port, body):
    """The raw HTTP/1.1 POST of one submission (one connection each, closed after)."""
    head = (
        f"POST /forms/{FORM_ID} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Accept: application/json\r\n"
        f"Origin: {SITE}\r\n"
        f"Referer: {SITE}/knowledge-donors/?source=bench\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def _status(answer):
    """The status of a whole response: 200 only for a complete JSON answer with ok true."""
    head, separator, body = answer.partition(b"\r\n\r\n")
    if not separator:
        return "incomplete"
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and int(value) != len(body):
            return "incomplete"
    if status == 200 and not json.loads(body).get("ok"):
        return "200-not-ok"
    return status


def _sender_address(number):
    """Client `number`'s own loopback address (all of 127.0.0.0/8 reaches the server)."""
    return f"127.0.{1 + number // 250}.{1 + number % 250}"


async def _client(number, port, deadline, latencies, statuses):
    """One of the concurrent clients: submit, wait for the whole answer, repeat."""
    sent = 0
    while time.monotonic() < deadline:
        request = _request(port, _submission(number, sent))
        sent += 1
        started = time.perf_counter()
        try:
            async with asyncio.timeout(30):
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(_sender_address(number), 0)
                )
                writer.write(request)
                answer = await reader.read()  # to the end: the server closes
                writer.close()
            status = _status(answer)
        except OSError as error:  # TimeoutError included
            status = type(error).__name__
        except ValueError:
            status = "bad-response"
        elapsed = time.perf_counter() - started
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            latencies.append(elapsed)


async def _run_clients(port, seconds, clients):
    deadline = time.monotonic() + seconds
    latencies, statuses = [], {}
    started = time.perf_counter()
    await asyncio.gather(
        *(_client(number, port, deadline, latencies, statuses) for number in range(clients))
    )
    return latencies, statuses, time.perf_counter() - started


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


def load_test(database_url, seconds, clients=32, workers=None):
    """Run the load; returns {submissions_per_s, p50_ms, p99_ms, ok, stored, errors}.

    The endpoint runs as a deployment would, with one process per core (`--workers`,
    unless `workers` says otherwise) and its default threads per process.
    """
    workers = workers or os.cpu_count() or 1
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
        [sys.executable, "-m", "endpoint", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    # Drain the server's log so a full pipe never blocks it.
    drain = threading.Thread(target=lambda: proc.stdout.read(), daemon=True)
    try:
        _wait_for_health(port, proc)
        drain.start()
        latencies, statuses, elapsed = asyncio.run(_run_clients(port, seconds, clients))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    latencies.sort()
    statuses = {str(status): count for status, count in statuses.items()}
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
