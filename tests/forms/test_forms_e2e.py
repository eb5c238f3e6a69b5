"""End to end: the built site, a running endpoint on SQLite, and real headless Chromium.

Each form is sent with JavaScript on and off: a valid one reaches its thank-you page and
its row comes out of `invoke export`; an invalid one shows the errors with every typed
value still in its field. The endpoint runs as a subprocess, as `make serve` runs it.
"""

import json
import os
import subprocess
import sys
import time

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.helpers import ROOT, endpoint_process, free_port, run_pelican, static_server
from webforms.definitions import load_forms

pytestmark = pytest.mark.browser

FORMS = load_forms()
PAGES = {"knowledge-donor": "knowledge-donors/", "help-request": "knowledge-donors/request-help/"}
MIN_FILL_SECONDS = 0.3
AXE_RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """(site URL, endpoint environment): the site built to post to a live endpoint."""
    folder = tmp_path_factory.mktemp("forms-e2e")
    port = free_port()
    endpoint_url = f"http://127.0.0.1:{port}"
    run_pelican(
        ROOT / "content",
        folder / "site",
        extra=["-e", f"FORMS={json.dumps({'endpoint': endpoint_url})}"],
    )
    with static_server(folder / "site") as site_url:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder / 'submissions.sqlite3'}",
            "SITE_URL": site_url,
            # Only the site: the endpoint allows its own origin, where its error page
            # (JavaScript off) posts back from.
            "ALLOWED_ORIGINS": site_url,
            "MIN_FILL_SECONDS": str(MIN_FILL_SECONDS),
            "RATE_LIMIT_PER_HOUR": "1000",
            "FORMS_SECRET": "e2e-secret",
            "IP_HASH_SALT": "e2e-salt",
            "SMTP_HOST": "",
        }
        with endpoint_process(port, env, folder / "endpoint.log"):
            yield site_url, env


def exported_rows(env, form_id):
    """The form's submissions as organizers get them: `invoke export --format json`."""
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "export", "--form", form_id, "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def typed_values(form, tag):
    """What a person types: a valid value for every visible field, tagged to find the row."""
    values = {}
    for field in form.fields:
        if field.type == "hidden":
            continue
        if field.type == "email":
            value = f"{tag}@example.org"
        elif field.type == "tel":
            value = "+1 212 555 0147"
        elif field.type == "url":
            value = "https://example.org/portfolio"
        elif field.type == "textarea":
            value = f"First line for {tag}\nSecond line with “quotes” & <angle brackets>"
        elif field.type == "select":
            value = field.options[-1].value
        elif field.type == "radio":
            value = field.options[1].value
        elif field.type == "checkboxes":
            value = [field.options[0].value, field.options[-1].value]
        elif field.type == "checkbox":
            value = "yes"
        else:
            value = f"{field.label[:20]} {tag} <b>"
        if isinstance(value, str) and field.max_length:
            value = value[: field.max_length]
        values[field.name] = value
    return values


def control(form, name):
    return f"#{form.id}-{name}"


def fill(page, form, values):
    for name, value in values.items():
        field = form.field(name)
        if field.type in ("radio", "checkboxes"):
            for choice in value if isinstance(value, list) else [value]:
                page.check(f"input[name='{name}'][value='{choice}']")
        elif field.type == "select":
            page.select_option(control(form, name), value)
        elif field.type == "checkbox":
            page.check(control(form, name))
        else:
            page.fill(control(form, name), value)
    page.check(control(form, "consent"))


def assert_values_kept(page, form, values):
    """Every typed value is back in its field, and the consent box is still ticked."""
    for name, value in values.items():
        field = form.field(name)
        if field.type in ("radio", "checkboxes"):
            chosen = value if isinstance(value, list) else [value]
            for option in field.options:
                box = page.locator(f"input[name='{name}'][value='{option.value}']")
                assert box.is_checked() == (option.value in chosen), (name, option.value)
        elif field.type == "checkbox":
            assert page.is_checked(control(form, name))
        else:
            assert page.input_value(control(form, name)) == value, name
    assert page.is_checked(control(form, "consent"))


def open_form(browser, site_url, form, javascript, source):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{site_url}/{PAGES[form.id]}?source={source}")
    if javascript:
        # The page script fetches the idempotency token and the signed start time.
        page.wait_for_function(
            "document.querySelector(\"input[name='_token']\").value !== ''", timeout=5000
        )
    return context, page


def submit(page, form):
    page.click(f"#form-{form.id} button[type=submit]")


def assert_no_axe_violations(page):
    result = Axe().run(page, options={"runOnly": AXE_RULES})
    assert result.violations_count == 0, result.generate_report()


def row_for(env, form, email):
    rows = [row for row in exported_rows(env, form.id) if row["email"] == email]
    assert len(rows) == 1, f"expected one row for {email}, found {len(rows)}"
    return rows[0]


def assert_row_matches(row, values, source):
    for name, value in values.items():
        assert row[name] == value, name
    assert row["source"] == source


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
@pytest.mark.parametrize("form_id", sorted(PAGES))
def test_valid_submission_reaches_thank_you_page_and_is_exported(
    stack, browser, form_id, javascript
):
    site_url, env = stack
    form = FORMS[form_id]
    tag = f"{form_id}-{'js' if javascript else 'nojs'}-valid"
    values = typed_values(form, tag)
    context, page = open_form(browser, site_url, form, javascript, source=f"partner-{tag}")
    started = time.monotonic()
    fill(page, form, values)
    if javascript:
        # Only as long as the time trap needs; filling usually takes longer already.
        time.sleep(max(0.0, MIN_FILL_SECONDS + 0.1 - (time.monotonic() - started)))
    submit(page, form)
    page.wait_for_url(f"{site_url}/{form.thank_you}")
    assert page.locator("h1").count() == 1
    context.close()

    row = row_for(env, form, f"{tag}@example.org")
    assert_row_matches(row, values, source=f"partner-{tag}")
    assert row["consent_version"] == form.consent.version


