"""Bytes of one representative page per template: its HTML plus the CSS and JS it loads.

Uncompressed, each file counted once per page; the search index (data fetched
by a script) is not counted, as the brief asks.
"""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

# (template, glob under the output folder); the first match in sorted order is used.
REPRESENTATIVES = [
    ("index", "index.html"),
    ("article", "blog/20*/post-*/index.html"),
    ("page", "about/index.html"),
    ("archives", "blog/archives/index.html"),
    ("period_archives", "blog/20*/index.html"),
    ("category", "blog/category/*/index.html"),
    ("categories", "blog/categories/index.html"),
    ("tag", "blog/tag/*/index.html"),
    ("tags", "blog/tags/index.html"),
    ("author", "blog/author/*/index.html"),
    ("authors", "blog/authors/index.html"),
    ("training", "trainings/bench-training-*/index.html"),
    ("trainings", "trainings/index.html"),
    ("trainings_past", "trainings/past/*/index.html"),
    ("intern_call", "internships/bench-intern-call-*/index.html"),
    ("internships", "internships/index.html"),
    ("internships_closed", "internships/closed/*/index.html"),
    ("form", "knowledge-donors/index.html"),
    ("404", "404.html"),
]
CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?["']?([^"')\s;]+)""")


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.css, self.js = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        rel = (attrs.get("rel") or "").lower().split()
        if tag == "link" and "stylesheet" in rel and attrs.get("href"):
            self.css.append(attrs["href"])
        elif tag == "script" and attrs.get("src"):
            self.js.append(attrs["src"])


def _local_file(output, page_url, reference, site_url):
    """The output file a page's (relative or absolute) reference points to, or None."""
    url = urljoin(page_url, reference)
    if site_url and url.startswith(site_url):
        url = "http://site.invalid/" + url[len(site_url) :].lstrip("/")
    parts = urlsplit(url)
    if parts.netloc != "site.invalid":
        return None  # third-party: none should exist; counted as missing
    path = output / parts.path.lstrip("/")
    if path.is_dir():
        path = path / "index.html"
    return path if path.is_file() else None


def page_weight(output, page, site_url=""):
    """{"html", "css", "js", "total"} bytes of `page` (a file under `output`)."""
    relative = page.relative_to(output).as_posix()
    page_url = "http://site.invalid/" + relative
    html = page.read_bytes()
    parser = _Assets()
    parser.feed(html.decode("utf-8", "replace"))
    sizes = {"html": len(html), "css": 0, "js": 0}
    seen = set()
    queue = [("css", ref, page_url) for ref in parser.css]
    queue += [("js", ref, page_url) for ref in parser.js]
    while queue:
        kind, reference, base = queue.pop()
        path = _local_file(output, base, reference, site_url)
        if path is None or path in seen:
            continue
        seen.add(path)
        data = path.read_bytes()
        sizes[kind] += len(data)
        if kind == "css":
            css_url = "http://site.invalid/" + path.relative_to(output).as_posix()
            text = data.decode("utf-8", "replace")
            queue += [("css", ref, css_url) for ref in CSS_IMPORT.findall(text)]
    sizes["total"] = sizes["html"] + sizes["css"] + sizes["js"]
    return sizes


def template_weights(output, site_url=""):
    """{template: sizes} for each template with a representative page in `output`."""
    output = Path(output)
    weights = {}
    for template, pattern in REPRESENTATIVES:
        matches = sorted(output.glob(pattern))
        if matches:
            weights[template] = page_weight(output, matches[0], site_url)
    return weights
