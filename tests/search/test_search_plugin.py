"""plugins/search: what reaches the index, the reused bundle, settings and failures."""

import json
import shutil

import lxml.html
import pytest

from plugins.search import plugin, service
from tests.helpers import output_files, run_pelican
from tests.search.conftest import cache_override, indexed, write_site

PUBLISHED = {
    "/about/": ("Page", None),
    "/blog/2014/rides-to-the-hearing/": ("Post", "2014-04-01"),
    "/blog/2014/the-quilting-bee-that-became-a-union-drive/": ("Post", "2014-03-01"),
    "/internships/fall-internship-in-online-organizing/": ("Internship", "2014-01-15"),
    "/trainings/organizing-a-carpool-network/": ("Training", "2099-05-01"),
    **{f"/blog/2015/field-notes-{n}/": ("Post", f"2015-01-{n:02d}") for n in range(1, 13)},
}


def test_published_posts_trainings_internships_and_pages_are_indexed_and_nothing_else(
    search_site,
):
    records = indexed(search_site["output"])
    # No draft, scheduled post, thank-you page, list, 404 or the search page itself.
    assert {
        url: (record["filters"]["kind"][0], record["meta"].get("date"))
        for url, record in records.items()
    } == PUBLISHED


def test_only_the_main_content_is_indexed(search_site):
    output = search_site["output"]
    records = indexed(output)
    training = records["/trainings/organizing-a-carpool-network/"]["content"]
    assert "We plan a carpool network that gets members to every meeting." in training
    page = lxml.html.parse(str(output / "trainings/organizing-a-carpool-network/index.html"))
    outside = [
        " ".join(element.text_content().split())
        for element in page.xpath(
            "//nav//a | //footer//p | //form//label | //form//legend | //a[@class='skip-link']"
        )
    ]
    # Phrases, not single words: the main content says "Trainings" and "About" too.
    phrases = {text for text in outside if len(text.split()) > 1}
    assert len(phrases) >= 5
    leaked = {text for text in phrases for record in records.values() if text in record["content"]}
    assert leaked == set()


def test_a_rebuild_of_the_same_pages_reuses_the_bundle_byte_for_byte(search_site, tmp_path):
    again = tmp_path / "again"
    run_pelican(search_site["content"], again, extra=cache_override(search_site["base"] / "cache"))
    bundle = {
        n: d for n, d in output_files(search_site["output"]).items() if n.startswith("pagefind/")
    }
    assert (
        bundle
        and {n: d for n, d in output_files(again).items() if n.startswith("pagefind/")} == bundle
    )


def test_a_changed_post_is_indexed_on_the_next_build(search_site, tmp_path):
    content = tmp_path / "content"
    shutil.copytree(search_site["content"], content)
    post = content / "blog/2014-03-01-quilting-bee.md"
    post.write_text(post.read_text().replace("quilting circle", "marmalade circle"))
    output = tmp_path / "output"
    run_pelican(content, output, extra=cache_override(search_site["base"] / "cache"))
    record = indexed(output)["/blog/2014/the-quilting-bee-that-became-a-union-drive/"]
    assert "marmalade circle" in record["content"]


@pytest.fixture(scope="module")
def one_post(tmp_path_factory):
    return write_site(
        tmp_path_factory.mktemp("one-post"),
        {"blog/2014-03-01-one.md": "Title: One\nDate: 2014-03-01\nSummary: One post.\n\nText.\n"},
    )


def build_with(one_post, tmp_path, search, check=True):
    extra = [*cache_override(tmp_path / "cache"), f"SEARCH={json.dumps(search)}"]
    return run_pelican(one_post, tmp_path / "output", extra=extra, check=check)


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ({"enable": True}, "search: unknown SEARCH key(s) enable; allowed: defer, enabled"),
        ({"enabled": "yes"}, "search: SEARCH['enabled'] must be True or False, got 'yes'"),
    ],
)
def test_a_mistake_in_the_setting_stops_the_build_with_what_to_fix(
    one_post, tmp_path, search, message
):
    result = build_with(one_post, tmp_path, search, check=False)
    assert result.returncode != 0
    assert message in " ".join((result.stdout + result.stderr).split())
    assert not (tmp_path / "output" / "pagefind").exists()


@pytest.mark.parametrize("search", [{"enabled": False}, {"defer": True}])
def test_switched_off_or_deferred_the_build_writes_no_index(one_post, tmp_path, search):
    build_with(one_post, tmp_path, search)
    assert (tmp_path / "output" / "blog/2014/one/index.html").is_file()
    assert not (tmp_path / "output" / "pagefind").exists()


def added(output, cache, leave_out=()):
    """An Indexing given every page in `output` as a build would (but those in `leave_out`)."""
    indexing = plugin.Indexing(output, cache / "search")
    for path in sorted(output.rglob("*.html")):
        if path.relative_to(output).as_posix() not in leave_out:
            indexing.add(path)
    return indexing


