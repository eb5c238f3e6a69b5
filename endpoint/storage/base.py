"""The storage interface and the SQL both databases share."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger("endpoint")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

COLUMNS = (
    "id",
    "form_id",
    "submitted_at",
    "fields",
    "source",
    "consent_at",
    "consent_version",
    "consent_sha256",
    "page_url",
    "ip_hash",
    "user_agent",
    "idempotency_token",
    "email",
    "content_hash",
    "notify_state",
    "notify_attempts",
    "notified_at",
    "about",
    "status",
    "confirmed_at",
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM submissions"
_VALUES = ", ".join("?" * len(COLUMNS))
# Both databases skip a row that would repeat an id or a form's idempotency token
# (ON CONFLICT DO NOTHING), so a repeat costs no look-up before the INSERT: the
# INSERT's row count says whether it stored anything.
_INSERT = (
    f"INSERT INTO submissions ({', '.join(COLUMNS)}) VALUES ({_VALUES}) ON CONFLICT DO NOTHING"
)
# The JavaScript-off path stores the row only when no duplicate is in the window, in
# the same statement. The index submissions_duplicate (migrations 0002, 0003) answers
# the NOT EXISTS without walking the form's rows.
_DUPLICATE_CONDITION = "email = ? AND form_id = ? AND content_hash = ? AND submitted_at >= ?"
_INSERT_UNLESS_DUPLICATE = (
    f"INSERT INTO submissions ({', '.join(COLUMNS)}) SELECT {_VALUES} "
    f"WHERE NOT EXISTS (SELECT 1 FROM submissions WHERE {_DUPLICATE_CONDITION}) "
    "ON CONFLICT DO NOTHING"
)
DUPLICATE_QUERY = f"{_SELECT} WHERE {_DUPLICATE_CONDITION} ORDER BY submitted_at DESC LIMIT 1"
# Rate limits are token buckets (migration 0006): a post is let through while its
# bucket's full_at + step <= now + room, and moves full_at on by one step (from now,
# when the bucket was full). Each VALUES row carries now + step (a new bucket's full_at),
# step and room, so ONE statement spends a token from every bucket of a post; RETURNING
# names the buckets that had one. A bucket without a token is left as it was.
_COUNT_HIT = (
    "INSERT INTO rate_limits (bucket, full_at, step, room) VALUES {rows} "
    "ON CONFLICT (bucket) DO UPDATE SET "
    "full_at = CASE WHEN rate_limits.full_at > excluded.full_at - excluded.step "
    "THEN rate_limits.full_at + excluded.step ELSE excluded.full_at END, "
    "step = excluded.step, room = excluded.room "
    "WHERE rate_limits.full_at + excluded.step <= excluded.full_at - excluded.step + excluded.room "
    "RETURNING bucket"
)
_HEALTH_WRITE = (
    "INSERT INTO health (id, checked_at) VALUES (1, ?) "
    "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at"
)
# Full buckets (the same as no row) are deleted at most this often (per process), not
# on every request.
PRUNE_INTERVAL = timedelta(minutes=1)
_MICROSECONDS_PER_HOUR = 3_600_000_000
_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# A registration's status, and the outcome of registering again with the same e-mail.
REGISTERED, WAITLISTED, CANCELLED = "registered", "waitlisted", "cancelled"
ALREADY_REGISTERED = "already_registered"
# Mail to the person beyond their status (outbox kinds): a waitlist place turned into a
# registration, an intern application received.
PROMOTED, APPLIED = "promoted", "applied"
# A double opt-in signup's mail (endpoint/confirm.py): the signed link to confirm, or,
# for an address already confirmed, a note that there is nothing to do.
CONFIRM, ALREADY_CONFIRMED = "confirm", "already_confirmed"
# A comment's moderation (its `status`, migration 0010), and the form comments come from.
HELD, APPROVED, REJECTED = "held", "approved", "rejected"
COMMENT_FORM = "comment"
# A commenter who ticked "notify_replies" gets, once the comment is approved, the signed
# link to confirm (CONFIRM_REPLIES); once confirmed (`confirmed_at`), one mail per
# approved reply, queued on the commenter's own comment as REPLY + the reply's id, so
# `forget` deletes it with everything else of theirs (endpoint/comments.py).
CONFIRM_REPLIES, REPLY = "confirm_replies", "reply:"


class StorageUnavailable(RuntimeError):
    """The database cannot be reached or refused the work; nothing was saved."""


class RateLimited(Exception):
    """A post is over a rate limit; nothing was counted or stored.

    `bucket` is the limit that refused it ("address:...", "junk:...", "email:...",
    "form:..."), `kind` the part before the colon.
    """

    def __init__(self, retry_after: float, bucket: str = ""):
        super().__init__(f"rate limit reached; retry after {retry_after:.0f} s")
        self.retry_after = retry_after
        self.bucket = bucket

    @property
    def kind(self) -> str:
        return self.bucket.partition(":")[0]


@dataclass(frozen=True)
class Limit:
    """One token bucket: up to `burst` posts at once, refilled at `per_hour` an hour.

    `bucket` names what it counts, by kind and hash: "address:<ip hash>", say.
    """

    bucket: str
    per_hour: float
    burst: int

    @property
    def step(self) -> int:
        """Microseconds for one post's token to come back."""
        return max(1, round(_MICROSECONDS_PER_HOUR / self.per_hour))

    @property
    def room(self) -> int:
        """Microseconds a full bucket lasts."""
        return self.step * self.burst


