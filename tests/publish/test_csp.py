"""Every template of the publish build in real Chromium, under the CSP from `_headers`."""

import shutil
import urllib.request

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from devserver.static_host import serving

pytestmark = pytest.mark.browser

# One page of each template in the sample content (SAMPLE_CONTENT, built as of SITE_NOW).
PAGES = [
    "",  # home
    "blog/2013/big-list-online-organizing/",  # post
    "blog/",
    "blog/2013/",
    "blog/tags/",
    "blog/tag/training/",
    "blog/categories/",
    "blog/category/blog/",
    "blog/authors/",
    "blog/author/charles-lenchner/",
    "trainings/",
    "trainings/digital-skills-for-labor/",  # training with its registration form
    "trainings/past/2011/",
    "internships/",
    "internships/fall-2013-online-organizing-intern/",  # intern call with its form
    "knowledge-donors/",  # page with a form
    "contact/",  # another page with a form
    "subscribe/",  # the newsletter's own template
    "about/",
    "feeds/all.atom.xml",  # shown through the feed stylesheet
    "feeds/all.rss.xml",
]
MISSING = "no-such-page/"  # answered with 404.html

# Recorded with the element it concerns: Chromium adds its own banner announcing the
# end of XSLT to the feed pages, with inline styles and an inline handler that our
# CSP blocks. It is the browser's, not the site's, and is told apart by its tag.
RECORD_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.recordViolation(event.target?.nodeName || "", event.violatedDirective,
                         event.blockedURI || "inline");
}, true);
"""
BROWSER_BANNER = "XSLT-WARNING-BANNER"
XSLT_DEPRECATION = "XSLTProcessor and XSLT Processing Instructions have been deprecated"


@pytest.fixture(scope="module")
def context(browser):
    """A browser context whose pages report each CSP violation to `context.violations`."""
    context = browser.new_context()
    context.violations = []
    context.expose_binding(
        "recordViolation", lambda _source, *violation: context.violations.append(violation)
    )
    context.add_init_script(RECORD_VIOLATIONS)
    yield context
    context.close()


def test_the_host_sends_the_policy(published):
    """The test host applies `_headers` (or the next test would prove nothing)."""
    _, base_url = published
    with urllib.request.urlopen(base_url) as response:
        policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in policy
    assert "style-src 'self'" in policy and "unsafe-inline" not in policy


def problems_on(context, url):
    """What went wrong opening `url`: console errors, script errors, CSP violations and
    failed requests (each CSP violation and failed request is also a console error;
    they are counted from their own events, which say which element or address)."""
    problems, failed = [], []

    def on_console(message):
        text = message.text
        if message.type in ("error", "warning") and not (
            text.startswith((XSLT_DEPRECATION, "Failed to load resource"))
            or "Content Security Policy" in text
        ):
            problems.append(f"console {message.type}: {text}")

    page = context.new_page()
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("response", lambda response: response.status >= 400 and failed.append(response))
    context.violations.clear()
    response = page.goto(url, wait_until="load")
    # forms.js has run and the endpoint answered: every form holds its signed start time;
    # the search page has run Pagefind (WebAssembly) and shows what it found.
    # (A function, not an expression: Playwright would eval an expression, which the
    # CSP rightly refuses.)
    try:
        page.wait_for_function(
            """() => [...document.querySelectorAll("form[data-form] input[name=_token]")]
                       .every((input) => input.value)
                     && (!document.querySelector("[data-search]")
                         || document.querySelector("[data-search-results] li"))""",
            timeout=10_000,
        )
    except PlaywrightTimeoutError:
        problems.append("its forms or its search did not finish within 10 s")
    problems += [
        f"CSP {directive} blocked {blocked} ({element})"
        for element, directive, blocked in context.violations
        if element != BROWSER_BANNER
    ]
    problems += [
        f"{failure.status} {failure.url}"
        for failure in failed
        if failure.request != response.request
    ]
    page.close()
    return response.status, problems


def test_every_template_works_under_the_policy(context, published, live_endpoint):
    folder, base_url = published
    searching = ["search/?q=organizing"] if (folder / "search/index.html").is_file() else []
    pages = [*PAGES, *searching]
    found = []
    for path in pages:
        status, problems = problems_on(context, base_url + path)
        assert status == 200, path
        found += [f"/{path}: {problem}" for problem in problems]
    status, problems = problems_on(context, base_url + MISSING)
    assert status == 404
    found += [f"/{MISSING}: {problem}" for problem in problems]
    assert not found, "\n".join(found)


def test_a_blocked_inline_script_is_caught(context, published, tmp_path):
    """The checks above see a violation when there is one: an inline script is refused."""
    folder, _ = published
    shutil.copy(folder / "_headers", tmp_path / "_headers")
    (tmp_path / "probe.html").write_text(
        "<!doctype html><title>probe</title><script>document.title = 'ran'</script>",
        encoding="utf-8",
    )
    with serving(tmp_path) as base_url:
        status, problems = problems_on(context, base_url + "probe.html")
    assert status == 200
    assert any("CSP script-src-elem blocked inline" in problem for problem in problems), problems
