"""In production the endpoint refuses to start without FORMS_SECRET and IP_HASH_SALT.

Random per-process values would differ between Lambda containers (and workers), so the
rate limits and the signed start times would change from one request to the next.
"""

import os
import subprocess
import sys

import pytest

from endpoint import cli
from endpoint.settings import Settings, SettingsError
from tests.helpers import ROOT

POSTGRES = "postgresql://nobody@127.0.0.1:1/nothing"
SECRETS = {"FORMS_SECRET": "a-secret", "IP_HASH_SALT": "a-salt"}


def test_development_without_secrets_uses_random_ones():
    settings = Settings.from_env({}, warn=False)
    assert settings.forms_secret and settings.ip_hash_salt


@pytest.mark.parametrize(
    "environ",
    [{"DATABASE_URL": POSTGRES}, {"ENVIRONMENT": "production"}, {"ENVIRONMENT": "Production"}],
    ids=["postgresql", "production", "production-any-case"],
)
def test_production_without_secrets_refuses_naming_both(environ):
    with pytest.raises(SettingsError, match="FORMS_SECRET") as raised:
        Settings.from_env(environ, warn=False)
    assert "IP_HASH_SALT" in str(raised.value)


def test_production_names_only_the_missing_secret():
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"ENVIRONMENT": "production", "FORMS_SECRET": "s"}, warn=False)
    assert "IP_HASH_SALT" in str(raised.value) and "FORMS_SECRET" not in str(raised.value)


def test_production_with_secrets_starts():
    settings = Settings.from_env({"DATABASE_URL": POSTGRES, **SECRETS}, warn=False)
    assert (settings.forms_secret, settings.ip_hash_salt) == ("a-secret", "a-salt")
    assert Settings.from_env({"ENVIRONMENT": "production", **SECRETS}, warn=False)


def test_organizer_commands_do_not_need_the_secrets():
    # export, forget, ... read the database only; `serve` and `notify` need the secrets.
    settings = Settings.from_env({"DATABASE_URL": POSTGRES}, warn=False, require_secrets=False)
    assert settings.database_url == POSTGRES


def test_python_m_endpoint_refuses_to_serve_without_secrets(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", POSTGRES)
    monkeypatch.delenv("FORMS_SECRET", raising=False)
    monkeypatch.delenv("IP_HASH_SALT", raising=False)
    assert cli.main(["--port", "1"]) == 2
    error = capsys.readouterr().err
    assert "FORMS_SECRET" in error and "IP_HASH_SALT" in error


def test_lambda_handler_fails_at_start_without_secrets():
    env = {key: value for key, value in os.environ.items() if key not in SECRETS}
    env.update(DATABASE_URL=POSTGRES)
    result = subprocess.run(
        [sys.executable, "-c", "import endpoint.lambda_handler"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "FORMS_SECRET" in result.stderr and "IP_HASH_SALT" in result.stderr
