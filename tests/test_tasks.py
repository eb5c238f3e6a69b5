"""The volunteer-facing tasks in tasks.py: scaffolds and publishing's clear refusals."""

import json
import os
import re
import subprocess
import sys

import pytest
from invoke import Context

import tasks
from tests.helpers import ROOT, run_bounded, run_pelican


def test_new_post_writes_a_draft_with_every_field_explained_that_builds(tmp_path):
    content = tmp_path / "content"
    path = tasks.new_post(Context(), "Strike kitchens, online", content=str(content))
    assert path.parent == content / "blog"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-strike-kitchens-online\.md", path.name)
    header, comment = path.read_text(encoding="utf-8").split("<!--", 1)
    fields = re.findall(r"^([A-Za-z_]+):", header, flags=re.MULTILINE)
    assert {"Title", "Date", "Modified", "Author", "Slug", "Tags", "Summary", "Status"} <= set(
        fields
    )
    for field in fields:
        assert re.search(rf"\b{field}\b", comment), f"{field} is not explained"

    # Filled in and published, it builds with --fatal warnings at /blog/YEAR/SLUG/.
    summary = re.search(r"^Summary: .*$", header, flags=re.MULTILINE).group(0)
    header = header.replace("Status: draft", "Status: published")
    header = header.replace(summary, "Summary: Kitchens that fed strikers went online.")
    path.write_text(header + "\nHow the kitchens organized.\n")
    run_pelican(content, tmp_path / "site")
    year = path.name[:4]
    page = tmp_path / "site" / "blog" / year / "strike-kitchens-online" / "index.html"
    assert "<h1>Strike kitchens,&nbsp;online</h1>" in page.read_text(encoding="utf-8")


def test_new_post_never_overwrites(tmp_path):
    tasks.new_post(Context(), "Twice", content=str(tmp_path))
    with pytest.raises(Exception, match="already exists"):
        tasks.new_post(Context(), "Twice", content=str(tmp_path))


def _publish(*args, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISH_")}
    return run_bounded(
        [sys.executable, "-m", "invoke", "publish", *args], cwd=ROOT, env={**clean, **env}
    )


@pytest.mark.parametrize(
    "args, env, message",
    [
        ((), {}, "Say where to publish"),
        (("--target", "rsync"), {}, "PUBLISH_RSYNC_DEST"),
        (("--target", "s3"), {}, "PUBLISH_S3_BUCKET"),
        ((), {"PUBLISH_TARGET": "s3"}, "PUBLISH_S3_BUCKET"),
    ],
)
def test_publish_without_a_target_stops_with_a_clear_message(args, env, message):
    result = _publish(*args, **env)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def _task_names():
    listing = subprocess.run(
        [sys.executable, "-m", "invoke", "--list", "--list-format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return [task["name"] for task in json.loads(listing.stdout)["tasks"]]


@pytest.mark.parametrize("task", _task_names())
def test_every_task_prints_its_own_help(task):
    for args in ([task, "--help"], ["--help", task]):
        result = subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"Usage: inv[oke] [--core-opts] {task}" in result.stdout
        assert "python -m endpoint" not in result.stdout + result.stderr
