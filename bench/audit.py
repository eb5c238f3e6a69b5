"""`invoke audit`: Lighthouse scores of the published site's main pages, mobile and desktop.

    python -m bench.audit [--strict] [--workers N]

Builds content/ with publishconf.py into a temporary folder for loopback addresses,
serves it as a static host does (devserver/static_host.py: `_headers` applied, the .br
and .gz copies negotiated), starts the form endpoint beside it (a throwaway SQLite
database, the build's manifest), and runs Lighthouse (package.json pins it; `npm ci`
installs it) in headless Chromium on the home page, the newest post, training and intern
call, and the knowledge-donor, subscribe and search pages. Prints each page's four
category scores and, under 100, the audits that cost the points. Exits 1 when a score is
under its threshold (THRESHOLDS; all 100 with --strict), a page is missing or a run failed.
"""

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devserver.server import ChildProcess
from devserver.static_host import serving
from tests.helpers import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
NODE_RUNNER = Path(__file__).with_name("lighthouse.mjs")
LIGHTHOUSE = ROOT / "node_modules" / "lighthouse" / "package.json"
# The tests' Chromium and flags; Lighthouse starts it itself, so headless is asked here.
CHROMIUM_FLAGS = ["--headless=new", *CHROMIUM_ARGS]
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
THRESHOLDS = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100}
# Limits, so a stuck build or Chromium ends the audit with a message instead of hanging:
# the build, and every Lighthouse run together (about a minute on two cores).
BUILD_SECONDS = 600
LIGHTHOUSE_SECONDS = 900
FORM_FACTORS = ("mobile", "desktop")
# Pages at fixed addresses, which every build must have ("" is the home page) ...
FIXED_PAGES = {
    "home": "",
    "knowledge donors": "knowledge-donors/",
    "subscribe": "subscribe/",
    "search": "search/",
}
# ... and the newest item of each kind in the site's JSON feed (JSON_FEED in
# pelicanconf.py), found by its folder (README, "Writing for the site"); a site with none
# of a kind skips it.
FEED = "feeds/all.json"
NEWEST = {"post": "blog/", "training": "trainings/", "intern call": "internships/"}
ORDER = ("home", "post", "training", "intern call", "knowledge donors", "subscribe", "search")


class AuditError(RuntimeError):
    """The audit could not run: Lighthouse missing, a failed build, no endpoint."""


@dataclass
class Result:
    """One Lighthouse run: a page in one form factor, its scores (0-100) and lost points."""

    page: str
    form_factor: str
    url: str
    scores: dict = field(default_factory=dict)
    # (category, audit id, title, what Lighthouse found) of every audit that lost points
    failing: list = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0  # Lighthouse's own time for the run

    def below(self, thresholds):
        """The categories scored under their threshold (or not scored at all)."""
        return [
            name
            for name, least in thresholds.items()
            if self.scores.get(name) is None or self.scores[name] < least
        ]


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_lighthouse():
    """Raise AuditError unless node and the pinned Lighthouse are installed."""
    if shutil.which("node") is None:
        raise AuditError("node is not installed (Debian: apt-get install nodejs npm)")
    if not LIGHTHOUSE.is_file():
        raise AuditError("Lighthouse is not installed: run `npm ci` (make test does it)")
    if not Path(CHROMIUM).is_file():
        raise AuditError(f"Chromium is not at {CHROMIUM} (Debian: apt-get install chromium)")


def build(output, site_url, endpoint_url, content=ROOT / "content"):
    """Build `content` with publishconf.py into `output`, for these two addresses."""
    env = {**os.environ, "SITEURL": site_url, "FORMS_ENDPOINT": endpoint_url}
    command = [sys.executable, "-m", "pelican", str(content), "-s", "publishconf.py"]
    command += ["-o", str(output), "--fatal", "warnings"]
    try:
        result = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_SECONDS
        )
    except subprocess.TimeoutExpired:
        raise AuditError(f"the build did not finish in {BUILD_SECONDS} s") from None
    if result.returncode:
        raise AuditError(f"the build failed:\n{result.stdout}{result.stderr}")


