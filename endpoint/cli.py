"""Command line for the endpoint and the organizers' tasks (the invoke tasks call these).

python -m endpoint [--host H] [--port N] [--workers N] [--threads N] [--access-log]
                                              run the endpoint under granian (production too)
python -m endpoint export --form ID --format csv|json|osdi|xlsx [--since DATE]
                   [--source CODE] [--event SLUG] [--output FILE]   (xlsx: --output needed)
python -m endpoint match [--format text|csv] [--output FILE] [--today DATE]
                                              rank knowledge donors for each open help request
python -m endpoint introduce REQUEST DONOR    record that a request and a donor were put in touch
python -m endpoint registrations SLUG [--format html|csv] [--output FILE]
                                              a training's counts and sign-in sheet
python -m endpoint forget EMAIL               delete every submission with that address
                                              (and, on SQLite, every copy in its files)
python -m endpoint submissions                count per form and the newest time
python -m endpoint notify                     send the pending e-mails
python -m endpoint comments [--format text|json]   the held comments, one a line (id first)
python -m endpoint comments approve|reject|delete ID...   act on comments
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


def _settings(warn=False, secrets=False):
    """Settings from the environment; `secrets`: refuse production without FORMS_SECRET and
    IP_HASH_SALT (the server and `notify`, whose cancel links are signed, need them)."""
    from .settings import Settings

    return Settings.from_env(warn=warn, require_secrets=secrets)


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
    settings = _settings(warn=True, secrets=True)
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


def export(
    form_id: str,
    fmt: str,
    since: str | None = None,
    output: str | None = None,
    source: str | None = None,
    event: str | None = None,
) -> int:
    """Write the export to `output` (or standard output); returns the number of records.

    Says on standard error how many rows it wrote and with which filter.
    """
    from webforms.definitions import load_forms

    from . import export as exporter

    settings = _settings()
    forms = load_forms(settings.forms_dir)
    if form_id not in forms:
        raise CommandError(f"no form {form_id!r}; forms: {', '.join(sorted(forms))}")
    form = forms[form_id]
    if fmt not in exporter.FORMATS:
        raise CommandError(f"--format must be one of {', '.join(exporter.FORMATS)}")
    if fmt in exporter.BINARY_FORMATS and not output:
        raise CommandError(
            f"{fmt} is a binary spreadsheet file, not text for the screen: give --output FILE.{fmt}"
        )
    try:
        moment = exporter.parse_since(since)
    except ValueError as error:
        raise CommandError(str(error)) from None
    if source is not None and not source.strip():
        raise CommandError("--source needs the partner's code, as in their links' ?source=CODE")
    if event is not None:
        if form.about_kind != "training":
            with_event = [f.id for f in forms.values() if f.about_kind == "training"]
            raise CommandError(
                f"--event only applies to a form with an event field "
                f"({', '.join(with_event) or 'none'}), not {form_id!r}"
            )
        if not event.strip():
            raise CommandError("--event needs the training's slug, e.g. digital-skills-for-labor")
    storage = _storage(settings)
    submissions = exporter.select(storage, form, moment, source, event, fmt)
    _emit(exporter.FORMATS[fmt](form, submissions), output)
    print(
        f"Wrote {len(submissions)} row(s) of {form_id} as {fmt} "
        f"to {output or 'standard output'}; {exporter.describe_filter(moment, source, event)}.",
        file=sys.stderr,
    )
    return len(submissions)


def registrations(slug: str, fmt: str = "html", output: str | None = None) -> dict:
    """Print one training's counts and write its sign-in sheet; returns the counts."""
    from . import registrations as sheets
    from .manifest import Manifest, ManifestUnavailable

    if fmt not in ("html", "csv"):
        raise CommandError("--format must be html or csv")
    settings = _settings()
    found = sheets.registrations_of(_storage(settings), slug)
    try:
        entry = Manifest(settings.site_manifest).entry("training", slug)
    except ManifestUnavailable:
        entry = None  # the sheet still works; its title is the slug
    if entry is None and not found:
        raise CommandError(f"no training {slug!r} on the site and no registrations for it")
    counts = sheets.counts(found)
    print(
        f"{slug}: {counts['registered']} registered, {counts['waitlisted']} waitlisted, "
        f"{counts['cancelled']} cancelled",
        file=sys.stderr,
    )
    title = entry["title"] if entry else slug
    sheet = sheets.sign_in_html(found, title) if fmt == "html" else sheets.sign_in_csv(found)
    _emit(sheet, output)
    if output:
        print(f"Wrote the sign-in sheet to {output}", file=sys.stderr)
    return counts