def as_limits(ip_hash: str, limit, window: timedelta) -> tuple[Limit, ...]:
    """`limit` as buckets: a number N is `ip_hash`'s own bucket of N a `window` (N at once).

    A sequence of Limit is kept as it is. 0 (or an empty sequence) limits nothing.
    """
    if isinstance(limit, int | float):
        if limit <= 0:
            return ()
        per_hour = limit * 3600 / window.total_seconds()
        return (Limit(f"address:{ip_hash}", per_hour, int(limit)),)
    return tuple(item for item in limit if item.per_hour > 0 and item.burst > 0)


class _Conflict(Exception):
    """A unique constraint refused a write (the transaction was rolled back)."""


def format_time(moment: datetime) -> str:
    """A datetime as the sortable UTC text stored in the database: 2026-01-02T03:04:05.000000Z."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    """The stored text back as an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def email_key(address: str) -> str:
    """An e-mail address in the one form the `email` column stores and `forget` looks up.

    Trimmed, lower case and NFC; the domain in Unicode, its ``xn--`` labels decoded
    (IDNA) and without a final dot: ``Ann@xn--exmple-cua.org`` and ``ann@EXÄMPLE.org.``
    are both ``ann@exämple.org``, the form the e-mail check already gives (so rows stored
    before this function existed match too). Text without an @ comes back trimmed, lower.
    """
    local, at, domain = unicodedata.normalize("NFC", address.strip().lower()).rpartition("@")
    if not at:
        return domain
    labels = []
    for label in unicodedata.normalize("NFKC", domain).rstrip(".").split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna")
            except UnicodeError:
                pass  # not valid punycode: keep it as typed
        labels.append(label)
    return unicodedata.normalize("NFC", f"{local}@{'.'.join(labels)}".lower())


@dataclass(frozen=True)
class Submission:
    """One stored submission: exactly what the privacy page says we keep."""

    id: str
    form_id: str
    submitted_at: str
    fields: dict
    source: str
    consent_at: str
    consent_version: str
    consent_sha256: str
    page_url: str
    ip_hash: str
    user_agent: str
    idempotency_token: str | None
    email: str
    content_hash: str
    notify_state: str
    notify_attempts: int = 0
    notified_at: str | None = None
    about: str = ""  # the training's or intern call's slug
    status: str = ""  # a registration's place: registered, waitlisted or cancelled
    confirmed_at: str | None = None  # when a double opt-in signup was confirmed

    def as_row(self) -> tuple:
        """Values in COLUMNS order, ready for INSERT."""
        values = {name: getattr(self, name) for name in COLUMNS}
        values["fields"] = json.dumps(self.fields, ensure_ascii=False, sort_keys=True)
        return tuple(values[name] for name in COLUMNS)

    @classmethod
    def from_row(cls, row) -> Submission:
        """A Submission from a row selected in COLUMNS order."""
        values = dict(zip(COLUMNS, row, strict=True))
        values["fields"] = json.loads(values["fields"])
        return cls(**values)


