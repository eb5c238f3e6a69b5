"""Links and images that point at nothing, and Pelican's own warnings, in one report.

Pelican logs "Unable to find ..." for a broken `{filename}` link while it writes the
pages, and `--fatal warnings` turns that into a traceback that never names the post.
These tests build small sites with the real settings and check the build stops with
one `path:line: field: message` report instead, and that links.py finds the links
and images of a Markdown file (and only those) without rendering it.
"""

import inspect
import json
import logging
import os
import re
import shutil
import subprocess
import sys

import pytest

from plugins.content_check import checker, pelican_log
from plugins.content_check.links import (
    ContentIndex,
    find_targets,
    link_problems,
    problems,
)
from tests.helpers import ROOT, run_pelican

FIXTURE = ROOT / "tests" / "fixtures" / "content_links"
SETTINGS = str(ROOT / "pelicanconf.py")


def site(tmp_path, *files):
    """A content folder holding the fixture's `files` (paths under its content/)."""
    content = tmp_path / "content"
    for name in files:
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURE / "content" / name, content / name)
    return content


def report_of(result):
    """The report lines of a failed build (and a check that it is one report)."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    assert output.count("Content check:") == 1, output
    return output.splitlines()


def assert_has(lines, expected):
    """One of the report's lines starts with `expected`."""
    shown = "\n".join(lines)
    assert any(line.startswith(expected) for line in lines), f"{expected!r} not in:\n{shown}"


# --- whole builds -----------------------------------------------------------------


@pytest.fixture(scope="module")
def broken_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("broken-links")
    content = site(tmp, "blog/broken-links.md", "blog/broken-too.md", "pages/about.md")
    return run_pelican(content, tmp / "output", check=False)


def test_broken_links_stop_the_build_with_file_line_target_and_fix(broken_build):
    lines = report_of(broken_build)
    assert_has(
        lines,
        "content/blog/broken-links.md:5: link: {filename}/about.md points at "
        "content/about.md, which does not exist — did you mean {filename}/pages/about.md?",
    )
    assert_has(
        lines,
        "content/blog/broken-links.md:7: image: {static}/images/missing-logo.svg points at "
        "content/images/missing-logo.svg, which does not exist — ",
    )


def test_two_broken_posts_are_both_in_the_one_report(broken_build):
    lines = report_of(broken_build)
    assert_has(lines, "content/blog/broken-links.md:5: link: ")
    assert_has(
        lines,
        "content/blog/broken-too.md:5: link: {filename}/pages/abuot.md points at "
        "content/pages/abuot.md, which does not exist — did you mean {filename}/pages/about.md?",
    )


def test_a_bare_image_name_says_where_the_image_must_go(broken_build):
    # Pelican says nothing about `![A rally](rally.png)`: only the content check
    # (check_content calling links.py) can.
    if not re.search(r"from \.links|import links|links\.\w+\(", inspect.getsource(checker)):
        pytest.skip("links.py is not called from check_content yet")
    lines = report_of(broken_build)
    assert_has(
        lines,
        "content/blog/broken-links.md:9: image: rally.png would be looked for at "
        "/blog/YEAR/SLUG/rally.png on the built site, where there is no such file, so the "
        "image would be broken — put the file in content/images/ and write "
        "![A rally]({static}/images/rally.png)",
    )


def test_a_warning_pelican_only_logs_while_writing_is_named(tmp_path):
    # The linked file exists, so nothing is wrong until Pelican writes the post.
    content = site(tmp_path, "blog/writing-only.md", "pages/about.md", "pages/skipped.md")
    lines = report_of(run_pelican(content, tmp_path / "output", check=False))
    assert_has(
        lines,
        "content/blog/writing-only.md:6: link: {filename}/pages/skipped.md links to "
        "content/pages/skipped.md, which Pelican does not publish (its Status is skip, ",
    )


def test_a_clean_site_builds_without_a_word(tmp_path):
    content = site(tmp_path, "blog/clean.md", "pages/about.md", "images/logo.svg")
    result = run_pelican(content, tmp_path / "output")
    output = result.stdout + result.stderr
    assert "WARNING" not in output and "Content check" not in output, output
    assert (tmp_path / "output" / "images" / "logo.svg").exists()


