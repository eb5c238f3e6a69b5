"""Validation against the definitions (pure functions)."""

import pytest

from endpoint.validation import clean_text, validate
from webforms.definitions import get_form

from .conftest import valid

DONOR = get_form("knowledge-donor")


def as_lists(data):
    return {k: v if isinstance(v, list) else [v] for k, v in data.items()}


def test_valid_submission_is_cleaned():
    result = validate(DONOR, as_lists(valid("knowledge-donor", name="  Rosa\u00a0 Parks ")))
    assert result.ok, result.errors
    assert result.values["name"] == "Rosa Parks"
    assert result.email == "rosa@example.org"
    assert set(result.values) == set(DONOR.field_names)


def test_unicode_is_normalised():
    assert clean_text("ｆｕｌｌ\u2003width") == "full width"  # NFKC folds, spaces collapse
    assert clean_text("e\u0301") == "é"  # composed
    assert clean_text("line\nbreak\x00", multi_line=True) == "line\nbreak"
    assert clean_text("a\r\nb\rc", multi_line=True) == "a\nb\nc"
    assert clean_text("a\u2028b") == "a b"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("name", "", "Fill in “Your name”"),
        ("email", "rosa@", "Enter a real e-mail address"),
        ("phone", "call me", "Enter a phone number"),
        ("hours", "lots", "Choose one of the options"),
        ("start", "", "Choose an option for"),
        ("skills", [], "Tick at least one"),
        ("skills", ["social-media", "cooking"], "Choose only from the options"),
        ("name", ["Ann", "Bob"], "Send only one value"),
        ("past_work", "x" * 2001, "2000 characters or fewer"),
    ],
)
def test_each_rule_has_a_clear_message(field, value, expected):
    result = validate(DONOR, as_lists(valid("knowledge-donor", **{field: value})))
    assert list(result.errors) == [field]
    assert expected in result.errors[field]


def test_consent_is_required():
    result = validate(DONOR, as_lists(valid("knowledge-donor", consent="no")))
    assert list(result.errors) == ["consent"]


def test_checkbox_values_keep_the_definition_order_without_repeats():
    data = as_lists(valid("knowledge-donor", skills=["other", "writing", "other"]))
    assert validate(DONOR, data).values["skills"] == ["writing", "other"]


def test_hidden_required_field_missing_asks_to_reload():
    form = get_form("training-registration")
    result = validate(form, as_lists(valid("training-registration", event="")))
    assert "reload the page" in result.errors["event"]


def test_url_fields_need_a_web_address():
    from webforms.definitions import Consent, Field, FormDefinition

    form = FormDefinition(
        "t", "T", "Send", (Field("site", "Site", "url", required=True),), Consent("1", "ok"), "x/"
    )
    assert validate(form, {"site": ["https://example.org/a"], "consent": ["yes"]}).ok
    bad = validate(form, {"site": ["javascript:alert(1)"], "consent": ["yes"]})
    assert "web address" in bad.errors["site"]