@pytest.mark.parametrize("form_id", sorted(PAGES))
def test_invalid_submission_without_javascript_keeps_every_value(stack, browser, form_id):
    site_url, env = stack
    form = FORMS[form_id]
    tag = f"{form_id}-nojs-invalid"
    values = typed_values(form, tag)
    # Values the browser's own checks let through but the endpoint rejects.
    values["email"] = "ana@example"
    values["phone"] = "call me after five"
    context, page = open_form(browser, site_url, form, False, source=f"partner-{tag}")
    fill(page, form, values)
    submit(page, form)

    summary = page.locator("[data-error-summary]")
    summary.wait_for()
    assert page.url.endswith(f"/forms/{form.id}")
    assert "There is a problem" in summary.inner_text()
    links = summary.locator("a")
    assert sorted(links.evaluate_all("els => els.map(a => a.getAttribute('href'))")) == sorted(
        [f"#{form.id}-email", f"#{form.id}-phone"]
    )
    assert page.locator(f"#{form.id}-email-error").is_visible()
    assert page.get_attribute(control(form, "email"), "aria-invalid") == "true"
    assert_values_kept(page, form, values)
    # axe needs scripts, which this context has off: check the same page in another.
    checker = browser.new_page()
    checker.set_content(page.content())
    assert_no_axe_violations(checker)
    checker.close()

    # Corrected on the error page and sent again: it goes through.
    page.fill(control(form, "email"), f"{tag}@example.org")
    page.fill(control(form, "phone"), "+1 718 555 0199")
    submit(page, form)
    page.wait_for_url(f"{site_url}/{form.thank_you}")
    context.close()
    row = row_for(env, form, f"{tag}@example.org")
    assert row["phone"] == "+1 718 555 0199"


@pytest.mark.parametrize("form_id", sorted(PAGES))
def test_invalid_submission_with_javascript_shows_summary_and_keeps_values(stack, browser, form_id):
    site_url, env = stack
    form = FORMS[form_id]
    tag = f"{form_id}-js-invalid"
    values = typed_values(form, tag)
    values["name"] = ""  # required: the script leaves the check to the endpoint
    values["email"] = "ana@example"
    context, page = open_form(browser, site_url, form, True, source=f"partner-{tag}")
    fill(page, form, values)
    time.sleep(MIN_FILL_SECONDS)
    submit(page, form)

    summary = page.locator("[data-error-summary]")
    summary.wait_for()
    assert page.url.startswith(f"{site_url}/{PAGES[form_id]}")
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    hrefs = summary.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert sorted(hrefs) == sorted([f"#{form.id}-name", f"#{form.id}-email"])
    for name in ("name", "email"):
        message = page.locator(f"#{form.id}-{name}-error")
        assert message.is_visible()
        described = page.get_attribute(control(form, name), "aria-describedby")
        assert f"{form.id}-{name}-error" in described.split()
    assert_values_kept(page, form, values)
    assert_no_axe_violations(page)

    # Following a summary link puts the cursor in that field.
    summary.locator(f"a[href='#{form.id}-name']").click()
    assert page.evaluate("document.activeElement.id") == f"{form.id}-name"

    page.fill(control(form, "name"), f"Fixed {tag}")
    page.fill(control(form, "email"), f"{tag}@example.org")
    submit(page, form)
    page.wait_for_url(f"{site_url}/{form.thank_you}")
    context.close()
    assert row_for(env, form, f"{tag}@example.org")["name"] == f"Fixed {tag}"


def test_script_sends_once_says_when_nothing_was_saved_and_announces_success(stack, browser):
    site_url, env = stack
    form = FORMS["knowledge-donor"]
    values = typed_values(form, "knowledge-donor-js-failures")
    context, page = open_form(browser, site_url, form, True, source="failures")
    fill(page, form, values)
    action = page.get_attribute(f"#form-{form.id}", "action")
    posts = []

    def unreachable(route):
        posts.append(route.request.method)
        route.abort("connectionrefused")

    page.route(action, unreachable)
    page.dblclick(f"#form-{form.id} button[type=submit]")
    summary = page.locator("[data-error-summary]")
    summary.wait_for()
    assert posts == ["POST"], "a double click must send the form once"
    assert "nothing was saved" in summary.inner_text()
    assert_values_kept(page, form, values)

    page.unroute(action)
    page.route(action, lambda route: route.fulfill(status=503, body="down"))
    submit(page, form)
    page.wait_for_function(
        "document.querySelector('[data-error-summary]')?.innerText.includes('server had a problem')"
    )
    assert_values_kept(page, form, values)

    # Success is announced in the live region, then the thank-you page opens; the
    # announcement is recorded in sessionStorage, which survives the navigation.
    page.unroute(action)
    page.route(action, lambda route: route.fulfill(json={"ok": True}))
    page.evaluate(
        """() => {
          const region = document.querySelector("[role=status][data-form-status]");
          new MutationObserver(() => {
            sessionStorage.setItem("announced", region.textContent);
          }).observe(region, {childList: true, characterData: true, subtree: true});
        }"""
    )
    submit(page, form)
    page.wait_for_url(f"{site_url}/{form.thank_you}")
    assert page.evaluate("sessionStorage.getItem('announced')").startswith("Thank you")
    context.close()
    # Every answer above came from the test, never the endpoint: nothing was stored.
    assert not [row for row in exported_rows(env, form.id) if row["email"] == values["email"]]
