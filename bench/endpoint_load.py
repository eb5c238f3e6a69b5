"""The form endpoint: cold import time, and throughput and latency under load.

Each load run starts a server on a free loopback port against a fresh database:
the endpoint exactly as README documents it (`python -m endpoint --port N`, which is
what `invoke endpoint --port N` runs: granian serving the WSGI app), or the baseline
(bench/endpoint_baseline.py, a minimal WSGI app storing each form as one SQLite row)
under granian with one worker. Both get the same valid, distinct knowledge-donor
signups (JavaScript-off path: urlencoded, `Accept: application/json`, no start
token), each on a new HTTP/1.1 connection from a loopback address of its own (as
real signups come from many people's networks),
sent from one asyncio loop (cheap on the cores it shares with the server).

Two kinds of load:
- closed loop: N clients, each sending its next submission when the last is answered
  (throughput);
- open loop: submissions sent on a fixed schedule (e.g. 200 a second) whatever the
  answers do, latency counted from each one's scheduled time, so a stalled server
  shows as latency instead of hiding as fewer requests sent.

For the run the endpoint's abuse checks are relaxed through its own environment
variables MIN_FILL_SECONDS=0 (the generator fills a form in no time) and
FORM_LIMIT_PER_HOUR=0 (thousands of signups to one form within seconds are exactly the
flood that circuit breaker stops). Every other check (origin, honeypot, the limits per
address and per e-mail at their defaults, validation, duplicates) stays on and is
passed honestly.
"""

import asyncio
import http.client
import itertools
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
# An answer later than this counts as failed (TimeoutError), not as a latency.
REQUEST_TIMEOUT_S = 30


def cold_import_ms(
    runs=5, code="import endpoint.lambda_handler, endpoint.app, endpoint.storage.sqlite"
):
    """Median over fresh interpreters of the Lambda path's imports (the handler, SQLite).

    Read from `python -X importtime`: the cumulative microseconds of every top-level
    import the statement triggers (interpreter start-up excluded), from the first
    `endpoint` module on. The handler imports the app on its first event, so both count:
    apig-wsgi, the app and its modules, the SQLite storage.
    The endpoint's bytecode is compiled first, as it is on a server after its first
    start and in the Lambda zip: with PYTHONDONTWRITEBYTECODE set and no bytecode,
    every run would compile the endpoint's sources again (about 12 ms more here).
    """
    import compileall

    compileall.compile_dir(ROOT / "endpoint", quiet=1)
    env = {**os.environ, "DATABASE_URL": "sqlite:///" + tempfile.gettempdir() + "/bench.db"}
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
    """The `number`th loopback address (all of 127.0.0.0/8 reaches the server)."""
    return f"127.{1 + number // 62500}.{number // 250 % 250}.{1 + number % 250}"


async def _submit(port, client, number, sender):
    """Send one submission on a new connection from loopback address number `sender`."""
    request = _request(port, _submission(client, number))
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(_sender_address(sender), 0)
            )
            writer.write(request)
            answer = await reader.read()  # to the end: the server closes
            writer.close()
        return _status(answer)
    except OSError as error:  # TimeoutError included
        return type(error).__name__
    except ValueError:
        return "bad-response"


async def _closed_loop(port, seconds, clients):
    """`clients` clients, each submitting again as soon as it has its answer."""
    deadline = time.monotonic() + seconds
    latencies, statuses = [], {}
    senders = itertools.count()

    async def client(number):
        for sent in itertools.count():
            if time.monotonic() >= deadline:
                return
            started = time.perf_counter()
            status = await _submit(port, number, sent, next(senders))
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client(number) for number in range(clients)))
    return latencies, statuses, time.perf_counter() - started


async def _open_loop(port, seconds, rate):
    """`rate` submissions a second for `seconds`, each sent at its scheduled time.

    Latency runs from the scheduled time, not from when the request went out: a send
    the generator itself made late is counted against the server like a slow answer
    (conservative), and a stalled server cannot lower the rate it is offered.
    """
    latencies, statuses = [], {}
    total = int(seconds * rate)
    loop = asyncio.get_running_loop()
    origin = loop.time() + 0.05

    async def one(index):
        scheduled = origin + index / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        status = await _submit(port, index % 250, index, index)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            latencies.append(loop.time() - scheduled)

    started = time.perf_counter()
    await asyncio.gather(*(one(index) for index in range(total)))
    return latencies, statuses, time.perf_counter() - started


def _wait_for_health(port, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {proc.stdout.read()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not answer /health in time")


def endpoint_command(port):
    """The documented server: what README and `invoke endpoint --port N` run."""
    return [sys.executable, "-m", "endpoint", "--port", str(port)]


def baseline_command(port):
    """The baseline app under granian with one worker."""
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "1",
        "--host", "127.0.0.1", "--port", str(port), "--no-ws", "--log-level", "warning",
        "bench.endpoint_baseline:application",
    ]  # fmt: skip


def _stored(database_url, baseline):
    if baseline:
        from bench.endpoint_baseline import stored_rows

        return stored_rows(database_url)
    from endpoint.storage import open_storage

    storage = open_storage(database_url)
    try:
        return sum(count for form_id, count, _ in storage.counts() if form_id == FORM_ID)
    finally:
        storage.close()


def load_test(database_url, seconds, clients=32, rate=None, baseline=False, options=()):
    """Run one load against a fresh server; returns its figures.

    Closed loop with `clients` clients, or, with `rate`, open loop at `rate` submissions
    a second. `options` are added to the endpoint's command line (for tuning runs
    only: the figures are for the documented command). Returns {submissions_per_s,
    p50_ms, p99_ms, ok, stored, lost, errors, statuses, peak_rss_mb}.
    """
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
        "FORM_LIMIT_PER_HOUR": "0",
        "SMTP_HOST": "",
    }
    command = baseline_command(port) if baseline else [*endpoint_command(port), *options]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        process_group=0,
    )  # fmt: skip
    # Drain the server's log so a full pipe never blocks it.
    drain = threading.Thread(target=lambda: proc.stdout.read(), daemon=True)
    try:
        _wait_for_health(port, proc)
        drain.start()
        if rate:
            run = _open_loop(port, seconds, rate)
        else:
            run = _closed_loop(port, seconds, clients)
        latencies, statuses, elapsed = asyncio.run(run)
        peak_rss = _peak_rss_mb(proc.pid)
    finally:
        _stop(proc)
    latencies.sort()
    statuses = {str(status): count for status, count in statuses.items()}
    stored = _stored(database_url, baseline)
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
        "peak_rss_mb": peak_rss,
    }


def _peak_rss_mb(pid):
    """The summed peak resident memory (VmHWM) of the server and its workers."""
    from tests.helpers import descendants

    total = 0
    for process in (pid, *descendants(pid)):
        try:
            with open(f"/proc/{process}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _stop(proc):
    """SIGTERM the server's process group (it and its workers); SIGKILL if it hangs."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


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


def sqlite_url(folder, name="bench"):
    """A fresh SQLite database URL in `folder`."""
    path = Path(folder) / f"{name}.sqlite3"
    for stale in (path, *path.parent.glob(f"{name}.sqlite3-*")):
        stale.unlink(missing_ok=True)
    return f"sqlite:///{path}"
