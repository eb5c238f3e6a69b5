"""`invoke serve` on a copy of the site: edits show up, tabs reload, Ctrl-C stops it all."""

import signal
import time
import urllib.error
import urllib.request

import pytest

from tests.helpers import copy_project, descendants, dev_server, process_alive

POST = """\
Title: Live reload check
Date: 2014-02-03 10:00
Author: Charles Lenchner
Slug: live-reload-check
Tags: training
Summary: A post the live reload test edits.

This sentence is version-one of the text, and it ends here.
"""


def _get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode("utf-8")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`invoke serve` running on free ports from a copy of the site."""
    base = copy_project(tmp_path_factory.mktemp("serve"))
    post = base / "content" / "blog" / "2014-02-03-live-reload-check.md"
    post.write_text(POST, "utf-8")
    with dev_server(base) as handle:
        yield {**handle, "post": post, "page": handle["url"] + "/blog/2014/live-reload-check/"}


def _edit(post, old, new):
    post.write_text(post.read_text("utf-8").replace(old, new), "utf-8")


def test_saved_text_is_served_within_five_seconds(server):
    status, html = _get(server["page"])
    assert status == 200 and "version-one" in html
    assert '<script src="/__livereload.js"' in html
    _edit(server["post"], "version-one", "version-two")
    saved = time.monotonic()
    while time.monotonic() - saved < 5:
        if "version-two" in _get(server["page"])[1]:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the edit was not served within 5 s:\n" + server["log"].read_text())


def test_missing_page_gets_the_sites_404_page(server):
    with pytest.raises(urllib.error.HTTPError) as error:
        _get(server["url"] + "/no-such-page/")
    assert error.value.code == 404
    assert "__livereload.js" in error.value.read().decode("utf-8")


def test_forms_post_to_the_endpoint_started_beside_it(server):
    _, html = _get(server["url"] + "/knowledge-donors/")
    assert f'action="{server["endpoint"]}/forms/knowledge-donor"' in html
    deadline = time.monotonic() + 10
    while True:
        try:
            assert _get(server["endpoint"] + "/health")[0] == 200
            break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.browser
def test_open_tab_reloads_by_itself(server, browser):
    page = browser.new_page()
    try:
        page.goto(server["page"])
        page.wait_for_function("() => document.body.innerText.includes('of the text')")
        # A mark that only survives if the page is never reloaded.
        page.evaluate("window.__notReloaded = true")
        _edit(server["post"], "of the text", "of the text (tab-reloaded-itself)")
        page.wait_for_function(
            "() => window.__notReloaded === undefined"
            " && document.body.innerText.includes('tab-reloaded-itself')",
            timeout=10_000,
        )
    finally:
        page.close()


def test_ctrl_c_stops_every_process(server):
    process = server["process"]
    tree = descendants(process.pid)
    assert len(tree) >= 2, "expected the build worker and the form endpoint"
    process.send_signal(signal.SIGINT)
    process.wait(20)
    deadline = time.monotonic() + 5
    while any(process_alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in tree if process_alive(pid)] == []
