"""Every piece of Pelican's private API we rely on is still there (plugins/pelican_private.py).

A Pelican upgrade that removes or changes one fails here, naming it, before a
build silently goes wrong.
"""

import importlib
import inspect
import logging

import pytest
from pelican.contents import Article
from pelican.readers import Readers
from pelican.settings import DEFAULT_CONFIG
from pelican.writers import Writer

from plugins import pelican_private


def _owner(path):
    module, _, rest = path.partition(".")
    while True:
        try:
            owner = importlib.import_module(module)
            break
        except ImportError:
            head, _, rest_next = rest.partition(".")
            module, rest = f"{module}.{head}", rest_next
    for name in filter(None, rest.split(".")):
        owner = getattr(owner, name)
    return owner


def _settings(tmp_path):
    return {**DEFAULT_CONFIG, "CACHE_PATH": str(tmp_path), "PATH": str(tmp_path)}


@pytest.fixture
def live(tmp_path):
    """A Readers, a Writer and an Article, as Pelican makes them."""
    settings = _settings(tmp_path)
    readers = Readers(settings, "Test-Readers")
    writer = Writer(str(tmp_path / "out"), settings)
    article = Article(
        '<p>A <a href="{filename}other.md">link</a></p>',
        {"title": "T", "date": __import__("datetime").datetime(2020, 1, 1)},
        settings=settings,
        source_path=str(tmp_path / "a.md"),
        context={"generated_content": {}, "static_content": {}, "localsiteurl": ""},
    )
    return {
        "pelican.readers.Readers": readers,
        "pelican.writers.Writer": writer,
        "pelican.contents.Content": article,
    }


@pytest.mark.parametrize(("owner", "attribute"), pelican_private.RELIED_ON)
def test_attribute_is_there(owner, attribute, live):
    holder = live.get(owner) or _owner(owner)
    assert hasattr(holder, attribute), (
        f"Pelican no longer has {owner}.{attribute}; plugins/pelican_private.py relies on it"
    )


def test_the_accessors_work_on_pelicans_objects(live, tmp_path):
    readers, writer = live["pelican.readers.Readers"], live["pelican.writers.Writer"]
    article = live["pelican.contents.Content"]
    source = tmp_path / "a.md"
    source.write_text("x", encoding="utf-8")
    assert pelican_private.cache_path(readers) == str(tmp_path / "Test-Readers")
    stamp = pelican_private.file_stamp(readers, str(source))
    pelican_private.put_cached(readers, str(source), stamp, "<p>x</p>", {"title": "x"})
    assert readers.get_cached_data(str(source)) == ("<p>x</p>", {"title": "x"}), (
        "Readers.get_cached_data no longer reads what put_cached stores in Readers._cache"
    )
    pelican_private.empty_reader_cache(readers)
    assert readers.get_cached_data(str(source)) is None, (
        "Readers.get_cached_data still finds what empty_reader_cache dropped from Readers._cache"
    )
    assert pelican_private.cacheable_metadata({"title": "x"}) == {"title": "x"}
    assert isinstance(pelican_private.written_files(writer), set), "Writer._written_files"
    assert isinstance(pelican_private.overridden_files(writer), set), "Writer._overridden_files"
    assert pelican_private.raw_content(article).startswith("<p>A <a href"), "Content._content"
    assert pelican_private.has_intrasite_links(article), "Content._get_intrasite_link_regex"
    article.get_content("")
    pelican_private.clear_memoized_content()
    pelican_private.forget_logged_messages()
    before = pelican_private.fatal_level()
    assert isinstance(before, int), "FatalLogger.fatal_lvl"
    pelican_private.set_fatal_level(logging.CRITICAL + 1)
    pelican_private.set_fatal_level(before)


def test_what_the_frames_and_typogrify_swap_rely_on():
    # pelican_log reads the path being read from Readers.read_file's frame.
    assert "path" in inspect.signature(Readers.read_file).parameters, "Readers.read_file(path)"
    # fastread's memo replaces typogrify.filters.typogrify: Pelican must import it per call.
    source = inspect.getsource(Readers.read_file)
    assert "from typogrify.filters import typogrify" in source, (
        "Readers.read_file no longer imports typogrify.filters.typogrify at each call"
    )


@pytest.mark.parametrize("dashes", ["default", "oldschool", "oldschool_inverted"])
def test_typogrify_as_read_file_gives_what_read_file_gives(tmp_path, dashes):
    source = tmp_path / "post.md"
    source.write_text(
        'Title: "Quoted" -- a title...\nSummary: A "summary" -- here\n\n'
        'Some "text" -- and --- more... from the AFL-CIO\n',
        encoding="utf-8",
    )
    settings = {**_settings(tmp_path), "TYPOGRIFY": True, "TYPOGRIFY_DASHES": dashes}
    readers = Readers(settings)
    read = readers.read_file(str(tmp_path), "post.md")
    raw_content, raw_metadata = readers.readers["md"].read(str(source))
    typogrify = pelican_private.typogrify_as_read_file(settings)
    assert (typogrify(raw_content), typogrify(raw_metadata["title"])) == (
        read._content,
        read.metadata["title"],
    ), "Readers.read_file no longer applies typogrify as typogrify_as_read_file does"
