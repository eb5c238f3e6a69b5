"""Project tasks, run with `invoke <task>` (the Makefile calls these).

`invoke --list` shows every task with its one-line help.
"""

import os
import runpy
import shlex
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from invoke import Argument, Task, task
from invoke.exceptions import Exit

ROOT = Path(__file__).resolve().parent
PY = sys.executable
OUTPUT = ROOT / "output"
DEV_SETTINGS = ROOT / "pelicanconf.py"
PUBLISH_SETTINGS = ROOT / "publishconf.py"


def pelican(c, settings, output=OUTPUT, extra=""):
    """Run a Pelican build that fails on any warning."""
    c.run(
        f"{shlex.quote(PY)} -m pelican {shlex.quote(str(ROOT / 'content'))} "
        f"-s {shlex.quote(str(settings))} -o {shlex.quote(str(output))} "
        f"--fatal warnings {extra}",
        pty=False,
    )


def _asked_for_help(c, name, value):
    """True (after printing the task's help) when a positional argument is -h/--help.

    Invoke hands a positional argument whatever follows the task's name, `--help` too.
    """
    if value not in ("-h", "--help"):
        return False
    c.run(shlex.join([PY, "-m", "invoke", "--help", name]), pty=False)
    return True


# --- Site ---------------------------------------------------------------


@task
def build(c):
    """Build the site into output/ with the development settings."""
    pelican(c, DEV_SETTINGS)


@task
def clean(c):
    """Remove output/, the publish build public/ and Pelican's cache."""
    for folder in (OUTPUT, PUBLIC, ROOT / "cache"):
        shutil.rmtree(folder, ignore_errors=True)


# --- Dev server (devserver/) ---------------------------------------------


@task(
    help={
        "port": "Port of the site (default 8000)",
        "endpoint-port": "Port of the form endpoint started beside it (default 8001)",
        "no-endpoint": "Do not start the form endpoint",
    }
)
def serve(c, port=8000, endpoint_port=8001, no_endpoint=False):
    """Build, serve on http://127.0.0.1:PORT/ with live reload; Ctrl-C stops all."""
    from devserver import serve as run_dev_server

    run_dev_server(
        root=ROOT,
        settings=DEV_SETTINGS,
        port=int(port),
        endpoint_port=int(endpoint_port),
        start_endpoint=not no_endpoint,
        output=OUTPUT,
    )


# --- Publishing ---------------------------------------------------------
# The publish build goes to public/, never output/, so a running `make serve` keeps
# its preview. Everything is checked before anything is built.

PUBLIC = ROOT / "public"
# Hosts of the example settings and of this machine: never the public address.
PLACEHOLDER_HOSTS = ("example.org", "example.com", "example.net", "localhost", "127.0.0.1")
PUBLIC_ADDRESSES = {
    "SITEURL": "the site's public address (such as https://organizing20.org)",
    "FORMS_ENDPOINT": "the deployed form endpoint (such as https://forms.organizing20.org)",
}


def public_address_problems(environ=None):
    """What is wrong with SITEURL and FORMS_ENDPOINT: unset, placeholder, local or not https.

    publishconf.py reads both from the environment and falls back to example.org.
    """
    environ = os.environ if environ is None else environ
    problems = []
    for name, what in PUBLIC_ADDRESSES.items():
        value = environ.get(name, "").strip()
        parts = urlsplit(value)
        host = parts.hostname or ""
        if not value:
            problems.append(f"{name} is not set")
        elif parts.scheme != "https" or not host:
            problems.append(f"{name} is {value!r}, not an https:// address")
        elif any(host == bad or host.endswith("." + bad) for bad in PLACEHOLDER_HOSTS):
            problems.append(f"{name} is {value!r}, a placeholder or local address")
        elif value.endswith("/"):
            problems.append(f"{name} is {value!r}, which ends in / (links would get //)")
        else:
            continue
        problems[-1] += (
            f": set it to {what} in the environment (`export {name}=https://...`) "
            "or, for the GitHub Actions workflow, as a repository variable"
        )
    return problems


def publish_config():
    """PUBLISH from publishconf.py: target, destinations, GitHub remote and branch."""
    return runpy.run_path(str(PUBLISH_SETTINGS))["PUBLISH"]


