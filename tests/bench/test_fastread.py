"""The fastread plugin: parallel reading and the typogrify cache leave the output identical."""

import filecmp
import gzip
import pickle
import re
import subprocess
import sys
import textwrap

import pytest
from pelican.settings import DEFAULT_CONFIG

from tests.helpers import ROOT

if str(ROOT / "plugins") not in sys.path:
    sys.path.insert(0, str(ROOT / "plugins"))
from fastread import reader  # noqa: E402

POSTS = 12


def _post(number, extra=""):
    return textwrap.dedent(
        f"""\
        Title: "Quoted" title -- number {number}
        Date: 2020-01-{number:02d} 10:00
        Category: News
        Tags: alpha, beta{number % 3}
        Summary: The "summary" of post {number} -- with dashes... and the AFL-CIO.
        {extra}
        ## It's a heading

        Some "quoted text" -- with an em dash... and *emphasis* from the AFL-CIO.
        A [link](https://example.org/{number}) and `code -- untouched`.

        - one "item"
        - two 'items'
        """
    )


@pytest.fixture
def site(tmp_path):
    """Fixture content, and a settings file taking the plugin list on the command line."""
    content = tmp_path / "content"
    (content / "posts").mkdir(parents=True)
    for number in range(1, POSTS + 1):
        (content / "posts" / f"post-{number}.md").write_text(_post(number), encoding="utf-8")
    settings = tmp_path / "settings.py"
    settings.write_text(
        textwrap.dedent(
            f"""\
            SITEURL = "http://127.0.0.1:8000"
            THEME = "simple"
            TIMEZONE = "UTC"
            TYPOGRIFY = True
            PLUGIN_PATHS = [{str(ROOT / "plugins")!r}]
            FASTREAD = {{"min_files": 2, "workers": 2}}
            CACHE_CONTENT = True
            LOAD_CONTENT_CACHE = True
            FEED_ALL_ATOM = "feeds/all.atom.xml"
            MARKDOWN = {{"extension_configs": {{"markdown.extensions.extra": {{}},
                         "markdown.extensions.meta": {{}}}}, "output_format": "html5"}}
            """
        ),
        encoding="utf-8",
    )
    return content, settings, tmp_path


def build(content, settings, output, cache, plugins, check=True, extra=(), overrides=()):
    """A Pelican build in a subprocess with the given PLUGINS (and other -e overrides)."""
    cmd = [
        sys.executable, "-m", "pelican", str(content), "-s", str(settings),
        "-o", str(output), "--cache-path", str(cache),
        *extra, "-e", f"PLUGINS={plugins}", *overrides,
    ]  # fmt: skip
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"pelican failed:\n{result.stdout}\n{result.stderr}")
    return result


def assert_same_tree(left, right):
    """Every file in both trees exists in the other with the same bytes."""
    comparison = filecmp.dircmp(left, right)
    pending = [comparison]
    while pending:
        current = pending.pop()
        assert not current.left_only and not current.right_only, (
            current.left,
            current.left_only,
            current.right_only,
        )
        _, mismatch, errors = filecmp.cmpfiles(
            current.left, current.right, current.common_files, shallow=False
        )
        assert not mismatch and not errors, (current.left, mismatch, errors)
        pending.extend(current.subdirs.values())


def load_cache(cache):
    """Pelican's cache file for articles, unpickled as plain Pelican would."""
    path = cache / "ArticlesGenerator-Readers"
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rb") as handle:
        return pickle.load(handle)


def load_records(cache):
    """{source path: (content, metadata, typogrify memo)} from fastread's records."""
    index = load_cache(cache)[reader.INDEX_KEY]
    data = (cache / "ArticlesGenerator-Readers.records").read_bytes()
    assert data.startswith(index["token"])
    return {
        path: reader._decode(DEFAULT_CONFIG, data[offset : offset + length])
        for path, (_stamp, offset, length) in index["entries"].items()
    }


def test_output_identical_cold_and_warm(site):
    content, settings, tmp = site
    build(content, settings, tmp / "plain", tmp / "cache-plain", "[]")
    cold = build(content, settings, tmp / "cold", tmp / "cache", '["fastread"]', extra=["-D"])
    # Pelican reads from one end of the list while a forked worker reads from the other.
    read = re.search(
        rf"fastread: workers read (\d+) of {POSTS}",
        " ".join((cold.stdout + cold.stderr).split()),
    )
    assert read and 1 <= int(read.group(1)) < POSTS, cold.stdout + cold.stderr
    assert_same_tree(tmp / "plain", tmp / "cold")
    # Pelican's cache file holds only plain data: the index of fastread's records.
    assert list(load_cache(tmp / "cache")) == [reader.INDEX_KEY]
    # One record per source file: the reader's HTML, its metadata and typogrify's results.
    records = load_records(tmp / "cache")
    assert set(records) == {str(path) for path in (content / "posts").glob("*.md")}
    assert all(len(memo) == 3 for _, _, memo in records.values())  # content, title, summary
    html, metadata, memo = records[str(content / "posts" / "post-1.md")]
    assert '"quoted text"' in html and metadata["tags"][0].name == "alpha"
    assert any("&#8220;quoted text&#8221;" in text for text in memo.values())

    cache_file = tmp / "cache" / "ArticlesGenerator-Readers"
    written = cache_file.stat().st_mtime_ns
    warm = build(content, settings, tmp / "warm", tmp / "cache", '["fastread"]', extra=["-D"])
    assert "files read by" not in warm.stdout + warm.stderr  # nothing stale: no worker
    assert_same_tree(tmp / "plain", tmp / "warm")
    # Nothing changed, so the cache file was not written again.
    assert cache_file.stat().st_mtime_ns == written


