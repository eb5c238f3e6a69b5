"""The content check: every problem in every file, one report, and a build that stops.

Pelican on its own logs an error for a post whose date does not parse, skips the post
and exits 0. These tests show the check turns each such problem into a clear line
`path:line: field: what is wrong — how to fix it` and a non-zero exit.
"""

import re
import shutil

import pytest

import tasks
from plugins import content_fields
from plugins.content_check.__main__ import main as check_main
from plugins.content_check.checker import read_front_matter
from tests.helpers import ROOT, RecordedLog, run_pelican

BROKEN = ROOT / "tests" / "fixtures" / "content_check" / "broken" / "content"
ACCOUNTED = ROOT / "tests" / "fixtures" / "content_check" / "accounted" / "content"
SETTINGS = str(ROOT / "pelicanconf.py")


# (files, the report lines they must produce: each starts `path:line: field:`)
CASES = {
    "missing title": (
        ["blog/missing-title.md"],
        ["content/blog/missing-title.md:1: Title: missing — add a line `Title:"],
    ),
    "date that does not parse": (
        ["blog/bad-date.md"],
        ["content/blog/bad-date.md:2: Date: '2013-13-45' is not a date we can read — "],
    ),
    "missing date": (
        ["blog/missing-date.md"],
        ["content/blog/missing-date.md:1: Date: missing — add a line `Date:"],
    ),
    "two files with the same slug": (
        ["blog/dup-one.md", "blog/dup-two.md"],
        [
            "content/blog/dup-one.md:3: Slug: 'same-slug' is also the slug of "
            "content/blog/dup-two.md",
            "content/blog/dup-two.md:3: Slug: 'same-slug' is also the slug of "
            "content/blog/dup-one.md",
        ],
    ),
    "share picture missing, and no words for it": (
        ["blog/image-not-there.md"],
        [
            "content/blog/image-not-there.md:4: Image: 'images/march.jpg' is not a file "
            "under content/",
            "content/blog/image-not-there.md:1: Image_Alt: missing — say in a line",
        ],
    ),
    "training outside the trainings section": (
        ["blog/training-in-blog.md"],
        [
            "content/blog/training-in-blog.md:3: Start: this file has training details but "
            "is not in content/trainings/ — move it there"
        ],
    ),
    "non-training in the trainings section": (
        ["trainings/post-in-trainings.md"],
        [
            "content/trainings/post-in-trainings.md: is in content/trainings/, where "
            "every file is a training or event"
        ],
    ),
    "unknown publishing status": (
        ["blog/unknown-status.md"],
        ["content/blog/unknown-status.md:3: Status: 'archived' is not a publishing status"],
    ),
    "end before start": (
        ["trainings/end-before-start.md"],
        [
            "content/trainings/end-before-start.md:4: End: the event ends (2013-08-21 08:00) "
            "before it starts (2013-08-21 09:30) — check the End date and time"
        ],
    ),
    "unknown time zone": (
        ["trainings/unknown-zone.md"],
        [
            "content/trainings/unknown-zone.md:5: Timezone: 'America/NewYork' is not a time "
            "zone we know — use a name from the IANA list"
        ],
    ),
    "unknown event status": (
        ["trainings/unknown-event-status.md"],
        [
            "content/trainings/unknown-event-status.md:6: Event_Status: 'canceled-ish' is "
            "not a status we know — use one of: scheduled, cancelled, postponed, full"
        ],
    ),
    "start that does not parse": (
        ["trainings/bad-start.md"],
        ["content/trainings/bad-start.md:3: Start: 'August 21st, morning' is not a date"],
    ),
    "registration form that does not exist": (
        ["trainings/no-such-form.md"],
        [
            "content/trainings/no-such-form.md:6: Registration: there is no form called "
            "'training-signup' — write `form` for our training-registration form"
        ],
    ),
    "application form that does not exist": (
        ["internships/no-such-form.md"],
        [
            "content/internships/no-such-form.md:7: Application: there is no form called "
            "'intern-signup' — write `form` for our intern-application form"
        ],
    ),
    # --- every file under content/ is accounted for ---
    "a post in a folder of the writer's own naming": (
        ["posts/spring.md"],
        [
            "content/posts/spring.md: this file is in no folder the site reads — move it to "
            "content/blog/ for a post"
        ],
    ),
    "a post at the top of content/": (
        ["at-the-top.md"],
        ["content/at-the-top.md: this file is in no folder the site reads — move it to"],
    ),
    "a post saved as .txt": (
        ["blog/minutes.txt"],
        [
            "content/blog/minutes.txt: the site reads only Markdown files — if this is a post, "
            "rename it to minutes.md; to offer it as a download, move it to content/files/"
        ],
    ),
    "a Word document among posts": (
        ["blog/handout.docx"],
        ["content/blog/handout.docx: is a .docx document, which the site cannot publish"],
    ),
    "an image among posts": (
        ["blog/rally.png"],
        [
            "content/blog/rally.png: this image is in content/blog/, where only posts are read "
            "— move it to content/images/ and show it with "
            "`![what the image shows]({static}/images/rally.png)`"
        ],
    ),
    "a post among the images": (
        ["images/lost-post.md"],
        [
            "content/images/lost-post.md: is in content/images/, whose files are copied as they "
            "are, so it is never published as a page — move it to content/blog/"
        ],
    ),
    # --- field names ---
    "a misspelt field": (
        ["blog/tgas.md"],
        ["content/blog/tgas.md:4: Tgas: is not a field we know — did you mean `Tags`?"],
    ),
    "an unknown field, and a page's field in a post": (
        ["blog/unknown-field.md"],
        [
            "content/blog/unknown-field.md:4: Mood: is not a field a post has — remove the line",
            "content/blog/unknown-field.md:5: Form: is a field of pages, not of a post",
        ],
    ),
    "a field name with a space": (
        ["blog/space-in-name.md"],
        [
            "content/blog/space-in-name.md:3: Save As: a field's name has no spaces in it or "
            "before its colon — write `Save_as:`"
        ],
    ),
    "a space before the colon": (
        ["blog/space-before-colon.md"],
        [
            "content/blog/space-before-colon.md:1: Title: a field's name has no spaces in it or "
            "before its colon — write `Title:`"
        ],
    ),
    "a misspelt status": (
        ["blog/misspelt-status.md"],
        [
            "content/blog/misspelt-status.md:4: Status: 'publised' is not a publishing status — "
            "did you mean `published`?"
        ],
    ),
    "a misspelt comments setting": (
        ["blog/misspelt-comments.md"],
        [
            "content/blog/misspelt-comments.md:3: Comments: 'opne' is not a comments setting — "
            "did you mean `open`?"
        ],
    ),
    "a line among the fields that is not a field": (
        ["blog/stray-line.md"],
        [
            "content/blog/stray-line.md:3: file: this line among the fields is not a "
            "`Field: value` line, so the fields after it (Summary) would be read as text"
        ],
    ),
    "a field given twice": (
        ["blog/twice.md"],
        ["content/blog/twice.md:5: Tags: is given twice (lines 3 and 5) — keep one line"],
    ),
    # --- front matter in other tools' styles ---
    "YAML front matter with a list": (
        ["blog/yaml-list.md"],
        [
            "content/blog/yaml-list.md:4: file: this front matter between --- lines is YAML "
            "the site cannot read"
        ],
    ),
    "TOML front matter": (
        ["blog/toml.md"],
        [
            "content/blog/toml.md:1: file: starts with TOML (between +++ lines) front matter, "
            "which the site does not read"
        ],
    ),
    # --- unreadable files ---
    "an empty file": (
        ["blog/empty.md"],
        ["content/blog/empty.md: is empty — write its fields and text (`invoke new-post"],
    ),
    "a file that is not UTF-8": (
        ["blog/latin1.md"],
        [
            "content/blog/latin1.md: is not saved as UTF-8 text — open it in your editor and "
            "save it again with the encoding UTF-8"
        ],
    ),
    # --- scaffold text left in a published file ---
    "scaffold examples in a published post": (
        ["blog/placeholder.md", "blog/draft-placeholder.md"],
        [
            "content/blog/placeholder.md:3: Summary: still holds the example text 'One or "
            "two sentences for the blog index, feeds and search engines.' — replace it",
            "content/blog/placeholder.md:6: text: the example text 'Write your post here.' "
            "is still in the file — write the text in its place",
        ],
    ),
}

