"""In real headless Chromium: sign up on /subscribe/, get the mail through a loopback SMTP
server, open its link, press the button, land on the confirmed page. With JavaScript on
and off, against the endpoint running as `make serve` runs it."""

import json
import os
import re

import pytest
from aiosmtpd.controller import Controller

from tests.endpoint.conftest import Inbox
from tests.helpers import SAMPLE_CONTENT, endpoint_process, free_port, run_pelican, static_server

from .test_double_opt_in import body_of, mail_to

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """(site URL, inbox): the sample site posting to a live endpoint that mails on loopback."""
    folder = tmp_path_factory.mktemp("newsletter-e2e")
    port = free_port()
    run_pelican(
        SAMPLE_CONTENT,
        folder / "site",
        extra=["-e", f"FORMS={json.dumps({'endpoint': f'http://127.0.0.1:{port}'})}"],
    )
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        with static_server(folder / "site") as site_url:
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite:///{folder / 'submissions.sqlite3'}",
                "SITE_URL": site_url,
                "ALLOWED_ORIGINS": site_url,
                "MIN_FILL_SECONDS": "0",
                "FORMS_SECRET": "e2e-secret",
                "IP_HASH_SALT": "e2e-salt",
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(smtp.port),
                "SMTP_TLS": "none",
            }
            with endpoint_process(port, env, folder / "endpoint.log"):
                yield site_url, inbox
    finally:
        smtp.stop()


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_sign_up_confirm_by_mail_and_land_on_the_confirmed_page(stack, browser, javascript):
    site_url, inbox = stack
    address = f"reader-{'js' if javascript else 'nojs'}@example.org"
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{site_url}/subscribe/")
    if javascript:  # the page script fetches its token first
        page.wait_for_function("document.querySelector(\"input[name='_token']\").value !== ''")
    # Everything found by its label, as a screen reader user would.
    assert page.get_by_label("Trainings calendar").input_value().endswith("/calendar.ics")
    form = page.locator("#form-newsletter")
    form.get_by_label("E-mail address", exact=True).fill(address)
    form.get_by_label("New blog posts").check()
    form.get_by_label("I agree that").check()
    form.get_by_role("button", name="Sign me up").press("Enter")
    page.wait_for_url(f"{site_url}/subscribe/thanks/")
    assert "Check your inbox" in page.locator("h1").inner_text()

    [message] = mail_to(inbox, address, 1)
    [link] = re.findall(r"http://\S+/confirm\?\S+", body_of(message))
    page.goto(link)
    assert page.locator("h1").inner_text() == "Confirm your e-mail updates"
    page.get_by_role("button", name="Yes, send me e-mail updates").click()
    page.wait_for_url(f"{site_url}/subscribe/confirmed/")
    assert page.locator("h1").inner_text().split() == ["You", "are", "subscribed"]
    context.close()
