"""Fixtures shared by every test folder."""

import pytest

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, SAMPLE_CONTENT, run_pelican, static_server


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The sample content (tests/fixtures/sample_site) built once with the development
    settings. Tests of the real content/ are in tests/site/test_real_content.py."""
    output = tmp_path_factory.mktemp("site")
    run_pelican(SAMPLE_CONTENT, output)
    return output


@pytest.fixture(scope="session")
def site_url(built_site):
    """Base URL of the built site served on loopback."""
    with static_server(built_site) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Real headless Debian Chromium, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()