def _emit(text: str | bytes, output: str | None) -> None:
    """Write a command's result (text, or bytes for a file) to `output`, or standard output."""
    if isinstance(text, bytes):
        Path(output).write_bytes(text)
    elif output:
        Path(output).write_text(text, encoding="utf-8", newline="")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def _today(text: str | None):
    from datetime import UTC, date, datetime

    if not text:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"--today {text!r} is not a date; use YYYY-MM-DD") from None


def match(fmt: str = "text", output: str | None = None, today: str | None = None) -> list:
    """Print (or write) the ranked donors of each open help request; returns the matches."""
    from . import matching

    if fmt not in matching.FORMATS:
        raise CommandError(f"--format must be one of {', '.join(matching.FORMATS)}")
    day = _today(today)
    storage = _storage(_settings())
    matches = matching.match(
        storage.submissions(matching.REQUEST_FORM),
        storage.submissions(matching.DONOR_FORM),
        storage.introductions(),
        day,
    )
    text = matching.FORMATS[fmt](matches)
    _emit(text, output)
    if output:
        print(f"Wrote {len(matches)} open help request(s) to {output}", file=sys.stderr)
    return matches


def introduce(request_id: str, donor_id: str) -> bool:
    """Record that an organizer put help request REQUEST in touch with donor DONOR.

    Both are submission ids as `match` prints them; returns True when newly recorded.
    """
    from datetime import UTC, datetime

    from . import matching

    storage = _storage(_settings())
    expected = (
        (request_id, matching.REQUEST_FORM, "REQUEST"),
        (donor_id, matching.DONOR_FORM, "DONOR"),
    )
    found = []
    for submission_id, form_id, role in expected:
        submission = storage.get(submission_id.strip())
        if submission is None:
            raise CommandError(
                f"{role} {submission_id!r} is no stored submission; use the ids "
                "`invoke match` prints (help request first, then donor)"
            )
        if submission.form_id != form_id:
            swapped = " (the help request comes first, then the donor)"
            hint = (
                swapped
                if submission.form_id in (matching.REQUEST_FORM, matching.DONOR_FORM)
                else ""
            )
            raise CommandError(
                f"{role} {submission_id!r} is a {submission.form_id} submission, "
                f"not a {form_id} one{hint}"
            )
        found.append(submission)
    request, donor = found
    now = datetime.now(UTC)
    introduced_at, created = storage.add_introduction(request.id, donor.id, now)
    organization = request.fields.get("organization", "")
    who = f"{donor.fields.get('name', '')} <{donor.fields.get('email', '')}>"
    if created:
        print(f"Recorded: {organization} (request {request.id}) was put in touch with {who}.")
    else:
        print(f"Already recorded on {introduced_at[:10]}: {organization} and {who}.")
    if not matching.is_open(request, now.date()):
        print(
            "Note: this request's key date has passed, so the introduction is not counted as open."
        )
    return created


def forget(email: str) -> int:
    """Delete every submission with this e-mail address; prints and returns how many."""
    if "@" not in email:
        raise CommandError("give the e-mail address to forget, like name@example.org")
    storage = _storage(_settings())
    try:
        deleted = storage.forget(email)
        print(f"Deleted {deleted} submission(s) with that e-mail address.")
        print(storage.forget_note())
    finally:
        storage.close()
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
    """Send pending e-mail (organizers' notifications, people's confirmations); prints and
    returns (sent, still pending)."""
    from webforms.definitions import load_forms

    from .notify import send_pending

    settings = _settings(secrets=True)
    if not settings.smtp_host:
        raise CommandError("set SMTP_HOST (and SMTP_PORT, SMTP_USER, ...) to send e-mail")
    sent, pending = send_pending(_storage(settings), load_forms(settings.forms_dir), settings)
    print(f"Sent {sent} e-mail(s); {pending} still pending.")
    return sent, pending


COMMENT_ACTIONS = ("approve", "reject", "delete")


