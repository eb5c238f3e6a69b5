"""The editor end to end (issue 14): `invoke serve` on a copy of the project, /admin/ in
real headless Chromium, a blog post and a training written through Decap's own widgets.

Each test presses Login (the local backend: no account), fills the form by the fields'
labels, publishes, and then checks what a writer would: the file in content/ with our
`Field: value` lines, the content check (`invoke check`) on the project, and the page the
dev server rebuilds by itself. Every request the browser makes is recorded: all of them go
to 127.0.0.1, and the console shows no error.
"""

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from tests.helpers import copy_project, dev_server

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) =>
  window.recordViolation(event.violatedDirective, event.blockedURI || "inline"), true);
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`invoke serve` on free ports in a copy of the project, shared by the tests here."""
    base = copy_project(tmp_path_factory.mktemp("editor"))
    with dev_server(base) as handle:
        yield {**handle, "base": base}


class Editor:
    """/admin/ open and signed in, with everything the browser did on the way."""

    def __init__(self, context, url):
        self.context, self.url = context, url
        self.requests, self.problems = [], []
        context.on("request", lambda request: self.requests.append(request.url))
        context.expose_function(
            "recordViolation", lambda *found: self.problems.append(("policy", *found))
        )
        context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.new_page()

    def new_page(self):
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.problems.append(("script error", str(error))))
        page.on("console", self._console)
        return page

    def _console(self, message):
        # Decap logs its versions and backend with console.log; only an error is a problem,
        # and the one complaint it logs as a plain message: config.yml served as not YAML.
        if message.type == "error" or "was not yaml" in message.text:
            self.problems.append(("console", message.text, message.location["url"]))

    def open(self):
        page = self.page
        page.goto(self.url + "/admin/")
        page.get_by_role("button", name="Login").click()
        page.get_by_role("link", name="Blog posts").first.wait_for()
        # Gone if the tab is ever reloaded (the dev server's live reload must leave it be).
        page.evaluate("window.editorNeverReloaded = true")
        return self

    def field(self, label):
        """The input a label names; optional fields' labels end with "(optional)"."""
        return self.page.get_by_label(re.compile(rf"^{re.escape(label)}( \(optional\))?$"))

    def fill(self, label, value):
        self.field(label).fill(value)

    def choose(self, label, option):
        """A select (react-select): type the start of the option, take the one shown."""
        self.field(label).fill(option)
        self.page.get_by_role("option", name=option, exact=True).click()

    def add_items(self, label, items):
        """A list: "Add <label>" once an item, then type into the new item's field."""
        # The label names a <div>, which no label can name for a browser: take Decap's
        # wrapper of the list, which holds the label, the button and the items' fields.
        name = self.page.locator("label").filter(has_text=re.compile(rf"^{label}\b"))
        widget = self.page.get_by_label("list field").filter(has=name)
        for item in items:
            widget.get_by_role("button", name=f"Add {label.lower()}").click()
            widget.get_by_label(label, exact=True).last.fill(item)

    def write_text(self, text):
        """The Markdown body (the rich-text editor, which has no label of its own)."""
        self.page.get_by_label("markdown field").get_by_role("textbox").click()
        self.page.keyboard.type(text)

    def publish(self, collection, slug):
        """Publish > Publish now, as the local backend offers; wait until Decap saved."""
        self.page.get_by_role("button", name="Publish", exact=True).click()
        self.page.get_by_role("menuitem", name="Publish now").click()
        self.page.wait_for_url(f"**/#/collections/{collection}/entries/{slug}")

    def publish_refused(self, reason):
        """Publish an entry Decap finds incomplete: it shows `reason` and saves nothing.

        Decap's persistEntry then returns Promise.reject() with no reason, and nothing
        catches it: the page reports an unhandled rejection, "undefined". That one error,
        expected here, is taken off the list; any other stays.
        """
        expected = ("script error", "undefined")
        self.page.get_by_role("button", name="Publish", exact=True).click()
        self.page.get_by_role("menuitem", name="Publish now").click()
        self.page.get_by_text(reason, exact=True).wait_for(timeout=5000)
        self.page.get_by_text("Oops, you've missed a required field").wait_for(timeout=5000)
        deadline = time.monotonic() + 5
        while expected not in self.problems and time.monotonic() < deadline:
            self.page.wait_for_timeout(20)  # the error event comes in from the browser
        assert expected in self.problems, self.problems
        self.problems.remove(expected)

    def check_stayed_local_and_quiet(self):
        assert self.requests, "no request was recorded"
        elsewhere = [url for url in self.requests if urlsplit(url).hostname != "127.0.0.1"]
        assert elsewhere == []
        assert self.problems == []
        assert self.page.evaluate("window.editorNeverReloaded") is True