class Storage:
    """Submission storage over a DB-API connection; subclasses say how to connect.

    Every public method runs in its own transaction and either completes (committed)
    or raises StorageUnavailable having changed nothing.
    """

    placeholder = "?"
    unavailable_errors: tuple = ()  # errors worth one retry on a fresh connection
    driver_errors: tuple = ()  # every error of the driver
    integrity_errors: tuple = ()

    def __init__(self, url: str):
        self.url = url
        self._connection = None
        self._lock = threading.RLock()
        self._pruned_at: datetime | None = None

    # --- What subclasses provide ---------------------------------------------

    def _connect(self):
        raise NotImplementedError

    def _begin(self, connection) -> None:
        raise NotImplementedError

    def _commit(self, connection) -> None:
        connection.commit()

    def _rollback(self, connection) -> None:
        connection.rollback()

    def _apply_migration(self, connection, sql: str) -> None:
        raise NotImplementedError

    def _lock_migrations(self, connection) -> None:
        """Serialise concurrent start-ups (inside the migration transaction)."""

    # --- Connection, transactions, migrations ---------------------------------

    def _sql(self, query: str) -> str:
        return query if self.placeholder == "?" else query.replace("?", self.placeholder)

    def _execute(self, connection, query: str, params=()):
        return connection.execute(self._sql(query), params)

    def _ensure_connection(self):
        if self._connection is None:
            connection = self._connect()
            try:
                self._migrate(connection)
            except BaseException:
                self._close_quietly(connection)
                raise
            self._connection = connection
        return self._connection

    def _close_quietly(self, connection) -> None:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - the connection is already broken
            pass

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._close_quietly(self._connection)
            self._connection = None

    def _run(self, work):
        """Run work(connection) in one transaction; retry once if a kept connection died."""
        with self._lock:
            for attempt in (1, 2):
                reused = self._connection is not None
                try:
                    connection = self._ensure_connection()
                    self._begin(connection)
                    try:
                        result = work(connection)
                        self._commit(connection)
                    except BaseException:
                        try:
                            self._rollback(connection)
                        except self.driver_errors:
                            pass
                        raise
                    return result
                except self.integrity_errors as error:
                    raise _Conflict() from error
                except self.unavailable_errors as error:
                    self._drop_connection()
                    if reused and attempt == 1:
                        continue
                    reason = type(error).__name__
                    raise StorageUnavailable(f"database unavailable ({reason})") from error
                except self.driver_errors as error:
                    self._drop_connection()
                    raise StorageUnavailable(f"database error ({type(error).__name__})") from error
            raise AssertionError("unreachable")

    def migration_files(self) -> list[tuple[str, Path]]:
        """The numbered SQL files, in order: [(version, path)]."""
        files = []
        for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
            match = _MIGRATION_NAME.match(path.name)
            if not match:
                raise ValueError(f"migration file name {path.name!r} must look like 0002_name.sql")
            files.append((match.group(1), path))
        return files

    def _migrate(self, connection) -> None:
        files = self.migration_files()
        try:
            # A read first (no write transaction): an up-to-date database that stopped
            # taking writes still opens, and /health can say that writing is what fails.
            applied = self._execute(connection, "SELECT version FROM schema_migrations")
            if {version for version, _ in files} <= {row[0] for row in applied.fetchall()}:
                return
        except self.driver_errors:
            pass  # a new database (no schema_migrations yet): migrate it below
        self._begin(connection)
        try:
            self._lock_migrations(connection)
            self._execute(
                connection,
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version TEXT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )
            applied = {
                row[0] for row in self._execute(connection, "SELECT version FROM schema_migrations")
            }
            for version, path in files:
                if version in applied:
                    continue
                self._apply_migration(connection, path.read_text(encoding="utf-8"))
                self._execute(
                    connection,
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, path.name, format_time(datetime.now(UTC))),
                )
                log.info("endpoint: applied migration %s", path.name)
            self._commit(connection)
        except BaseException:
            self._rollback(connection)
            raise

    def migrate(self) -> None:
        """Connect (if needed) and bring the schema up to date."""
        self._run(lambda connection: None)

    def applied_migrations(self) -> list[str]:
        """Versions recorded in schema_migrations, in order."""
        return self._run(
            lambda c: [
                row[0]
                for row in self._execute(c, "SELECT version FROM schema_migrations ORDER BY 1")
            ]
        )

    def ping(self) -> None:
        """Raise StorageUnavailable unless the database takes a write.

        The write (the one row of the health table, migration 0008) is committed, so a
        full disk or a read-only database fails here as a submission would. The message
        says which part failed (reaching and opening the database, or writing) and the
        driver's error code, never its text (which may name hosts or files).
        """
        stamp = format_time(datetime.now(UTC))
        with self._lock:
            try:
                self._run(lambda c: self._execute(c, _HEALTH_WRITE, (stamp,)))
                return
            except StorageUnavailable as error:
                cause = error.__cause__
            part = "cannot take a write"
            try:  # does it open and answer a read (outside any write transaction)?
                self._execute(self._ensure_connection(), "SELECT 1").fetchone()
            except (*self.driver_errors, OSError) as error:
                self._drop_connection()
                part, cause = "cannot be reached or opened", error
            code = getattr(cause, "sqlite_errorname", None) or type(cause).__name__
            raise StorageUnavailable(f"database {part} ({code})") from cause

    def close(self) -> None:
        """Close the connection; the next call opens a new one."""
        with self._lock:
            self._drop_connection()

    # --- Submissions ------------------------------------------------------------

    def add(self, submission: Submission) -> tuple[Submission, bool]:
        """Store a submission; returns (stored submission, created).

        When the form already holds the same idempotency token (or the same id, after
        a retried commit), nothing is written and the existing one is returned.
        """
        return self.store(submission)

    def store(
        self,
        submission: Submission,
        rate_limit: int | Sequence[Limit] | None = None,
        duplicate_since: datetime | None = None,
        window: timedelta = timedelta(hours=1),
        mail_kind: str | None = None,
    ) -> tuple[Submission, bool]:
        """Count the sender's hit, look for a repeat and store `submission`, in ONE transaction.

        Returns (stored submission, created). A repeat is the same idempotency token on
        the form or, for a submission without one (JavaScript off), the same e-mail and
        content since `duplicate_since`. `rate_limit` is the Limits the post spends (all or
        none), or a number N: the sender's IP hash may send N a `window`. Raises
        RateLimited (nothing counted or stored) when a limit has nothing left. Without
        `rate_limit` nothing is counted; without `duplicate_since` only the token makes a
        repeat. `mail_kind` is the sender's mail queued with a stored submission; CONFIRM
        becomes ALREADY_CONFIRMED when the address has confirmed this form before.
        """
        now = parse_time(submission.submitted_at)
        row = submission.as_row()  # before the transaction: keep the write lock short
        check_duplicate = not submission.idempotency_token and duplicate_since is not None
        if check_duplicate:
            duplicate_key = (
                submission.email,
                submission.form_id,
                submission.content_hash,
                format_time(duplicate_since),
            )

        def work(connection):
            if rate_limit is not None:
                # Raises RateLimited over a limit, which rolls the whole transaction back.
                self._count_hit(connection, submission.ip_hash, now, rate_limit, window)
            if check_duplicate:
                cursor = self._execute(connection, _INSERT_UNLESS_DUPLICATE, row + duplicate_key)
            else:
                cursor = self._execute(connection, _INSERT, row)
            if cursor.rowcount == 1:
                kind = mail_kind
                if kind == CONFIRM and self._confirmed(connection, submission):
                    kind = ALREADY_CONFIRMED
                if kind:  # the sender's mail (outbox), queued with what it tells
                    self._queue_mail(connection, submission.id, kind, now)
                if submission.form_id == COMMENT_FORM and submission.status == APPROVED:
                    self._queue_comment_mail(connection, (submission.id,), now)
                return submission, True
            # Nothing inserted: a repeat (rare), answered with the stored submission.
            existing = self._find_same(connection, submission)
            if existing is None and check_duplicate:
                existing = self._find_duplicate(connection, *duplicate_key)
            if existing is None:
                raise _Conflict()
            return existing, False

        try:
            return self._run(work)
        except _Conflict:
            # A concurrent request stored the same token first.
            existing = self._run(lambda c: self._find_same(c, submission))
            if existing:
                return existing, False
            raise StorageUnavailable("database refused the submission") from None

    def _confirmed(self, connection, submission: Submission) -> bool:
        """Whether the sender's address has confirmed a signup to this form before."""
        return (
            self._execute(
                connection,
                "SELECT 1 FROM submissions WHERE email = ? AND form_id = ? "
                "AND confirmed_at IS NOT NULL LIMIT 1",
                (submission.email, submission.form_id),
            ).fetchone()
            is not None
        )

    def confirm(self, submission_id: str, now: datetime) -> Submission | None:
        """Mark a double opt-in signup confirmed; returns it (None if there is none).

        Confirming again changes nothing: the first time is kept.
        """

        def work(connection):
            self._execute(
                connection,
                "UPDATE submissions SET confirmed_at = ? WHERE id = ? AND confirmed_at IS NULL",
                (format_time(now), submission_id),
            )
            row = self._execute(connection, f"{_SELECT} WHERE id = ?", (submission_id,)).fetchone()
            return Submission.from_row(row) if row else None

        return self._run(work)

    def withdraw_confirmation(self, submission_id: str) -> None:
        """Undo `confirm` (a commenter who wants no more mail about replies)."""
        self._run(
            lambda c: self._execute(
                c, "UPDATE submissions SET confirmed_at = NULL WHERE id = ?", (submission_id,)
            )
        )

    # --- Registrations (forms `about` a training) -------------------------------

    def register(
        self,
        submission: Submission,
        capacity: int | None,
        rate_limit: int | Sequence[Limit] | None = None,
        window: timedelta = timedelta(hours=1),
    ) -> tuple[Submission, str]:
        """Store a registration for the training `submission.about`, in ONE transaction.

        Returns (submission, outcome): REGISTERED while places are left (`capacity` None
        is no limit), else WAITLISTED; ALREADY_REGISTERED, with the earlier submission and
        nothing stored, when the same e-mail already holds a place or a waitlist spot. A
        retry of the same request (its idempotency token) gets the first answer again,
        also when its content differs (the submission flow answers that with a 409).
        The training's places are locked for the transaction (`_lock_places`), so
        registrations arriving together, from any process, are counted one after another.
        Raises RateLimited as `store` does.
        """
        now = parse_time(submission.submitted_at)
        key = (submission.form_id, submission.about)

        def work(connection):
            if rate_limit is not None:
                # Raises RateLimited over a limit, which rolls the whole transaction back.
                self._count_hit(connection, submission.ip_hash, now, rate_limit, window)
            self._lock_places(connection, *key)
            if submission.idempotency_token:
                # The same page's token again: the first answer, whatever was changed
                # (the caller tells a retry from other content by content_hash).
                earlier = self._find_same(connection, submission)
                if earlier is not None:
                    return earlier, earlier.status
            row = self._execute(
                connection,
                f"{_SELECT} WHERE email = ? AND form_id = ? AND about = ? AND status IN (?, ?)",
                (submission.email, *key, REGISTERED, WAITLISTED),
            ).fetchone()
            if row is not None:  # the same e-mail, from another page (another token)
                return Submission.from_row(row), ALREADY_REGISTERED
            status = REGISTERED
            if capacity is not None and self._places_taken(connection, *key) >= capacity:
                status = WAITLISTED
            stored = replace(submission, status=status)
            if self._execute(connection, _INSERT, stored.as_row()).rowcount != 1:
                raise _Conflict()  # the same token, stored by a concurrent request
            self._queue_mail(connection, stored.id, status, now)  # registered or waitlisted
            return stored, status

        try:
            return self._run(work)
        except _Conflict:
            existing = self._run(lambda c: self._find_same(c, submission))
            if existing is None:
                raise StorageUnavailable("database refused the registration") from None
            return existing, existing.status

    def cancel_registration(
        self, submission_id: str
    ) -> tuple[Submission | None, Submission | None]:
        """Cancel a registration and give its place to the first on the waitlist.

        Returns (the cancelled registration or None if there is none to cancel, the
        promoted registration or None). Cancelling twice changes nothing the second time.
        """

        def work(connection):
            row = self._execute(connection, f"{_SELECT} WHERE id = ?", (submission_id,)).fetchone()
            if row is None or Submission.from_row(row).status not in (REGISTERED, WAITLISTED):
                return None, None
            cancelled = Submission.from_row(row)
            key = (cancelled.form_id, cancelled.about)
            self._lock_places(connection, *key)
            self._execute(
                connection,
                "UPDATE submissions SET status = ? WHERE id = ?",
                (CANCELLED, cancelled.id),
            )
            self._queue_mail(connection, cancelled.id, CANCELLED, datetime.now(UTC))
            promoted = None
            if cancelled.status == REGISTERED:
                first = self._execute(
                    connection,
                    f"{_SELECT} WHERE form_id = ? AND about = ? AND status = ? "
                    "ORDER BY submitted_at, id LIMIT 1",
                    (*key, WAITLISTED),
                ).fetchone()
                if first is not None:
                    promoted = replace(Submission.from_row(first), status=REGISTERED)
                    self._execute(
                        connection,
                        "UPDATE submissions SET status = ? WHERE id = ?",
                        (REGISTERED, promoted.id),
                    )
                    self._queue_mail(connection, promoted.id, PROMOTED, datetime.now(UTC))
            return replace(cancelled, status=CANCELLED), promoted

        return self._run(work)

    def places(self, form_id: str, about: str) -> dict[str, int]:
        """{status: number of registrations} for one training."""
        rows = self._run(
            lambda c: self._execute(
                c,
                "SELECT status, COUNT(*) FROM submissions WHERE form_id = ? AND about = ? "
                "GROUP BY status",
                (form_id, about),
            ).fetchall()
        )
        return {status: int(count) for status, count in rows}

    def _places_taken(self, connection, form_id: str, about: str) -> int:
        (taken,) = self._execute(
            connection,
            "SELECT COUNT(*) FROM submissions WHERE form_id = ? AND about = ? AND status = ?",
            (form_id, about, REGISTERED),
        ).fetchone()
        return int(taken)

    def _lock_places(self, connection, form_id: str, about: str) -> None:
        """Hold one training's places until the transaction ends (pretix locks its quotas so).

        Nothing to do on SQLite: its write transactions (BEGIN IMMEDIATE) already run one
        at a time, across processes. PostgreSQL overrides this.
        """

    def _find_same(self, connection, submission: Submission):
        row = self._execute(connection, f"{_SELECT} WHERE id = ?", (submission.id,)).fetchone()
        if row is None and submission.idempotency_token:
            row = self._execute(
                connection,
                f"{_SELECT} WHERE form_id = ? AND idempotency_token = ?",
                (submission.form_id, submission.idempotency_token),
            ).fetchone()
        return Submission.from_row(row) if row else None

    def find_by_token(self, form_id: str, token: str) -> Submission | None:
        """The submission of `form_id` carrying idempotency `token`, if any."""
        row = self._run(
            lambda c: self._execute(
                c,
                f"{_SELECT} WHERE form_id = ? AND idempotency_token = ?",
                (form_id, token),
            ).fetchone()
        )
        return Submission.from_row(row) if row else None

    def find_duplicate(
        self, form_id: str, email: str, content_hash: str, since: datetime
    ) -> Submission | None:
        """The newest submission with the same form, e-mail and content since `since`."""
        key = (email, form_id, content_hash, format_time(since))
        return self._run(lambda c: self._find_duplicate(c, *key))

    def _find_duplicate(self, connection, email, form_id, content_hash, since: str):
        row = self._execute(
            connection, DUPLICATE_QUERY, (email, form_id, content_hash, since)
        ).fetchone()
        return Submission.from_row(row) if row else None

    def get(self, submission_id: str) -> Submission | None:
        """One submission by id."""
        row = self._run(
            lambda c: self._execute(c, f"{_SELECT} WHERE id = ?", (submission_id,)).fetchone()
        )
        return Submission.from_row(row) if row else None

    def submissions(
        self, form_id: str | None = None, since: datetime | None = None, source: str | None = None
    ):
        """Stored submissions, oldest first, optionally of one form, since a time, one source."""
        query, params = _SELECT, []
        conditions = []
        if form_id is not None:
            conditions.append("form_id = ?")
            params.append(form_id)
        if source is not None:
            conditions.append("source = ?")
            params.append(source)
        if since is not None:
            conditions.append("submitted_at >= ?")
            params.append(format_time(since))
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        query += " ORDER BY submitted_at, id"
        rows = self._run(lambda c: self._execute(c, query, tuple(params)).fetchall())
        return [Submission.from_row(row) for row in rows]

    def forget(self, email: str) -> int:
        """Delete every submission with this e-mail address; returns how many.

        The address is compared in the form `email_key` gives (case, Unicode, IDNA).
        Then `_erase_copies` removes the copies the database keeps where it can, and
        `forget_note` says what it did.
        """
        key = email_key(email)

        def work(connection):
            # The person's introductions go with their submissions.
            mine = "IN (SELECT id FROM submissions WHERE email = ?)"
            self._execute(
                connection,
                f"DELETE FROM introductions WHERE request_id {mine} OR donor_id {mine}",
                (key, key),
            )
            self._execute(connection, f"DELETE FROM outbox WHERE submission_id {mine}", (key,))
            cursor = self._execute(connection, "DELETE FROM submissions WHERE email = ?", (key,))
            return cursor.rowcount

        deleted = self._run(work)
        self._erase_copies()
        return deleted

    def _erase_copies(self) -> None:
        """Remove the copies of deleted rows the database keeps, where it can (SQLite)."""

    def forget_note(self) -> str:
        """What `forget` left behind, in words for the organizer (PostgreSQL's case here)."""
        return (
            "PostgreSQL no longer returns the deleted rows, but their bytes stay in its "
            "table files until autovacuum reuses the space, and in its write-ahead log and "
            "any backups until those are recycled."
        )

    def counts(self) -> list[tuple[str, int, str]]:
        """[(form id, number of submissions, newest submitted_at)] by form id."""
        rows = self._run(
            lambda c: self._execute(
                c,
                "SELECT form_id, COUNT(*), MAX(submitted_at) FROM submissions "
                "GROUP BY form_id ORDER BY form_id",
            ).fetchall()
        )
        return [(row[0], int(row[1]), row[2]) for row in rows]

    def pending_notifications(self) -> list[Submission]:
        """Submissions whose notification is still to be sent, oldest first."""
        rows = self._run(
            lambda c: self._execute(
                c, f"{_SELECT} WHERE notify_state = ? ORDER BY submitted_at", ("pending",)
            ).fetchall()
        )
        return [Submission.from_row(row) for row in rows]

    def mark_notified(self, submission_id: str, sent: bool, now: datetime) -> None:
        """Record a send attempt: sent, or still pending with one more attempt counted."""
        if sent:
            query = (
                "UPDATE submissions SET notify_state = 'sent', notified_at = ?, "
                "notify_attempts = notify_attempts + 1 WHERE id = ?"
            )
            params = (format_time(now), submission_id)
        else:
            query = (
                "UPDATE submissions SET notify_state = 'pending', "
                "notify_attempts = notify_attempts + 1 WHERE id = ?"
            )
            params = (submission_id,)
        self._run(lambda c: self._execute(c, query, params))

    # --- Rate limit ----------------------------------------------------------------

    def record_hit(
        self,
        ip_hash: str,
        now: datetime,
        limit: int | Sequence[Limit],
        window: timedelta = timedelta(hours=1),
    ) -> float | None:
        """Count a post against `limit` (see `store`); over it, return seconds until a retry.

        Refused posts are not counted, so a flood does not extend its own wait.
        """
        try:
            self._run(lambda c: self._count_hit(c, ip_hash, now, limit, window))
        except RateLimited as limited:
            return limited.retry_after
        return None

    def _count_hit(self, connection, ip_hash, now, limit, window) -> None:
        """Spend one token of every bucket of `limit`, or raise RateLimited.

        Raised inside the transaction, so the tokens already spent are rolled back with it.
        """
        now_us = (now - _EPOCH) // _MICROSECOND
        if self._pruned_at is None or not timedelta(0) <= now - self._pruned_at < PRUNE_INTERVAL:
            self._execute(connection, "DELETE FROM rate_limits WHERE full_at < ?", (now_us,))
            self._pruned_at = now
        limits = as_limits(ip_hash, limit, window)
        if not limits:
            return
        params = []
        for item in limits:
            params += (item.bucket, now_us + item.step, item.step, item.room)
        rows = ", ".join(["(?, ?, ?, ?)"] * len(limits))
        spent = self._execute(connection, _COUNT_HIT.format(rows=rows), params).fetchall()
        if len(spent) == len(limits):
            return
        # Refused (rare): wait until every refused bucket has a token again.
        spent = {row[0] for row in spent}
        refused = {item.bucket: item for item in limits if item.bucket not in spent}
        marks = ", ".join("?" * len(refused))
        found = self._execute(
            connection,
            f"SELECT bucket, full_at FROM rate_limits WHERE bucket IN ({marks})",
            tuple(refused),
        ).fetchall()
        waits = {
            bucket: int(full_at) + refused[bucket].step - refused[bucket].room - now_us
            for bucket, full_at in found
        }
        bucket = max(waits, key=waits.get)
        raise RateLimited(max(1.0, waits[bucket] / 1_000_000), bucket)

    # --- Comments (endpoint/comments.py): form "comment", about = the post's slug ----

    def approved_comments(
        self, post: str | None = None, since: str | None = None, limit: int | None = None
    ) -> list[dict]:
        """Approved comments, oldest first (the newest `limit` of them): no e-mail, ever.

        Each is {"id", "post", "parent" (the answered comment's id or None), "name",
        "text" (the Markdown as typed), "created" (UTC ISO 8601)}; `since` is an ISO time.
        """
        query = (
            "SELECT id, about, fields, submitted_at FROM submissions "
            "WHERE form_id = ? AND status = ?"
        )
        params: list = [COMMENT_FORM, APPROVED]
        if post is not None:
            query += " AND about = ?"
            params.append(post)
        if since is not None:
            query += " AND submitted_at > ?"
            moment = datetime.fromisoformat(since)  # raises ValueError for a wrong one
            params.append(format_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC)))
        query += " ORDER BY submitted_at DESC, id DESC"
        if limit is not None:
            query += " LIMIT ?"
            params.append(int(limit))
        rows = self._run(lambda c: self._execute(c, query, tuple(params)).fetchall())
        comments = []
        for comment_id, about, fields, created in reversed(rows):
            fields = json.loads(fields)
            comments.append(
                {
                    "id": comment_id,
                    "post": about,
                    "parent": fields.get("parent") or None,
                    "name": fields.get("name", ""),
                    "text": fields.get("comment", ""),
                    "created": created,
                }
            )
        return comments

    def held_comments(self) -> list[Submission]:
        """Comments waiting for an organizer, oldest first."""
        rows = self._run(
            lambda c: self._execute(
                c,
                f"{_SELECT} WHERE form_id = ? AND status = ? ORDER BY submitted_at, id",
                (COMMENT_FORM, HELD),
            ).fetchall()
        )
        return [Submission.from_row(row) for row in rows]

    def has_approved_comment(self, email: str) -> bool:
        """Whether an earlier comment from this address was approved."""
        row = self._run(
            lambda c: self._execute(
                c,
                "SELECT 1 FROM submissions WHERE email = ? AND form_id = ? AND status = ? LIMIT 1",
                (email_key(email), COMMENT_FORM, APPROVED),
            ).fetchone()
        )
        return row is not None

    def moderate_comments(
        self, ids: Sequence[str], status: str | None, now: datetime | None = None
    ) -> int:
        """Set comments' status (APPROVED, REJECTED), or delete them (None); returns how many.

        Approving queues, in the same transaction, the mail the approval lets go out
        (`_queue_comment_mail`).
        """
        ids = tuple(ids)
        if not ids:
            return 0
        marks = ", ".join("?" * len(ids))
        which = f"form_id = ? AND id IN ({marks})"

        def work(connection):
            if status is None:
                self._execute(
                    connection,
                    f"DELETE FROM outbox WHERE submission_id IN "
                    f"(SELECT id FROM submissions WHERE {which})",
                    (COMMENT_FORM, *ids),
                )
                query, params = f"DELETE FROM submissions WHERE {which}", (COMMENT_FORM, *ids)
            else:
                query = f"UPDATE submissions SET status = ? WHERE {which}"
                params = (status, COMMENT_FORM, *ids)
            changed = self._execute(connection, query, params).rowcount
            if status == APPROVED:
                self._queue_comment_mail(connection, ids, now or datetime.now(UTC))
            return changed

        return self._run(work)

    def _queue_comment_mail(self, connection, ids: Sequence[str], now: datetime) -> None:
        """For approved comments `ids`: their writers' CONFIRM_REPLIES (if they asked for
        replies) and a REPLY to each confirmed writer of a comment one of them answers.

        Queueing is once per kind and comment, so approving again sends nothing twice.
        """
        marks = ", ".join("?" * len(ids))
        rows = self._execute(
            connection,
            f"SELECT id, fields, email, confirmed_at FROM submissions "
            f"WHERE form_id = ? AND status = ? AND id IN ({marks})",
            (COMMENT_FORM, APPROVED, *ids),
        ).fetchall()
        for comment_id, fields, email, confirmed_at in rows:
            fields = json.loads(fields)
            if fields.get("notify_replies") and confirmed_at is None:
                self._queue_mail(connection, comment_id, CONFIRM_REPLIES, now)
            if not fields.get("parent"):
                continue
            answered = self._execute(
                connection,
                "SELECT fields, email FROM submissions WHERE id = ? AND form_id = ? "
                "AND status = ? AND confirmed_at IS NOT NULL",
                (fields["parent"], COMMENT_FORM, APPROVED),
            ).fetchone()
            if answered and json.loads(answered[0]).get("notify_replies") and answered[1] != email:
                self._queue_mail(connection, fields["parent"], REPLY + comment_id, now)

    def purge_held_comments(self, before: datetime) -> int:
        """Delete held comments sent before `before` (nobody acted on them); returns how many."""
        held = "form_id = ? AND status = ? AND submitted_at < ?"
        params = (COMMENT_FORM, HELD, format_time(before))

        def work(connection):
            self._execute(
                connection,
                f"DELETE FROM outbox WHERE submission_id IN (SELECT id FROM submissions "
                f"WHERE {held})",
                params,
            )
            cursor = self._execute(connection, f"DELETE FROM submissions WHERE {held}", params)
            return cursor.rowcount

        return self._run(work)

    # --- Introductions (endpoint/matching.py, `invoke introduce` and `invoke match`) ---

    def add_introduction(self, request_id: str, donor_id: str, now: datetime) -> tuple[str, bool]:
        """Record that help request `request_id` was put in touch with donor `donor_id`.

        Returns (introduced_at, created): recording the same pair again changes nothing
        and returns the first time.
        """
        params = (request_id, donor_id, format_time(now))

        def work(connection):
            cursor = self._execute(
                connection,
                "INSERT INTO introductions (request_id, donor_id, introduced_at) "
                "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                params,
            )
            (introduced_at,) = self._execute(
                connection,
                "SELECT introduced_at FROM introductions WHERE request_id = ? AND donor_id = ?",
                params[:2],
            ).fetchone()
            return introduced_at, cursor.rowcount == 1

        return self._run(work)

    def introductions(self) -> list[tuple[str, str, str]]:
        """[(request id, donor id, introduced_at)] whose submissions both exist, oldest first."""
        rows = self._run(
            lambda c: self._execute(
                c,
                "SELECT i.request_id, i.donor_id, i.introduced_at FROM introductions i "
                "JOIN submissions r ON r.id = i.request_id "
                "JOIN submissions d ON d.id = i.donor_id "
                "ORDER BY i.introduced_at, i.request_id, i.donor_id",
            ).fetchall()
        )
        return [(row[0], row[1], row[2]) for row in rows]

    # --- Mail to the people who sent a form --------------------------------------
    # (The organizers' notification is the submission's notify_state; migration 0007.)

    def _queue_mail(self, connection, submission_id: str, kind: str, now: datetime) -> None:
        """Queue mail `kind` to the sender of `submission_id` (once per kind), in `connection`."""
        self._execute(
            connection,
            "INSERT INTO outbox (id, submission_id, kind, created_at, state, attempts) "
            "VALUES (?, ?, ?, ?, 'pending', 0) ON CONFLICT DO NOTHING",
            (os.urandom(16).hex(), submission_id, kind, format_time(now)),
        )

    def queue_mail(self, submission_id: str, kind: str, now: datetime) -> None:
        """Queue mail `kind` (registered, waitlisted, promoted, cancelled, applied)."""
        self._run(lambda c: self._queue_mail(c, submission_id, kind, now))

    def pending_mail(self, submission_ids=None) -> list[tuple[str, str, Submission]]:
        """[(mail id, kind, submission)] still to be sent, oldest first (of some submissions)."""
        query = (
            f"SELECT o.id, o.kind, {', '.join('s.' + name for name in COLUMNS)} "
            "FROM outbox o JOIN submissions s ON s.id = o.submission_id "
            "WHERE o.state = 'pending'"
        )
        params: tuple = ()
        if submission_ids is not None:
            ids = tuple(submission_ids)
            if not ids:
                return []
            query += f" AND o.submission_id IN ({', '.join('?' * len(ids))})"
            params = ids
        query += " ORDER BY o.created_at, o.id"
        rows = self._run(lambda c: self._execute(c, query, params).fetchall())
        return [(row[0], row[1], Submission.from_row(row[2:])) for row in rows]

    def mark_mail(self, mail_id: str, sent: bool, now: datetime) -> None:
        """Record a send attempt: sent, or still pending with one more attempt counted."""
        if sent:
            query = (
                "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1 "
                "WHERE id = ?"
            )
            params = (format_time(now), mail_id)
        else:
            query = "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?"
            params = (mail_id,)
        self._run(lambda c: self._execute(c, query, params))

    def mark_undeliverable(self, row_id: str, notification: bool) -> None:
        """Record a mail that can never be sent: state "failed", never tried again.

        `notification`: the organizers' notification of submission `row_id`; otherwise
        the outbox mail `row_id`.
        """
        if notification:
            query = (
                "UPDATE submissions SET notify_state = 'failed', "
                "notify_attempts = notify_attempts + 1 WHERE id = ?"
            )
        else:
            query = "UPDATE outbox SET state = 'failed', attempts = attempts + 1 WHERE id = ?"
        self._run(lambda c: self._execute(c, query, (row_id,)))

    def mail_of(self, submission_id: str) -> list[tuple[str, str, int]]:
        """[(kind, state, attempts)] of one submission's mail, oldest first."""
        rows = self._run(
            lambda c: self._execute(
                c,
                "SELECT kind, state, attempts FROM outbox WHERE submission_id = ? "
                "ORDER BY created_at, id",
                (submission_id,),
            ).fetchall()
        )
        return [(row[0], row[1], int(row[2])) for row in rows]


def with_state(submission: Submission, **changes) -> Submission:
    """A copy of `submission` with some fields changed."""
    return replace(submission, **changes)