# A report line: `path: message` for a whole file, `path:line: field: message` otherwise;
# every message says what is wrong — and how to fix it.
REPORT_LINE = re.compile(r"^content/\S+?(:\d+: [^:]+)?: .+ — .+")


def copy_case(files, target):
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BROKEN / name, target / name)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_problem_gives_its_message_and_a_non_zero_exit(case, tmp_path, capsys):
    files, expected = CASES[case]
    content = tmp_path / "content"
    copy_case(files, content)
    assert check_main([SETTINGS, str(content)]) == 1
    report = capsys.readouterr().err.splitlines()
    for line in expected:
        assert any(row.startswith(line) for row in report), f"{line!r} not in {report}"
    assert report[0].startswith("Content check:")
    assert all(REPORT_LINE.match(row) for row in report[1:]), report
    # A draft may keep the scaffold's examples.
    assert not any("draft-placeholder" in row for row in report)


@pytest.fixture(scope="module")
def broken_build(tmp_path_factory):
    output = tmp_path_factory.mktemp("broken-build")
    return output, run_pelican(BROKEN, output, check=False)


def test_a_broken_build_stops_and_reports_every_problem_in_every_file(broken_build):
    output, result = broken_build
    assert result.returncode != 0
    report = result.stderr
    for _files, expected in CASES.values():
        for line in expected:
            assert line in report, f"{line!r} missing from:\n{report}"
    every = {line for _files, lines in CASES.values() for line in lines}
    files = {line.split(":")[0] for line in every}
    assert f"problems in {len(files)} files" in report
    assert "Traceback" not in report
    # Nothing was built, so no half-site with silently missing posts.
    assert not (output / "index.html").exists()
    assert "pages/about.md" not in report