def test_a_warning_in_a_file_a_fastread_worker_read_reaches_the_report(tmp_path):
    """A cold build of 40+ posts is read partly by forked workers (plugins/fastread)."""
    import pelicanconf

    content = site(tmp_path, "pages/about.md")
    (content / "blog").mkdir()
    for number in range(1, 46):
        marker = "\n\nThe test-marker.warning is here." if number == 44 else ""
        (content / "blog" / f"post-{number:02d}.md").write_text(
            f"Title: Post {number}\nDate: 2013-01-01 10:{number:02d}\n"
            f"Summary: Post number {number}.\n\nText of post {number}.{marker}\n",
            encoding="utf-8",
        )
    markdown = json.loads(json.dumps(pelicanconf.MARKDOWN))
    markdown["extension_configs"]["tests.fixtures.content_links.warn_on_read"] = {}
    extra = [f"MARKDOWN={json.dumps(markdown)}", 'FASTREAD={"workers": 2}']
    lines = report_of(run_pelican(content, tmp_path / "output", extra=extra, check=False))
    assert_has(
        lines,
        "content/blog/post-44.md:7: warning: Pelican: The reader did not like "
        "test-marker.warning — ",
    )
    assert not [line for line in lines if "post-43" in line or "post-45" in line]


def test_a_problem_found_while_reading_is_found_again_by_a_cached_build(tmp_path):
    """Pelican caches what it read before it warns; the next build must not skip it."""
    import pelicanconf

    content = site(tmp_path, "pages/about.md")
    (content / "blog").mkdir()
    (content / "blog" / "post.md").write_text(
        "Title: A post\nDate: 2013-01-01 10:00\nSummary: A post.\n\n"
        "The test-marker.warning is here.\n",
        encoding="utf-8",
    )
    markdown = json.loads(json.dumps(pelicanconf.MARKDOWN))
    markdown["extension_configs"]["tests.fixtures.content_links.warn_on_read"] = {}
    extra = [
        f"MARKDOWN={json.dumps(markdown)}",
        "CACHE_CONTENT=true",
        "LOAD_CONTENT_CACHE=true",
        f"CACHE_PATH={json.dumps(str(tmp_path / 'cache'))}",
    ]
    for _build in range(2):
        lines = report_of(run_pelican(content, tmp_path / "output", extra=extra, check=False))
        assert_has(lines, "content/blog/post.md:5: warning: Pelican: The reader did not like")


def test_a_settings_warning_is_about_the_settings_not_a_post(tmp_path):
    content = site(tmp_path, "blog/clean.md", "pages/about.md", "images/logo.svg")
    extra = ["TAG_URL=false"]
    lines = report_of(run_pelican(content, tmp_path / "output", extra=extra, check=False))
    assert_has(
        lines,
        "pelicanconf.py: Pelican: TAG_URL is set to False — this is about the "
        "settings, not a content file: correct TAG_URL (given with -e)",
    )
    assert not [line for line in lines if line.startswith("content/")]


