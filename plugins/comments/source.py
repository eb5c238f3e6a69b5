"""Where a build gets the approved comments: the endpoint's database, or the endpoint.

"database": the storage the endpoint itself opens (DATABASE_URL, by default the data/
SQLite file `make serve` uses); a database file that does not exist yet holds no
comments. "https": GET <endpoint>/forms/comment/approved with the COMMENTS_TOKEN from
the environment, for a build on another machine (the publishing workflow).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 20
# What each comment must hold (the storage's approved_comments gives exactly these).
KEYS = {"id", "post", "parent", "name", "text", "created"}


class CommentsUnavailable(Exception):
    """The comments could not be read; the message says why, without secrets."""


def from_database() -> list[dict]:
    """Every approved comment in the endpoint's database (settings from the environment)."""
    from endpoint.settings import Settings
    from endpoint.storage import StorageUnavailable, open_storage

    try:
        url = Settings.from_env(warn=False, require_secrets=False).database_url
        if url.startswith("sqlite:"):
            from endpoint.storage.sqlite import sqlite_path

            if not sqlite_path(url).exists():
                return []  # `make serve` has not stored anything yet
        storage = open_storage(url)
    except ValueError as error:
        raise CommentsUnavailable(f"DATABASE_URL: {error}") from None
    try:
        return storage.approved_comments()
    except StorageUnavailable as error:
        raise CommentsUnavailable(f"the database is unavailable: {error}") from None
    finally:
        storage.close()


def from_endpoint(endpoint: str) -> list[dict]:
    """Every approved comment, from the endpoint over HTTP(S) with COMMENTS_TOKEN."""
    token = os.environ.get("COMMENTS_TOKEN", "")
    if not token:
        raise CommentsUnavailable("the COMMENTS_TOKEN environment variable is not set")
    request = urllib.request.Request(
        f"{endpoint}/forms/comment/approved", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            comments = json.load(response)["comments"]
    except OSError as error:  # refused, timed out, or an HTTP error status
        raise CommentsUnavailable(f"{endpoint} did not answer: {error}") from None
    except (ValueError, KeyError, TypeError):
        raise CommentsUnavailable(f"{endpoint} answered something that is not comments") from None
    if not isinstance(comments, list) or not all(
        isinstance(comment, dict) and KEYS <= comment.keys() for comment in comments
    ):
        raise CommentsUnavailable(f"{endpoint} answered something that is not comments")
    return comments
