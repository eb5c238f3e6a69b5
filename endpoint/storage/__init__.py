"""Storage for submissions behind one interface, chosen by DATABASE_URL.

`open_storage(url)` returns a `SQLiteStorage` (``sqlite:///path``, the default) or a
`PostgresStorage` (``postgresql://...``; psycopg is imported only then). Both connect
lazily and run the numbered SQL files in `migrations/` on first connection, so the
endpoint starts even while the database is down and answers 503 until it is back.
"""

from __future__ import annotations

from .base import (
    ALREADY_REGISTERED,
    CANCELLED,
    MIGRATIONS_DIR,
    REGISTERED,
    WAITLISTED,
    RateLimited,
    Storage,
    StorageUnavailable,
    Submission,
    format_time,
    parse_time,
)

__all__ = [
    "ALREADY_REGISTERED",
    "CANCELLED",
    "MIGRATIONS_DIR",
    "REGISTERED",
    "WAITLISTED",
    "RateLimited",
    "Storage",
    "StorageUnavailable",
    "Submission",
    "format_time",
    "open_storage",
    "parse_time",
]


def open_storage(database_url: str) -> Storage:
    """The storage for `database_url`; raises ValueError for an unknown scheme."""
    scheme = database_url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from .sqlite import SQLiteStorage

        return SQLiteStorage(database_url)
    if scheme in ("postgres", "postgresql"):
        from .postgres import PostgresStorage

        return PostgresStorage(database_url)
    raise ValueError(
        "DATABASE_URL must start with sqlite:/// or postgresql:// "
        f"(got a URL starting with {scheme!r})"
    )
