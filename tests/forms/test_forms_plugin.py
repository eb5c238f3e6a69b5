"""The forms plugin: real Pelican builds of small fixture content into temporary folders."""

import json

import pytest
from lxml import html as lxml_html

from tests.helpers import run_pelican
from webforms.definitions import load_forms

ENDPOINT = "https://forms.example.org"

PAGE = """\
Title: Join us
Slug: join
Template: form
Form: {form}

Fill in the form below.
"""


def write_content(folder, form="knowledge-donor"):
    pages = folder / "pages"
    pages.mkdir(parents=True)
    (folder / "blog").mkdir()
    (pages / "join.md").write_text(PAGE.format(form=form), encoding="utf-8")
    return folder


def forms_setting(**values):
    return ["-e", f"FORMS={json.dumps(values)}"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    content = write_content(tmp_path_factory.mktemp("content"))
    output = tmp_path_factory.mktemp("output")
    run_pelican(content, output, extra=forms_setting(endpoint=ENDPOINT + "/"))
    return output


def test_page_holds_the_form_posting_to_the_endpoint(built):
    doc = lxml_html.parse(str(built / "join" / "index.html")).getroot()
    form = doc.get_element_by_id("form-knowledge-donor")
    assert form.get("action") == f"{ENDPOINT}/forms/knowledge-donor"
    assert form.get("method") == "post"
    # Relative URLs in the dev build: the thank-you page and script resolve from /join/.
    assert form.get("data-thank-you") == "../knowledge-donors/thanks/"
    assert doc.xpath("//script/@src") == ["../theme/js/forms.js"]
    assert (built / "theme" / "js" / "forms.js").is_file()
    heading = doc.xpath("//section[contains(@class, 'form-section')]/h2")[0]
    assert heading.text_content() == "Sign up as a knowledge donor"
    assert "Fill in the form" in doc.xpath("string(//*[contains(@class, 'prose')])")


def test_a_bad_endpoint_stops_the_build_with_a_clear_message(tmp_path):
    content = write_content(tmp_path / "content")
    result = run_pelican(
        content, tmp_path / "out", extra=forms_setting(endpoint="forms.example.org"), check=False
    )
    assert result.returncode != 0
    assert "FORMS['endpoint'] must be an http(s) address" in result.stdout + result.stderr


def test_an_unknown_form_stops_the_build_naming_it(tmp_path):
    content = write_content(tmp_path / "content", form="no-such-form")
    result = run_pelican(
        content, tmp_path / "out", extra=forms_setting(endpoint=ENDPOINT), check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "no-such-form" in output and "knowledge-donor" in output


def test_a_broken_definition_stops_the_build_naming_the_file(tmp_path):
    definitions = tmp_path / "forms"
    definitions.mkdir()
    (definitions / "broken.toml").write_text('id = "broken"\ntitle = ', encoding="utf-8")
    content = write_content(tmp_path / "content")
    result = run_pelican(
        content,
        tmp_path / "out",
        extra=forms_setting(endpoint=ENDPOINT, directory=str(definitions)),
        check=False,
    )
    assert result.returncode != 0
    assert "broken.toml" in result.stdout + result.stderr


def test_the_real_site_has_a_thank_you_page_for_every_form(built_site):
    for form in load_forms().values():
        page = built_site / form.thank_you / "index.html"
        assert page.is_file(), f"{form.id} thanks people at {form.thank_you}, which is missing"


def test_the_knowledge_donor_page_holds_the_signup_and_points_campaigns_on(built_site):
    doc = lxml_html.parse(str(built_site / "knowledge-donors" / "index.html")).getroot()
    assert doc.xpath("//form/@data-form") == ["knowledge-donor"]
    assert "request-help/" in " ".join(doc.xpath("//main//a/@href"))
    help_page = lxml_html.parse(str(built_site / "knowledge-donors/request-help/index.html"))
    assert help_page.getroot().xpath("//form/@data-form") == ["help-request"]
