"""The storage interface and the SQL both databases share."""

from __future__ import annotations

import json
import logging
import re
import threading
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
# A hit is recorded only while the sender is under the limit: one statement, whose
# row count says whether the sender was let through.
_COUNT_HIT = (
    "INSERT INTO rate_hits (ip_hash, hit_at) SELECT ?, ? WHERE "
    "(SELECT COUNT(*) FROM rate_hits WHERE ip_hash = ? AND hit_at >= ?) < ?"
)
# Hits older than the window are deleted at most this often (per process), not on
# every request: the count only looks inside the window anyway.
PRUNE_INTERVAL = timedelta(minutes=1)


class StorageUnavailable(RuntimeError):
    """The database cannot be reached or refused the work; nothing was saved."""


class RateLimited(Exception):
    """The sender is over the rate limit; nothing was recorded or stored."""

    def __init__(self, retry_after: float):
        super().__init__(f"rate limit reached; retry after {retry_after:.0f} s")
        self.retry_after = retry_after


class _Conflict(Exception):
    """A unique constraint refused a write (the transaction was rolled back)."""


def format_time(moment: datetime) -> str:
    """A datetime as the sortable UTC text stored in the database: 2026-01-02T03:04:05.000000Z."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    """The stored text back as an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


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
            for version, path in self.migration_files():
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
        """Raise StorageUnavailable unless the database answers."""
        self._run(lambda c: self._execute(c, "SELECT 1").fetchone())

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
        rate_limit: int | None = None,
        duplicate_since: datetime | None = None,
        window: timedelta = timedelta(hours=1),
    ) -> tuple[Submission, bool]:
        """Count the sender's hit, look for a repeat and store `submission`, in ONE transaction.

        Returns (stored submission, created). A repeat is the same idempotency token on
        the form or, for a submission without one (JavaScript off), the same e-mail and
        content since `duplicate_since`. Raises RateLimited (nothing recorded) when the
        sender's IP hash is over `rate_limit` hits in `window`. Without `rate_limit` no
        hit is counted; without `duplicate_since` only the token makes a repeat.
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
                retry_after = self._count_hit(
                    connection, submission.ip_hash, now, rate_limit, window
                )
                if retry_after is not None:
                    raise RateLimited(retry_after)
            if check_duplicate:
                cursor = self._execute(connection, _INSERT_UNLESS_DUPLICATE, row + duplicate_key)
            else:
                cursor = self._execute(connection, _INSERT, row)
            if cursor.rowcount == 1:
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

    def submissions(self, form_id: str | None = None, since: datetime | None = None):
        """Stored submissions, oldest first, optionally of one form and since a time."""
        query, params = _SELECT, []
        conditions = []
        if form_id is not None:
            conditions.append("form_id = ?")
            params.append(form_id)
        if since is not None:
            conditions.append("submitted_at >= ?")
            params.append(format_time(since))
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        query += " ORDER BY submitted_at, id"
        rows = self._run(lambda c: self._execute(c, query, tuple(params)).fetchall())
        return [Submission.from_row(row) for row in rows]

    def forget(self, email: str) -> int:
        """Delete every submission with this e-mail address; returns how many."""
        key = email.strip().lower()

        def work(connection):
            cursor = self._execute(connection, "DELETE FROM submissions WHERE email = ?", (key,))
            return cursor.rowcount

        return self._run(work)

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
        self, ip_hash: str, now: datetime, limit: int, window: timedelta = timedelta(hours=1)
    ) -> float | None:
        """Count a request from `ip_hash`; over the limit, return seconds until it may retry.

        Rejected requests are not recorded, so a flood does not extend its own ban.
        """
        return self._run(lambda c: self._count_hit(c, ip_hash, now, limit, window))

    def _count_hit(self, connection, ip_hash, now, limit, window) -> float | None:
        cutoff = format_time(now - window)
        if self._pruned_at is None or not timedelta(0) <= now - self._pruned_at < PRUNE_INTERVAL:
            self._execute(connection, "DELETE FROM rate_hits WHERE hit_at < ?", (cutoff,))
            self._pruned_at = now
        stamp = format_time(now)
        if not limit:
            self._execute(
                connection,
                "INSERT INTO rate_hits (ip_hash, hit_at) VALUES (?, ?)",
                (ip_hash, stamp),
            )
            return None
        cursor = self._execute(connection, _COUNT_HIT, (ip_hash, stamp, ip_hash, cutoff, limit))
        if cursor.rowcount == 1:
            return None
        (oldest,) = self._execute(
            connection,
            "SELECT MIN(hit_at) FROM rate_hits WHERE ip_hash = ? AND hit_at >= ?",
            (ip_hash, cutoff),
        ).fetchone()
        return max(1.0, (parse_time(oldest) + window - now).total_seconds())


def with_state(submission: Submission, **changes) -> Submission:
    """A copy of `submission` with some fields changed."""
    return replace(submission, **changes)
