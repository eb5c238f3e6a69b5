"""Exports an organizer can open safely: formulas under any separator, xlsx, OSDI shape."""

import csv
import io
import json
import subprocess
import sys

import pytest

from endpoint.export import neutralise, osdi_signup
from tests.helpers import ROOT
from webforms.definitions import load_forms

from .conftest import FakeClock, run_command, valid

FORMS = load_forms()
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The list separators Excel and LibreOffice Calc offer for delimited text: comma
# (English locales), semicolon (most European locales) and tab.
SEPARATORS = (",", ";", "\t")
HIDDEN = "x;=cmd|' /C calc'!A0;x"
HOSTILE = [
    HIDDEN,
    'x,=HYPERLINK("http://x","y")',
    "x\t=1+1",
    "a;\t=1+1",
    "a; -2+3",
    "a;@SUM(A1)",
    "a;;+1",
    "first line\n=cmd|' /C calc'!A0",
]


def cells(text, delimiter):
    """Every cell a spreadsheet splitting on `delimiter` would see, one list per row."""
    return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]


def looks_like_formula(cell):
    return cell.lstrip(" ").startswith(FORMULA_STARTS)


@pytest.mark.parametrize("cell", HOSTILE)
def test_a_formula_after_any_separator_is_neutralised(cell):
    text = neutralise(cell)
    for delimiter in SEPARATORS:
        assert not any(looks_like_formula(piece) for piece in cells(text, delimiter)), (
            delimiter,
            text,
        )


def test_neutralising_keeps_ordinary_text():
    for cell in ("Rosa Parks-Lopez", "social-media; other", "5-10", "a; b, c", "20+"):
        assert neutralise(cell) == cell


@pytest.fixture
def hostile(make_client, sqlite_url):
    """Knowledge donors whose answers hide formulas behind separators, with ordinary ones."""
    clock = FakeClock(1_793_000_000)
    client = make_client(clock=clock)
    long = "\n".join(HOSTILE)
    client.post(
        "knowledge-donor",
        valid("knowledge-donor", name=HIDDEN, region="a;-2+3", skills_other=HIDDEN,
              past_work="", hours="1-4"),
    )  # fmt: skip
    clock.now += 60
    client.post(
        "help-request",
        valid("help-request", fight=long, deadline="3-4", email="two@example.org"),
    )
    assert len(client.app.storage.submissions()) == 2
    return client


@pytest.mark.parametrize("form_id", ["knowledge-donor", "help-request"])
def test_csv_export_has_no_formula_under_any_separator(hostile, sqlite_url, form_id):
    result = run_command(sqlite_url, "export", "--form", form_id, "--format", "csv")
    assert result.returncode == 0, result.stderr
    for delimiter in SEPARATORS:
        found = [cell for cell in cells(result.stdout, delimiter) if looks_like_formula(cell)]
        assert found == [], delimiter


# --- xlsx -------------------------------------------------------------------------


def test_xlsx_export_is_text_with_labels(hostile, sqlite_url, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    target = tmp_path / "donors.xlsx"
    result = run_command(
        sqlite_url, "export", "--form", "knowledge-donor", "--format", "xlsx",
        "--output", str(target), tool="invoke",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Wrote 1 row(s) of knowledge-donor as xlsx" in result.stderr
    sheet = openpyxl.load_workbook(target).active
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    assert header[:4] == ["Submission id", "Form", "Submitted at (UTC)", "Your name"]
    assert "E-mail address" in header and "How many hours a month can you give?" in header
    assert "Skills you can offer" in header
    # Internal columns come last.
    assert header[-2:] == ["Consent text SHA-256", "Notification state"]
    record = {name: cell for name, cell in zip(header, rows[1], strict=True)}
    assert record["Skills you can offer"].value == "Social media; Other"
    assert record["How many hours a month can you give?"].value == "1 to 4 hours"
    assert record["Phone number (optional)"].value == "+1 212 555 0100"
    assert record["Your name"].value == HIDDEN
    for row in rows:
        for cell in row:
            assert cell.data_type == "s" or cell.value is None, (cell.coordinate, cell.value)
            assert cell.number_format == "@", cell.coordinate
    assert all(cell.data_type != "f" for row in rows for cell in row)


def test_xlsx_values_stay_text_not_dates_or_numbers(make_client, sqlite_url, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    client = make_client()
    client.post("help-request", valid("help-request", deadline="1-4", phone="2125550199"))
    target = tmp_path / "requests.xlsx"
    result = run_command(sqlite_url, "export", "--form", "help-request", "--format", "xlsx",
                         "--output", str(target))  # fmt: skip
    assert result.returncode == 0, result.stderr
    sheet = openpyxl.load_workbook(target).active
    header = [cell.value for cell in sheet[1]]
    row = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
    assert row["Deadline or key date"].value == "1-4"
    assert row["Deadline or key date"].data_type == "s"
    assert row["Phone number"].value == "2125550199"
    assert row["Phone number"].data_type == "s"


def test_xlsx_needs_an_output_file(hostile, sqlite_url):
    result = run_command(sqlite_url, "export", "--form", "knowledge-donor", "--format", "xlsx")
    assert result.returncode == 2
    assert "--output" in result.stderr and "xlsx" in result.stderr
    assert result.stdout == ""


def test_exporting_does_not_load_openpyxl_for_the_endpoint():
    code = (
        "import sys, endpoint.app, endpoint.export, endpoint.cli; print('openpyxl' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "False", result.stderr


# --- OSDI: Action Network's person signup helper -----------------------------------


def test_osdi_body_follows_the_person_signup_helper(hostile, sqlite_url):
    result = run_command(sqlite_url, "export", "--form", "knowledge-donor", "--format", "osdi")
    assert result.returncode == 0, result.stderr
    (body,) = json.loads(result.stdout)
    assert set(body) == {"person", "add_tags"}
    person = body["person"]
    assert set(person) <= {
        "given_name", "family_name", "email_addresses", "phone_numbers",
        "postal_addresses", "custom_fields",
    }  # fmt: skip
    assert "given_names" not in person
    assert person["given_name"] == "x;=cmd|' /C"  # as given: no spreadsheet reads this
    assert person["family_name"] == "calc'!A0;x"
    assert person["email_addresses"] == [{"address": "rosa@example.org"}]
    assert person["phone_numbers"] == [{"number": "+1 212 555 0100"}]
    assert person["postal_addresses"] == [{"locality": "a;-2+3"}]
    assert isinstance(person["custom_fields"], dict)


def test_osdi_single_word_name_is_the_given_name():
    from endpoint.storage import Submission

    form = FORMS["knowledge-donor"]
    submission = Submission(
        id="a", form_id=form.id, submitted_at="t", fields={"name": "Cher", "email": "c@e.org"},
        source="", consent_at="t", consent_version="v", consent_sha256="", page_url="",
        ip_hash="", user_agent="", idempotency_token=None, email="c@e.org", content_hash="",
        notify_state="none",
    )  # fmt: skip
    person = osdi_signup(form, submission)["person"]
    assert person["given_name"] == "Cher" and "family_name" not in person
