"""The fastread plugin: parallel reading and the typogrify memo leave the output identical."""

import filecmp
import os
import pickle
import sys
import textwrap

import pytest
import smartypants
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.fastread import memo
from plugins.pelican_private import typogrify_as_read_file
from tests.helpers import ROOT, run_bounded

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
    # Wide, so Rich neither wraps nor shortens a message.
    env = {**os.environ, "COLUMNS": "300"}
    result = run_bounded(cmd, cwd=ROOT, env=env)
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


def load_memo(cache):
    """fastread's typogrify memo: {key: typogrify's output}."""
    with open(cache / "fastread-typogrify", "rb") as handle:
        return pickle.load(handle)[1]


def _said(result):
    return " ".join((result.stdout + result.stderr).split())


def test_output_identical_cold_and_warm(site):
    content, settings, tmp = site
    build(content, settings, tmp / "plain", tmp / "cache-plain", "[]")
    cold = build(content, settings, tmp / "cold", tmp / "cache", '["fastread"]', extra=["-D"])
    # Forked workers read every stale file; Pelican found them in its reader cache.
    assert f"fastread: workers read {POSTS} of {POSTS}" in _said(cold)
    # ...and ran typogrify on them, so Pelican's own calls were all answered by the memo.
    assert "fastread: typogrify ran on 0 texts in the build process" in _said(cold)
    assert_same_tree(tmp / "plain", tmp / "cold")
    # The memo holds typogrify's output for each post's content, title and summary.
    memo = load_memo(tmp / "cache")
    assert len(memo) == 3 * POSTS
    assert any("&#8220;quoted text&#8221;" in text for text in memo.values())

    memo_file = tmp / "cache" / "fastread-typogrify"
    written = memo_file.stat().st_mtime_ns
    warm = build(content, settings, tmp / "warm", tmp / "cache", '["fastread"]', extra=["-D"])
    assert "fastread: workers read" not in _said(warm)  # nothing stale: no worker
    assert_same_tree(tmp / "plain", tmp / "warm")
    # Every text was found in the memo, so it was not written again.
    assert memo_file.stat().st_mtime_ns == written


@pytest.mark.parametrize("dashes", ["default", "oldschool", "oldschool_inverted"])
def test_workers_typogrify_as_pelican_does(site, dashes):
    content, settings, tmp = site
    dashes_setting = f'TYPOGRIFY_DASHES="{dashes}"'
    build(content, settings, tmp / "plain", tmp / "c1", "[]", overrides=[dashes_setting])
    cold = build(
        content, settings, tmp / "cold", tmp / "c2", '["fastread"]', extra=["-D"],
        overrides=[dashes_setting],
    )  # fmt: skip
    assert "fastread: typogrify ran on 0 texts in the build process" in _said(cold)
    assert_same_tree(tmp / "plain", tmp / "cold")
    without_workers = build(
        content, settings, tmp / "alone", tmp / "c3", '["fastread"]', extra=["-D"],
        overrides=[dashes_setting, 'FASTREAD={"workers": 1}'],
    )  # fmt: skip
    assert f"fastread: typogrify ran on {3 * POSTS} texts" in _said(without_workers)


def test_edit_after_cached_build_matches_clean_build(site):
    content, settings, tmp = site
    build(content, settings, tmp / "first", tmp / "cache", '["fastread"]')
    post = content / "posts" / "post-3.md"
    post.write_text(_post(3).replace('Some "quoted', 'New "edited'), encoding="utf-8")
    (content / "posts" / "post-5.md").unlink()
    build(content, settings, tmp / "second", tmp / "cache", '["fastread"]')
    build(content, settings, tmp / "clean", tmp / "cache-clean", "[]")
    assert_same_tree(tmp / "clean", tmp / "second")
    memo = load_memo(tmp / "cache")
    # Only what the last build used: the deleted post's and the old text's entries are gone.
    assert len(memo) == 3 * (POSTS - 1)
    assert any("New &#8220;edited" in text for text in memo.values())
    assert not any("Some &#8220;quoted" in text and "number 3" in text for text in memo.values())


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


_PIECES = [
    '"', "'", "`", "``", "''", "\\", "-", "--", ".", "...", ". . .", " ", "\n", "a", "KU",
    "&", "&amp;", "&quot;", "&#8220;", "&rsquo;", "<", ">", "<p>", "</p>", "<em>", "</em>",
    "<code>", "</code>", "<pre>", "</pre>", "<!--", "-->", '<a href="x">', "</a>", "<h2>",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=40),
    dashes=st.sampled_from(["default", "oldschool", "oldschool_inverted"]),
)
def test_skipping_an_idle_smartypants_never_changes_typogrifys_output(pieces, dashes):
    text = "".join(pieces)
    options = {"TYPOGRIFY_DASHES": dashes, "TYPOGRIFY_IGNORE_TAGS": []}
    options["TYPOGRIFY_OMIT_FILTERS"] = []
    typogrify_as_read_file(options)  # sets smartypants.Attr.default as Pelican does
    assert memo._typogrify(text, [], {}) == memo._original(text)


def test_a_post_as_markdown_writes_it_leaves_smartypants_nothing_to_do():
    smartypants.Attr.default = smartypants.Attr.set1 | smartypants.Attr.w
    html = (
        "<p>It&rsquo;s &ldquo;ours&rdquo; &mdash; the AFL-CIO&hellip; "
        "Run <code>export --all \"now\"</code>.</p><pre><code>a -- 'b'</code></pre>"
    )
    assert memo.smartypants_idle(html)
    assert not memo.smartypants_idle(html + '<p>A "quoted" word</p>')
    assert not memo.smartypants_idle("<p>a -- b</p>")
    assert not memo.smartypants_idle("<p>x</p><!-- a -- b -->")
