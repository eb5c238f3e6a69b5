"""The editor's file format (theme/static/admin/pelican-format.js) in headless Chromium.

The script is loaded into a blank page with a stand-in `window.CMS` that keeps what it
registers; the format it registers is then called as Decap would call it.
"""

import json

import markdown
import pytest
from pelican.settings import read_settings

from plugins import content_fields
from plugins.cms import plugin as cms
from plugins.content_check.checker import check_content
from plugins.content_meta import lines as meta_lines
from tests.helpers import ROOT

pytestmark = pytest.mark.browser

SETTINGS = read_settings(str(ROOT / "pelicanconf.py"))
SPEC = cms.format_spec(SETTINGS)
SCRIPT = ROOT / "theme" / "static" / "admin" / "pelican-format.js"
ORIGIN = "http://cms.test"
STAND_IN = """
window.captured = {listeners: [], styles: [], inits: 0};
window.CMS = {
  registerCustomFormat: (name, extension, formatter) =>
    Object.assign(window.captured, {name, extension, formatter}),
  registerPreviewStyle: (url) => window.captured.styles.push(url),
  registerEventListener: (listener) => window.captured.listeners.push(listener),
  init: () => { window.captured.inits += 1; },
};
"""
# Each kind's field order, as Decap passes it to toFile.
ORDER = {
    kind: [field["name"] for field in collection["fields"]]
    for kind, collection in zip(
        content_fields.KINDS, cms.decap_config(SETTINGS)["collections"], strict=True
    )
}
BY_FOLDER = {folder: kind for kind, folder in content_fields.FOLDERS.items()}


@pytest.fixture(scope="module")
def page(browser):
    """A blank page that has run pelican-format.js; nothing leaves the browser."""
    html = (
        f"<!doctype html><title>format</title><script>{STAND_IN}</script>"
        f"<script src='/theme/admin/pelican-format.js' data-spec='{json.dumps(SPEC)}' "
        "data-preview-style='../theme/css/site.css'></script>"
    )

    def answer(route):
        if route.request.url == f"{ORIGIN}/admin/":
            route.fulfill(body=html, content_type="text/html")
        elif route.request.url == f"{ORIGIN}/theme/admin/pelican-format.js":
            route.fulfill(body=SCRIPT.read_text("utf-8"), content_type="text/javascript")
        else:
            route.abort()

    context = browser.new_context()
    context.route("**/*", answer)
    opened = context.new_page()
    errors = []
    opened.on("pageerror", lambda error: errors.append(error))
    opened.goto(f"{ORIGIN}/admin/")
    assert errors == []
    yield opened
    context.close()


def to_file(page, data, keys):
    return page.evaluate("([d, k]) => window.captured.formatter.toFile(d, k)", [data, keys])


def from_file(page, text):
    return page.evaluate("(text) => window.captured.formatter.fromFile(text)", text)


def test_the_format_the_preview_style_and_the_check_are_registered_then_decap_starts(page):
    captured = page.evaluate(
        "() => ({name: captured.name, extension: captured.extension, styles: captured.styles,"
        " events: captured.listeners.map((l) => l.name), inits: captured.inits})"
    )
    assert captured == {
        "name": "pelican",
        "extension": "md",
        "styles": [f"{ORIGIN}/theme/css/site.css"],
        "events": ["preSave"],
        "inits": 1,
    }


# What the editor's widgets give for a new file of each kind.
SAMPLES = {
    content_fields.POST: {
        "title": "Hello from the editor",
        "date": "2026-09-01 10:00",
        "author": "Ana Organizer",
        "slug": "",
        "summary": "Two sentences for the blog index.\nThe second one.",
        "tags": "organizing, data",
        "image": "{static}/images/rally.png",
        "image_alt": "People at a rally",
        "status": "published",
        "comments": "closed",
        "body": "Some **text**.\n\n![People at a rally]({static}/images/rally.png)\n",
    },
    content_fields.PAGE: {
        "title": "Volunteer with us",
        "summary": "How to give a few hours a month.",
        "template": "form",
        "form": "contact",
        "body": "Write to us below.",
    },
    content_fields.TRAINING: {
        "title": "Digital skills day",
        "date": "2026-08-01 09:00",
        "summary": "A day of e-mail and petitions for union staff.",
        "tags": "training",
        "start": "2026-09-15T09:30",  # as the datetime-local input says it
        "end": "2026-09-15 17:00",
        "timezone": "America/Chicago",
        "venue": "Union Hall",
        "street": ["275 Seventh Avenue", "16th Floor"],
        "city": "Chicago",
        "region": "IL",
        "postal_code": "60601",
        "country": "US",
        "audience": "Organizers of every local",
        "trainers": ["Ana Organizer", "Ben Trainer"],
        "sponsors": ["Organizing 2.0", "Local 1"],
        "topics": ["E-mail blasts", "Petitions", ""],
        "bring": ["A laptop"],
        "registration": "form",
        "capacity": 40,
        "event_status": "scheduled",
        "body": "## The day\n\nWe start at half past nine.\n",
    },
    content_fields.INTERN_CALL: {
        "title": "Spring internship",
        "date": "2026-08-01 09:00",
        "summary": "Learn online organizing on real campaigns.",
        "role": "Online organizing intern",
        "term": "Spring 2027",
        "supervisor": "Charles Lenchner",
        "duties": ["Plan trainings", "Write for the blog"],
        "apply_by": "2026-12-01",
        "application": "form",
        "remote": "yes",
        "testimonials": [
            {"name": "Katie", "background": "Student", "quote": "I was part of the team."},
            {"name": "", "background": "", "quote": ""},
        ],
        "body": "Our interns do real work.",
    },
}