def test_pagefind_works_on_the_pages_while_the_build_goes_on(search_site, tmp_path):
    output = tmp_path / "output"
    shutil.copytree(search_site["output"], output)
    indexing = added(output, tmp_path / "cache")  # no kept bundle: Pagefind is needed
    # Before the build's end (finish), Pagefind is running and has the pages.
    assert indexing.service.process.poll() is None
    assert indexing.finish() == len(PUBLISHED)
    assert set(indexed(output)) == set(PUBLISHED)


def test_the_bundle_written_early_holds_every_page(search_site, tmp_path):
    output = tmp_path / "output"
    shutil.copytree(search_site["output"], output)
    indexing = added(output, tmp_path / "cache")
    indexing.start_writing()  # at page_writer_finalized; the build's last work goes on
    assert indexing.finish() == len(PUBLISHED)
    assert set(indexed(output)) == set(PUBLISHED)
    assert [path.name for path in (tmp_path / "cache" / "search").iterdir()] == [
        plugin.digest(indexing.pages)
    ]  # the staging folder became the kept bundle


def test_a_page_written_after_the_early_write_is_indexed_all_the_same(search_site, tmp_path):
    output = tmp_path / "output"
    shutil.copytree(search_site["output"], output)
    indexing = added(output, tmp_path / "cache", leave_out={"about/index.html"})
    indexing.start_writing()
    indexing.add(output / "about" / "index.html")  # a plugin writing a page at the end
    assert indexing.finish() == len(PUBLISHED)
    assert set(indexed(output)) == set(PUBLISHED)
    assert len(list((tmp_path / "cache" / "search").iterdir())) == 1  # no staging left


def test_unchanged_pages_reuse_the_kept_bundle_and_pagefind_never_starts(
    search_site, tmp_path, monkeypatch
):
    output = tmp_path / "output"
    shutil.copytree(search_site["output"], output)
    before = output_files(output / "pagefind")

    def refuse():
        raise AssertionError("Pagefind was started")

    monkeypatch.setattr(plugin, "PagefindService", refuse)
    assert added(output, search_site["base"] / "cache").finish() == len(PUBLISHED)
    assert output_files(output / "pagefind") == before


def test_a_page_no_longer_written_leaves_the_index(search_site, tmp_path):
    output, cache = tmp_path / "output", tmp_path / "cache"
    shutil.copytree(search_site["output"], output)
    shutil.copytree(search_site["base"] / "cache", cache)
    # Each page written matches a kept bundle's, so Pagefind only starts at the end.
    assert added(output, cache, leave_out={"about/index.html"}).finish() == len(PUBLISHED) - 1
    assert set(indexed(output)) == set(PUBLISHED) - {"/about/"}


def test_the_service_takes_pages_faster_than_it_parses_them(tmp_path):
    pagefind = service.PagefindService()
    count = 300  # their answers fill more than a pipe before they are read
    for number in range(count):
        pagefind.add_html(
            f"notes/{number}/index.html",
            f"<html lang='en'><body><main data-pagefind-body><h1>Note {number}</h1>"
            f"<p>On the picket line, week {number}.</p></main></body></html>",
        )
    pagefind.write_files(tmp_path / "pagefind")
    assert set(indexed(tmp_path)) == {f"/notes/{number}/" for number in range(count)}


def test_pagefind_failing_stops_with_its_message_and_keeps_the_old_index(
    search_site, tmp_path, monkeypatch
):
    output = tmp_path / "output"
    shutil.copytree(search_site["output"], output)
    before = output_files(output / "pagefind")
    page = output / "about/index.html"
    page.write_text(page.read_text().replace("lighthouse", "harbour"))
    fake = tmp_path / "pagefind"
    fake.write_text("#!/bin/sh\necho 'Error: the disk is full' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(service, "get_executable", lambda: fake)
    with pytest.raises(plugin.SearchError) as failure:
        added(output, tmp_path / "cache").finish()
    assert str(failure.value).startswith(
        "search: Pagefind could not index the site; the previous index in pagefind/ is kept. "
        "Pagefind ended (exit 3). It said:\nError: the disk is full"
    )
    assert output_files(output / "pagefind") == before


def test_pagefind_failing_itself_says_why(tmp_path):
    pagefind = service.PagefindService()
    pagefind.add_html("one/index.html", "<html><body data-pagefind-body>One.</body></html>")
    (tmp_path / "a-file").write_text("")
    # Its own panic: the bundle cannot go inside a file.
    with pytest.raises(service.PagefindError, match=r"Pagefind ended \(exit 101\)(.|\n)*panicked"):
        pagefind.write_files(tmp_path / "a-file" / "pagefind")
    pagefind.close()
