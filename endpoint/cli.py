"""Command line for the endpoint and the organizers' tasks (the invoke tasks call these).

python -m endpoint [--host H] [--port N] [--workers N] [--threads N] [--access-log]
                                              run the endpoint (development server)
python -m endpoint export --form ID --format csv|json|osdi [--since DATE] [--output FILE]
python -m endpoint forget EMAIL               delete every submission with that address
python -m endpoint submissions                count per form and the newest time
python -m endpoint notify                     send the pending notification e-mails
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger("endpoint")

# Threads per server process: enough to overlap socket and database waits. More only
# added GIL contention: on SQLite, 2 processes of 4 threads answered 32 clients with a
# lower p99 than 8 threads each (see README, Performance).
POOL_THREADS = 4


class CommandError(Exception):
    """A mistake in how a command was called; its message says how to fix it."""


def _storage(settings):
    from .storage import open_storage

    return open_storage(settings.database_url)


def _settings(warn=False):
    from .settings import Settings

    return Settings.from_env(warn=warn)


def serve(
    host: str = "127.0.0.1",
    port: int = 8001,
    settings=None,
    workers: int = 1,
    access_log: bool = False,
    threads: int = POOL_THREADS,
) -> None:
    """Run the endpoint on host:port until Ctrl+C (or SIGTERM).

    With workers > 1 the socket is bound once and N processes are forked to share it,
    each serving with a pool of threads and its own database connection (opened lazily,
    after the fork). The parent only watches them and stops them all on SIGINT/SIGTERM.
    """
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from .app import create_app

    class QuietHandler(WSGIRequestHandler):
        # Buffered: the status line, headers and body leave in one send, not five.
        wbufsize = 64 * 1024

        # A client that connects and goes quiet frees its thread after this long.
        timeout = 15

        # The standard handler logs every request with the client's IP address; log
        # no address at all, and requests only when asked (errors are always logged).
        def log_request(self, code="-", size="-"):
            if access_log:
                super().log_request(code, size)

        def log_message(self, format, *args):  # noqa: A002 - stdlib signature
            log.info("endpoint: %s", format % args)

        def address_string(self):
            return "-"

    class PooledServer(WSGIServer):
        # The stdlib's backlog of 5 resets clients in a burst.
        request_queue_size = 128

        def process_request_thread(self, request, client_address):
            try:
                self.finish_request(request, client_address)
            except Exception:  # noqa: BLE001 - socketserver reports it, the thread serves on
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    if workers < 1:
        raise CommandError("--workers must be 1 or more")
    if threads < 1:
        raise CommandError("--threads must be 1 or more")
    app = create_app(settings or _settings(warn=True))
    app.storage.migrate()
    server = make_server(host, port, app, server_class=PooledServer, handler_class=QuietHandler)
    label = f" with {workers} worker processes" if workers > 1 else ""
    print(f"Form endpoint listening on http://{host}:{port}/{label} (Ctrl+C stops it)", flush=True)
    if not app.settings.smtp_host:
        log.warning(
            "endpoint: SMTP_HOST is not set; notification e-mails wait in the database "
            "until `invoke notify` runs with it set"
        )
    if workers > 1:
        # No connection may cross the fork: each process opens its own.
        app.storage.close()
        _serve_forked(server, workers, threads)
        return
    try:
        _serve_pool(server, threads)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _serve_pool(server, threads: int) -> None:
    """Serve with `threads` threads, each accepting and answering one connection at a time.

    A fixed pool instead of a new thread per connection: no thread start per request,
    and waiting connections queue in the kernel's backlog in order instead of all
    contending for the GIL at once (which stretched the slowest answers).
    """
    import signal
    import threading
    import time

    def loop():
        while True:
            try:
                request, address = server.get_request()
            except OSError:
                if server.socket.fileno() == -1:
                    return  # the server is closing
                time.sleep(0.01)  # e.g. out of file descriptors: let some close
                continue
            server.process_request_thread(request, address)

    for _ in range(threads):
        threading.Thread(target=loop, daemon=True).start()
    while True:
        signal.pause()


def _raise_exit(signum, frame):
    raise SystemExit(0)


def _serve_forked(server, workers: int, threads: int) -> None:
    """Fork `workers` children serving the bound socket; stop them all on SIGINT/SIGTERM."""
    import os
    import signal

    # Every child waits in select(); the one whose accept() loses the race gets
    # BlockingIOError (ignored by socketserver) instead of blocking in accept().
    parent = os.getpid()
    children: list[int] = []
    signal.signal(signal.SIGTERM, _raise_exit)
    try:
        for _ in range(workers):
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                os._exit(_run_child(server, parent, threads))
            children.append(pid)
        server.socket.close()
        # The first child to exit (crashed or killed) takes the others down with it.
        pid, status = os.wait()
        children.remove(pid)
        log.error("endpoint: worker %s exited (status %s); stopping", pid, status)
        raise SystemExit(1)
    except KeyboardInterrupt:
        pass
    finally:
        _stop_children(children)


def _run_child(server, parent: int, threads: int) -> int:
    """Serve until SIGINT/SIGTERM or until the parent is gone; the exit status."""
    import os
    import signal
    import threading
    import time

    signal.signal(signal.SIGTERM, _raise_exit)

    def watch_parent():
        # A parent killed with SIGKILL cannot stop us; leave no orphan behind.
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_parent, daemon=True).start()
    try:
        _serve_pool(server, threads)
    except (KeyboardInterrupt, SystemExit):
        return 0
    except BaseException:  # noqa: BLE001 - report, then exit with a failure status
        log.exception("endpoint: worker failed")
        return 1
    finally:
        server.server_close()
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def _stop_children(children: list[int], grace: float = 5.0) -> None:
    """SIGTERM each child still running, reap them, SIGKILL any that outlive `grace`."""
    import os
    import signal
    import time

    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    waiting = set(children)
    while waiting:
        for pid in list(waiting):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                waiting.discard(pid)
        if waiting and time.monotonic() > deadline:
            for pid in waiting:
                os.kill(pid, signal.SIGKILL)
        if waiting:
            time.sleep(0.05)


def export(form_id: str, fmt: str, since: str | None = None, output: str | None = None) -> int:
    """Write the export to `output` (or standard output); returns the number of records."""
    from . import export as exporter
    from .forms import load_forms

    settings = _settings()
    forms = load_forms(settings.forms_dir)
    if form_id not in forms:
        raise CommandError(f"no form {form_id!r}; forms: {', '.join(sorted(forms))}")
    if fmt not in exporter.FORMATS:
        raise CommandError(f"--format must be one of {', '.join(exporter.FORMATS)}")
    try:
        moment = exporter.parse_since(since)
    except ValueError as error:
        raise CommandError(str(error)) from None
    storage = _storage(settings)
    submissions = storage.submissions(form_id, moment)
    text = exporter.FORMATS[fmt](forms[form_id], submissions)
    if output:
        Path(output).write_text(text, encoding="utf-8", newline="")
        print(f"Wrote {len(submissions)} submission(s) to {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return len(submissions)


def forget(email: str) -> int:
    """Delete every submission with this e-mail address; prints and returns how many."""
    if "@" not in email:
        raise CommandError("give the e-mail address to forget, like name@example.org")
    deleted = _storage(_settings()).forget(email)
    print(f"Deleted {deleted} submission(s) with that e-mail address.")
    return deleted


def submissions() -> list:
    """Print the number of submissions per form and the newest time."""
    counts = _storage(_settings()).counts()
    if not counts:
        print("No submissions yet.")
    for form_id, count, newest in counts:
        print(f"{form_id}: {count} submission(s), newest {newest}")
    return counts


def notify() -> tuple[int, int]:
    """Send pending notifications; prints and returns (sent, still pending)."""
    from .forms import load_forms
    from .notify import send_pending

    settings = _settings()
    if not settings.smtp_host:
        raise CommandError("set SMTP_HOST (and SMTP_PORT, SMTP_USER, ...) to send e-mail")
    sent, pending = send_pending(_storage(settings), load_forms(settings.forms_dir), settings)
    print(f"Sent {sent} notification(s); {pending} still pending.")
    return sent, pending


def main(argv=None) -> int:
    """Entry point of `python -m endpoint`."""
    parser = argparse.ArgumentParser(prog="python -m endpoint", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8001, help="port to listen on (8001)")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes sharing the socket (1; use the cores)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=POOL_THREADS,
        help=f"threads per process ({POOL_THREADS}); each answers one request at a time",
    )
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="log every request and every stored submission (off: warnings, refusals, errors)",
    )
    commands = parser.add_subparsers(dest="command")
    export_parser = commands.add_parser("export", help="export one form's submissions")
    export_parser.add_argument("--form", required=True, help="form id, e.g. knowledge-donor")
    export_parser.add_argument("--format", default="csv", choices=("csv", "json", "osdi"))
    export_parser.add_argument("--since", help="only submissions from this date (UTC)")
    export_parser.add_argument("--output", help="write to this file instead of the screen")
    forget_parser = commands.add_parser("forget", help="delete submissions by e-mail")
    forget_parser.add_argument("email")
    commands.add_parser("submissions", help="count submissions per form")
    commands.add_parser("notify", help="send pending notification e-mails")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.access_log:
        log.setLevel(logging.DEBUG)
    from .storage import StorageUnavailable

    try:
        if args.command == "export":
            export(args.form, args.format, args.since, args.output)
        elif args.command == "forget":
            forget(args.email)
        elif args.command == "submissions":
            submissions()
        elif args.command == "notify":
            notify()
        else:
            serve(
                args.host,
                args.port,
                workers=args.workers,
                access_log=args.access_log,
                threads=args.threads,
            )
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except StorageUnavailable as error:
        print(f"error: {error}; check DATABASE_URL", file=sys.stderr)
        return 1
    return 0