def test_a_file_the_editor_writes_for_each_collection_passes_the_content_check(page, tmp_path):
    content = tmp_path / "content"
    (content / "images").mkdir(parents=True)
    (content / "images" / "rally.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    written = {}
    for kind, data in SAMPLES.items():
        text = to_file(page, data, ORDER[kind])
        path = content / content_fields.FOLDERS[kind] / "2026-08-01-sample.md"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, "utf-8")
        written[kind] = text
    settings = read_settings(str(ROOT / "pelicanconf.py"), override={"PATH": str(content)})
    assert [str(problem) for problem in check_content(settings)] == []

    training = read(written[content_fields.TRAINING])
    assert training["start"] == ["2026-09-15 09:30"]
    assert training["street"] == ["275 Seventh Avenue", "16th Floor"]
    assert training["topics"] == ["E-mail blasts", "Petitions"]
    assert training["capacity"] == ["40"]
    assert "slug" not in read(written[content_fields.POST])  # empty fields are left out
    assert read(written[content_fields.INTERN_CALL])["testimonials"] == [
        "Katie | Student | I was part of the team."
    ]
    # The fields in the order of the definitions, spelled as the scaffolds spell them.
    names = [line.split(":")[0] for line in written[content_fields.INTERN_CALL].splitlines()[:14]]
    assert names[:5] == ["Title", "Date", "Summary", "Role", "Term"]
    assert "Apply_By" in names


def read(text):
    """The fields as Pelican's Markdown reader (the meta extension) reads them."""
    reader = markdown.Markdown(extensions=["meta"])
    reader.convert(text)
    return reader.Meta


def test_an_all_day_training_writes_only_its_dates(page):
    data = {**SAMPLES[content_fields.TRAINING], "start": "2026-10-03 00:00", "end": "2026-10-04"}
    fields = read(to_file(page, data, ORDER[content_fields.TRAINING]))
    assert (fields["start"], fields["end"]) == (["2026-10-03"], ["2026-10-04"])


def test_dates_are_written_as_pelican_reads_them(page):
    text = page.evaluate(
        "() => captured.formatter.toFile({title: 'T', date: new Date(2026, 0, 2, 3, 4),"
        " modified: '2026-01-05T06:07:08.000'}, ['title', 'date', 'modified'])"
    )
    assert text.splitlines()[:3] == [
        "Title: T",
        "Date: 2026-01-02 03:04",
        "Modified: 2026-01-05 06:07",
    ]


@pytest.mark.parametrize(
    ("data", "refused"),
    [
        ({"image": "{static}/images/a.png", "image_alt": ""}, "Image alt"),
        ({"image": "{static}/images/a.png", "image_alt": "A rally"}, ""),
        ({"body": "See ![ ](a.png) here"}, "no description"),
        ({"body": "See ![A rally](a.png) here"}, ""),
    ],
)
def test_saving_is_refused_while_an_image_has_no_description(page, data, refused):
    message = page.evaluate(
        """(data) => {
          const entry = {get: () => ({toJS: () => data})};
          try { captured.listeners[0].handler({entry}); return ""; }
          catch (error) { return error.message; }
        }""",
        data,
    )
    assert (refused in message and message) if refused else message == ""


def content_files():
    return sorted(
        path
        for folder in content_fields.FOLDERS.values()
        for path in (ROOT / "content" / folder).glob("*.md")
    )


def test_the_real_content_is_there():
    assert len(content_files()) > 3


@pytest.mark.parametrize("path", content_files(), ids=lambda path: path.name)
def test_every_content_file_survives_the_editor_with_every_field_and_list_item(page, path):
    text = path.read_text("utf-8")
    kind = BY_FOLDER[path.parent.name]
    data = from_file(page, text)
    again = to_file(page, data, ORDER[kind])
    before, after = markdown.Markdown(extensions=["meta"]), markdown.Markdown(extensions=["meta"])
    assert after.convert(again) == before.convert(text)  # the same text
    assert set(after.Meta) == set(before.Meta)
    for key, values in before.Meta.items():
        separator = SPEC["lists"].get(key)
        if separator is None:
            assert after.Meta[key] == values, key
        else:  # each item, as the site reads a list
            meta = {key: values}
            assert meta_lines(after.Meta, key, separator or None) == meta_lines(
                meta, key, separator or None
            ), key
    assert from_file(page, again) == data
    if "testimonials" in data:
        assert all(set(item) == {"name", "background", "quote"} for item in data["testimonials"])


def test_a_file_is_read_as_the_meta_extension_reads_it(page):
    text = (
        "Title: A training\nSponsors: One\n    Two; Three\nTestimonials: Ana | Student | Good\n"
        "    Ben | Volunteer | Fair | very\nDuties: A; B\n\nThe text\n\nmore\n"
    )
    assert from_file(page, text) == {
        "title": "A training",
        "sponsors": ["One", "Two", "Three"],  # trainings' lists split at ";" too
        "testimonials": [
            {"name": "Ana", "background": "Student", "quote": "Good"},
            {"name": "Ben", "background": "Volunteer", "quote": "Fair | very"},
        ],
        "duties": ["A; B"],
        "body": "The text\n\nmore\n",
    }
    odd = "---\nTITLE: Fenced\r\nTags:\ta, b\n---\nText\nNot: a field\n"
    assert from_file(page, odd) == {
        "title": "Fenced",
        "tags": "a, b",
        "body": "Text\nNot: a field\n",
    }
    assert from_file(page, "No fields here\n") == {"body": "No fields here\n"}
