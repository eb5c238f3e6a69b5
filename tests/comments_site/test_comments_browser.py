"""The comments of a post in real headless Chromium under the published site's CSP:
newer approved comments come from the endpoint, Reply fills the form, axe passes."""

import functools
import http.server
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.comments_site.conftest import build, write_content
from tests.helpers import loopback_server
from tests.site.test_browser import AXE_OPTIONS, describe

pytestmark = pytest.mark.browser

NEWER = [
    # Already on the page: must not be added twice.
    {"id": "c1", "post": "open-post", "parent": None, "name": "Ana", "text": "",
     "created": "2013-07-21T14:00:00.000000Z", "html": "<p>First</p>"},
    {"id": "c9", "post": "open-post", "parent": "c2", "name": "Gus", "text": "",
     "created": "2013-07-30T14:00:00.000000Z", "html": "<p>Late <em>reply</em> to Ben.</p>"},
    {"id": "c10", "post": "open-post", "parent": None, "name": "Hal", "text": "",
     "created": "2013-07-31T14:00:00.000000Z", "html": "<p>A new thread.</p>"},
]  # fmt: skip


class _Endpoint(http.server.BaseHTTPRequestHandler):
    asked: list = []

    def do_GET(self):  # noqa: N802 - the stdlib's name
        self.asked.append(self.path)
        body = json.dumps({"comments": NEWER}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


class _CspSite(http.server.SimpleHTTPRequestHandler):
    csp = ""

    def end_headers(self):
        self.send_header("Content-Security-Policy", self.csp)
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


@pytest.fixture(scope="module")
def live(tmp_path_factory, comments_site):
    """The fixture blog built against a fake endpoint; yields (site URL, endpoint class)."""
    base = tmp_path_factory.mktemp("comments-live")
    with loopback_server(_Endpoint) as endpoint:
        forms = json.dumps({"endpoint": endpoint})
        output, _ = build(
            base,
            write_content(base / "content"),
            comments_site["database_url"],
            extra=[f"FORMS={forms}"],
        )
        csp = (
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
            f"connect-src 'self' {endpoint}"
        )
        handler = type("Site", (_CspSite,), {"csp": csp})
        with loopback_server(functools.partial(handler, directory=str(output))) as site:
            yield site, _Endpoint


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_newer_comments_appear_in_place_and_reply_fills_the_form(browser, live, scheme):
    site, endpoint = live
    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(f"{site}/blog/2013/open-post/", wait_until="load")
        page.locator("#comment-c10").wait_for()
        # The form's start token is asked for too, in either order: the comments' request.
        fetched = [path for path in endpoint.asked if path.startswith("/forms/comment/approved")]
        query = parse_qs(urlsplit(fetched[-1]).query)
        assert query == {"post": ["open-post"], "since": ["2013-07-24T10:00:00.000000Z"]}
        assert page.locator("#comment-c1").count() == 1
        # Gus answered Ben, who answered Ana: one level, under Ana.
        assert page.locator("#comment-c1 .comment-list--replies > #comment-c9").count() == 1
        assert page.locator("#comment-c9 .comment__text em").inner_text() == "reply"
        assert page.locator("#comment-c10 time").inner_text() == "July 31, 2013"
        assert page.locator(".comments__count").inner_text() == "(6)"
        page.locator("#comment-c9 .comment__reply").click()
        assert page.locator("#comment-parent").input_value() == "c9"
        assert page.evaluate("document.activeElement.id") == "comment-comment"
        assert "Replying to Gus." in page.locator(".comments__replying").inner_text()
        page.locator(".comments__cancel").click()
        assert page.locator("#comment-parent").input_value() == ""
        results = Axe().run(page, context="#comments", options=AXE_OPTIONS)
        assert results.violations_count == 0, describe(results)
        assert problems == []
    finally:
        context.close()


def test_without_javascript_the_built_comments_and_form_are_there(browser, live):
    site, _ = live
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{site}/blog/2013/open-post/", wait_until="load")
        assert page.locator(".comment").count() == 4
        assert page.locator(".comment__reply").count() == 0
        assert page.locator("#form-comment").is_visible()
    finally:
        context.close()
