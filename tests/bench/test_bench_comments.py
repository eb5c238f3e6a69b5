"""The bench's synthetic comments: stored as approved, on generate_site's posts, and shown
by build A."""

import re

from bench import builds
from bench.endpoint_load import sqlite_url
from bench.run import _comments_shown
from bench.synthetic import fill_comments, generate_site
from endpoint.storage import open_storage

POSTS = 3
PER_POST = 10


def approved(database_url):
    storage = open_storage(database_url)
    try:
        return storage.approved_comments()
    finally:
        storage.close()


def test_every_post_gets_its_approved_comments_the_same_every_time(tmp_path):
    content = tmp_path / "content"
    generate_site(content, POSTS)
    sources = (content / "blog" / "bench").glob("*/*.md")
    slugs = {re.search(r"^Slug: (.+)$", path.read_text(), re.M)[1] for path in sources}

    first = sqlite_url(tmp_path, "first")
    assert fill_comments(first, POSTS, PER_POST) == POSTS * PER_POST
    comments = approved(first)
    assert len(comments) == POSTS * PER_POST
    assert {comment["post"] for comment in comments} == slugs
    ids = {comment["id"] for comment in comments}
    replies = [comment for comment in comments if comment["parent"]]
    assert replies and all(reply["parent"] in ids for reply in replies)

    again = sqlite_url(tmp_path, "again")
    fill_comments(again, POSTS, PER_POST)
    assert approved(again) == comments


def test_build_a_shows_every_comment(tmp_path):
    content = tmp_path / "content"
    generate_site(content, POSTS)
    database = sqlite_url(tmp_path, "comments")
    fill_comments(database, POSTS, PER_POST)
    output = tmp_path / "output"
    builds.build_a(content, output, tmp_path / "cache", True, database)
    assert _comments_shown(output) == POSTS * PER_POST
