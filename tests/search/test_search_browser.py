"""The search page in real headless Chromium, served under the site's strict
Content-Security-Policy: it finds, filters, announces, works by keyboard, passes axe in
light and dark, and without JavaScript points to the lists instead."""

import contextlib
import functools
import http.server
import re

import lxml.html
import pytest
from axe_playwright_python.sync_playwright import Axe
from pelican.settings import read_settings

from tests.helpers import ROOT, loopback_server
from tests.site.test_browser import AXE_OPTIONS, describe

pytestmark = pytest.mark.browser

# As published (plugins/host_headers), with the development forms endpoint.
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "connect-src 'self' http://127.0.0.1:8001"
)
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 640}


class _CspHandler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("Content-Security-Policy", CSP)
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


@contextlib.contextmanager
def csp_server(folder):
    """Serve `folder` on loopback with the published site's CSP on every answer."""
    with loopback_server(functools.partial(_CspHandler, directory=str(folder))) as url:
        yield url


@pytest.fixture(scope="module")
def site(search_site):
    with csp_server(search_site["output"]) as url:
        yield url


@pytest.fixture(scope="module")
def contexts(browser):
    made = {
        "light": browser.new_context(color_scheme="light", viewport=NARROW),
        "dark": browser.new_context(color_scheme="dark", viewport=WIDE),
        "no-js": browser.new_context(java_script_enabled=False, viewport=NARROW),
    }
    yield made
    for context in made.values():
        context.close()


@contextlib.contextmanager
def opened(context, url):
    """A page at `url`; on leaving, it must have logged no error (CSP refusals included)."""
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.problems = problems
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok
    try:
        yield page
        assert problems == []
    finally:
        page.close()


def search(page, words):
    """Type `words` and press Enter; returns the status the live region announces."""
    page.fill("#search-query", words)
    page.press("#search-query", "Enter")
    status = page.locator("[data-search-status]")
    status.filter(has_text=re.compile(re.escape(f"for “{words}”"))).wait_for()
    return status.inner_text()


def titles(page):
    return page.locator(".search-result__title a").all_inner_texts()


def test_a_word_from_a_post_finds_it_with_kind_date_and_excerpt(contexts, site):
    with opened(contexts["light"], f"{site}/search/") as page:
        assert search(page, "quilting") == "1 result for “quilting”."
        result = page.locator(".search-result")
        link = result.locator("h2 a")
        assert (
            link.inner_text().replace("\xa0", " ") == "The quilting bee that became a union drive"
        )
        assert (
            link.get_attribute("href") == "/blog/2014/the-quilting-bee-that-became-a-union-drive/"
        )
        assert result.locator(".meta").inner_text() == "Post · March 1, 2014"
        assert result.locator("time").get_attribute("datetime") == "2014-03-01"
        assert result.locator("mark").first.inner_text().lower() == "quilting"
        assert page.url.endswith("/search/?q=quilting")


def test_words_typed_while_the_index_loads_are_searched_once_it_is_ready(contexts, site):
    held = []
    page = contexts["light"].new_page()
    try:
        page.route("**/pagefind/pagefind.js", lambda route: held.append(route))  # answered below
        page.goto(f"{site}/search/", wait_until="load")
        page.evaluate("window.sameDocument = true")
        page.fill("#search-query", "quilting")
        page.press("#search-query", "Enter")
        page.wait_for_timeout(300)
        assert page.evaluate("window.sameDocument")  # the script kept it: no reload
        assert page.locator("[data-search-status]").inner_text() == ""
        held[0].continue_()
        status = page.locator("[data-search-status]")
        status.filter(has_text="1 result").wait_for()
        assert status.inner_text() == "1 result for “quilting”."
    finally:
        page.close()


def test_an_index_that_cannot_load_is_said_and_the_lists_offered(contexts, site):
    page = contexts["light"].new_page()
    try:
        page.route("**/pagefind/pagefind.js", lambda route: route.abort())
        page.goto(f"{site}/search/", wait_until="load")
        page.fill("#search-query", "quilting")
        page.press("#search-query", "Enter")
        status = page.locator("[data-search-status]")
        status.filter(has_text="could not be loaded").wait_for()
        assert page.locator("[data-search-fallback]").is_visible()
    finally:
        page.close()


def test_a_filter_narrows_the_results(contexts, site):
    with opened(contexts["dark"], f"{site}/search/?q=carpool") as page:
        page.locator("[data-search-status]").filter(has_text="2 results").wait_for()
        assert sorted(t.replace("\xa0", " ") for t in titles(page)) == [
            "Organizing a carpool network",
            "Rides to the hearing",
        ]
        page.check("#search-kind-training")
        page.locator("[data-search-status]").filter(has_text="among trainings").wait_for()
        assert page.locator("[data-search-status]").inner_text() == (
            "1 result for “carpool” among trainings."
        )
        assert [t.replace("\xa0", " ") for t in titles(page)] == ["Organizing a carpool network"]
        assert page.locator(".search-result .meta").inner_text().startswith("Training · May 1")
        assert page.url.endswith("?q=carpool&kind=Training")


