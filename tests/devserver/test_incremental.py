"""The dev server's incremental rebuilds write exactly what a clean build writes.

A warm build worker (devserver.worker, the process `make serve` rebuilds with)
builds a copy of the site, then goes through a series of edits: a post's text,
a post's title, a rename, a deletion, a new post, a theme template. After each
edit it rebuilds incrementally, and the whole output tree is compared byte for
byte with a clean build of the same files made by plain `pelican`.
"""

import json
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT, comparable_output, output_files, run_pelican

COPIED_FOLDERS = ["content", "theme", "plugins", "forms", "endpoint", "webforms", "devserver"]
EXTRA_POSTS = 14  # more than one page of the index (DEFAULT_PAGINATION is 10)


def _post(number, title=None, tags="alpha, beta", body=None):
    title = title or f"Field notes number {number}"
    body = body or (
        f"Notes from week {number} of the campaign: the list grew, the petition "
        f"travelled and the local council heard from members.\n\n"
        f"## What we learned in week {number}\n\n"
        f"- Ask early.\n- Ask twice.\n\nA closing paragraph for week {number}."
    )
    return (
        f"Title: {title}\nDate: 2015-03-{number:02d} 09:00\nAuthor: Charles Lenchner\n"
        f"Slug: field-notes-{number}\nTags: {tags}\n"
        f"Summary: Short notes from week {number} of a campaign.\n\n{body}\n"
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A copy of the project's site with extra posts, and a warm build worker on it."""
    base = tmp_path_factory.mktemp("incremental")
    for name in COPIED_FOLDERS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, base / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pelicanconf.py", base / "pelicanconf.py")
    posts = base / "content" / "blog"
    for number in range(1, EXTRA_POSTS + 1):
        tags = "alpha, solo" if number == 10 else "alpha, beta"
        (posts / f"field-notes-{number}.md").write_text(_post(number, tags=tags), "utf-8")
    log = (base / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devserver.worker",
            "--settings",
            str(base / "pelicanconf.py"),
            "--output",
            str(base / "output"),
        ],
        cwd=base,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    state = {"base": base, "worker": worker, "log": base / "worker.log", "clean": 0}
    state["first"] = _answer(state)
    yield state
    worker.stdin.close()
    worker.wait(30)
    worker.stdout.close()
    log.close()


def _answer(site):
    line = site["worker"].stdout.readline()
    assert line, "the build worker died:\n" + site["log"].read_text()
    return json.loads(line)


def _rebuild(site, expect_ok=True):
    site["worker"].stdin.write(json.dumps({"full": False}) + "\n")
    site["worker"].stdin.flush()
    answer = _answer(site)
    if expect_ok:
        assert answer["ok"], f"incremental build failed: {answer}\n" + site["log"].read_text()
    return answer


def assert_same_as_clean_build(site):
    """The worker's output equals a fresh full build of the same files, byte for byte."""
    site["clean"] += 1
    clean = site["base"] / f"clean-{site['clean']}"
    run_pelican(site["base"] / "content", clean, settings=site["base"] / "pelicanconf.py")
    built, expected = output_files(site["base"] / "output"), output_files(clean)
    assert sorted(set(built) - set(expected)) == [], "stale files left behind"
    assert sorted(set(expected) - set(built)) == [], "files missing from the rebuild"
    differing = [
        name
        for name in expected
        if comparable_output(name, built[name]) != comparable_output(name, expected[name])
    ]
    assert differing == [], f"files differ from a clean build: {differing[:10]}"


def test_first_build_equals_clean_build(site):
    assert site["first"]["ok"], site["log"].read_text()
    assert_same_as_clean_build(site)


def test_editing_a_posts_text_renders_only_what_shows_it(site):
    post = site["base"] / "content" / "blog" / "field-notes-7.md"
    post.write_text(
        post.read_text("utf-8").replace("the list grew", "the list doubled overnight"),
        "utf-8",
    )
    answer = _rebuild(site)
    total = answer["rendered"] + answer["skipped"]
    assert 1 <= answer["rendered"] < total / 2, answer
    page = site["base"] / "output" / "blog" / "2015" / "field-notes-7" / "index.html"
    assert "the list doubled overnight" in page.read_text("utf-8")
    assert_same_as_clean_build(site)


def test_retitling_a_post_updates_its_neighbours_and_listings(site):
    post = site["base"] / "content" / "blog" / "field-notes-5.md"
    post.write_text(
        post.read_text("utf-8").replace("Field notes number 5", "A new name for week five"),
        "utf-8",
    )
    _rebuild(site)
    assert_same_as_clean_build(site)


def test_renaming_a_post_removes_its_old_page(site):
    posts = site["base"] / "content" / "blog"
    old = posts / "field-notes-3.md"
    text = old.read_text("utf-8").replace("Slug: field-notes-3", "Slug: week-three")
    old.unlink()
    (posts / "week-three.md").write_text(text, "utf-8")
    answer = _rebuild(site)
    assert answer["removed"] >= 1, answer
    assert not (site["base"] / "output" / "blog" / "2015" / "field-notes-3").exists()
    assert_same_as_clean_build(site)


def test_deleting_a_post_removes_its_page_and_its_only_tag(site):
    (site["base"] / "content" / "blog" / "field-notes-10.md").unlink()
    _rebuild(site)
    assert not (site["base"] / "output" / "blog" / "tag" / "solo").exists()
    assert_same_as_clean_build(site)


def test_adding_a_post_with_a_new_tag(site):
    (site["base"] / "content" / "blog" / "field-notes-20.md").write_text(
        _post(20, title="A brand new post", tags="beta, fresh"), "utf-8"
    )
    _rebuild(site)
    assert (site["base"] / "output" / "blog" / "tag" / "fresh" / "index.html").is_file()
    assert_same_as_clean_build(site)


def test_changing_a_theme_template_renders_every_page_again(site):
    base_template = site["base"] / "theme" / "templates" / "base.html"
    text = base_template.read_text("utf-8")
    assert "</body>" in text
    base_template.write_text(text.replace("</body>", "<!-- theme edited -->\n</body>"), "utf-8")
    answer = _rebuild(site)
    assert answer["rendered"] > 0, answer
    home = (site["base"] / "output" / "index.html").read_text("utf-8")
    assert "<!-- theme edited -->" in home
    assert_same_as_clean_build(site)


def test_a_failed_build_is_repaired_by_the_next(site):
    article = site["base"] / "theme" / "templates" / "article.html"
    good = article.read_text("utf-8")
    (site["base"] / "content" / "blog" / "field-notes-12.md").unlink()
    article.write_text(
        good.replace("{% block content %}", "{% block content %}{{ article.nope.boom() }}", 1),
        "utf-8",
    )
    failed = _rebuild(site, expect_ok=False)
    assert not failed["ok"] and "nope" in failed["error"]
    article.write_text(good, "utf-8")
    _rebuild(site)
    assert_same_as_clean_build(site)
