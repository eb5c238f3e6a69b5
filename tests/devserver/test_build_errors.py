"""A failed build shows its report where the writer is looking.

The real dev server (`python -m devserver`, what `make serve` runs) serves a
copy of the site with the fixture content in tests/fixtures/devserver_errors.
The tests break a post (an unreadable Date) or a template and check that every
page then answers with the report, that an open tab shows it and goes back to
the real page by itself once the file is fixed (with JavaScript on or off), and
that the terminal prints each problem line once, whole, in a narrow terminal.
"""

import contextlib
import html
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from devserver import errorpage
from tests.helpers import ROOT, free_port, stop_session
from tests.plugins.checks import html_errors

FIXTURE = ROOT / "tests" / "fixtures" / "devserver_errors" / "content"
COPIED_FOLDERS = ["theme", "plugins", "forms", "endpoint", "webforms"]
POST = "blog/2014-02-03-a-post-whose-file-name-is-long-enough-to-wrap-in-a-narrow-terminal.md"
PAGE = "/blog/2014/phone-banking-members-come-back-to/"
GOOD_DATE = "Date: 2014-02-03 10:00"
# Markup in the value shows whether the page escapes the report.
BAD_DATE = "Date: <b>next-tuesday</b>"
BODY_MARKER = "body-marker"
HEADING = "The site could not be built"


def _get(url, timeout=5):
    """(status, body, content type) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return (
                response.status,
                response.read().decode("utf-8"),
                response.headers.get("Content-Type", ""),
            )
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode("utf-8"), error.headers.get("Content-Type", "")


def _build_number(body):
    """The build a served page belongs to (the live-reload script carries it)."""
    found = re.search(r'<script src="/__livereload.js" data-build="(\d+)"></script>', body)
    return int(found[1]) if found else None


def _wait_for_status(server, path, status, after_build=-1, timeout=15):
    """The body of `path` once it answers `status` from a build newer than `after_build`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got, body, _ = _get(server["url"] + path)
            if got == status and (_build_number(body) or 0) > after_build:
                return body
        except (urllib.error.URLError, ConnectionError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{path} never answered {status}:\n" + server["log"].read_text())
        time.sleep(0.05)


def _replace(path, old, new):
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


def _copy_site(base):
    for name in COPIED_FOLDERS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, base / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pelicanconf.py", base / "pelicanconf.py")
    shutil.copytree(FIXTURE, base / "content")


@contextlib.contextmanager
def _dev_server(base):
    """`python -m devserver` on the site copied to `base`, as if in a 60-column terminal."""
    port = free_port()
    env = dict(os.environ, COLUMNS="60")
    log_path = base / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devserver",
                "--settings",
                str(base / "pelicanconf.py"),
                "--port",
                str(port),
                "--no-endpoint",
            ],
            cwd=base,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = {
            "url": f"http://127.0.0.1:{port}",
            "log": log_path,
            "post": base / "content" / POST,
            "template": base / "theme" / "templates" / "article.html",
        }
        try:
            deadline = time.monotonic() + 60
            while "serving http" not in log_path.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the dev server did not start:\n" + log_path.read_text())
                time.sleep(0.05)
            yield server
        finally:
            stop_session(process)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The dev server on a copy of the site whose fixture content builds."""
    base = tmp_path_factory.mktemp("build-errors")
    _copy_site(base)
    with _dev_server(base) as running:
        yield running


@contextlib.contextmanager
def _broken(server, path, old, new):
    """`path` with `old` replaced by `new`; put back and built again afterwards."""
    _replace(path, old, new)
    try:
        yield
    finally:
        before = _build_number(_get(server["url"] + PAGE)[1])
        _replace(path, new, old)
        _wait_for_status(server, PAGE, 200, after_build=before)


def _problem_lines(body):
    """The report's problem lines as the page shows them, as plain text."""
    items = re.findall(r"<li>(.*?)</li>", body, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in items]


def test_every_page_answers_with_the_report_while_the_build_is_broken(server):
    assert BODY_MARKER in _wait_for_status(server, PAGE, 200)
    with _broken(server, server["post"], GOOD_DATE, BAD_DATE):
        body = _wait_for_status(server, PAGE, 500)
        assert HEADING in body
        assert "reloads by itself" in body
        problems = _problem_lines(body)
        assert len(problems) == 1
        assert problems[0].startswith(f"content/{POST}:2: Date: '<b>next-tuesday</b>'")
        assert "&lt;b&gt;next-tuesday&lt;/b&gt;" in body and "<b>next" not in body
        assert _build_number(body) is not None
        # Pages of the last good build, and pages that never existed, alike.
        for path in ("/", "/about/", "/no-such-page/"):
            status, other, kind = _get(server["url"] + path)
            assert (status, kind) == (500, "text/html; charset=utf-8"), path
            assert _problem_lines(other) == problems, path
        # Assets of the last good build are still served as they are.
        status, css, kind = _get(server["url"] + "/theme/css/site.css")
        assert status == 200 and kind.startswith("text/css") and HEADING not in css
    body = _wait_for_status(server, PAGE, 200)
    assert BODY_MARKER in body and HEADING not in body


def test_a_template_error_is_reported_with_its_template_and_line(server):
    with _broken(
        server,
        server["template"],
        "{% block content %}",
        "{% block content %}{{ article.no_such_thing.boom() }}",
    ):
        body = _wait_for_status(server, PAGE, 500)
        (problem,) = _problem_lines(body)
        assert problem.startswith("UndefinedError: ")
        assert "no_such_thing" in problem
        assert re.search(r"\(in theme/templates/article\.html, line \d+\)$", problem), problem


