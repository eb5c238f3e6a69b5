"""The built /admin/ in headless Chromium: the vendored Decap CMS accepts the generated
configuration under the page's own policy and shows our files through our format.

Every request is answered inside the browser (Playwright routes): the built site for
pages and files, and a read-only stand-in for the dev server's local backend on /api/v1.
"""

import json
import mimetypes

import pytest

from tests.helpers import SAMPLE_CONTENT

pytestmark = pytest.mark.browser

SITE = "http://127.0.0.1:8000"  # the development SITEURL the sample site is built with
ROOT = SAMPLE_CONTENT.parent  # the folders in config.yml start with content/
RECORD_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) =>
  window.recordViolation(event.violatedDirective, event.blockedURI || "inline"), true);
"""


def stand_in_backend(request):
    """Decap's local-backend protocol, as far as reading needs it."""
    action, params = request["action"], request.get("params", {})

    def entry(path):
        return {"data": (ROOT / path).read_text("utf-8"), "file": {"path": path}}

    if action == "info":
        return {"repo": "site", "publish_modes": ["simple"], "type": "local_fs"}
    if action == "entriesByFolder":
        folder = ROOT / params["folder"]
        return [entry(p.relative_to(ROOT).as_posix()) for p in sorted(folder.glob("*.md"))]
    if action == "getEntry":
        return entry(params["path"])
    return []  # getMedia: no pictures yet


@pytest.fixture
def editor(browser, built_site):
    """The built /admin/ opened and signed in; yields (page, problems seen)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    problems = []

    def answer(route):
        url, request = route.request.url, route.request
        if not url.startswith(SITE + "/"):
            problems.append(f"request to another origin: {url}")
            return route.abort()
        path = url.removeprefix(SITE).split("#")[0].split("?")[0]
        if request.method == "POST" and path == "/api/v1":
            body = json.dumps(stand_in_backend(json.loads(request.post_data)))
            return route.fulfill(body=body, content_type="application/json")
        file = built_site / (path.lstrip("/") + ("index.html" if path.endswith("/") else ""))
        if not file.is_file():
            return route.fulfill(status=404, body="")
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return route.fulfill(body=file.read_bytes(), content_type=kind)

    context.route("**/*", answer)
    context.expose_function("recordViolation", lambda *found: problems.append(found))
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.goto(f"{SITE}/admin/")
    page.get_by_role("button", name="Login").click()
    yield page, problems
    context.close()


def test_the_editor_lists_each_collection_and_reads_a_training(editor):
    page, problems = editor
    for label in ("Blog posts", "Pages", "Trainings", "Intern calls"):
        page.get_by_role("link", name=label).first.wait_for()
    page.goto(f"{SITE}/admin/#/collections/trainings/entries/2013-08-21-digital-skills-for-labor")
    page.reload()
    venue = page.locator("[id^=venue-field]").first
    venue.wait_for()
    assert venue.input_value() == "New York City Central Labor Council"
    assert page.locator("[id^=street-field] input").count() == 2  # one input a list item
    assert problems == []
