"""Every internal link, image, stylesheet and script on every page resolves to a built file."""

from urllib.parse import urldefrag, urlsplit

import lxml.html

from tests.site.conftest import build_file_for, resolve

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


def test_internal_references_resolve_to_files_in_the_build(built_site, html_pages, dev_settings):
    site = dev_settings["SITEURL"]
    ids_by_file = {}
    broken = []
    for path, doc in html_pages.items():
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
                target = build_file_for(url, site, built_site)
                if target is None:
                    broken.append(f"{path}: {href} -> no such file in the build")
                    continue
                if fragment and target.suffix == ".html":
                    if target not in ids_by_file:
                        ids_by_file[target] = set(lxml.html.parse(str(target)).xpath("//@id"))
                    if fragment not in ids_by_file[target]:
                        broken.append(f"{path}: {href} -> no id {fragment!r} on that page")
    assert not broken, "\n".join(broken)


def test_the_check_sees_links_at_all(html_pages):
    # Guards the test above against passing because it found nothing to check.
    post = html_pages["blog/2013/big-list-online-organizing/index.html"]
    assert len(post.xpath("//a[@href]")) > 15
    assert post.xpath("//link[@rel='stylesheet']/@href") == ["../../../theme/css/site.css"]