def test_what_the_failed_build_logged_is_shown_below_the_report(server):
    # A link to a post Pelican skips passes the check before reading; only Pelican,
    # while writing, warns that it cannot find it.
    skipped = server["post"].parent / "skipped-post.md"
    skipped.write_text("Title: Skipped\nDate: 2013-01-01\nStatus: skip\n\nNot built.\n")
    end = "the tests look for."
    link = end + "\n\nSee [the old post]({filename}/blog/skipped-post.md)."
    try:
        with (
            _broken(server, server["post"], end, link),
            _broken(
                server,
                server["template"],
                "{% block content %}",
                "{% block content %}{{ article.no_such_thing.boom() }}",
            ),
        ):
            body = _wait_for_status(server, PAGE, 500)
            assert _problem_lines(body)[0].startswith("UndefinedError: ")
            logged = re.search(
                r"<h2>Also logged during this build</h2>\s*<pre>(.*?)</pre>", body, re.S
            )
            assert logged, body
            assert "WARNING: Unable to find &#x27;/blog/skipped-post.md&#x27;" in logged[1]
    finally:
        skipped.unlink()


def _pieces_elsewhere(lines, whole, size=12):
    """Lines other than `whole` holding some `size`-character piece of it (a wrapped part)."""
    pieces = {whole[at : at + size] for at in range(len(whole) - size + 1)}
    return [line for line in lines if line != whole and any(p in line for p in pieces)]


def test_the_terminal_prints_each_problem_line_once_and_whole(server):
    seen = len(server["log"].read_text().splitlines())
    with _broken(server, server["post"], GOOD_DATE, BAD_DATE):
        body = _wait_for_status(server, PAGE, 500)
        (problem,) = _problem_lines(body)
        summary = html.unescape(re.search(r'<section class="report".*?<p>(.*?)</p>', body, re.S)[1])
        deadline = time.monotonic() + 5
        while problem not in server["log"].read_text():
            assert time.monotonic() < deadline, server["log"].read_text()
            time.sleep(0.05)
    lines = server["log"].read_text().splitlines()[seen:]
    printed = "\n".join(lines)
    failed_builds = sum("build FAILED" in line for line in lines)
    assert failed_builds >= 1, printed
    # Once per failed build, each as one whole line, and no piece of it elsewhere
    # (a second copy, or the rest of a line wrapped at the terminal's width).
    where = f"content/{POST}:2:"
    assert problem.startswith(where)
    assert lines.count(problem) == failed_builds, printed
    assert lines.count(summary) == failed_builds, printed
    assert _pieces_elsewhere(lines, summary) == [], printed
    assert _pieces_elsewhere(lines, problem[len(where) :]) == [problem] * failed_builds, printed
    # The path is never cut: wherever a piece of it shows, all of it does.
    name = POST.rsplit("/", 1)[1]
    assert [line for line in _pieces_elsewhere(lines, name) if name not in line] == [], printed


def test_a_first_build_that_fails_is_shown_too(tmp_path):
    _copy_site(tmp_path)
    _replace(tmp_path / "content" / POST, GOOD_DATE, BAD_DATE)
    with _dev_server(tmp_path) as server:
        status, body, _ = _get(server["url"] + PAGE)
        assert status == 500 and HEADING in body
        assert _problem_lines(body)[0].startswith(f"content/{POST}:2: Date:")
        _replace(server["post"], BAD_DATE, GOOD_DATE)
        assert BODY_MARKER in _wait_for_status(server, PAGE, 200)


def test_the_error_page_is_valid_html_and_escapes_the_report_and_the_log(tmp_path):
    body = errorpage.render(
        "Content check: 1 problem in 1 file.\ncontent/a&b.md:3: Title: '<i>' — fix it",
        logged=["WARNING: <script>alert(1)</script>"],
        build=7,
    )
    (tmp_path / "error.html").write_bytes(body)
    assert html_errors([tmp_path / "error.html"]) == []
    page = body.decode("utf-8")
    assert "<code>content/a&amp;b.md:3</code>: Title: &#x27;&lt;i&gt;&#x27; — fix it" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert '<script src="/__livereload.js" data-build="7"></script>' in page
    # Nothing but the dev server's own script is loaded.
    assert re.findall(r'(?:src|href)="([^"]*)"', page) == ["/__livereload.js"]


@pytest.mark.browser
def test_the_open_tab_shows_the_report_and_returns_by_itself(server, browser):
    page = browser.new_page()
    try:
        page.goto(server["url"] + PAGE)
        page.get_by_text(BODY_MARKER).wait_for()
        # A mark that only survives if the tab is never reloaded.
        page.evaluate("window.__notReloaded = true")
        with _broken(server, server["post"], GOOD_DATE, BAD_DATE):
            page.get_by_role("heading", name=HEADING).wait_for(timeout=10_000)
            text = page.inner_text("body")
            assert f"content/{POST}:2: Date: '<b>next-tuesday</b>'" in text
            assert page.evaluate("window.__notReloaded") is None
            page.evaluate("window.__notReloaded = true")
        page.get_by_text(BODY_MARKER).wait_for(timeout=10_000)
        assert page.evaluate("window.__notReloaded") is None
        assert page.get_by_role("heading", name=HEADING).count() == 0
    finally:
        page.close()


@pytest.mark.browser
def test_without_javascript_the_report_is_served_and_refreshes_away(server, browser):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        with _broken(server, server["post"], GOOD_DATE, BAD_DATE):
            _wait_for_status(server, PAGE, 500)
            response = page.goto(server["url"] + PAGE)
            assert response is not None and response.status == 500
            assert page.get_by_role("heading", name=HEADING).is_visible()
            assert f"content/{POST}:2: Date:" in page.inner_text("body")
        page.get_by_text(BODY_MARKER).wait_for(timeout=10_000)
    finally:
        context.close()