def test_the_real_content_passes(capsys):
    assert check_main([SETTINGS, str(ROOT / "content")]) == 0
    assert "content files are fine" in capsys.readouterr().out


def test_front_matter_reader_keeps_line_numbers_and_lists():
    meta, lines = read_front_matter(
        "Title: A\nSponsors: One\n    Two\nEvent_Status: full\n\nBody: not metadata\n"
    )
    assert meta == {"title": "A", "sponsors": ["One", "Two"], "event_status": "full"}
    assert lines == {"title": 1, "sponsors": 2, "event_status": 4}


SCAFFOLDS = {
    "post": (tasks.new_post, "blog"),
    "page": (tasks.new_page, "pages"),
    "training": (tasks.new_training, "trainings"),
    "intern call": (tasks.new_intern_call, "internships"),
}


@pytest.mark.parametrize("kind", sorted(SCAFFOLDS))
def test_scaffolds_explain_every_field_and_refuse_their_examples_once_published(
    kind, tmp_path, capsys
):
    from invoke import Context

    scaffold, folder = SCAFFOLDS[kind]
    content = tmp_path / "content"
    path = scaffold(Context(), "Digital Skills for Labor, again", content=str(content))
    assert path.parent == content / folder
    text = path.read_text(encoding="utf-8")
    header, comment = text.split("<!--", 1)
    written = re.findall(r"^([A-Za-z_]+):", header, flags=re.MULTILINE)
    for field in written:
        assert re.search(rf"^  {field} ", comment, flags=re.MULTILINE), f"{field} unexplained"
    # The draft passes as it is; published, every example still in place is named.
    assert check_main([SETTINGS, str(content)]) == 0, capsys.readouterr().err
    path.write_text(text.replace("Status: draft", "Status: published"), encoding="utf-8")
    assert check_main([SETTINGS, str(content)]) == 1
    report = capsys.readouterr().err
    placeholders = [
        field.name for field in content_fields.fields_of(kind).values() if field.placeholders(kind)
    ]
    for name in [*placeholders, "text"]:
        assert f": {name}: " in report, f"{name} not named in {report}"
    # Filled in: every example replaced, the note deleted, the text written.
    filled = header.replace("Status: draft", "Status: published")
    for field in content_fields.FIELDS:
        for line in field.placeholders(kind):
            real = "Ana | a shop steward | it helped" if "|" in line else "A real value"
            filled = re.sub(re.escape(line), real, filled, flags=re.IGNORECASE)
    path.write_text(filled + "\nThe real text.\n", encoding="utf-8")
    assert check_main([SETTINGS, str(content)]) == 0, capsys.readouterr().err


def test_a_scaffold_keeps_accented_letters_and_dates_in_the_site_zone(tmp_path, monkeypatch):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from invoke import Context

    path = tasks.new_post(Context(), "Organización sindical", content=str(tmp_path))
    assert path.name.endswith("-organizacion-sindical.md")
    meta, _lines = read_front_matter(path.read_text(encoding="utf-8"))
    assert meta["slug"] == "organizacion-sindical"
    site_now = datetime.now(ZoneInfo("America/New_York")).replace(tzinfo=None)
    written = datetime.fromisoformat(meta["date"])
    assert abs((site_now - written).total_seconds()) < 120


