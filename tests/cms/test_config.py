"""The editor's configuration (plugins/cms) is generated from the field definitions."""

import json
import re

import lxml.html
import pytest
import yaml
from pelican.settings import read_settings

from plugins import content_fields
from plugins.cms import plugin as cms
from plugins.cms import vendor
from plugins.content_fields import INTERN_CALL, KINDS, PAGE, POST, TRAINING, Field
from tests.helpers import ROOT

SETTINGS = read_settings(str(ROOT / "pelicanconf.py"))


def collections(settings=SETTINGS) -> dict:
    """{kind: {field name: Decap field}} of the generated configuration."""
    by_folder = {c["name"]: c for c in cms.decap_config(settings)["collections"]}
    return {
        kind: {field["name"]: field for field in by_folder[content_fields.FOLDERS[kind]]["fields"]}
        for kind in KINDS
    }


def test_every_kind_has_its_collection_in_its_folder_and_format():
    config = cms.decap_config(SETTINGS)
    assert [c["folder"] for c in config["collections"]] == [
        f"content/{content_fields.FOLDERS[kind]}" for kind in KINDS
    ]
    for collection in config["collections"]:
        assert collection["format"] == "pelican" and collection["extension"] == "md"
        # content/<folder>/YYYY-MM-DD-slug.md, as the scaffolds name a file.
        assert collection["slug"] == "{{year}}-{{month}}-{{day}}-{{slug}}"


@pytest.mark.parametrize("kind", KINDS)
def test_every_field_of_the_kind_with_exactly_its_required_marks(kind):
    fields = collections()[kind]
    expected = content_fields.fields_of(kind)
    assert list(fields) == [*expected, "body"]
    for key, field in expected.items():
        assert fields[key]["required"] is (kind in field.required), key
        assert fields[key]["hint"].startswith(content_fields.help_text(field, kind)), key
    assert fields["body"]["widget"] == "markdown" and fields["body"]["required"] is False


def test_widgets_follow_the_definitions():
    fields = collections()
    training, call = fields[TRAINING], fields[INTERN_CALL]
    for kind in KINDS:
        for key, field in content_fields.fields_of(kind).items():
            made = fields[kind][key]
            if field.is_list:
                assert made["widget"] == "list", key
            elif field.options:
                assert made["widget"] == "select" and made["options"] == list(field.options)
    for key in ("date", "modified", "start", "end"):
        assert training[key]["widget"] == "datetime"
        assert training[key]["format"] == "YYYY-MM-DD HH:mm"
    assert call["apply_by"]["format"] == "YYYY-MM-DD" and call["apply_by"]["time_format"] is False
    assert training["timezone"]["widget"] == "select"
    assert training["timezone"]["default"] == SETTINGS["TIMEZONE"]
    assert {"America/New_York", "Europe/London"} <= set(training["timezone"]["options"])
    assert [part["name"] for part in call["testimonials"]["fields"]] == [
        "name",
        "background",
        "quote",
    ]
    assert training["trainers"]["field"]["widget"] == "string"
    assert fields[POST]["tags"]["widget"] == "string"  # comma-separated on one line


def test_forms_are_a_choice_of_our_form_ids():
    from webforms.definitions import load_forms

    ids = set(load_forms(ROOT / "forms"))
    fields = collections()
    registration = {o["value"] for o in fields[TRAINING]["registration"]["options"]}
    application = {o["value"] for o in fields[INTERN_CALL]["application"]["options"]}
    page_form = {o["value"] for o in fields[PAGE]["form"]["options"]}
    assert registration == {"form", "none", *ids}
    assert application == {"form", *ids}
    assert page_form == ids


def test_images_go_to_content_images_and_are_linked_as_pelican_copies_them():
    config = cms.decap_config(SETTINGS)
    assert config["media_folder"] == "content/images" and "images" in SETTINGS["STATIC_PATHS"]
    assert config["public_folder"] == "{static}/images"
    for fields in collections().values():
        assert fields["image"]["widget"] == "image"
        assert "required when there is an Image" in fields["image_alt"]["hint"]


