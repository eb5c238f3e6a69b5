"""The content check: every problem in every file, one report, and a build that stops.

Pelican on its own logs an error for a post whose date does not parse, skips the post
and exits 0. These tests show the check turns each such problem into a clear line
`path:line: field: what is wrong — how to fix it` and a non-zero exit.
"""

import re
import shutil
import sys

import pytest

import tasks
from tests.helpers import ROOT, run_pelican

BROKEN = ROOT / "tests" / "fixtures" / "content_check" / "broken" / "content"
SETTINGS = str(ROOT / "pelicanconf.py")

if str(ROOT / "plugins") not in sys.path:
    sys.path.insert(0, str(ROOT / "plugins"))

from content_check.__main__ import main as check_main  # noqa: E402
from content_check.checker import read_front_matter  # noqa: E402

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
            "content/trainings/post-in-trainings.md:1: file: is in content/trainings/, where "
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
}


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
    # Every line of the report has the `path:line: field: what — fix` shape.
    assert report[0].startswith("Content check:")
    assert all(" — " in row and row.split(":")[1].isdigit() for row in report[1:])


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


@pytest.mark.parametrize(
    "scaffold, folder", [(tasks.new_training, "trainings"), (tasks.new_intern_call, "internships")]
)
def test_scaffolds_have_every_field_explained_and_pass_once_filled_in(
    scaffold, folder, tmp_path, capsys
):
    from invoke import Context

    content = tmp_path / "content"
    path = scaffold(Context(), "Digital Skills for Labor, again", content=str(content))
    assert path.parent == content / folder
    text = path.read_text(encoding="utf-8")
    header, comment = text.split("<!--", 1)
    written = re.findall(r"^([A-Za-z_]+):", header, flags=re.MULTILINE)
    assert len(written) >= 15
    for field in written:
        assert re.search(rf"\b{field}\b", comment), f"{field} is not explained"
    # Filling in: publish it with real values instead of the examples.
    filled = text.replace("Status: draft", "Status: published").replace(
        "Name of the place", "Central Labor Council"
    )
    path.write_text(filled, encoding="utf-8")
    assert check_main([SETTINGS, str(content)]) == 0, capsys.readouterr().err


def test_safety_net_names_a_file_pelican_dropped(tmp_path):
    """If Pelican still skips a file the check passed, the build stops and names it."""
    from content_check.plugin import ContentCheckError, after_reading
    from pelican.settings import read_settings

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
