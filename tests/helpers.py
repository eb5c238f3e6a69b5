"""Shared helpers for the test suite: Pelican builds, a static server, free ports, processes."""

import contextlib
import functools
import http.server
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A frozen copy of the sample content: tests that assert exact titles, years and
# counts build this, so a volunteer adding a post to content/ never breaks them.
SAMPLE_CONTENT = ROOT / "tests" / "fixtures" / "sample_site" / "content"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid):
    """Every process below `pid` (children, their children, ...), read from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # The command name may hold spaces and parentheses; fields follow the last ')'.
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def process_alive(pid):
    """Whether `pid` runs (a zombie, exited but not yet reaped, does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def write_settings(path, values):
    """Write a Pelican settings file holding `values` ({NAME: value}); return its path."""
    path.write_text(
        "".join(f"{key} = {value!r}\n" for key, value in values.items()), encoding="utf-8"
    )
    return path


def run_pelican(content, output, settings=ROOT / "pelicanconf.py", extra=(), check=True):
    """Build `content` into `output` in a subprocess, as a volunteer's build would.

    Returns the CompletedProcess so tests can assert on exit code and messages.
    """
    cmd = [
        sys.executable,
        "-m",
        "pelican",
        str(content),
        "-s",
        str(settings),
        "-o",
        str(output),
        "--fatal",
        "warnings",
        "-e",
        "CACHE_CONTENT=false",
        "LOAD_CONTENT_CACHE=false",
        *extra,
    ]
    result = run_bounded(cmd, cwd=ROOT)
    if check and result.returncode != 0:
        raise AssertionError(
            f"pelican failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def run_bounded(command, timeout=300, env=None, **options):
    """subprocess.run(command, capture_output=True, text=True), in a process group of its own.

    A command still running after `timeout` seconds fails the test with its output,
    including the stack of every Python process in its group (faulthandler dumps them
    on SIGABRT), and leaves none of them running: a hung build fails with the place it
    hung instead of holding up the whole run.
    """
    import pytest

    env = {**(os.environ if env is None else env), "PYTHONFAULTHANDLER": "1"}
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
        **options,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGABRT)
            try:
                stdout, stderr = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                stdout = stderr = "(no output: the group did not end on SIGABRT)"
            pytest.fail(
                f"{' '.join(map(str, command))} still ran after {timeout} s; its output, "
                f"with each process's stack:\n{stdout}\n{stderr}"
            )
        finally:
            kill_session(process.pid)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def kill_session(session_id):
    """SIGKILL every process left in the session `session_id` (a command started with
    start_new_session=True): also those in process groups of their own, such as the
    form endpoint and build worker `invoke serve` starts, which killing the command's
    own group would leave running. Without /proc (not Linux), the command's group only."""
    if not os.path.isdir("/proc"):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(session_id, signal.SIGKILL)
        return
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getsid(int(entry)) == session_id:
                os.kill(int(entry), signal.SIGKILL)


def stop_session(process, grace=15):
    """Stop a command started with start_new_session=True and everything it started.

    SIGTERM to its group first, so `invoke serve` stops its children as on Ctrl-C; after
    `grace` seconds, SIGKILL for whatever is left in its session.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace)
    kill_session(process.pid)
    process.wait()


class RecordedLog(list):
    """A stand-in for a module's logger that keeps each message, formatted: a test reads
    what was said without depending on the logging set-up other tests leave behind."""

    def _say(self, message, *args):
        self.append(message % args if args else message)

    debug = info = warning = error = _say


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature from the stdlib
        pass


def static_server(folder):
    """Serve `folder` on a free loopback port; yields the base URL."""
    return loopback_server(functools.partial(_QuietHandler, directory=str(folder)))


@contextlib.contextmanager
def loopback_server(handler):
    """Run an http.server `handler` on a free loopback port; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def output_files(folder):
    """{relative path: bytes} of every file under a build's output folder."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def comparable_output(name, data):
    """A built file's bytes with build-time stamps masked, for comparing two builds."""
    # pelican-sitemap stamps index pages with the build's own time.
    if name == "sitemap.xml":
        return re.sub(rb"<lastmod>[^<]*</lastmod>", b"<lastmod/>", data)
    return data


@contextlib.contextmanager
def endpoint_process(port, env, log_path, timeout=15.0):
    """`python -m endpoint --port PORT` with `env`, as `make serve` runs it, until the block ends.

    Its output goes to `log_path`; it must answer /health within `timeout` seconds.
    """
    import time
    import urllib.request

    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "endpoint", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if server.poll() is not None:
                    raise AssertionError(
                        f"the endpoint exited early:\n{Path(log_path).read_text()}"
                    )
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(
                            "the endpoint did not answer /health in time"
                        ) from None
                    time.sleep(0.05)
            yield server
        finally:
            server.terminate()
            server.wait(timeout=10)


# What `invoke serve` needs of the project, copied so a test may edit content freely.
PROJECT_FOLDERS = ["content", "theme", "plugins", "forms", "endpoint", "webforms", "devserver"]
PROJECT_FILES = ["pelicanconf.py", "publishconf.py", "tasks.py"]


def copy_project(base):
    """Copy what `invoke serve` needs into `base`; returns `base`."""
    import shutil

    for name in PROJECT_FOLDERS:
        shutil.copytree(ROOT / name, base / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in PROJECT_FILES:
        shutil.copy(ROOT / name, base / name)
    return base


@contextlib.contextmanager
def dev_server(base, env=None, timeout=90):
    """`invoke serve` on free ports in a project copied to `base` (`copy_project`), with
    `env` added to the environment, until the block ends (then it and everything it
    started are stopped: stop_session). Yields {"process", "url", "endpoint", "log"};
    fails the test with the log when the site is not served within `timeout` seconds."""
    import time
    import urllib.error
    import urllib.request

    import pytest

    port, endpoint_port = free_port(), free_port()
    log_path = base / "serve.log"
    command = [sys.executable, "-m", "invoke", "serve", "--port", str(port)]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [*command, "--endpoint-port", str(endpoint_port)],
            cwd=base,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(url + "/", timeout=5) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError):
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the dev server did not start:\n" + log_path.read_text())
                time.sleep(0.2)
            yield {
                "process": process,
                "url": url,
                "endpoint": f"http://127.0.0.1:{endpoint_port}",
                "log": log_path,
            }
        finally:
            # Its endpoint and build worker too, even when `invoke serve` itself has ended.
            stop_session(process)