def upload_command(target, config, source=PUBLIC):
    """The command (a list) that uploads `source` to `target` as PUBLISH `config` says."""
    if target == "rsync":
        # Files are swapped in at the end and removed ones deleted last, so visitors
        # never get a page whose stylesheet is not there yet.
        return [
            "rsync", "-e", "ssh", "-rlvzc", "--delay-updates", "--delete-after",
            f"{source}/", config["rsync_dest"],
        ]  # fmt: skip
    if target == "github":
        return [
            PY, "-m", "ghp_import", "-n", "-p", "-m", "Publish site",
            "-r", config["github_remote"], "-b", config["github_branch"], str(source),
        ]  # fmt: skip
    return ["aws", "s3", "sync", "--delete", f"{source}/", f"s3://{config['s3_bucket']}/"]


def _git(root, *args):
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


def target_problems(target, config, root=ROOT, search_path=None):
    """What stops an upload to TARGET: its program missing from the PATH, no destination.

    For github: the remote must exist in the repository at `root`, and the branch be a
    valid name other than the one checked out (ghp-import replaces its files).
    """
    if target not in ("rsync", "github", "s3"):
        wrong = f" ({target!r} is not one of them)" if target else ""
        return [
            "Say where to publish: `invoke publish --target rsync|github|s3`, or set "
            f"PUBLISH_TARGET{wrong}"
        ]
    program = {"rsync": "rsync", "github": "git", "s3": "aws"}[target]
    problems = []
    if shutil.which(program, path=search_path) is None:
        problems.append(f"{program} is not installed (not on the PATH)")
    if target == "rsync" and not config["rsync_dest"]:
        problems.append("set PUBLISH_RSYNC_DEST, such as user@host:/var/www/site/")
    if target == "s3" and not config["s3_bucket"]:
        problems.append("set PUBLISH_S3_BUCKET to the bucket's name (and AWS credentials)")
    if target == "github" and not problems:
        remote, branch = config["github_remote"], config["github_branch"]
        if _git(root, "remote", "get-url", remote).returncode:
            problems.append(
                f"this repository has no git remote {remote!r}: add it "
                f"(`git remote add {remote} URL`) or set PUBLISH_GITHUB_REMOTE"
            )
        if not branch or _git(root, "check-ref-format", "--branch", branch).returncode:
            problems.append(f"PUBLISH_GITHUB_BRANCH {branch!r} is not a branch name")
        elif _git(root, "branch", "--show-current").stdout.strip() == branch:
            problems.append(
                f"PUBLISH_GITHUB_BRANCH is {branch!r}, the branch checked out here: the "
                "site would replace its files; use gh-pages"
            )
    return [f"{target}: {problem}" for problem in problems]


@task(
    help={
        "target": "rsync, github or s3 (default: PUBLISH_TARGET)",
        "dry-run": "Build public/ exactly as it would be uploaded, and upload nothing",
    }
)
def publish(c, target=None, dry_run=False):
    """Build public/ with publishconf.py and upload it to TARGET: rsync, github or s3."""
    config = publish_config()
    target = target or config["target"]
    problems = target_problems(target, config) if target or not dry_run else []
    problems += public_address_problems()
    if problems:
        raise Exit(
            "Nothing was built or uploaded:\n"
            + "\n".join(problems)
            + "\nSee README.md, 'Publishing'."
        )
    pelican(c, PUBLISH_SETTINGS, output=PUBLIC)
    if dry_run:
        print(f"Built {PUBLIC}; nothing was uploaded.")
        if target:
            print(f"The upload would run: {shlex.join(upload_command(target, config))}")
        return
    c.run(shlex.join(upload_command(target, config)), pty=False)


# --- Form endpoint and organizers' tasks ----------------------------------
# Each runs `python -m endpoint ...` (see endpoint/cli.py); settings come from
# the environment (DATABASE_URL, SMTP_HOST, ...; see the README).


def _endpoint(c, *args):
    return c.run(" ".join([shlex.quote(PY), "-m", "endpoint", *map(shlex.quote, args)]), pty=False)


@task(
    help={
        "port": "Port to listen on (8001)",
        "host": "Address to listen on",
        "workers": "Granian worker processes (1)",
    }
)
def endpoint(c, port=8001, host="127.0.0.1", workers=1):
    """Run the form endpoint alone on http://HOST:PORT/ under granian (as in production)."""
    _endpoint(c, "--host", host, "--port", str(int(port)), "--workers", str(int(workers)))