def comments(action: str | None = None, ids=(), fmt: str = "text") -> list:
    """List the held comments (text: one a line, id first; json), or act on some by id.

    Held comments older than COMMENTS_PURGE_AFTER_DAYS are removed first.
    """
    import json
    from datetime import UTC, datetime

    from .comments import ACTIONS, mail_after_approval, purge

    settings = _settings()
    storage = _storage(settings)
    try:
        purge(storage, settings, datetime.now(UTC))
        if action is not None:
            if not ids:
                raise CommandError(f"give the id of each comment to {action}")
            done = storage.moderate_comments(ids, ACTIONS[action][1], datetime.now(UTC))
            print(f"{ACTIONS[action][0].done.capitalize()} {done} of {len(ids)} comment(s).")
            if done < len(ids):
                print("The others are not comments here (check the ids: invoke comments).")
            if action == "approve":  # the mail approving lets go (comments.py)
                from .manifest import Manifest

                manifest = Manifest(settings.site_manifest, settings.manifest_ttl)
                mail_after_approval(storage, manifest, settings, ids)
            return []
        held = [
            {
                "id": comment.id,
                "post": comment.about,
                "name": comment.fields.get("name", ""),
                "text": comment.fields.get("comment", ""),
                "status": comment.status,
                "created": comment.submitted_at,
            }
            for comment in storage.held_comments()
        ]
    finally:
        storage.close()
    if fmt == "json":
        print(json.dumps(held, ensure_ascii=False, indent=2))
    elif not held:
        print("No comments are waiting.")
    for comment in held if fmt == "text" else ():
        text = " ".join(comment["text"].split())
        text = text if len(text) <= 60 else text[:59] + "…"
        when, post, name = comment["created"][:16], comment["post"], comment["name"]
        print(f"{comment['id']}  {when}  {post}  {name}: {text}")
    return held


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
    export_parser.add_argument("--format", default="csv", choices=("csv", "json", "osdi", "xlsx"))
    export_parser.add_argument("--since", help="only submissions from this date (UTC)")
    export_parser.add_argument(
        "--source", help="only people who came through this partner's links (?source=CODE)"
    )
    export_parser.add_argument(
        "--event", help="only registrations for this training (its slug; training-registration)"
    )
    export_parser.add_argument(
        "--output", help="write to this file instead of the screen (needed for xlsx)"
    )
    match_parser = commands.add_parser(
        "match", help="rank knowledge donors for each open help request"
    )
    match_parser.add_argument("--format", default="text", choices=("text", "csv"))
    match_parser.add_argument("--output", help="write to this file instead of the screen")
    match_parser.add_argument(
        "--today", help="judge which key dates have passed as on this date, YYYY-MM-DD"
    )
    introduce_parser = commands.add_parser(
        "introduce", help="record that a help request and a donor were put in touch"
    )
    introduce_parser.add_argument("request", help="the help request's id, as match prints it")
    introduce_parser.add_argument("donor", help="the donor's id, as match prints it")
    registrations_parser = commands.add_parser(
        "registrations", help="one training's counts and its sign-in sheet"
    )
    registrations_parser.add_argument("slug", help="the training's slug, as in its address")
    registrations_parser.add_argument("--format", default="html", choices=("html", "csv"))
    registrations_parser.add_argument("--output", help="write the sheet to this file")
    forget_parser = commands.add_parser("forget", help="delete submissions by e-mail")
    forget_parser.add_argument("email")
    commands.add_parser("submissions", help="count submissions per form")
    commands.add_parser("notify", help="send pending notification e-mails")
    comments_parser = commands.add_parser(
        "comments", help="list the held comments, or approve, reject or delete some"
    )
    comments_parser.add_argument("action", nargs="?", choices=COMMENT_ACTIONS)
    comments_parser.add_argument("ids", nargs="*", metavar="ID", help="comment ids")
    comments_parser.add_argument("--format", default="text", choices=("text", "json"))
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.access_log:
        log.setLevel(logging.DEBUG)
    from .settings import SettingsError
    from .storage import StorageUnavailable

    try:
        if args.command == "export":
            export(args.form, args.format, args.since, args.output, args.source, args.event)
        elif args.command == "match":
            match(args.format, args.output, args.today)
        elif args.command == "introduce":
            introduce(args.request, args.donor)
        elif args.command == "registrations":
            registrations(args.slug, args.format, args.output)
        elif args.command == "forget":
            forget(args.email)
        elif args.command == "submissions":
            submissions()
        elif args.command == "notify":
            notify()
        elif args.command == "comments":
            comments(args.action, args.ids, args.format)
        else:
            serve(args.host, args.port, args.workers, args.threads, args.access_log)
    except (CommandError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except StorageUnavailable as error:
        print(f"error: {error}; check DATABASE_URL", file=sys.stderr)
        return 1
    return 0
