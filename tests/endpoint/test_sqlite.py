"""What only the SQLite storage does: its query plans and its lock between processes."""

import sqlite3
import threading

from endpoint.storage import open_storage
from endpoint.storage.base import _INSERT_UNLESS_DUPLICATE, _SELECT, COLUMNS, DUPLICATE_QUERY

from .test_storage import NOW, submission


def _plan(sqlite_url, query, params):
    storage = open_storage(sqlite_url)
    storage.migrate()
    storage.close()
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as connection:
        return str(connection.execute("EXPLAIN QUERY PLAN " + query, params).fetchall())


def test_the_duplicate_check_uses_its_index(sqlite_url):
    # Through the form's time index it walked every submission of the window, so a
    # busy campaign made each signup slower than the last.
    key = ("a@example.org", "form", "hash", "2026")
    assert "submissions_duplicate" in _plan(sqlite_url, DUPLICATE_QUERY, key)
    # The same check inside the JavaScript-off INSERT.
    row = ("x",) * len(COLUMNS)
    assert "submissions_duplicate" in _plan(sqlite_url, _INSERT_UNLESS_DUPLICATE, row + key)


def test_no_other_index_leads_with_a_column_the_duplicate_check_names(sqlite_url):
    # PostgreSQL chose such an index for the check while its statistics were young
    # and read every submission of the form (migration 0012). A partial index only
    # serves queries that name its condition, which the check never does.
    storage = open_storage(sqlite_url)
    storage.migrate()
    storage.close()
    named = {"email", "form_id", "content_hash", "submitted_at"}
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as connection:
        indexes = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'submissions'"
            " AND sql IS NOT NULL AND sql NOT LIKE '% WHERE %'"
        ).fetchall()
        leading = {
            name: connection.execute(f"PRAGMA index_info({name})").fetchone()[2]
            for name, _sql in indexes
        }
    assert "submissions_status" in leading
    assert {name for name, column in leading.items() if column in named} == {
        "submissions_duplicate"
    }


def test_forget_uses_an_index(sqlite_url):
    # The e-mail-only index went in migration 0003; the duplicate index leads with it.
    plan = _plan(sqlite_url, "DELETE FROM submissions WHERE email = ?", ("a@example.org",))
    assert "USING INDEX submissions_duplicate" in plan


def test_a_token_look_up_uses_the_partial_token_index(sqlite_url):
    # Migration 0011 indexes only the submissions that carry a token.
    query = f"{_SELECT} WHERE form_id = ? AND idempotency_token = ?"
    assert "submissions_form_token" in _plan(sqlite_url, query, ("form", "token"))


def test_a_failed_transaction_lets_the_next_writer_in(sqlite_url):
    first, second = open_storage(sqlite_url), open_storage(sqlite_url)
    first.add(submission(1))

    def clash(connection):
        raise RuntimeError("a bug inside a transaction")

    try:
        first._run(clash)
    except RuntimeError:
        pass
    # `second` has its own lock descriptor, as another process would: had the failed
    # transaction kept the lock, this write would wait for ever.
    writer = threading.Thread(target=second.add, args=(submission(2, when=NOW),), daemon=True)
    writer.start()
    writer.join(timeout=10)
    assert not writer.is_alive(), "the writer lock was not released after a rollback"
    assert [s.id for s in first.submissions()] == ["id-1", "id-2"]
    first.close()
    second.close()