@pytest.fixture
def editor(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield Editor(context, server["url"]).open()
    finally:
        context.close()


def wait_for_file(path, timeout=10):
    deadline = time.monotonic() + timeout
    while not path.is_file():
        assert time.monotonic() < deadline, f"{path} was not written"
        time.sleep(0.05)
    return path.read_text("utf-8")


def wait_for_page(server, path, text, timeout=15):
    """The dev server's page at `path` once the live rebuild has it (with `text`)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(server["url"] + path, timeout=5) as response:
                html = response.read().decode("utf-8")
                if text in html:
                    return html
        except urllib.error.HTTPError:
            pass  # 404 until the build has written it
        if time.monotonic() > deadline:
            pytest.fail(f"{path} was not served with {text!r}:\n" + server["log"].read_text())
        time.sleep(0.1)


def content_check(server):
    """`invoke check` on the copied project: the content check alone, exit 0."""
    result = subprocess.run(
        [sys.executable, "-m", "plugins.content_check", "pelicanconf.py"],
        cwd=server["base"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "content files are fine" in result.stdout


def header(text):
    """The file's field lines, before the first blank line."""
    return text.split("\n\n", 1)[0].splitlines()


def visit(editor, url, title):
    """Open a built page in the same browser (its requests are recorded too)."""
    page = editor.new_page()
    page.goto(url)
    # The site joins a heading's last two words with a no-break space (no lone word).
    assert page.get_by_role("heading", level=1).inner_text().replace("\xa0", " ") == title
    page.close()


def test_a_blog_post_written_in_the_editor_is_saved_checked_and_served(editor, server):
    editor.page.get_by_role("link", name="Blog posts").first.click()
    editor.page.get_by_role("link", name="Create entry of type Blog post").click()
    editor.fill("Title", "Phone banks that work")
    editor.fill("Date", "2024-05-06T10:00")
    editor.fill("Summary", "How three locals called every member from home.")
    editor.fill("Tags", "phone banking, organizing")
    editor.write_text("Three locals called every member in one week.")
    editor.publish("blog", "2024-05-06-phone-banks-that-work")

    text = wait_for_file(server["base"] / "content/blog/2024-05-06-phone-banks-that-work.md")
    assert header(text) == [
        "Title: Phone banks that work",
        "Date: 2024-05-06 10:00",
        "Summary: How three locals called every member from home.",
        "Tags: phone banking, organizing",
        "Comments: open",  # the select's default
    ]
    assert text.endswith("\n\nThree locals called every member in one week.\n")
    content_check(server)
    html = wait_for_page(server, "/blog/2024/phone-banks-that-work/", "called every member")
    assert "Phone banks that work" in html and "/blog/tag/phone-banking/" in html
    visit(editor, server["url"] + "/blog/2024/phone-banks-that-work/", "Phone banks that work")
    editor.check_stayed_local_and_quiet()


def test_a_training_written_in_the_editor_is_listed_under_upcoming(editor, server):
    day = (date.today() + timedelta(days=40)).isoformat()
    editor.page.get_by_role("link", name="Trainings").first.click()
    editor.page.get_by_role("link", name="Create entry of type Training").click()
    editor.fill("Title", "Texting for turnout")
    editor.fill("Date", "2025-11-03T10:00")
    editor.fill("Summary", "Peer-to-peer texting for a get-out-the-vote drive, hands on.")
    editor.fill("Start", f"{day}T18:30")
    editor.choose("Timezone", "America/Chicago")
    editor.fill("Venue", "Chicago Teachers Union Hall")
    editor.fill("City", "Chicago")
    editor.add_items("Sponsors", ["Organizing 2.0", "Chicago Federation of Labor"])
    editor.write_text("Bring a charged phone.")
    # Without End (which the events plugin needs) the editor refuses to save.
    editor.publish_refused("End is required.")
    assert not list((server["base"] / "content/trainings").glob("*texting*"))
    editor.fill("End", f"{day}T20:00")
    editor.publish("trainings", "2025-11-03-texting-for-turnout")

    text = wait_for_file(server["base"] / "content/trainings/2025-11-03-texting-for-turnout.md")
    assert header(text) == [
        "Title: Texting for turnout",
        "Date: 2025-11-03 10:00",
        "Summary: Peer-to-peer texting for a get-out-the-vote drive, hands on.",
        f"Start: {day} 18:30",
        f"End: {day} 20:00",
        "Timezone: America/Chicago",
        "Venue: Chicago Teachers Union Hall",
        "City: Chicago",
        "Sponsors: Organizing 2.0",
        "    Chicago Federation of Labor",
        "Registration: form",  # the selects' defaults
        "Event_Status: scheduled",
    ]
    assert text.endswith("\n\nBring a charged phone.\n")
    content_check(server)
    page = wait_for_page(server, "/trainings/texting-for-turnout/", "Bring a charged")
    assert "Chicago Teachers Union Hall" in page and "Chicago Federation of Labor" in page
    listing = wait_for_page(server, "/trainings/", "/trainings/texting-for-turnout/")
    upcoming = listing.split('id="upcoming"', 1)[1].split('id="past"', 1)[0]
    assert re.search(r'href="[^"]*/trainings/texting-for-turnout/"', upcoming), upcoming
    visit(editor, server["url"] + "/trainings/texting-for-turnout/", "Texting for turnout")
    editor.check_stayed_local_and_quiet()
