"""The form definitions (forms/*.toml) and their loader, webforms.definitions."""

import pytest

from webforms.definitions import FIELD_TYPES, FormDefinitionError, get_form, load_forms

GOOD = """
id = "{id}"
title = "A test form"
submit_label = "Send"
thank_you = "thanks/"
notify = ["team@example.org"]
[consent]
version = "1"
text = "I agree."
[[fields]]
name = "email"
label = "E-mail"
type = "email"
required = true
"""


def write(folder, text, name="test-form"):
    path = folder / f"{name}.toml"
    path.write_text(text.replace("{id}", name), encoding="utf-8")
    return path


def test_the_forms_load():
    forms = load_forms()
    assert sorted(forms) == [
        "comment",
        "contact",
        "help-request",
        "intern-application",
        "knowledge-donor",
        "newsletter",
        "training-registration",
    ]
    for form in forms.values():
        assert form.field("source").type == "hidden"
        assert form.field("email").type == "email" and form.field("email").required
        assert len(form.consent.sha256) == 64
        # The newsletter mails the person instead (double opt-in, endpoint/confirm.py).
        assert form.notify or form.id == "newsletter"
        assert form.thank_you.endswith("/")
        assert {field.type for field in form.fields} <= set(FIELD_TYPES)


def test_knowledge_donor_fields_from_the_issue():
    form = get_form("knowledge-donor")
    assert form.field_names == (
        "name", "email", "phone", "region", "skills", "skills_other",
        "hours", "start", "past_work", "source",
    )  # fmt: skip
    assert not form.field("phone").required
    assert [option.label for option in form.field("skills").options] == [
        "Social media", "Writing for the web", "Graphic design", "Online video",
        "Web development", "Training in digital tools", "Online advertising", "Other",
    ]  # fmt: skip
    assert get_form("help-request").field("skills").options == form.field("skills").options


def test_hidden_slugs_for_events_and_intern_calls():
    assert get_form("training-registration").field("event").type == "hidden"
    assert get_form("intern-application").field("call").type == "hidden"


def test_source_is_added_when_a_form_leaves_it_out(tmp_path):
    write(tmp_path, GOOD)
    form = load_forms(tmp_path)["test-form"]
    assert form.field_names == ("email", "source")
    assert get_form("test-form", tmp_path) == form
    assert get_form("knowledge-donor", tmp_path) is None


def test_forms_dir_from_the_environment(tmp_path, monkeypatch):
    write(tmp_path, GOOD, name="from-env")
    monkeypatch.setenv("FORMS_DIR", str(tmp_path))
    assert list(load_forms()) == ["from-env"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (('type = "email"', 'type = "colour"'), "email", "type 'colour' is not one of"),
        (('name = "email"', 'name = "_secret"'), "_secret", "reserved"),
        (('name = "email"', 'name = "consent"'), "consent", "reserved"),
        (('name = "email"', 'name = "E-mail"'), "E-mail", "a-z, 0-9 and _"),
        (('label = "E-mail"', 'label = ""'), "email", "needs a label"),
        (("required = true", 'required = "yes"'), "email", "true or false"),
        (("required = true", "max_length = 0"), "email", "positive whole number"),
        (("required = true", "lable = 'x'"), "email", "unknown key(s) lable"),
        (('type = "email"', 'type = "select"'), "email", "needs a list of options"),
        (
            ("required = true", 'options = [{ value = "a", label = "A" }]'),
            "email",
            "takes no options",
        ),
    ],
)
def test_a_bad_field_names_the_file_and_the_field(tmp_path, change, field, message):
    write(tmp_path, GOOD.replace(*change))
    with pytest.raises(FormDefinitionError) as raised:
        load_forms(tmp_path)
    assert raised.value.field_name == field
    assert "test-form.toml" in str(raised.value) and message in str(raised.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('id = "{id}"', 'id = "other"'), "must match the file name"),
        (('thank_you = "thanks/"', 'thank_you = "https://x.org/"'), "site path"),
        (('version = "1"', ""), "consent.version is required"),
        (('notify = ["team@example.org"]', 'notify = "team"'), "list of e-mail addresses"),
        (('title = "A test form"', 'title = "A"\ncolour = "red"'), "unknown key(s) colour"),
        (("[[fields]]", "[fields]"), "[[fields]]"),
        (('submit_label = "Send"', 'submit_label = "Send'), "not valid TOML"),
    ],
)
def test_a_bad_form_names_the_file(tmp_path, change, message):
    write(tmp_path, GOOD.replace(*change))
    with pytest.raises(FormDefinitionError, match="test-form.toml") as raised:
        load_forms(tmp_path)
    assert message in str(raised.value)


def test_duplicate_field_names_are_refused(tmp_path):
    text = GOOD + '[[fields]]\nname = "email"\nlabel = "Again"\n'
    write(tmp_path, text)
    with pytest.raises(FormDefinitionError, match="defined twice"):
        load_forms(tmp_path)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FormDefinitionError, match="does not exist"):
        load_forms(tmp_path / "nowhere")


def test_the_endpoint_imports_without_jinja_or_psycopg():
    import subprocess
    import sys

    from tests.helpers import ROOT

    code = (
        "import sys, endpoint.app, webforms.render, endpoint.lambda_handler;"
        "print(sorted(m for m in ('jinja2', 'psycopg', 'email_validator') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_endpoint_loads_the_renderer_only_for_an_error_page():
    import json
    import subprocess
    import sys

    from tests.helpers import ROOT

    # A cold start (Lambda, a new worker) renders nothing, so it need not import the renderer.
    code = (
        "import json, sys, endpoint.app, endpoint.lambda_handler;"
        "print(json.dumps([m in sys.modules for m in ('endpoint.app', 'webforms.render')]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == [True, False]