def test_files_nobody_writes_on_purpose_are_ignored_and_other_markdown_names_read(tmp_path):
    output = tmp_path / "output"
    result = run_pelican(ACCOUNTED, output, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for slug in ("capital-extension", "long-extension", "short-extension"):
        assert (output / "blog" / "2024" / slug / "index.html").exists(), slug
    dashes = (output / "blog" / "2024" / "plain-front-matter" / "index.html").read_text()
    assert "completely." in dashes and "organizing" in dashes and "data" in dashes
    assert (output / "images" / "photo.png").exists()
    assert (output / "files" / "guide.pdf").exists()
    copied = {path.name for path in output.rglob("*")}
    assert not copied & {".DS_Store", "Thumbs.db", "~$guide.docx"}


def test_a_site_adds_its_own_fields(tmp_path):
    from pelican.settings import read_settings

    from plugins.content_check.checker import check_content

    content = tmp_path / "content"
    (content / "blog").mkdir(parents=True)
    (content / "blog" / "post.md").write_text(
        "Title: With a subtitle\nDate: 2024-01-01\nSubtitle: And more\n\nText.\n"
    )
    settings = read_settings(SETTINGS, override={"PATH": str(content)})
    assert [p.field for p in check_content(settings)] == ["Subtitle"]
    settings["CONTENT_CHECK"] = {"enabled": True, "extra_fields": ["Subtitle"]}
    assert check_content(settings) == []


def test_a_check_stuck_in_its_helper_process_is_done_in_the_build_instead(
    tmp_path, monkeypatch
):
    import os
    import time

    from pelican.settings import read_settings

    from plugins.content_check import plugin

    content = tmp_path / "content"
    (content / "blog").mkdir(parents=True)
    (content / "blog" / "post.md").write_text("Title: Kept\nDate: 2013-01-01\n\nText.\n")
    settings = read_settings(SETTINGS, override={"PATH": str(content)})
    build_process, check_content = os.getpid(), plugin.check_content

    def stuck_in_the_helper(settings):
        if os.getpid() != build_process:
            time.sleep(600)
        return check_content(settings)

    monkeypatch.setattr(plugin, "check_content", stuck_in_the_helper)
    monkeypatch.setattr(plugin, "CHILD_WAIT_SECONDS", 0.5)
    said = RecordedLog()
    monkeypatch.setattr(plugin, "logger", said)
    started = time.monotonic()
    files, problems, _ = plugin._check_in_child(settings)
    assert time.monotonic() - started < 30
    assert problems == [] and [kind for _, kind in files] == ["article"]
    assert said == ["content_check: the check in a helper process took over 0 s; checking here"]


def test_safety_net_names_a_file_pelican_dropped(tmp_path):
    """If Pelican still skips a file the check passed, the build stops and names it."""
    from pelican.settings import read_settings

    from plugins.content_check.plugin import ContentCheckError, after_reading

    content = tmp_path / "content"
    (content / "blog").mkdir(parents=True)
    (content / "blog" / "kept.md").write_text("Title: Kept\nDate: 2013-01-01\n\nKept.\n")
    (content / "blog" / "lost.md").write_text("Title: Lost\nDate: 2013-01-02\n\nLost.\n")
    settings = read_settings(SETTINGS, override={"PATH": str(content)})

    class Read:
        def __init__(self, path):
            self.source_path = str(path)

    class Generator:
        def __init__(self):
            self.settings = settings
            self.articles = [Read(content / "blog" / "kept.md")]

    with pytest.raises(ContentCheckError) as raised:
        after_reading([Generator()])
    assert "content/blog/lost.md:1: file: Pelican did not build this file" in str(raised.value)
    assert "kept.md" not in str(raised.value)


def test_every_example_in_the_readme_passes_the_check(tmp_path, capsys):
    """The guide for writers cannot drift from the check: each example file in README's
    "Writing for the site" (a ```markdown block naming its path) passes as it is."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    guide = readme.split("## Writing for the site", 1)[1].split("\n## ", 1)[0]
    examples = re.findall(r"^```markdown (content/\S+)\n(.*?)^```$", guide, re.M | re.S)
    assert len(examples) >= 3
    for path, text in examples:
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        # The pictures and downloads an example shows are files the writer adds.
        for static in re.findall(r"\{static\}/(\S+?)\)", text):
            (tmp_path / "content" / static).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "content" / static).write_bytes(b"example")
    assert check_main([SETTINGS, str(tmp_path / "content")]) == 0, capsys.readouterr().err


def test_the_check_and_the_build_name_every_file_they_leave_out(tmp_path, monkeypatch, capsys):
    scheduled = ROOT / "tests" / "fixtures" / "scheduled" / "content"
    monkeypatch.setenv("SITE_NOW", "2026-06-01T12:00")
    assert check_main([SETTINGS, str(scheduled)]) == 0
    out = capsys.readouterr().out
    assert "content/pages/draft-notes.md (draft)" in out
    assert "content/blog/quiet-harbor.md (scheduled: goes out 2027-01-05 09:00 EST)" in out
    # A training's Date is in its own time zone.
    assert "content/trainings/lantern-workshop.md (scheduled: goes out 2027-01-05 14:00 GMT)" in out
    result = run_pelican(scheduled, tmp_path / "output", settings=ROOT / "publishconf.py")
    assert "Left out of the published site (6 files):" in result.stdout
    assert "content/blog/quiet-harbor.md (scheduled" in result.stdout
    # Once the moment has come, nothing scheduled is left out.
    monkeypatch.setenv("SITE_NOW", "2027-02-01T00:00")
    assert check_main([SETTINGS, str(scheduled)]) == 0
    assert "scheduled" not in capsys.readouterr().out
