"""`invoke publish`: what it refuses before building, what it builds, what it would upload."""

import os
import re
import subprocess

import pytest
from invoke import MockContext, Result
from invoke.exceptions import Exit

import tasks

GOOD = {"SITEURL": "https://organizing20.org", "FORMS_ENDPOINT": "https://forms.organizing20.org"}
BUILD_PUBLIC = re.compile(r".* -m pelican \S+ -s \S*/publishconf\.py -o \S*/public ")
CONFIG = {
    "target": "",
    "rsync_dest": "",
    "github_remote": "origin",
    "github_branch": "gh-pages",
    "s3_bucket": "",
}


def test_real_addresses_pass():
    assert tasks.public_address_problems(GOOD) == []


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("SITEURL", None, "SITEURL is not set"),
        ("SITEURL", "https://organizing20.example.org", "placeholder"),
        ("FORMS_ENDPOINT", "https://forms.organizing20.example.org", "placeholder"),
        ("FORMS_ENDPOINT", "https://example.com", "placeholder"),
        ("FORMS_ENDPOINT", "http://127.0.0.1:8001", "not an https:// address"),
        ("SITEURL", "https://localhost:8000", "placeholder or local"),
        ("SITEURL", "organizing20.org", "not an https:// address"),
        ("SITEURL", "https://organizing20.org/", "ends in /"),
    ],
)
def test_placeholder_or_missing_addresses_are_named(name, value, reason):
    environ = {**GOOD, name: value} if value else {k: v for k, v in GOOD.items() if k != name}
    (problem,) = tasks.public_address_problems(environ)
    assert problem.startswith(f"{name} ") and reason in problem
    assert "in the environment" in problem and "repository variable" in problem


def fake_programs(folder, *names):
    """A PATH holding executables called `names` that do nothing."""
    for name in names:
        program = folder / name
        program.write_text("#!/bin/sh\n", encoding="utf-8")
        program.chmod(0o755)
    return str(folder)


@pytest.mark.parametrize(
    ("target", "config", "programs", "expected"),
    [
        ("rsync", {"rsync_dest": "me@host:/srv/site/"}, ["rsync"], []),
        ("rsync", {"rsync_dest": "me@host:/srv/site/"}, [], ["rsync is not installed"]),
        ("rsync", {}, ["rsync"], ["set PUBLISH_RSYNC_DEST"]),
        ("s3", {"s3_bucket": "organizing20-site"}, ["aws"], []),
        ("s3", {}, [], ["aws is not installed", "set PUBLISH_S3_BUCKET"]),
        (None, {}, ["rsync"], ["Say where to publish"]),
        ("ftp", {}, ["rsync"], ["'ftp' is not one of them"]),
    ],
)
def test_each_target_checks_its_program_and_destination(
    tmp_path, target, config, programs, expected
):
    path = fake_programs(tmp_path, *programs)
    problems = tasks.target_problems(target, {**CONFIG, **config}, search_path=path)
    assert len(problems) == len(expected)
    for problem, text in zip(problems, expected, strict=True):
        assert text in problem


@pytest.fixture
def repository(tmp_path):
    """A git repository on branch main, with a remote called upstream."""

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "--initial-branch=main")
    git("remote", "add", "upstream", str(tmp_path / "elsewhere.git"))
    return tmp_path


@pytest.mark.parametrize(
    ("remote", "branch", "expected"),
    [
        ("upstream", "gh-pages", None),
        ("origin", "gh-pages", "no git remote 'origin'"),
        ("upstream", "main", "the branch checked out here"),
        ("upstream", "no..dots", "is not a branch name"),
    ],
)
def test_github_checks_the_remote_and_branch(repository, remote, branch, expected):
    config = {**CONFIG, "github_remote": remote, "github_branch": branch}
    problems = tasks.target_problems("github", config, root=repository)
    if expected is None:
        assert problems == []
    else:
        (problem,) = problems
        assert expected in problem


def test_the_upload_commands_send_public(tmp_path):
    config = {**CONFIG, "rsync_dest": "me@host:/srv/site/", "s3_bucket": "bucket"}
    assert tasks.upload_command("rsync", config)[-2:] == [f"{tasks.PUBLIC}/", "me@host:/srv/site/"]
    assert tasks.upload_command("s3", config)[-2:] == [f"{tasks.PUBLIC}/", "s3://bucket/"]
    github = tasks.upload_command("github", config)
    assert github[-5:] == ["-r", "origin", "-b", "gh-pages", str(tasks.PUBLIC)]


@pytest.fixture
def environment(monkeypatch):
    """The public addresses set, no PUBLISH_* setting from the caller's shell."""
    for name in [name for name in os.environ if name.startswith("PUBLISH_")]:
        monkeypatch.delenv(name)
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_dry_run_builds_public_and_uploads_nothing(environment, capsys):
    """The only command run is the Pelican build with publishconf.py into public/."""
    context = MockContext(run={BUILD_PUBLIC: Result()})
    tasks.publish(context, dry_run=True)
    assert len(context.run.call_args_list) == 1
    assert "nothing was uploaded" in capsys.readouterr().out


def test_dry_run_with_a_target_prints_its_upload(environment, tmp_path, capsys):
    environment.setenv("PUBLISH_S3_BUCKET", "organizing20-site")
    environment.setenv("PATH", fake_programs(tmp_path, "aws"))
    context = MockContext(run={BUILD_PUBLIC: Result()})
    tasks.publish(context, target="s3", dry_run=True)
    assert len(context.run.call_args_list) == 1
    assert (
        f"aws s3 sync --delete {tasks.PUBLIC}/ s3://organizing20-site/" in capsys.readouterr().out
    )


def test_publish_uploads_after_the_build(environment, tmp_path):
    environment.setenv("PUBLISH_RSYNC_DEST", "me@host:/srv/site/")
    environment.setenv("PATH", fake_programs(tmp_path, "rsync"))
    context = MockContext(run={BUILD_PUBLIC: Result(), re.compile("^rsync "): Result()})
    tasks.publish(context, target="rsync")
    build, upload = (call.args[0] for call in context.run.call_args_list)
    assert "publishconf.py" in build
    assert upload.startswith("rsync ") and upload.endswith(" me@host:/srv/site/")


def test_a_placeholder_stops_publish_before_the_build(environment, tmp_path):
    environment.setenv("SITEURL", "https://organizing20.example.org")
    context = MockContext()  # any command run would fail the test
    with pytest.raises(Exit, match="SITEURL is 'https://organizing20.example.org'"):
        tasks.publish(context, dry_run=True)