def pages_to_audit(output, site_url):
    """({page name: URL}, [problems], [notes]) for the build at `output`.

    A fixed page missing from the build is a problem; a kind of item the site has none
    of is only a note.
    """
    pages, problems, notes = {}, [], []
    for name, path in FIXED_PAGES.items():
        if (output / path / "index.html").is_file():
            pages[name] = site_url + path
        else:
            problems.append(f"the {name} page, /{path}, is not in the build")
    feed = output / FEED
    items = json.loads(feed.read_text("utf-8"))["items"] if feed.is_file() else []
    if not feed.is_file():
        problems.append(f"the site's feed, /{FEED}, is not in the build")
    for name, folder in NEWEST.items():
        urls = [item["url"] for item in items if item["url"].startswith(site_url + folder)]
        if urls:
            pages[name] = urls[0]
        else:
            notes.append(f"no {name} in the site's feed: none audited")
    return {name: pages[name] for name in ORDER if name in pages}, problems, notes


@contextlib.contextmanager
def endpoint(port, site_url, output, folder, timeout=20.0):
    """The form endpoint on 127.0.0.1:`port` for the site at `site_url`, until the block ends."""
    origin = site_url.rstrip("/")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'submissions.sqlite3'}",
        "SITE_URL": origin,
        "SITE_MANIFEST": str(output / "forms" / "manifest.json"),
        "ALLOWED_ORIGINS": origin,
        "FORMS_SECRET": os.urandom(16).hex(),
        "IP_HASH_SALT": os.urandom(16).hex(),
        "SMTP_HOST": "",
    }
    log = open(folder / "endpoint.log", "w")
    child = ChildProcess(
        "form endpoint",
        [sys.executable, "-m", "endpoint", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    child.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except OSError:
                if not child.running() or time.monotonic() > deadline:
                    raise AuditError(
                        "the form endpoint did not start:\n" + (folder / "endpoint.log").read_text()
                    ) from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        child.stop()
        log.close()


def run_lighthouse(pages, folder, workers):
    """A Result for every page in every form factor, `workers` Chromiums at a time."""
    pairs = [(name, url, form) for name, url in pages.items() for form in FORM_FACTORS]
    runs = [
        {"page": name, "url": url, "formFactor": form, "output": str(folder / f"{i}.json")}
        for i, (name, url, form) in enumerate(pairs)
    ]
    workers = min(workers, len(runs))
    processes = []
    for worker in range(workers):
        jobs = folder / f"jobs-{worker}.json"
        jobs.write_text(
            json.dumps(
                {
                    "chromePath": CHROMIUM,
                    "chromeFlags": CHROMIUM_FLAGS,
                    "categories": list(CATEGORIES),
                    "runs": runs[worker::workers],
                }
            )
        )
        processes.append(subprocess.Popen(["node", str(NODE_RUNNER), str(jobs)], cwd=ROOT))
    deadline = time.monotonic() + LIGHTHOUSE_SECONDS
    try:
        for process in processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise AuditError(f"Lighthouse did not finish in {LIGHTHOUSE_SECONDS} s") from None
    finally:
        # Interrupted: SIGINT, on which chrome-launcher stops its Chromium before Node exits.
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    return [read_report(run) for run in runs]


def read_report(run):
    """The Result of one run from the JSON report the runner wrote."""
    result = Result(run["page"], run["formFactor"], run["url"])
    try:
        report = json.loads(Path(run["output"]).read_text("utf-8"))
    except (OSError, ValueError):
        result.error = "Lighthouse wrote no report (its messages are above)"
        return result
    if report.get("runtimeError"):
        result.error = report["runtimeError"]["message"]
        return result
    result.seconds = report["timing"]["total"] / 1000
    for name, category in report["categories"].items():
        score = category["score"]
        result.scores[name] = None if score is None else round(score * 100)
        if result.scores[name] == 100:
            continue
        for ref in category["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                result.failing.append((name, ref["id"], audit["title"], _found(audit)))
    return result


def _found(audit):
    """What an audit found, in a line: the first elements or messages it lists, or its value."""
    found = []
    for item in ((audit.get("details") or {}).get("items") or [])[:3]:
        text = (item.get("node") or {}).get("selector") or item.get("description")
        text = text or item.get("url")
        if text:
            found.append(" ".join(str(text).split())[:200])
    return "; ".join(found) or audit.get("displayValue") or ""


def report(results, thresholds, problems=(), notes=(), out=sys.stdout):
    """Print the table of scores, every audit that lost points and the problems and notes.

    Returns True when every score reaches its threshold and there is no problem.
    """
    short = {"performance": "perf", "accessibility": "a11y", "best-practices": "best", "seo": "seo"}
    width = max((len(f"{r.page} ({r.form_factor})") for r in results), default=4)
    header = "  ".join(f"{short[c]:>4}" for c in CATEGORIES)
    print(f"{'page':<{width}}  {header}  time", file=out)
    passed = not problems
    for result in results:
        label = f"{result.page} ({result.form_factor})"
        cells = "  ".join(f"{_cell(result.scores.get(c)):>4}" for c in CATEGORIES)
        below = result.below(thresholds)
        passed = passed and not below and not result.error
        flag = f"  under threshold: {', '.join(below)}" if below and not result.error else ""
        print(f"{label:<{width}}  {cells}  {result.seconds:3.0f} s{flag}", file=out)
    for result in results:
        if result.error or result.failing:
            print(f"\n{result.page} ({result.form_factor}) {result.url}", file=out)
        if result.error:
            print(f"  Lighthouse could not audit it: {result.error}", file=out)
        for category, audit_id, title, found in result.failing:
            print(f"  {category}: {audit_id}: {title}" + (f" ({found})" if found else ""), file=out)
    for problem in problems:
        print(f"Problem: {problem}", file=out)
    for note in notes:
        print(f"Note: {note}", file=out)
    return passed


def _cell(score):
    return "-" if score is None else str(score)


def audit(strict=False, workers=None, content=ROOT / "content", out=sys.stdout):
    """Build, serve and audit the site; print the report. Returns (results, passed).

    `workers` Chromiums run at once (default: the CPU cores, at most 4). Raises
    AuditError when the audit cannot run at all.
    """
    check_lighthouse()
    workers = workers or min(4, os.cpu_count() or 1)
    thresholds = dict.fromkeys(CATEGORIES, 100) if strict else THRESHOLDS
    with tempfile.TemporaryDirectory(prefix="audit-") as temporary:
        folder = Path(temporary)
        site_port, endpoint_port = free_port(), free_port()
        site_url = f"http://127.0.0.1:{site_port}/"
        started = time.monotonic()
        build(folder / "site", site_url.rstrip("/"), f"http://127.0.0.1:{endpoint_port}", content)
        built = time.monotonic()
        pages, problems, notes = pages_to_audit(folder / "site", site_url)
        with (
            serving(folder / "site", site_port),
            endpoint(endpoint_port, site_url, folder / "site", folder),
        ):
            results = run_lighthouse(pages, folder, workers)
        finished = time.monotonic()
    passed = report(results, thresholds, problems, notes, out)
    print(
        f"\n{len(results)} Lighthouse runs, {workers} at a time, in {finished - built:.0f} s "
        f"(build {built - started:.0f} s). Thresholds: "
        + ", ".join(f"{name} {least}" for name, least in thresholds.items()),
        file=out,
    )
    return results, passed


def main(argv=None):
    """Command line of `python -m bench.audit`; the exit status says whether it passed."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.audit", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--strict", action="store_true", help="require 100 in all four")
    parser.add_argument(
        "--workers", type=int, help="Lighthouse runs at once (default: the CPU cores, at most 4)"
    )
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        _, passed = audit(strict=args.strict, workers=args.workers)
    except AuditError as error:
        print(f"audit: {error}", file=sys.stderr)
        return 2
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
