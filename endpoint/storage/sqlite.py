"""SQLite storage: the default, a single file in WAL mode, nothing to install."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import unquote

from .base import Storage, StorageUnavailable

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy timeout alone serialises the writers
    fcntl = None


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///relative/path`` or ``sqlite:////absolute/path`` URL."""
    if not url.startswith("sqlite:///"):
        raise ValueError("a SQLite DATABASE_URL looks like sqlite:///data/submissions.sqlite3")
    return Path(unquote(url[len("sqlite:///") :]))


# The database, its -wal and -shm files (which SQLite creates with the database file's
# permissions) and the -writer-lock file are the owner's alone, and so is a data folder
# the storage creates.
PRIVATE_FILE, PRIVATE_FOLDER = 0o600, 0o700


class SQLiteStorage(Storage):
    """Submissions in one SQLite file (WAL journal, synchronous=NORMAL, secure_delete).

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
        self._copies_left = False  # the last forget could not empty the WAL

    def _connect(self):
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(parents=True, mode=PRIVATE_FOLDER, exist_ok=True)
            os.chmod(folder, PRIVATE_FOLDER)  # whatever the umask
        # Create the file before SQLite does, readable by its owner only: SQLite gives the
        # -wal and -shm files the database file's permissions. An existing file is left
        # as it is.
        try:
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
        except OSError:
            pass  # sqlite3.connect below reports it (as the database being unavailable)
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
        # Deleted rows (and freed pages) are overwritten with zeros, so `forget` leaves
        # no copy in the database file; many builds have this on already.
        connection.execute("PRAGMA secure_delete=ON")
        return connection

    def _erase_copies(self) -> None:
        """Copy the write-ahead log into the database and empty it (after `forget`).

        The WAL still holds earlier versions of the deleted rows' pages until then. Waits
        up to the busy timeout for connections reading an older snapshot; if one still is,
        the log stays as it is and `forget_note` says so.
        """
        with self._lock:
            try:
                connection = self._ensure_connection()
                busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error as error:
                self._drop_connection()
                raise StorageUnavailable(f"database error ({type(error).__name__})") from error
            self._copies_left = bool(busy)

    def forget_note(self) -> str:
        """What the last `forget` left in the database files."""
        if self._copies_left:
            return (
                f"Another connection was reading, so {self.path.name}-wal could not be "
                "emptied: it may still hold copies of the deleted rows until SQLite's next "
                "checkpoint. Run forget with the same address again when the endpoint is "
                "quiet."
            )
        return (
            "No copy is left in the database files: SQLite overwrote the deleted rows with "
            f"zeros and emptied its write-ahead log ({self.path.name}-wal). Backups and "
            "exports made earlier still hold them."
        )

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
