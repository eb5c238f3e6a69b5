"""Fixtures and helpers for the site tests: the built site's pages, parsed once."""

from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
from pelican.settings import read_settings

from tests.helpers import ROOT


@pytest.fixture(scope="session")
def dev_settings():
    """pelicanconf.py as Pelican reads it (SITEURL is what the build used)."""
    return read_settings(str(ROOT / "pelicanconf.py"))


@pytest.fixture(scope="session")
def html_pages(built_site):
    """{path relative to the build: parsed lxml document} for every HTML page."""
    return {
        path.relative_to(built_site).as_posix(): lxml.html.parse(str(path)).getroot()
        for path in sorted(built_site.rglob("*.html"))
    }


def page_url(relative_path, base):
    """The address a page is served at, for a build published at `base`."""
    if relative_path == "index.html":
        return f"{base}/"
    if relative_path.endswith("/index.html"):
        return f"{base}/{relative_path[: -len('index.html')]}"
    return f"{base}/{relative_path}"


def build_file_for(url, base, build):
    """The file in `build` that serves `url` (absolute, under `base`), or None."""
    if not url.startswith(base + "/") and url != base:
        return None
    path = urlsplit(url).path[len(urlsplit(base).path) :].lstrip("/")
    candidate = Path(build, path)
    if path == "" or path.endswith("/"):
        candidate = candidate / "index.html"
    elif candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


def resolve(href, from_page, base):
    """`href` found on the page at `from_page`, made absolute."""
    return urljoin(page_url(from_page, base), href)