@task(
    positional=[],
    help={
        "form": "Form id, e.g. knowledge-donor",
        "format": "csv, json, xlsx (needs --output) or osdi (Action Network person signup helper)",
        "since": "Only submissions from this date, YYYY-MM-DD (UTC)",
        "source": "Only people who came through this partner's links (?source=CODE)",
        "event": "Only registrations for this training (its slug; training-registration)",
        "output": "Write to this file instead of the screen",
    },
)
def export(c, form=None, format="csv", since=None, output=None, source=None, event=None):
    """Export one form's submissions as CSV, JSON, xlsx or OSDI; says how many rows and filter."""
    if not form:
        raise Exit("Say which form: `invoke export --form knowledge-donor` (see --help).")
    args = ["export", "--form", form, "--format", format]
    if since:
        args += ["--since", since]
    if source is not None:
        args += ["--source", source]
    if event is not None:
        args += ["--event", event]
    if output:
        args += ["--output", output]
    _endpoint(c, *args)


@task(
    help={
        "format": "text (default) or csv: one row per request and donor, for a spreadsheet",
        "output": "Write to this file instead of the screen",
        "today": "Judge which key dates have passed as on this date, YYYY-MM-DD",
    },
)
def match(c, format="text", output=None, today=None):
    """List each open help request with the knowledge donors who fit it, best first."""
    args = ["match", "--format", format]
    if output:
        args += ["--output", output]
    if today:
        args += ["--today", today]
    _endpoint(c, *args)


class _HelpFirstArgument(Argument):
    """A task's second positional argument, no longer missing once the first is --help.

    Invoke refuses `invoke introduce --help` before the task runs: "--help" fills the
    first positional argument and the second is missing. This one counts as given then,
    so the task runs and prints its help (`_asked_for_help`).
    """

    def __init__(self, first: Argument, **kwargs):
        super().__init__(**kwargs)
        self.first = first

    @property
    def value(self):
        value = Argument.value.fget(self)
        if value is None and self.first.value in ("-h", "--help"):
            return ""
        return value

    @value.setter
    def value(self, arg):
        self.set_value(arg, cast=True)


class _TwoPositionalsTask(Task):
    """A task whose two positional arguments may be just `--help`."""

    def get_arguments(self, ignore_unknown_help=None):
        args = super().get_arguments(ignore_unknown_help)
        first, second = [arg for arg in args if arg.positional]
        index = args.index(second)
        args[index] = _HelpFirstArgument(
            first,
            names=second.names,
            kind=second.kind,
            default=second.default,
            help=second.help,
            positional=True,
        )
        return args


@task(
    klass=_TwoPositionalsTask,
    positional=["request", "donor"],
    help={
        "request": "The help request's id, as `invoke match` prints it",
        "donor": "The knowledge donor's id, as `invoke match` prints it",
    },
)
def introduce(c, request, donor):
    """Record that an organizer put help request REQUEST in touch with donor DONOR."""
    if not (_asked_for_help(c, "introduce", request) or _asked_for_help(c, "introduce", donor)):
        _endpoint(c, "introduce", request, donor)


@task(
    help={
        "slug": "The training's slug, as in its address (trainings/SLUG/)",
        "format": "html (default, printable) or csv",
        "output": "Write the sign-in sheet to this file instead of the screen",
    }
)
def registrations(c, slug, format="html", output=None):
    """Print a training's registered, waitlisted and cancelled counts and its sign-in sheet."""
    if not _asked_for_help(c, "registrations", slug):
        args = ["registrations", slug, "--format", format]
        if output:
            args += ["--output", output]
        _endpoint(c, *args)


@task(help={"email": "The e-mail address whose submissions are deleted"})
def forget(c, email):
    """Delete every submission with EMAIL and print how many were deleted."""
    if not _asked_for_help(c, "forget", email):
        _endpoint(c, "forget", email)


@task
def submissions(c):
    """Print how many submissions each form has and the newest time."""
    _endpoint(c, "submissions")


@task
def notify(c):
    """Send the notification e-mails still pending (after an SMTP failure)."""
    _endpoint(c, "notify")


