"""Fixtures for the comment tests: the endpoint's own fixtures, and a manifest with posts."""

import json
import re

import pytest

from tests.endpoint.conftest import (  # noqa: F401 - fixtures used by these tests
    ENDPOINT_HOST,
    SITE,
    FakeClock,
    database_url,
    make_client,
    postgres_server,
    postgres_url,
    smtp_inbox,
    sqlite_url,
)

# FakeClock starts at 2027-01-15T08:00:00Z.
POSTS = {
    "open-post": {
        "title": "An open post",
        "url": "/blog/open-post/",
        "comments": "open",
        "closes_at": "2027-04-15T00:00:00+00:00",
    },
    "other-post": {
        "title": "Another open post",
        "url": "/blog/other-post/",
        "comments": "open",
        "closes_at": None,
    },
    "closed-post": {
        "title": "A closed post",
        "url": "/blog/closed-post/",
        "comments": "closed",
        "closes_at": None,
    },
    "old-post": {
        "title": "A post whose comments closed by themselves",
        "url": "/blog/old-post/",
        "comments": "open",
        "closes_at": "2027-01-01T00:00:00+00:00",
    },
}


@pytest.fixture
def manifest(tmp_path):
    """A site manifest listing POSTS, and the endpoint's public address."""
    path = tmp_path / "manifest.json"
    data = {"version": 1, "endpoint": f"http://{ENDPOINT_HOST}", "posts": POSTS}
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


@pytest.fixture
def comments_client(make_client, manifest, database_url):  # noqa: F811 - imported fixtures
    """Factory: a Client on SQLite and PostgreSQL with the posts' manifest."""

    def build(**overrides):
        return make_client(database_url, site_manifest=manifest, **overrides)

    return build


def comment(**changes):
    """A valid comment on open-post, with changes (None drops a field)."""
    data = {
        "name": "Dana Reyes",
        "email": "dana@example.org",
        "comment": "Great point about *phone banks*.",
        "post": "open-post",
        "consent": "yes",
        **changes,
    }
    return {name: value for name, value in data.items() if value is not None}


def send(client, **changes):
    """POST a comment a second after the last one; returns the answer."""
    client.app.clock.now += 1
    return client.post("comment", comment(**changes))


def status_of(client, comment_id):
    return client.app.storage.get(comment_id).status


def only_id(client, **where):
    [found] = [
        s.id
        for s in client.app.storage.submissions("comment")
        if all(s.fields.get(k) == v for k, v in where.items())
    ]
    return found


def links_in(text):
    return dict(re.findall(r"^(Approve|Reject|Delete): (\S+)$", text, re.M))
