"""What the publish build adds to the site: compressed copies, hashed names, host headers."""

import gzip
import hashlib
import re

import brotli
import lxml.html
import pytest
from pelican.settings import read_settings

from plugins.asset_names.plugin import AssetNamesSettingsError, asset_path
from plugins.asset_names.plugin import check_settings as check_asset_names
from plugins.host_headers.plugin import HostHeadersSettingsError, nginx_conf
from plugins.host_headers.plugin import check_settings as check_host_headers
from tests.helpers import ROOT

PUBLISH = read_settings(str(ROOT / "publishconf.py"))
DECOMPRESS = {".br": brotli.decompress, ".gz": gzip.decompress}


def test_the_publish_build_has_its_own_folder():
    """public/, never the preview's output/, and git ignores it."""
    assert PUBLISH["OUTPUT_PATH"] == str(ROOT / "public")
    assert "public/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_compressed_copies_decompress_to_the_originals(published):
    folder, _ = published
    copies = [path for path in folder.rglob("*") if path.suffix in DECOMPRESS]
    assert len(copies) > 50
    for copy in copies:
        original = copy.with_suffix("")
        assert DECOMPRESS[copy.suffix](copy.read_bytes()) == original.read_bytes(), copy


def test_every_text_file_has_both_copies(published):
    """Each page, feed, calendar, stylesheet and script (big enough to gain) has .br and .gz."""
    folder, _ = published
    texts = [
        path
        for path in folder.rglob("*")
        if path.suffix in PUBLISH["PRECOMPRESS_TEXT_EXTENSIONS"] and path.stat().st_size > 1024
    ]
    assert {path.suffix for path in texts} >= {".html", ".xml", ".css", ".js", ".ics", ".json"}
    missing = [
        f"{path}{suffix}"
        for path in texts
        for suffix in DECOMPRESS
        if not path.with_name(path.name + suffix).is_file()
    ]
    assert not missing


def test_pages_use_the_hashed_stylesheet(published):
    folder, base_url = published
    source = ROOT / "theme/static/css/site.css"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:10]
    hashed = f"assets/css/site.{digest}.css"
    assert (folder / hashed).read_bytes() == source.read_bytes()
    for page in ("index.html", "blog/2013/big-list-online-organizing/index.html", "404.html"):
        document = lxml.html.parse(str(folder / page)).getroot()
        assert document.xpath("//link[@rel='stylesheet']/@href") == [base_url + hashed], page


def test_every_theme_script_has_a_hashed_copy(published):
    folder, _ = published
    for script in (ROOT / "theme/static/js").glob("*.js"):
        digest = hashlib.sha256(script.read_bytes()).hexdigest()[:10]
        assert (folder / f"assets/js/{script.stem}.{digest}.js").is_file(), script.name


def test_the_dev_build_keeps_the_plain_names():
    dev = read_settings(str(ROOT / "pelicanconf.py"))
    assert asset_path(dev, "css/site.css") == "theme/css/site.css"
    assert asset_path(PUBLISH, "css/site.css").startswith("assets/css/site.")


def test_a_missing_asset_is_named():
    with pytest.raises(AssetNamesSettingsError, match="'css/missing.css'"):
        asset_path(PUBLISH, "css/missing.css")


def headers_blocks(text):
    """{path: {name: value}} of a `_headers` file."""
    blocks, current = {}, None
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if not line[0].isspace():
            current = blocks.setdefault(line.strip(), {})
        else:
            name, value = line.strip().split(": ", 1)
            current[name] = value
    return blocks


def test_headers_file(published, endpoint_url):
    folder, _ = published
    blocks = headers_blocks((folder / "_headers").read_text(encoding="utf-8"))
    every = blocks["/*"]
    policy = dict(
        (directive.split(" ", 1) + [""])[:2]
        for directive in every["Content-Security-Policy"].split("; ")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert policy["connect-src"] == policy["form-action"] == f"'self' {endpoint_url}"
    assert policy["frame-ancestors"] == "'none'"
    assert every["X-Content-Type-Options"] == "nosniff"
    assert every["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in every["Permissions-Policy"]
    # Hosts join a header set by several matching rules: no Cache-Control under /*.
    assert "Cache-Control" not in every
    assert blocks["/assets/*"] == {"Cache-Control": "public, max-age=31536000, immutable"}


def test_nginx_example_sends_the_same_headers(published):
    folder, _ = published
    blocks = headers_blocks((folder / "_headers").read_text(encoding="utf-8"))
    nginx = (folder / ".nginx.conf").read_text(encoding="utf-8")
    server_headers = dict(re.findall(r'^add_header ([\w-]+) "([^"]*)" always;$', nginx, re.M))
    assert server_headers == blocks["/*"]
    cache = dict(
        re.findall(r'^location (/\S*/) \{ set \$site_cache_control "([^"]*)"; \}', nginx, re.M)
    )
    assert cache == {
        path.removesuffix("*"): headers["Cache-Control"]
        for path, headers in blocks.items()
        if path != "/*"
    }


def test_nginx_gives_the_editor_its_own_policy(monkeypatch):
    """Decap CMS needs eval and inline styles; the rest of the site keeps refusing them."""
    monkeypatch.setenv("GITHUB_REPOSITORY", "organizing20/site")
    nginx = nginx_conf(read_settings(str(ROOT / "publishconf.py")))
    server = dict(re.findall(r'^add_header ([\w-]+) "([^"]*)" always;$', nginx, re.M))
    block = re.search(r"^location /admin/ \{\n(.*?)^\}$", nginx, re.M | re.S).group(1)
    editor = dict(re.findall(r'^    add_header ([\w-]+) "([^"]*)" always;$', block, re.M))
    assert "'unsafe-eval'" not in server["Content-Security-Policy"]
    policy = editor.pop("Content-Security-Policy")
    assert "script-src 'self' 'unsafe-eval'" in policy
    assert "connect-src 'self' https://api.github.com" in policy
    assert "frame-ancestors 'none'" in policy
    del server["Content-Security-Policy"]
    assert editor == server  # the location repeats every other header


def test_form_pages_keep_their_referrer_policy(published):
    """The endpoint credits ?source= from the page address: a form page widens the policy."""
    folder, _ = published
    document = lxml.html.parse(str(folder / "knowledge-donors/index.html")).getroot()
    assert document.xpath("//meta[@name='referrer']/@content") == ["no-referrer-when-downgrade"]


@pytest.mark.parametrize(
    ("check", "setting", "value", "message"),
    [
        (check_asset_names, "ASSET_NAMES", {"hash": "yes"}, r"\['hash'\] must be True or False"),
        (check_asset_names, "ASSET_NAMES", {"folder": "../up"}, r"\['folder'\] must be a folder"),
        (check_asset_names, "ASSET_NAMES", {"hashed": True}, "unknown ASSET_NAMES key"),
        (check_host_headers, "HOST_HEADERS", {"save_as": "/etc/x"}, r"\['save_as'\] must be"),
        (check_host_headers, "HOST_HEADERS", {"cache": {"images": "x"}}, r"'/images/\*'"),
    ],
)
def test_bad_settings_are_named(check, setting, value, message):
    with pytest.raises((AssetNamesSettingsError, HostHeadersSettingsError), match=message):
        check({**PUBLISH, setting: value})