class _BareWords(Argument):
    """A positional argument taking every bare word after its task, as a list.

    Invoke has no variadic positional arguments, and reads a second bare word as the
    name of another task. This one counts as missing (so the parser keeps giving it
    words) until it holds as many as the command line has after the task's name,
    not counting flags and the values of `value_flags`.
    """

    def __init__(self, task_name: str, value_flags=(), **kwargs):
        super().__init__(**kwargs)
        self.words, self.task_name, self.value_flags = [], task_name, value_flags

    def _expected(self) -> int:
        argv = sys.argv[1:]
        if self.task_name not in argv:
            return 0
        count, skip = 0, False
        for token in argv[argv.index(self.task_name) + 1 :]:
            if token == "--":
                break
            if skip or token.startswith("-"):
                skip = not skip and token in self.value_flags
                continue
            count += 1
        return count

    @property
    def value(self):
        return self.words if len(self.words) >= self._expected() else None

    @value.setter
    def value(self, word):
        self.words.append(word)


class _CommentsTask(Task):
    """`invoke comments [approve|reject|delete ID...]`: the words as one argument."""

    def get_arguments(self, ignore_unknown_help=None):
        args = super().get_arguments(ignore_unknown_help)
        [given] = [arg for arg in args if arg.name == "words"]
        words = _BareWords("comments", ("--format", "-f"), names=given.names, help=given.help,
                           kind=list, positional=True)  # fmt: skip
        return [words, *(arg for arg in args if arg is not given)]


@task(
    klass=_CommentsTask,
    help={
        "format": "text (default: one held comment a line, its id first) or json",
        "words": "approve, reject or delete, then the ids of the comments",
    },
)
def comments(c, words=(), format="text"):
    """List the comments waiting for moderation; `approve ID...`, `reject ID...` (kept,
    never shown) or `delete ID...` (for good) acts on them."""
    if not words:
        _endpoint(c, "comments", "--format", format)
        return
    action, *ids = words
    if action not in ("approve", "reject", "delete"):
        raise Exit(f"comments: say approve, reject or delete before the ids, not {action!r}")
    # Ids copied as a comma-separated list work too.
    _endpoint(c, "comments", action, *" ".join(ids).replace(",", " ").split())


@task(
    help={
        "output": "Where to write the zip (dist/endpoint-lambda.zip)",
        "from_venv": "Copy dependencies from .venv instead of downloading Lambda wheels "
        "(no network; only for Linux x86_64 with Python 3.11)",
    }
)
def endpoint_package(c, output=None, from_venv=False):
    """Build the AWS Lambda zip of the form endpoint (handler endpoint.lambda_handler.handler)."""
    from endpoint.lambda_package import DEFAULT_OUTPUT, HANDLER, PackageError, build

    try:
        path = build(output or DEFAULT_OUTPUT, from_venv=from_venv)
    except PackageError as error:
        raise Exit(f"endpoint-package: {error}") from None
    print(f"Wrote {path} ({path.stat().st_size // 1024} KiB); handler: {HANDLER}")


# --- Writing: scaffolds and the content check ----------------------------
# A scaffold is written from the field list the content check uses
# (plugins/content_fields.py): every field with an example and a note on each, as
# a draft. The check refuses the examples once the file is published.


def _scaffold(c, kind, title, content):
    """Write content/<folder>/YYYY-MM-DD-slug.md for `kind`; refuse to overwrite."""
    from plugins import content_fields

    if _asked_for_help(c, content_fields.SCAFFOLD_TASKS[kind], title):
        return None
    from zoneinfo import ZoneInfo

    from pelican.settings import read_settings

    from plugins.content_meta import slug_for

    settings = read_settings(str(DEV_SETTINGS))
    now = datetime.now(ZoneInfo(settings["TIMEZONE"])).replace(second=0, microsecond=0)
    slug = slug_for(title, settings) or "post"
    folder = Path(content) if content else ROOT / "content"
    path = folder / content_fields.FOLDERS[kind] / f"{now:%Y-%m-%d}-{slug}.md"
    if path.exists():
        raise Exit(f"{path} already exists; choose another title.")
    path.parent.mkdir(parents=True, exist_ok=True)
    soon = now + timedelta(days=30)
    text = content_fields.scaffold(kind, title=title, slug=slug, now=now, start=soon, apply_by=soon)
    path.write_text(text, "utf-8")
    print(f"Wrote {path}. Replace the example values, then run `invoke check`.")
    return path


