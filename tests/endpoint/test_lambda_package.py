"""The Lambda zip from `invoke endpoint-package` runs on its own.

The zip is built once with `--from-venv` (dependencies copied from the project's
environment: no network at test time); the default build downloads the same pinned
versions as Lambda wheels with pip, whose command is checked here without running it.
Then a clean `python -I -S` with only the unzipped folder on sys.path calls the handler
with Lambda Function URL events, as Lambda would.
"""

import json
import sqlite3
import subprocess
import sys
import zipfile

import pytest

from endpoint.lambda_package import pinned_requirements, pip_command
from tests.endpoint.conftest import SITE, valid
from tests.helpers import ROOT

# Runs inside the unzipped folder: imports the handler and answers each event on stdin.
CALL_HANDLER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from endpoint import lambda_handler
import email_validator
answers = [lambda_handler.handler(event, None) for event in json.load(sys.stdin)]
modules = {name: getattr(module, "__file__", None) or "" for name, module in sys.modules.items()}
json.dump({"answers": answers, "modules": modules, "path": sys.path}, sys.stdout)
"""


def function_url_event(method, path, body="", headers=None):
    """A Lambda Function URL event (payload format 2.0)."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abcdefgh.lambda-url.us-east-1.on.aws", **(headers or {})},
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
            },
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }


@pytest.fixture(scope="module")
def lambda_zip(tmp_path_factory):
    """The zip, built once by the invoke task itself."""
    output = tmp_path_factory.mktemp("lambda") / "endpoint-lambda.zip"
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "endpoint-package", "--from-venv", "--output", output],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "endpoint.lambda_handler.handler" in result.stdout
    return output


def test_zip_holds_the_package_forms_and_dependencies_only(lambda_zip):
    names = set(zipfile.ZipFile(lambda_zip).namelist())
    assert "endpoint/lambda_handler.py" in names
    assert "endpoint/storage/migrations/0001_submissions.sql" in names
    for form in (ROOT / "forms").glob("*.toml"):
        assert f"forms/{form.name}" in names
    for package in ("email_validator/__init__.py", "dns/__init__.py", "idna/__init__.py",
                    "apig_wsgi/__init__.py", "webforms/names.py"):  # fmt: skip
        assert package in names
    assert "psycopg/__init__.py" in names
    assert any(name.startswith("psycopg_binary/") for name in names)
    # Bytecode only as unchecked-hash files for Lambda's Python (3.11), beside each module.
    compiled = sorted(name for name in names if "__pycache__" in name or name.endswith(".pyc"))
    if sys.version_info[:2] == (3, 11):
        assert "endpoint/__pycache__/app.cpython-311.pyc" in compiled
        assert "email_validator/__pycache__/__init__.cpython-311.pyc" in compiled
        for name in compiled:
            assert name.endswith(".cpython-311.pyc")
            source = name.replace("__pycache__/", "").replace(".cpython-311.pyc", ".py")
            assert source in names
        flags = int.from_bytes(zipfile.ZipFile(lambda_zip).read(compiled[0])[4:8], "little")
        assert flags == 0b01  # hash-based, not checked against the source
    else:
        assert not compiled
    assert "endpoint/lambda_package.py" not in names
    assert not [name for name in names if name.startswith(("tests/", "bin/"))]


def test_handler_from_the_unzipped_folder_answers_health_and_stores_a_post(lambda_zip, tmp_path):
    folder = tmp_path / "task"
    zipfile.ZipFile(lambda_zip).extractall(folder)
    database = tmp_path / "submissions.sqlite3"
    environment = {
        "DATABASE_URL": f"sqlite:///{database}",
        "FORMS_SECRET": "lambda-test-secret",
        "IP_HASH_SALT": "lambda-test-salt",
        "SITE_URL": SITE,
        "ALLOWED_ORIGINS": SITE,
    }
    headers = {"content-type": "application/json", "accept": "application/json", "origin": SITE}
    events = [
        function_url_event("GET", "/health"),
        function_url_event(
            "POST", "/forms/knowledge-donor", json.dumps(valid("knowledge-donor")), headers
        ),
    ]
    # -I: no user site or PYTHON* variables; -S: not even the venv's site-packages.
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CALL_HANDLER, str(folder)],
        input=json.dumps(events),
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)

    health, post = report["answers"]
    assert health["statusCode"] == 200, health
    assert json.loads(health["body"]) == {"ok": True, "database": "ok"}
    assert post["statusCode"] == 200, post
    assert json.loads(post["body"]) == {"ok": True}
    assert post["headers"]["access-control-allow-origin"] == SITE

    # Everything outside the standard library came from the unzipped folder.
    assert not [entry for entry in report["path"] if "site-packages" in entry]
    for module in ("endpoint.lambda_handler", "apig_wsgi", "webforms.definitions", "idna"):
        assert report["modules"][module].startswith(str(folder)), module

    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT form_id, email, fields FROM submissions").fetchall()
    assert len(rows) == 1
    form_id, email, fields = rows[0]
    assert (form_id, email) == ("knowledge-donor", "rosa@example.org")
    assert "Brooklyn, NY" in fields


def test_default_build_installs_the_pinned_versions_for_lambda(tmp_path):
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pins = pinned_requirements()
    for pin in pins:
        assert pin in requirements
    assert {pin.split("==")[0].lower().replace("_", "-") for pin in pins} >= {
        "email-validator",
        "dnspython",
        "idna",
        "psycopg",
        "psycopg-binary",
    }
    command = pip_command(tmp_path)
    assert command[command.index("--platform") + 1] == "manylinux2014_x86_64"
    assert command[command.index("--python-version") + 1] == "3.11"
    assert command[command.index("--implementation") + 1] == "cp"
    assert command[command.index("--target") + 1] == str(tmp_path)
    assert "--only-binary=:all:" in command
    assert command[-len(pins) :] == pins


def test_a_missing_pin_is_named(tmp_path):
    from endpoint.lambda_package import PackageError

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("idna==3.20\npsycopg>=3\n", encoding="utf-8")
    with pytest.raises(PackageError, match="psycopg") as raised:
        pinned_requirements(requirements, names=("idna", "psycopg"))
    assert "idna" not in str(raised.value)