def test_old_gzip_cache_is_kept_when_compression_is_turned_off(site):
    content, settings, tmp = site
    build(content, settings, tmp / "plain", tmp / "cache", "[]")  # GZIP_CACHE on: gzip files
    assert (tmp / "cache" / "ArticlesGenerator-Readers").read_bytes()[:2] == b"\x1f\x8b"
    ours = build(
        content, settings, tmp / "ours", tmp / "cache", '["fastread"]',
        extra=["--fatal", "warnings", "-D"], overrides=["GZIP_CACHE=false"],
    )  # fmt: skip
    # The old cache was read (no pool needed: every file was already cached).
    assert "files read by" not in ours.stdout + ours.stderr
    assert_same_tree(tmp / "plain", tmp / "ours")
    # Its entries are kept, now as fastread's records.
    assert set(load_records(tmp / "cache")) == {str(p) for p in (content / "posts").glob("*.md")}


def test_edit_after_cached_build_matches_clean_build(site):
    content, settings, tmp = site
    build(content, settings, tmp / "first", tmp / "cache", '["fastread"]')
    post = content / "posts" / "post-3.md"
    post.write_text(_post(3).replace('Some "quoted', 'New "edited'), encoding="utf-8")
    (content / "posts" / "post-5.md").unlink()
    build(content, settings, tmp / "second", tmp / "cache", '["fastread"]')
    build(content, settings, tmp / "clean", tmp / "cache-clean", "[]")
    assert_same_tree(tmp / "clean", tmp / "second")
    records = load_records(tmp / "cache")
    assert str(content / "posts" / "post-5.md") not in records  # deleted files are dropped
    assert "New &#8220;edited" in "".join(records[str(post)][2].values())


def test_a_damaged_or_missing_records_file_costs_only_a_new_read(site):
    content, settings, tmp = site
    build(content, settings, tmp / "plain", tmp / "cache-plain", "[]")
    build(content, settings, tmp / "first", tmp / "cache", '["fastread"]')
    records = tmp / "cache" / "ArticlesGenerator-Readers.records"
    data = records.read_bytes()
    records.write_bytes(data[: len(data) // 2])  # the later records cut off
    cut = build(
        content, settings, tmp / "cut", tmp / "cache", '["fastread"]',
        extra=["--fatal", "warnings", "-D"],
    )  # fmt: skip
    assert "unreadable cache record" in " ".join((cut.stdout + cut.stderr).split())
    assert_same_tree(tmp / "plain", tmp / "cut")
    assert set(load_records(tmp / "cache")) == {str(p) for p in (content / "posts").glob("*.md")}
    records.unlink()
    build(
        content,
        settings,
        tmp / "gone",
        tmp / "cache",
        '["fastread"]',
        extra=["--fatal", "warnings"],
    )
    assert_same_tree(tmp / "plain", tmp / "gone")


def test_a_file_pelican_cannot_read_is_reported_once_as_usual(site):
    content, settings, tmp = site
    (content / "posts" / "post-2.md").write_text(
        _post(2, extra="Title: A second title"), encoding="utf-8"
    )
    plain = build(content, settings, tmp / "plain", tmp / "c1", "[]")
    ours = build(content, settings, tmp / "ours", tmp / "c2", '["fastread"]')
    # A repeated Title makes Pelican give up on the file, with an error naming it.
    message = "Could not process posts/post-2.md"
    assert (plain.stdout + plain.stderr).count(message) == 1
    assert (ours.stdout + ours.stderr).count(message) == 1
    assert_same_tree(tmp / "plain", tmp / "ours")
    fatal = build(
        content, settings, tmp / "fatal", tmp / "c3", '["fastread"]', check=False,
        extra=["--fatal", "errors"],
    )  # fmt: skip
    assert fatal.returncode != 0 and message in fatal.stdout + fatal.stderr


def test_unknown_setting_is_named(site):
    content, settings, tmp = site
    result = build(
        content, settings, tmp / "out", tmp / "cache", '["fastread"]', check=False,
        overrides=['FASTREAD={"wokers": 2}'],
    )  # fmt: skip
    assert result.returncode != 0
    assert "fastread: unknown FASTREAD key 'wokers'" in result.stdout + result.stderr
