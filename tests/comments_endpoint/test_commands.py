"""`invoke comments` and `invoke export --form comment`, run as an organizer runs them."""

import json
import os
import subprocess
import sys

import pytest

from endpoint.storage.base import APPROVED, HELD, REJECTED

from .conftest import only_id, send

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVOKE = os.path.join(os.path.dirname(sys.executable), "invoke")


def run(database_url, *args):
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [INVOKE, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def three_held(make_client, manifest, sqlite_url):
    client = make_client(sqlite_url, site_manifest=manifest)
    for name in ("Ann", "Bo", "Cy"):
        send(client, name=name, email=f"{name.lower()}@example.org", comment=f"Hi from {name}")
    return client, {name: only_id(client, name=name) for name in ("Ann", "Bo", "Cy")}


def test_comments_lists_the_held_ones_in_text_and_json(three_held, sqlite_url):
    client, ids = three_held
    text = run(sqlite_url, "comments")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [ids["Ann"], ids["Bo"], ids["Cy"]]
    assert "open-post" in lines[0] and "Hi from Ann" in lines[0]
    listed = json.loads(run(sqlite_url, "comments", "--format", "json").stdout)
    assert [c["id"] for c in listed] == [ids["Ann"], ids["Bo"], ids["Cy"]]
    assert set(listed[0]) == {"id", "post", "name", "text", "status", "created"}
    assert (listed[0]["text"], listed[0]["status"]) == ("Hi from Ann", HELD)


def test_comments_approve_reject_and_delete_by_id(three_held, sqlite_url):
    client, ids = three_held
    result = run(sqlite_url, "comments", "approve", ids["Ann"], ids["Bo"])
    assert result.returncode == 0, result.stderr
    assert "Approved 2 of 2" in result.stdout
    assert run(sqlite_url, "comments", "--format", "text", "reject", ids["Cy"]).returncode == 0
    storage = client.app.storage
    assert [storage.get(ids[n]).status for n in ("Ann", "Bo", "Cy")] == [
        APPROVED,
        APPROVED,
        REJECTED,
    ]
    assert run(sqlite_url, "comments").stdout.strip() == "No comments are waiting."
    # Ids pasted as a comma-separated list work too.
    deleted = run(sqlite_url, "comments", "delete", f"{ids['Bo']},{'0' * 32}")
    assert "Deleted 1 of 2" in deleted.stdout and "not comments here" in deleted.stdout
    wrong = run(sqlite_url, "comments", "publish", ids["Ann"])
    assert wrong.returncode == 1 and "say approve, reject or delete" in wrong.stderr
    assert storage.get(ids["Bo"]) is None
    assert [c["name"] for c in storage.approved_comments()] == ["Ann"]


def test_export_form_comment_works_like_every_export(three_held, sqlite_url):
    _, ids = three_held
    result = subprocess.run(
        [sys.executable, "-m", "endpoint", "export", "--form", "comment", "--format", "json"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": sqlite_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["status"] for row in rows] == [HELD, HELD, HELD]
    assert "ann@example.org" in result.stdout and "Hi from Cy" in result.stdout
