"""End to end: registering for a training with one place, in real headless Chromium.

The site is the real content plus one upcoming training (Capacity: 1), built to post to
a running endpoint, which reads the published manifest from the site as in production.
The first person gets the place, the places line then says the training is full, and the
next people, with JavaScript on and off, land on the waitlist page.
"""

import json
import os
import shutil
from datetime import date, timedelta

import pytest

from tests.helpers import ROOT, endpoint_process, free_port, run_pelican, static_server

pytestmark = pytest.mark.browser

SLUG = "one-seat-training"


def upcoming_training(day: date) -> str:
    return f"""Title: One Seat Training
Date: {day - timedelta(days=40):%Y-%m-%d} 10:00
Slug: {SLUG}
Summary: A small training with a single place, to test the waitlist.
Start: {day:%Y-%m-%d} 09:30
End: {day:%Y-%m-%d} 12:00
Timezone: America/New_York
Venue: Union Hall
Street: 1 Main Street
City: New York
Region: NY
Postal_Code: 10001
Country: US
Registration: form
Capacity: 1

A short description of a training day, long enough to read as one.
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The site URL, with the endpoint running against it."""
    folder = tmp_path_factory.mktemp("registration-e2e")
    content = folder / "content"
    shutil.copytree(ROOT / "content", content)
    (content / "trainings" / f"{SLUG}.md").write_text(
        upcoming_training(date.today() + timedelta(days=30)), encoding="utf-8"
    )
    port = free_port()
    endpoint_url = f"http://127.0.0.1:{port}"
    run_pelican(
        content, folder / "site", extra=["-e", f"FORMS={json.dumps({'endpoint': endpoint_url})}"]
    )
    with static_server(folder / "site") as site_url:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder / 'submissions.sqlite3'}",
            "SITE_URL": site_url,  # the manifest is read from SITE_URL/forms/manifest.json
            "ALLOWED_ORIGINS": site_url,
            "MIN_FILL_SECONDS": "0",
            "FORMS_SECRET": "e2e-secret",
            "IP_HASH_SALT": "e2e-salt",
            "SMTP_HOST": "",
        }
        with endpoint_process(port, env, folder / "endpoint.log"):
            yield site_url


def register(browser, site_url, email, javascript):
    """Fill the training's form and send it; returns the page after sending."""
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{site_url}/trainings/{SLUG}/")
    if javascript:
        page.wait_for_function(
            "document.querySelector(\"input[name='_token']\").value !== ''", timeout=5000
        )
    page.fill("#training-registration-name", "Kim Lee")
    page.fill("#training-registration-email", email)
    page.check("#training-registration-consent")
    page.click("#form-training-registration button[type=submit]")
    return context, page


def places_line(browser, site_url) -> str:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site_url}/trainings/{SLUG}/")
    line = page.locator("[data-places-for]")
    line.wait_for(state="visible", timeout=5000)
    text = line.inner_text()
    context.close()
    return text


def test_the_place_then_the_waitlist_with_javascript_on_and_off(stack, browser):
    site_url = stack
    assert places_line(browser, site_url) == "1 of 1 places left"

    context, page = register(browser, site_url, "first@example.org", javascript=True)
    page.wait_for_url(f"{site_url}/trainings/registered/")
    context.close()
    assert places_line(browser, site_url) == "Full — join the waitlist"

    for email, javascript in (("second@example.org", True), ("third@example.org", False)):
        context, page = register(browser, site_url, email, javascript)
        page.wait_for_url(f"{site_url}/trainings/waitlisted/")
        assert "waitlist" in page.locator("h1").inner_text()
        context.close()

    # The same person again is told so, and takes nothing.
    context, page = register(browser, site_url, "first@example.org", javascript=False)
    page.wait_for_url(f"{site_url}/trainings/already-registered/")
    context.close()


def test_without_javascript_the_page_works_without_the_places_line(stack, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{stack}/trainings/{SLUG}/")
    assert page.locator("[data-places-for]").is_hidden()
    assert "Places are limited to 1." in page.locator("#register").inner_text()
    context.close()
