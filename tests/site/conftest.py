"""Fixtures and helpers for the site tests: the built site's pages, parsed once."""

from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

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
    return parsed_pages(built_site)


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


# (xpath, attribute) pairs for every reference a page can make.
REFERENCES = [
    ("//a[@href]", "href"),
    ("//link[@href]", "href"),
    ("//img[@src]", "src"),
    ("//script[@src]", "src"),
    ("//source[@src]", "src"),
    ("//video[@poster]", "poster"),
]
IGNORED_SCHEMES = ("mailto:", "tel:", "data:", "webcal:")


def parsed_pages(build):
    """{path relative to the build: parsed lxml document} for every HTML page."""
    return {
        path.relative_to(build).as_posix(): lxml.html.parse(str(path)).getroot()
        for path in sorted(build.rglob("*.html"))
    }


def broken_references(build, pages, site):
    """Each internal link, image, stylesheet or script on `pages` that resolves to no
    file (or no id) in `build`, and anything loaded from another origin."""
    ids_by_file = {}
    broken = []
    for path, doc in pages.items():
        for xpath, attribute in REFERENCES:
            for element in doc.xpath(xpath):
                href = element.get(attribute).strip()
                if not href or href.startswith(IGNORED_SCHEMES):
                    continue
                url, fragment = urldefrag(resolve(href, path, site))
                if urlsplit(url).netloc != urlsplit(site).netloc:
                    if element.tag != "a":
                        broken.append(f"{path}: {href} is loaded from another origin")
                    continue
                target = build_file_for(url, site, build)
                if target is None:
                    broken.append(f"{path}: {href} -> no such file in the build")
                    continue
                if fragment and target.suffix == ".html":
                    if target not in ids_by_file:
                        ids_by_file[target] = set(lxml.html.parse(str(target)).xpath("//@id"))
                    if fragment not in ids_by_file[target]:
                        broken.append(f"{path}: {href} -> no id {fragment!r} on that page")
    return broken


def page_structure_problems(pages):
    """Pages without exactly one h1, the landmarks, a skip link, a description or a lang."""
    problems = []
    for path, doc in pages.items():
        if len(doc.xpath("//h1")) != 1:
            problems.append(f"{path}: {len(doc.xpath('//h1'))} h1 elements")
        for landmark in ("header", "nav", "main", "footer"):
            if not doc.xpath(f"//body//{landmark}"):
                problems.append(f"{path}: no <{landmark}>")
        skip = doc.xpath("//body/a[1]")
        if not skip or skip[0].get("href") != "#main" or not doc.xpath("//main[@id='main']"):
            problems.append(f"{path}: first link is not a skip link to <main id=main>")
        if not doc.xpath("//head/meta[@name='description'][normalize-space(@content)]"):
            problems.append(f"{path}: no meta description")
        if not doc.xpath("//html[@lang]"):
            problems.append(f"{path}: no lang on <html>")
    return problems
