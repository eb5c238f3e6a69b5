"""SQLite storage: the default, a single file in WAL mode, nothing to install."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import unquote

from .base import Storage


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
        connection.execute("BEGIN IMMEDIATE")

    def _commit(self, connection) -> None:
        connection.execute("COMMIT")

    def _rollback(self, connection) -> None:
        if connection.in_transaction:
            connection.execute("ROLLBACK")

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
