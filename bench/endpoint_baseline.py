"""The baseline for the endpoint load run: a minimal WSGI app storing each form as one row.

It does the least any form endpoint must: read the urlencoded body, commit it to SQLite
as one row, answer `{"ok": true}`. No validation, no abuse checks, no CORS. The load
benchmark serves it with granian (one worker) in the same run as the endpoint, so the
ratio of the two says how much our own work per submission costs.

    granian --interface wsgi --workers 1 bench.endpoint_baseline:application

DATABASE_URL (sqlite:///path) names the file; the table is created on first use.
"""

import json
import os
import sqlite3
import threading
from urllib.parse import parse_qsl

_lock = threading.Lock()
_connection = None
_OK = b'{"ok": true}'


def _database():
    global _connection
    if _connection is None:
        path = os.environ.get("DATABASE_URL", "sqlite:///baseline.sqlite3")[len("sqlite:///") :]
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # The same durability as the endpoint's SQLite storage: WAL, synchronous=NORMAL.
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("CREATE TABLE IF NOT EXISTS forms (id INTEGER PRIMARY KEY, data TEXT)")
        _connection = connection
    return _connection


def application(environ, start_response):
    """Store the POSTed form as one row; answer 200 {"ok": true}."""
    if environ["REQUEST_METHOD"] != "POST":
        body = b'{"ok": true, "database": "ok"}'
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])  # fmt: skip
        return [body]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    fields = parse_qsl(environ["wsgi.input"].read(length).decode("utf-8"))
    data = json.dumps(fields)
    with _lock:
        _database().execute("INSERT INTO forms (data) VALUES (?)", (data,))
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(_OK)))])  # fmt: skip
    return [_OK]


def stored_rows(database_url):
    """How many forms the baseline stored in `database_url`."""
    path = database_url[len("sqlite:///") :]
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM forms").fetchone()[0]
