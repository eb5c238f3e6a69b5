"""SQLite storage: the default, a single file in WAL mode, nothing to install."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import unquote

from .base import Storage

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy timeout alone serialises the writers
    fcntl = None


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///relative/path`` or ``sqlite:////absolute/path`` URL."""
    if not url.startswith("sqlite:///"):
        raise ValueError("a SQLite DATABASE_URL looks like sqlite:///data/submissions.sqlite3")
    return Path(unquote(url[len("sqlite:///") :]))


class SQLiteStorage(Storage):
    """Submissions in one SQLite file (WAL journal, synchronous=NORMAL).

    One connection, shared by the server's threads behind the storage lock: every
    submission is a write transaction and SQLite serialises writers anyway, and its busy
    handler would make waiting connections sleep (adding tail latency) where the lock
    hands over at once.
    """

    placeholder = "?"
    unavailable_errors = (sqlite3.OperationalError,)
    driver_errors = (sqlite3.Error,)
    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, url: str):
        super().__init__(url)
        self.path = sqlite_path(url)
        self._writer_lock: tuple[int, int] | None = None  # (process id, descriptor)

    def _connect(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are begun explicitly (BEGIN IMMEDIATE), so
        # writers queue on the busy timeout instead of failing mid-transaction.
        connection = sqlite3.connect(
            self.path, isolation_level=None, timeout=10, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit is in the WAL before success is answered and survives
        # the endpoint crashing; only a power loss or OS crash just after may undo the last
        # commits (never corrupting the file). FULL adds an fsync to every commit, which
        # serialises writers at about 1-2 ms each: too slow for the load target. Deployments
        # that need power-loss durability use PostgreSQL (see DEPLOY.md).
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=10000")
        return connection

    def _begin(self, connection) -> None:
        self._lock_writers()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._unlock_writers()
            raise

    def _commit(self, connection) -> None:
        try:
            connection.execute("COMMIT")
        finally:
            self._unlock_writers()

    def _rollback(self, connection) -> None:
        try:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        finally:
            self._unlock_writers()

    def _lock_writers(self) -> None:
        """Wait for other processes' write transactions on a lock the kernel hands over.

        With `--workers N`, SQLite's busy handler made a second writer poll, sleeping up
        to 100 ms between tries; this lock wakes it the moment the first one commits.
        A hint only: SQLite's own locking stays the guarantee.
        """
        if fcntl is None:
            return
        if self._writer_lock is None or self._writer_lock[0] != os.getpid():
            # A descriptor inherited across a fork would share its lock with the parent.
            path = self.path.with_name(self.path.name + "-writer-lock")
            self._writer_lock = (os.getpid(), os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        fcntl.flock(self._writer_lock[1], fcntl.LOCK_EX)

    def _unlock_writers(self) -> None:
        if self._writer_lock is not None and self._writer_lock[0] == os.getpid():
            fcntl.flock(self._writer_lock[1], fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the connection and the lock file; the next call opens both again."""
        with self._lock:
            super().close()
            if self._writer_lock is not None and self._writer_lock[0] == os.getpid():
                os.close(self._writer_lock[1])
            self._writer_lock = None

    def _apply_migration(self, connection, sql: str) -> None:
        # executescript() would commit first; run statement by statement instead so a
        # migration and its schema_migrations row land in one transaction.
        statement = ""
        for line in sql.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                connection.execute(statement)
                statement = ""
        if statement.strip() and not _only_comments(statement):
            raise ValueError("migration ends with an incomplete SQL statement")


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())
