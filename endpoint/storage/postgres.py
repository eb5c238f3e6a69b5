"""PostgreSQL storage through psycopg 3 (imported only when DATABASE_URL asks for it)."""

from __future__ import annotations

import psycopg

from .base import Storage

# Any constant will do: it only has to be the same for every endpoint process.
MIGRATION_LOCK_KEY = 2_0_2026_11


class PostgresStorage(Storage):
    """Submissions in a PostgreSQL database; reconnects after the server restarts."""

    placeholder = "%s"
    unavailable_errors = (psycopg.OperationalError, psycopg.InterfaceError)
    driver_errors = (psycopg.Error,)
    integrity_errors = (psycopg.IntegrityError,)

    def __init__(self, url: str, connect_timeout: int = 5):
        super().__init__(url)
        self.connect_timeout = connect_timeout

    def _connect(self):
        return psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout)

    def _begin(self, connection) -> None:
        connection.execute("BEGIN")

    def _commit(self, connection) -> None:
        connection.execute("COMMIT")

    def _rollback(self, connection) -> None:
        if not connection.closed:
            connection.execute("ROLLBACK")

    def _lock_places(self, connection, form_id: str, about: str) -> None:
        # A transaction-level advisory lock per training: a second registration for the
        # same training waits here until the first commits, then counts its place.
        connection.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{form_id}/{about}",)
        )

    def _lock_migrations(self, connection) -> None:
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))

    def _apply_migration(self, connection, sql: str) -> None:
        # Without parameters psycopg sends the file as one simple query, which may
        # hold several statements; it stays inside the open transaction.
        connection.execute(sql)
