"""A small blog built once with the comments plugin, its comments in a temporary SQLite
database filled through the endpoint's own Storage (as `make serve` would leave it).

"Now" is 2013-08-01: `open-post` (July) is open, `old-post` (January) has closed by
itself, `closed-post` and `quiet-post` say so in their Comments field.
"""

import os
from dataclasses import replace

import pytest

from endpoint.storage import open_storage
from endpoint.storage.base import APPROVED, HELD, REJECTED, Submission
from tests.helpers import run_pelican, write_settings

NOW = "2013-08-01T12:00"
POSTS = {
    "open-post": ("Open for comments", "2013-07-20 10:00", None),
    "closed-post": ("Closed by hand", "2013-07-25 10:00", "closed"),
    "quiet-post": ("No comments here", "2013-07-26 10:00", "none"),
    "old-post": ("An older post", "2013-01-02 10:00", None),
}
# (id, post, name, text, created, parent, status)
COMMENTS = [
    ("c1", "open-post", "Ana", "First *thoughts* on [this](https://example.org).",
     "2013-07-21T14:00:00.000000Z", None, APPROVED),
    ("c2", "open-post", "Ben", "Agreed with Ana.", "2013-07-22T03:30:00.000000Z", "c1", APPROVED),
    ("c3", "open-post", "Cy", "A reply to Ben.", "2013-07-23T10:00:00.000000Z", "c2", APPROVED),
    ("c4", "open-post", "Di", "Answering someone gone.", "2013-07-24T10:00:00.000000Z",
     "gone", APPROVED),
    ("c5", "open-post", "Held Harry", "heldword waits.", "2013-07-25T10:00:00.000000Z", None,
     HELD),
    ("c6", "open-post", "Rejected Rita", "rejectedword.", "2013-07-25T11:00:00.000000Z", None,
     REJECTED),
    ("c7", "closed-post", "Eve", "A comment with the word lighthousekeeper.",
     "2013-07-26T10:00:00.000000Z", None, APPROVED),
    ("c8", "quiet-post", "Fay", "Never shown.", "2013-07-27T10:00:00.000000Z", None, APPROVED),
]  # fmt: skip


def post_file(slug, title, date, comments):
    """A post's Markdown."""
    field = f"Comments: {comments}\n" if comments else ""
    return (
        f"Title: {title}\nSlug: {slug}\nDate: {date}\n{field}Summary: {title}.\n\n"
        "The post's own text.\n"
    )


def fill_database(url):
    """Store COMMENTS through the endpoint's Storage, then moderate them as it does."""
    storage = open_storage(url)
    for comment_id, post, name, text, created, parent, status in COMMENTS:
        fields = {"name": name, "email": f"{comment_id}@example.org", "comment": text,
                  "post": post, "parent": parent or ""}  # fmt: skip
        submission = Submission(
            id=comment_id, form_id="comment", submitted_at=created, fields=fields, source="",
            consent_at=created, consent_version="1", consent_sha256="0", page_url="",
            ip_hash="0", user_agent="", idempotency_token=None,
            email=f"{comment_id}@example.org", content_hash=comment_id, notify_state="none",
            about=post, status=HELD,
        )  # fmt: skip
        storage.add(replace(submission))
        if status != HELD:
            storage.moderate_comments([comment_id], status)
    storage.close()


def build(base, content, database_url, comments=None, extra=(), check=True):
    """Build `content` with the plugin on; returns (output folder, CompletedProcess)."""
    settings = write_settings(
        base / "commentsconf.py",
        {"COMMENTS": comments or {"now": NOW}},
    )
    settings.write_text(
        "from pelicanconf import *  # noqa: F403\n"
        'PLUGINS = [*PLUGINS, "plugins.comments"]  # noqa: F405\n' + settings.read_text()
    )
    output = base / "output"
    before = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database_url
    try:
        result = run_pelican(content, output, settings=settings, extra=extra, check=check)
    finally:
        if before is None:
            del os.environ["DATABASE_URL"]
        else:
            os.environ["DATABASE_URL"] = before
    return output, result


def write_content(folder):
    """The fixture posts under folder/blog/; returns folder."""
    for slug, (title, date, comments) in POSTS.items():
        path = folder / "blog" / f"{slug}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(post_file(slug, title, date, comments), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def comments_site(tmp_path_factory):
    """{"base", "content", "output", "database_url"} of the built fixture blog."""
    base = tmp_path_factory.mktemp("comments-site")
    database_url = f"sqlite:///{base / 'submissions.sqlite3'}"
    fill_database(database_url)
    content = write_content(base / "content")
    output, _ = build(base, content, database_url)
    return {"base": base, "content": content, "output": output, "database_url": database_url}
