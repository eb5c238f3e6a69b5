"""Command line for the endpoint and the organizers' tasks (the invoke tasks call these).

python -m endpoint [--host H] [--port N]     run the endpoint (development server)
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


class CommandError(Exception):
    """A mistake in how a command was called; its message says how to fix it."""


def _storage(settings):
    from .storage import open_storage

    return open_storage(settings.database_url)


def _settings(warn=False):
    from .settings import Settings

    return Settings.from_env(warn=warn)


def serve(host: str = "127.0.0.1", port: int = 8001, settings=None) -> None:
    """Run the endpoint on host:port with a small threaded WSGI server until Ctrl+C."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from .app import create_app

    class QuietHandler(WSGIRequestHandler):
        # The standard handler logs the client's IP address; log the request only.
        def log_message(self, format, *args):  # noqa: A002 - stdlib signature
            log.info("endpoint: %s", format % args)

        def address_string(self):
            return "-"

    class ThreadingServer(ThreadingMixIn, WSGIServer):
        # A thread per connection; the stdlib's backlog of 5 resets clients in a burst.
        daemon_threads = True
        request_queue_size = 128

    app = create_app(settings or _settings(warn=True))
    app.storage.migrate()
    server = make_server(host, port, app, server_class=ThreadingServer, handler_class=QuietHandler)
    print(f"Form endpoint listening on http://{host}:{port}/ (Ctrl+C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


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
            serve(args.host, args.port)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except StorageUnavailable as error:
        print(f"error: {error}; check DATABASE_URL", file=sys.stderr)
        return 1
    return 0
