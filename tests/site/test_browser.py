"""The built site in real headless Chromium: accessibility, no third-party requests,
no overflow at 320 px, and every page readable with JavaScript off."""

from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe

# Pages checked in the browser. Other sections add theirs here (a training, an
# event, an intern call, the knowledge-donor page...): one path per line.
BROWSER_PAGES = [
    "/",
    "/blog/2013/big-list-online-organizing/",
    "/blog/category/blog/",
    "/blog/",
    "/blog/2013/",
    "/trainings/",
    "/trainings/digital-skills-for-labor/",
    "/trainings/conference-2011/",
    "/internships/",
    "/internships/fall-2013-online-organizing-intern/",
    "/knowledge-donors/",
    "/knowledge-donors/request-help/",
    "/subscribe/",
    "/contact/",
    "/search/",
]

AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
NARROW = {"width": 320, "height": 640}
WIDE = {"width": 1280, "height": 900}

pytestmark = pytest.mark.browser


class RecordedContext:
    """A browser context that records the address of every request it makes."""

    def __init__(self, browser, **options):
        self.requests = []
        self.context = browser.new_context(**options)
        self.context.on("request", lambda request: self.requests.append(request.url))

    def open(self, url):
        page = self.context.new_page()
        response = page.goto(url, wait_until="load")
        assert response is not None and response.ok, f"{url}: {response and response.status}"
        return page

    def foreign_requests(self):
        return [
            url
            for url in self.requests
            if not url.startswith("data:") and urlsplit(url).hostname != "127.0.0.1"
        ]


def describe(results):
    """Axe's violations, one line per element. (The package's generate_report fails
    on nested frame/shadow selectors, so we format the response ourselves.)"""
    lines = []
    for violation in results.response["violations"]:
        for node in violation["nodes"]:
            lines.append(
                f"{violation['id']} ({violation['impact']}): {node['target']}: "
                f"{node.get('failureSummary', '')}"
            )
    return "\n".join(lines)


@pytest.fixture(scope="module")
def contexts(browser):
    """Light at phone width, dark at desktop width, and a phone with JavaScript off."""
    recorded = {
        "light": RecordedContext(browser, color_scheme="light", viewport=NARROW),
        "dark": RecordedContext(browser, color_scheme="dark", viewport=WIDE),
        "no-js": RecordedContext(browser, java_script_enabled=False, viewport=NARROW),
    }
    yield recorded
    for item in recorded.values():
        item.context.close()


@pytest.fixture(scope="module")
def axe():
    # The package injects the axe.min.js it ships (page.evaluate); nothing is fetched.
    return Axe()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", BROWSER_PAGES)
def test_axe_finds_no_violations(contexts, axe, site_url, path, scheme):
    recorded = contexts[scheme]
    page = recorded.open(site_url + path)
    try:
        results = axe.run(page, options=AXE_OPTIONS)
        assert results.violations_count == 0, f"{path} ({scheme}):\n{describe(results)}"
        assert results.response["testEngine"]["name"] == "axe-core"
        assert recorded.foreign_requests() == []
    finally:
        page.close()


@pytest.mark.parametrize("path", BROWSER_PAGES)
def test_nothing_overflows_at_320_px(contexts, site_url, path):
    page = contexts["light"].open(site_url + path)
    try:
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[1] == 320
        assert widths[0] <= widths[1], f"{path} scrolls sideways at 320 px: {widths}"
    finally:
        page.close()


@pytest.mark.parametrize("path", BROWSER_PAGES)
def test_content_shows_with_javascript_off(contexts, site_url, path):
    recorded = contexts["no-js"]
    page = recorded.open(site_url + path)
    try:
        heading = page.locator("h1")
        assert heading.count() == 1 and heading.is_visible()
        assert heading.inner_text().strip()
        main_text = page.locator("main").inner_text()
        assert len(main_text.split()) > 20, f"{path} shows almost nothing without JavaScript"
        assert page.locator("nav[aria-label='Main'] a").first.is_visible()
        assert recorded.foreign_requests() == []
    finally:
        page.close()


def test_skip_link_is_the_first_stop_and_visible_on_focus(contexts, site_url):
    page = contexts["light"].open(site_url + BROWSER_PAGES[1])
    try:
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => [document.activeElement.className, document.activeElement.getAttribute('href')]"
        )
        assert focused == ["skip-link", "#main"]
        box = page.locator(".skip-link").bounding_box()
        assert box is not None and box["y"] >= 0
        outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
    finally:
        page.close()


def test_dark_scheme_changes_the_colours(contexts, site_url):
    backgrounds = {}
    for scheme in ("light", "dark"):
        page = contexts[scheme].open(site_url + "/")
        try:
            backgrounds[scheme] = page.evaluate(
                "() => getComputedStyle(document.body).backgroundColor"
            )
        finally:
            page.close()
    assert backgrounds["light"] != backgrounds["dark"]


@pytest.mark.parametrize("feed", ["/feeds/all.atom.xml", "/feeds/category/blog.rss.xml"])
def test_a_feed_opened_in_the_browser_explains_itself(contexts, axe, site_url, feed):
    recorded = contexts["light"]
    page = recorded.open(site_url + feed)
    try:
        assert "This is a web feed" in page.locator("body").inner_text()
        assert page.locator("h1").inner_text().startswith("Organizing 2.0")
        # Chromium adds its own banner announcing the end of XSLT support; it is
        # the browser's, not ours, so axe skips it.
        results = axe.run(page, context={"exclude": [["xslt-warning-banner"]]}, options=AXE_OPTIONS)
        assert results.violations_count == 0, f"{feed}:\n{describe(results)}"
        assert recorded.foreign_requests() == []
    finally:
        page.close()