def test_without_fatal_warnings_pelican_only_warns_as_before(tmp_path):
    content = site(tmp_path, "blog/writing-only.md", "pages/about.md", "pages/skipped.md")
    command = [sys.executable, "-m", "pelican", str(content), "-s", SETTINGS]
    command += ["-o", str(tmp_path / "output"), "-e", "CACHE_CONTENT=false"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Unable to find '/pages/skipped.md'" in result.stdout
    assert "Content check" not in result.stdout + result.stderr


# --- pelican_log on its own ---------------------------------------------------------


@pytest.fixture
def fatal_warnings():
    from pelican.log import FatalLogger

    saved = FatalLogger.fatal_lvl
    FatalLogger.fatal_lvl = logging.WARNING
    yield
    pelican_log.stop()
    FatalLogger.fatal_lvl = saved


def test_a_warning_logged_in_a_forked_worker_is_collected(tmp_path, fatal_warnings):
    content = site(tmp_path, "pages/about.md")
    about = str(content / "pages" / "about.md")
    assert pelican_log.start({"PATH": str(content)})
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            logging.getLogger("a.worker").warning("Something odd in %s", "pages/about.md")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    logging.getLogger("the.parent").error("Another thing in %s", about)
    found = [str(problem) for problem in pelican_log.stop()]
    assert found == [
        "content/pages/about.md:1: error: Pelican: Another thing in content/pages/about.md — "
        "fix what this names and build again",
        "content/pages/about.md:1: warning: Pelican: Something odd in pages/about.md — fix "
        "what this names and build again",
    ]


def test_an_error_logged_while_handling_an_exception_carries_its_message(tmp_path, fatal_warnings):
    content = site(tmp_path, "pages/about.md")
    assert pelican_log.start({"PATH": str(content)})
    try:
        raise ValueError("no closing quote on line 3")
    except ValueError:
        logging.getLogger("pelican.generators").error("Could not process %s", "pages/about.md")
    assert [str(problem) for problem in pelican_log.stop()] == [
        "content/pages/about.md:1: error: Pelican: Could not process pages/about.md "
        "(ValueError: no closing quote on line 3) — fix what this names and build again"
    ]


def test_a_report_that_stops_the_build_early_includes_what_was_logged(tmp_path, fatal_warnings):
    from plugins.content_check.plugin import ContentCheckError, _stop

    content = site(tmp_path, "pages/about.md")
    assert pelican_log.start({"PATH": str(content)})
    logging.getLogger("pelican.contents").warning("Odd thing in %s", "pages/about.md")
    with pytest.raises(ContentCheckError) as raised:
        _stop("Content check: some files were skipped.")
    assert str(raised.value).splitlines() == [
        "Content check: some files were skipped.",
        "Pelican also reported:",
        "content/pages/about.md:1: warning: Pelican: Odd thing in pages/about.md — fix what "
        "this names and build again",
    ]


def test_collecting_ends_with_pelicans_fatal_level_back(tmp_path, fatal_warnings):
    from pelican.log import FatalLogger

    factory = logging.getLogRecordFactory()
    assert pelican_log.start({"PATH": str(tmp_path)})
    assert FatalLogger.fatal_lvl > logging.CRITICAL
    pelican_log.stop()
    assert FatalLogger.fatal_lvl == logging.WARNING
    assert logging.getLogRecordFactory() is factory


# --- links.py -------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path):
    """The real settings, with a content folder holding a page, a post and an image."""
    from pelican.settings import read_settings

    content = tmp_path / "content"
    for name in ("pages/about.md", "blog/old-post.md", "images/logo.svg", "images/2013/rally.png"):
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        (content / name).write_text("Title: x\n", encoding="utf-8")
    return read_settings(SETTINGS, override={"PATH": str(content)})


def check(settings, text, name="blog/post.md"):
    return link_problems(os.path.join(settings["PATH"], name), text, settings)


def test_the_broken_fixture_post_gets_a_line_for_each_broken_target(tmp_path):
    from pelican.settings import read_settings

    content = site(tmp_path, "blog/broken-links.md", "pages/about.md")
    settings = read_settings(SETTINGS, override={"PATH": str(content)})
    post = content / "blog" / "broken-links.md"
    found = link_problems(post, post.read_text(encoding="utf-8"), settings)
    assert [(line, field) for line, field, _ in found] == [(5, "link"), (7, "image"), (9, "image")]
    assert found[2][2].endswith(
        "— put the file in content/images/ and write ![A rally]({static}/images/rally.png)"
    )


def test_every_kind_of_link_and_image_is_found_with_its_line():
    text = (
        "Title: T\n\n"
        "A [link](one.md) and ![An image](two.png 'Title').\n"
        "[![inner](three.png)](https://example.org)\n"
        '<img src="four.png" alt="Four"> <a href="five.md">five</a>\n'
        "![alt][six]\n\n"
        "[six]: <six.png>\n"
    )
    found = [(t.line, t.field, t.target, t.alt) for t in find_targets(text)]
    assert found == [
        (3, "link", "one.md", None),
        (3, "image", "two.png", "An image"),
        (4, "image", "three.png", "inner"),
        (5, "image", "four.png", "Four"),
        (5, "link", "five.md", None),
        (6, "image", "", "alt"),
        (8, "image", "six.png", None),
    ]


def test_code_is_not_searched_for_links():
    text = (
        "Use `[x](nothere.md)` or ``![](a `b` c.png)``.\n\n"
        "```\n![A](fenced.png)\n```\n\n"
        "~~~~\n[b](tilde.md)\n~~~~\n\n"
        "    ![C](indented.png)\n\n"
        "<!-- ![D](comment.png) -->\n"
        "- a list item\n\n"
        "    ![E](in-the-item.png)\n"
    )
    assert [(t.line, t.target) for t in find_targets(text)] == [(16, "in-the-item.png")]


@pytest.mark.parametrize(
    "address",
    [
        "http://example.org/a.png",
        "https://example.org/b.md",
        "mailto:someone@example.org",
        "tel:+12125550100",
        "//example.org/c.png",
        "#top",
        "/about/",
        "/trainings/",
        "/feeds/all.atom.xml",
        "../",
        "{tag}email-lists",
        "{category}blog",
        "{filename}/pages/about.md",
        "{filename}../pages/about.md",
        "|filename|/pages/about.md",
        "{filename}/pages/about.md#team",
        "{static}/images/logo.svg",
        "{static}/images/2013/rally.png",
        "/images/logo.svg",
    ],
)
def test_links_that_work_are_not_reported(settings, address):
    assert check(settings, f"[a link]({address})") == []


@pytest.mark.parametrize(
    "address",
    [
        "{static}/images/logo.svg",
        "{static}../images/logo.svg",
        "{attach}/images/2013/rally.png",
        "/images/logo.svg",
        "https://example.org/a.png",
        "data:image/png;base64,iVBORw0KGgo=",
    ],
)
def test_images_that_work_are_not_reported(settings, address):
    assert check(settings, f'![An image]({address}) <img src="{address}" alt="An image">') == []


def test_external_images_without_alt_are_still_reported(settings):
    (problem,) = check(settings, "![](https://example.org/a.png)")
    assert problem[:2] == (1, "image")
    assert "has no description (alt text)" in problem[2]
    assert "![What the image shows](https://example.org/a.png)" in problem[2]


def test_a_missing_filename_link_suggests_the_file_with_that_name(settings):
    assert check(settings, "\n[About]({filename}/about.md)") == [
        (
            2,
            "link",
            "{filename}/about.md points at content/about.md, which does not exist — did you "
            "mean {filename}/pages/about.md?",
        )
    ]
    (problem,) = check(settings, "[About](|filename|/pages/abuot.md#team)")
    assert problem[2].endswith("did you mean |filename|/pages/about.md#team?")


def test_a_missing_static_image_is_reported(settings):
    (problem,) = check(settings, "![A rally]({static}/images/rally.png)")
    assert problem == (
        1,
        "image",
        "{static}/images/rally.png points at content/images/rally.png, which does not exist "
        "— did you mean {static}/images/2013/rally.png?",
    )


def test_the_wrong_kind_of_pelican_link_says_which_to_write(settings):
    (image,) = check(settings, "[logo]({filename}/images/logo.svg)")
    assert image[2].endswith("— write [logo]({static}/images/logo.svg)")
    (page,) = check(settings, "[about]({static}/pages/about.md)")
    assert page[2].endswith("— write {filename}/pages/about.md")


def test_an_unknown_kind_of_link_is_reported_with_the_likely_one(settings):
    assert check(settings, "[About]({filenam}/pages/about.md)") == [
        (
            1,
            "link",
            "{filenam}/pages/about.md starts with {filenam}, which is not a kind of link "
            "Pelican knows — did you mean {filename}/pages/about.md?",
        )
    ]


def test_a_bare_image_beside_the_post_says_where_it_must_go(settings):
    assert check(settings, "Title: T\n\n![A rally](rally-2.png)") == [
        (
            3,
            "image",
            "rally-2.png would be looked for at /blog/YEAR/SLUG/rally-2.png on the built "
            "site, where there is no such file, so the image would be broken — put the file "
            "in content/images/ and write ![A rally]({static}/images/rally-2.png)",
        )
    ]


def test_a_relative_path_to_a_real_file_gets_the_exact_fix(settings):
    (image,) = check(settings, "![Logo](../images/logo.svg)")
    assert image[2].endswith("— write ![Logo]({static}/images/logo.svg)")
    (page,) = check(settings, "[About](../pages/about.md)")
    assert page[2].endswith("— write [About]({filename}/pages/about.md)")


def test_a_relative_image_that_only_works_from_one_address_says_so(settings):
    (problem,) = check(settings, "![Logo](../images/logo.svg)", name="pages/about.md")
    assert problem[2] == (
        "../images/logo.svg finds /images/logo.svg only while this page's address is /SLUG/ "
        "(and not in the feeds) — write ![Logo]({static}/images/logo.svg)"
    )


def test_a_site_root_image_that_does_not_exist_is_reported(settings):
    (problem,) = check(settings, '<img src="/images/nothere.png" alt="Nothing">')
    assert problem[:2] == (1, "image")
    assert problem[2].startswith("/images/nothere.png is not a file in content/ — ")


def test_an_image_without_alt_text_is_reported(settings):
    found = check(settings, '![]({static}/images/logo.svg)\n<img src="{static}/images/logo.svg">')
    assert [(line, field) for line, field, _ in found] == [(1, "image"), (2, "image")]
    assert all("has no description (alt text)" in message for _, _, message in found)


def test_targets_can_be_cached_but_files_are_looked_up_each_time(settings):
    post = os.path.join(settings["PATH"], "blog", "post.md")
    targets = find_targets("![A chart]({static}/images/chart.svg)")
    assert problems(targets, post, settings)
    chart = os.path.join(settings["PATH"], "images", "chart.svg")
    with open(chart, "w", encoding="utf-8") as handle:
        handle.write("<svg/>")
    assert problems(targets, post, settings, ContentIndex(settings["PATH"])) == []