def _words(text):
    return {word.lower() for word in re.findall(r"[A-Za-z]{4,}", text)}


def _chrome_and_content_words(output):
    """Words of every page's skip link, header, navigation, footer and forms, and of what
    is marked for the index (data-pagefind-body, forms left out)."""
    chrome, content = set(), set()
    for path in output.rglob("*.html"):
        doc = lxml.html.parse(str(path))
        for element in doc.xpath(
            "//a[@class='skip-link'] | //header[@class='site-header'] | //footer | //form"
        ):
            chrome |= _words(element.text_content())
        for body in doc.xpath("//*[@data-pagefind-body]"):
            for form in body.xpath(".//form"):
                form.drop_tree()
            content |= _words(body.text_content())
    return chrome, content


def test_nothing_from_navigation_footer_forms_drafts_or_hidden_pages_is_found(
    contexts, site, search_site
):
    chrome, content = _chrome_and_content_words(search_site["output"])
    # Pagefind stems words ("unions" finds "union"): leave out any that shares a stem-ish
    # beginning with a word of the marked content.
    beginnings = {word[:4] for word in content}
    only_there = sorted(word for word in chrome if word[:4] not in beginnings)
    assert len(only_there) >= 5, only_there
    found = {}
    with opened(contexts["light"], f"{site}/search/") as page:
        for word in [*only_there, "zanzibar", "quokka", "gratitude"]:
            search(page, word)
            # With no word that starts with the query, Pagefind matches the longest
            # indexed word the query starts with ("them" finds "the"): that is no find.
            marks = [mark.lower() for mark in page.locator(".search-result mark").all_inner_texts()]
            if any(mark.startswith(word) for mark in marks):
                found[word] = marks
    assert found == {}


def test_more_results_come_on_request_and_take_the_focus(contexts, site):
    with opened(contexts["light"], f"{site}/search/?q=picket") as page:
        page.locator("[data-search-status]").filter(has_text="12 results").wait_for()
        assert page.locator(".search-result").count() == 10
        more = page.locator("[data-search-more]")
        more.focus()
        page.keyboard.press("Enter")
        page.locator(".search-result").nth(11).wait_for()
        assert more.is_hidden()
        focused = page.evaluate("() => document.activeElement.closest('li')?.className")
        assert focused == "search-result"
        assert (
            page.evaluate(
                "() => [...document.querySelectorAll('.search-result')].indexOf("
                "document.activeElement.closest('li'))"
            )
            == 10
        )


def test_the_keyboard_alone_searches_filters_and_opens_a_result(contexts, site):
    with opened(contexts["light"], f"{site}/search/") as page:
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.id") == "search-query":
                break
        else:
            pytest.fail("Tab never reached the search field")
        page.keyboard.type("carpool")
        page.keyboard.press("Enter")
        page.locator("[data-search-status]").filter(has_text="2 results").wait_for()
        page.keyboard.press("Tab")  # the Search button
        page.keyboard.press("Tab")  # the kinds: one stop, on the checked radio
        assert page.evaluate("() => document.activeElement.id") == "search-kind-all"
        page.keyboard.press("ArrowDown")  # Posts
        page.locator("[data-search-status]").filter(has_text="among posts").wait_for()
        page.keyboard.press("Tab")
        assert (
            page.evaluate("() => document.activeElement.textContent") == "Rides to the\xa0hearing"
        )
        page.keyboard.press("Enter")
        page.wait_for_url("**/blog/2014/rides-to-the-hearing/")
        # The post's own page is checked with the site; its forms call the endpoint.
        page.problems.clear()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_page_with_results_passes_axe(contexts, site, scheme):
    with opened(contexts[scheme], f"{site}/search/?q=carpool") as page:
        page.locator(".search-result mark").first.wait_for()
        results = Axe().run(page, options=AXE_OPTIONS)
        assert results.violations_count == 0, f"{scheme}:\n{describe(results)}"
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


def test_without_javascript_the_page_says_so_and_links_to_the_lists(contexts, site):
    page = contexts["no-js"].new_page()
    try:
        page.goto(f"{site}/search/")
        fallback = page.locator("[data-search-fallback]")
        assert fallback.is_visible()
        assert "Search needs JavaScript" in fallback.inner_text()
        links = fallback.locator("a")
        settings = read_settings(str(ROOT / "pelicanconf.py"))
        assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
            "../" + settings[name] for name in ("ARCHIVES_URL", "CATEGORIES_URL", "TAGS_URL")
        ]
        assert page.locator("form[role=search]").is_hidden()
        assert page.locator("nav[aria-label='Main'] a", has_text="Search").is_visible()
    finally:
        page.close()