@task(help={"title": "The post's headline, in quotes", "content": "Content folder"})
def new_post(c, title, content=None):
    """Write content/blog/YYYY-MM-DD-slug.md with every field, as a draft."""
    return _scaffold(c, "post", title, content)


@task(help={"title": "The page's title, in quotes", "content": "Content folder"})
def new_page(c, title, content=None):
    """Write content/pages/YYYY-MM-DD-slug.md with every field, as a draft."""
    return _scaffold(c, "page", title, content)


@task(help={"title": "The training's name, in quotes", "content": "Content folder"})
def new_training(c, title, content=None):
    """Write content/trainings/YYYY-MM-DD-slug.md with every field, as a draft."""
    return _scaffold(c, "training", title, content)


@task(help={"title": "The call's headline, in quotes", "content": "Content folder"})
def new_intern_call(c, title, content=None):
    """Write content/internships/YYYY-MM-DD-slug.md with every field, as a draft."""
    return _scaffold(c, "intern call", title, content)


@task(help={"content": "Content folder to check (default: content/)"})
def check(c, content=None):
    """Check every content file's metadata (fast; no build). Lists every problem."""
    args = [PY, "-m", "plugins.content_check", str(DEV_SETTINGS)]
    if content:
        args.append(str(Path(content).resolve()))
    result = c.run(
        " ".join(map(shlex.quote, args)),
        warn=True,
        pty=False,
    )
    if result.exited:
        raise Exit(code=result.exited)


@task
def vendor_cms(c):
    """Fetch the pinned Decap CMS with npm, check it, write it into plugins/cms/decap/."""
    from plugins.cms import vendor

    try:
        digest = vendor.vendor()
    except vendor.VendorError as error:
        raise Exit(f"vendor-cms: {error}") from None
    if digest != vendor.SHA256:
        vendor.record_sha256(digest)
        print(f"Recorded the new SHA-256 in plugins/cms/vendor.py: {digest}")
    print(f"Wrote {vendor.FOLDER / vendor.BUNDLE_NAME} ({vendor.PACKAGE} {vendor.VERSION}).")


# --- Benchmarks (issue 5) -------------------------------------------------


@task(
    help={
        "quick": "A small run (40 posts, 3 s of load) that finishes in under a minute",
        "posts": "Posts in the synthetic site (default 1000; the scale run uses 5x)",
        "output": "JSON file for the figures (default bench-results/bench.json)",
    }
)
def bench(c, quick=False, posts=None, output=None):
    """Benchmark builds (ours against plain Pelican) and the form endpoint."""
    args = ["--quick"] if quick else []
    if posts:
        args += ["--posts", str(int(posts))]
    if output:
        args += ["--output", str(output)]
    c.run(shlex.join([PY, "-m", "bench", *args]), pty=False)


# --- Audit (bench/audit.py) ------------------------------------------------


@task(
    help={
        "strict": "Require 100 in all four categories (default: performance 95)",
        "workers": "Lighthouse runs at once (default: the CPU cores, at most 4)",
    }
)
def audit(c, strict=False, workers=None):
    """Lighthouse on the published site's main pages, mobile and desktop: scores, what to fix."""
    args = ["--strict"] if strict else []
    if workers:
        args += ["--workers", str(int(workers))]
    result = c.run(shlex.join([PY, "-m", "bench.audit", *args]), pty=False, warn=True)
    if result.exited:
        raise Exit(code=result.exited)


# --- Quality ------------------------------------------------------------


@task
def lint(c):
    """Check the Python code with ruff."""
    c.run(f"{shlex.quote(PY)} -m ruff check .")


@task
def test(c):
    """Run every test (and ruff)."""
    lint(c)
    # Two workers (pytest-xdist), one per core of the project's machines: most tests
    # wait on Chromium, servers or builds. Each file runs whole in one worker, so its
    # fixtures are built once: 3.4 minutes instead of 4.5. Files go out in the order
    # they are collected, not fewest tests last (xdist's default), which left the
    # one-test `invoke bench --quick` file running alone at the end.
    c.run(
        f"{shlex.quote(PY)} -m pytest -n 2 --dist loadfile --no-loadscope-reorder", pty=False
    )
