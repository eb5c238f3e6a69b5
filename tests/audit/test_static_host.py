"""devserver/static_host.py serves a folder as Netlify or Cloudflare Pages would."""

import gzip
import http.client
from urllib.parse import urlsplit

import brotli
import pytest

from devserver.static_host import parse_headers_file, serving

HEADERS_FILE = """\
# Every page
/*
  X-Content-Type-Options: nosniff
  Link: </css/site.css>; rel=preload; as=style

/css/*
  Cache-Control: public, max-age=31536000, immutable

/blog/:year/*
  Link: </blog/>; rel=up
"""
CSS = b"body { color: black; }\n" * 20


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """A small built site with `_headers`, precompressed copies and a 404 page, served."""
    root = tmp_path_factory.mktemp("static-host")
    (root / "_headers").write_text(HEADERS_FILE)
    (root / "index.html").write_text("<p>home</p>")
    (root / "404.html").write_text("<p>not here</p>")
    (root / "blog" / "2026" / "post").mkdir(parents=True)
    (root / "blog" / "2026" / "post" / "index.html").write_text("<p>post</p>")
    (root / "css").mkdir()
    (root / "css" / "site.css").write_bytes(CSS)
    (root / "css" / "site.css.gz").write_bytes(gzip.compress(CSS))
    (root / "css" / "site.css.br").write_bytes(brotli.compress(CSS))
    with serving(root) as url:
        yield url


def fetch(url, path, method="GET", **headers):
    """(status, headers with lower-case names, body) of one request, redirects not followed."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_the_url_is_a_loopback_base_url(host):
    assert host.startswith("http://127.0.0.1:") and host.endswith("/")


def test_a_folder_is_its_index_and_the_address_without_slash_redirects(host):
    status, headers, body = fetch(host, "/blog/2026/post/")
    assert (status, body) == (200, b"<p>post</p>")
    assert headers["content-type"] == "text/html; charset=utf-8"
    status, headers, _ = fetch(host, "/blog/2026/post")
    assert (status, headers["location"]) == (301, "/blog/2026/post/")


def test_headers_of_every_matching_block_apply_and_join(host):
    _, home, _ = fetch(host, "/")
    assert home["x-content-type-options"] == "nosniff"
    assert home["link"] == "</css/site.css>; rel=preload; as=style"
    assert "cache-control" not in home
    _, post, _ = fetch(host, "/blog/2026/post/")
    assert post["link"] == "</css/site.css>; rel=preload; as=style, </blog/>; rel=up"
    _, css, _ = fetch(host, "/css/site.css")
    assert css["cache-control"] == "public, max-age=31536000, immutable"
    assert css["x-content-type-options"] == "nosniff"


def test_the_best_accepted_compressed_copy_is_sent_with_the_original_type(host):
    status, headers, body = fetch(host, "/css/site.css", **{"Accept-Encoding": "gzip, br"})
    assert (status, headers["content-encoding"], brotli.decompress(body)) == (200, "br", CSS)
    assert headers["content-type"] == "text/css; charset=utf-8"
    assert headers["vary"] == "Accept-Encoding"
    _, headers, body = fetch(host, "/css/site.css", **{"Accept-Encoding": "gzip, br;q=0"})
    assert (headers["content-encoding"], gzip.decompress(body)) == ("gzip", CSS)
    _, headers, body = fetch(host, "/css/site.css")
    assert "content-encoding" not in headers and body == CSS
    assert headers["vary"] == "Accept-Encoding"


def test_head_sends_the_headers_without_the_body(host):
    status, headers, body = fetch(host, "/css/site.css", "HEAD", **{"Accept-Encoding": "br"})
    assert (status, body) == (200, b"")
    assert int(headers["content-length"]) == len(brotli.compress(CSS))


@pytest.mark.parametrize(
    "path",
    ["/nothing/", "/css/missing.css", "/_headers", "/../etc/passwd", "/%00", "/" + "x" * 300],
)
def test_a_miss_is_the_404_page_with_status_404(host, path):
    status, headers, body = fetch(host, path)
    assert (status, body) == (404, b"<p>not here</p>")
    assert headers["x-content-type-options"] == "nosniff"


def test_without_a_404_page_a_miss_is_still_404(tmp_path):
    (tmp_path / "index.html").write_text("home")
    with serving(tmp_path) as url:
        status, _, body = fetch(url, "/gone/")
    assert (status, body) == (404, b"Not found\n")


def test_header_rules_parse_splats_and_placeholders():
    rules = parse_headers_file(HEADERS_FILE)
    assert [bool(pattern.match("/blog/2026/post/")) for pattern, _ in rules] == [True, False, True]
    assert not rules[2][0].match("/blog/")
    assert rules[1][1] == [("Cache-Control", "public, max-age=31536000, immutable")]