def test_adding_a_site_field_adds_it_to_every_collection_and_to_the_format():
    settings = {**SETTINGS, "CONTENT_CHECK": {"enabled": True, "extra_fields": ["Subtitle"]}}
    for fields in collections(settings).values():
        assert fields["subtitle"] == {
            "name": "subtitle",
            "label": "Subtitle",
            "widget": "string",
            "required": False,
            "hint": "a field this site adds",
        }
        assert list(fields)[-2:] == ["subtitle", "body"]
    assert "Subtitle" in cms.format_spec(settings)["names"]


def test_adding_a_field_to_the_definitions_adds_it_to_the_editor(monkeypatch):
    added = Field("Partners", (TRAINING,), "one per line", is_list=True, required=(TRAINING,))
    monkeypatch.setattr(content_fields, "FIELDS", (*content_fields.FIELDS, added))
    fields = collections()
    assert fields[TRAINING]["partners"]["widget"] == "list"
    assert fields[TRAINING]["partners"]["required"] is True
    assert "partners" not in fields[POST]
    spec = cms.format_spec(SETTINGS)
    assert "Partners" in spec["names"] and spec["lists"]["partners"] == ";"


def test_development_uses_the_dev_servers_local_backend():
    config = cms.decap_config(SETTINGS)
    address = f"{SETTINGS['SITEURL']}/api/v1"
    assert config["local_backend"] == {"url": address}
    assert config["backend"] == {"name": "proxy", "proxy_url": address}
    assert "publish_mode" not in config


def test_the_live_site_uses_github_with_the_editorial_workflow():
    settings = read_settings(str(ROOT / "publishconf.py"))
    settings["CMS"] = {**settings["CMS"], "repo": "organizing20/site"}
    config = cms.decap_config(settings)
    assert config["backend"] == {
        "name": "github",
        "repo": "organizing20/site",
        "branch": "main",
        "base_url": settings["FORMS"]["endpoint"],
        "auth_endpoint": "oauth/auth",
    }
    assert config["publish_mode"] == "editorial_workflow"
    assert "local_backend" not in config


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"colour": "red"}, "unknown CMS key"),
        ({"publish_mode": "pull_requests"}, "publish_mode"),
        ({"repo": "just-a-name"}, "owner/name"),
        ({"local_backend": "127.0.0.1:8000/api/v1"}, "local_backend"),
        ({"save_as": "../admin"}, "save_as"),
    ],
)
def test_a_wrong_setting_says_which_key(given, message):
    with pytest.raises(cms.CmsSettingsError, match=re.escape(message)):
        cms.check_settings({"CMS": given})


def test_the_build_writes_the_editor(built_site):
    """admin/config.yml is YAML (JSON) of the configuration; admin/index.html, a page of
    the site, loads the format first, then Decap, from this site, with no inline script."""
    config = yaml.safe_load((built_site / "admin" / "config.yml").read_text("utf-8"))
    assert [c["name"] for c in config["collections"]] == [
        "blog",
        "pages",
        "trainings",
        "internships",
    ]
    page = lxml.html.parse(str(built_site / "admin" / "index.html")).getroot()
    scripts = page.xpath("//script[@src]")
    bundle = f"admin/decap-{vendor.VERSION}/decap-cms.js"
    assert [s.get("src") for s in scripts] == ["../theme/admin/pelican-format.js", f"../{bundle}"]
    assert all(s.get("defer") is not None and not (s.text or "").strip() for s in scripts)
    # Inline, at most data (JSON-LD), which runs nothing.
    assert {s.get("type") for s in page.xpath("//script[not(@src)]")} <= {"application/ld+json"}
    assert page.xpath("//main//div[@id='nc-root']")  # where Decap draws itself
    assert json.loads(scripts[0].get("data-spec"))["names"][0] == "Title"
    assert scripts[0].get("data-preview-style") == "../theme/css/site.css"
    policy = page.find(".//meta[@http-equiv='Content-Security-Policy']").get("content")
    assert "connect-src 'self' http://127.0.0.1:8000;" in policy
    assert vendor.sha256(built_site / bundle) == vendor.SHA256
    # With its compressed copies, which pelican-precompress then leaves as they are.
    assert (built_site / f"{bundle}.br").is_file() and (built_site / f"{bundle}.gz").is_file()
    assert "/admin/" not in (built_site / "sitemap.xml").read_text("utf-8")
