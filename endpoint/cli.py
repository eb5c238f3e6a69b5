"""Command line for the endpoint and the organizers' tasks (the invoke tasks call these).

python -m endpoint [--host H] [--port N] [--workers N] [--threads N] [--access-log]
                                              run the endpoint under granian (production too)
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

# Threads per worker process that run the app (granian's "blocking threads"). A client
# that sent its headers but only part of its body holds a thread while the app reads
# the body, so there must be more threads than such clients: with 8 threads the
# half-sent clients of tests/endpoint/test_server.py stopped it answering (8 did
# answer 10-20 % more submissions a second than 64 under the load run: not worth it).
SERVER_THREADS = 64
# What the access log shows: no client address (personal data) and no query string.
ACCESS_LOG_FORMAT = '[%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1f ms'
APP_TARGET = "endpoint.app:application"


class CommandError(Exception):
    """A mistake in how a command was called; its message says how to fix it."""


def _storage(settings):
    from .storage import open_storage

    return open_storage(settings.database_url)


def _settings(warn=False):
    from .settings import Settings

    return Settings.from_env(warn=warn)


def _log_config(access_log: bool) -> dict:
    """Granian's logging set-up plus the endpoint's own logger, for every worker process."""
    import copy

    from granian.log import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["plain"] = {"()": "logging.Formatter", "fmt": "%(message)s"}
    config["handlers"]["endpoint"] = {
        "formatter": "plain",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["endpoint"] = {
        "handlers": ["endpoint"],
        "level": "DEBUG" if access_log else "INFO",
        "propagate": False,
    }
    return config


def server(
    host: str = "127.0.0.1",
    port: int = 8001,
    workers: int = 1,
    threads: int = SERVER_THREADS,
    access_log: bool = False,
):
    """The granian server for the endpoint's WSGI app, configured but not started."""
    from granian.constants import HTTPModes, Interfaces
    from granian.server import Server

    return Server(
        APP_TARGET,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        http=HTTPModes.http1,
        websockets=False,
        log_access=access_log,
        log_access_format=ACCESS_LOG_FORMAT,
        log_dictconfig=_log_config(access_log),
        log_level="warning",
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8001,
    workers: int = 1,
    threads: int = SERVER_THREADS,
    access_log: bool = False,
) -> None:
    """Run the endpoint under granian on host:port until Ctrl+C (or SIGTERM).

    The database is migrated here, once, before the workers start; each worker builds
    the app from the environment and opens its own connection on its first request.
    Granian stops its workers on SIGINT/SIGTERM.
    """
    if workers < 1:
        raise CommandError("--workers must be 1 or more")
    if threads < 1:
        raise CommandError("--threads must be 1 or more")
    settings = _settings(warn=True)
    storage = _storage(settings)
    try:
        storage.migrate()
    finally:
        # No connection may cross into the workers: each opens its own.
        storage.close()
    if not settings.smtp_host:
        log.warning(
            "endpoint: SMTP_HOST is not set; notification e-mails wait in the database "
            "until `invoke notify` runs with it set"
        )
    label = f" with {workers} worker processes" if workers > 1 else ""
    print(f"Form endpoint listening on http://{host}:{port}/{label} (Ctrl+C stops it)", flush=True)
    server(host, port, workers, threads, access_log).serve()


def export(form_id: str, fmt: str, since: str | None = None, output: str | None = None) -> int:
    """Write the export to `output` (or standard output); returns the number of records."""
    from webforms.definitions import load_forms

    from . import export as exporter

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
    from webforms.definitions import load_forms

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
        "--workers", type=int, default=1, help="granian worker processes (1; see README)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=SERVER_THREADS,
        help=f"threads per worker running the app ({SERVER_THREADS})",
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
            serve(args.host, args.port, args.workers, args.threads, args.access_log)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except StorageUnavailable as error:
        print(f"error: {error}; check DATABASE_URL", file=sys.stderr)
        return 1
    return 0
