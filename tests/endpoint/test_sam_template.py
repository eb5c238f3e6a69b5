"""The AWS SAM template (template.yaml at the repository root) deploys the endpoint.

cfn-lint checks it against the CloudFormation and SAM schemas; the other tests read it
with cfn-lint's own YAML decoder (which understands !Ref, !Join, ...) and hold it to
the code: the handler, runtime and zip that endpoint/lambda_package.py builds, the
environment variables endpoint/settings.py reads, the CORS headers endpoint/web.py
sends, and secrets that only ever arrive as NoEcho parameters.
"""

import importlib
from pathlib import Path

import pytest
from cfnlint.api import lint_file
from cfnlint.decode import cfn_yaml

from endpoint import web
from endpoint.lambda_package import DEFAULT_OUTPUT, HANDLER, LAMBDA_PLATFORM
from endpoint.settings import Settings
from tests.helpers import ROOT

TEMPLATE = ROOT / "template.yaml"
FUNCTION = "FormsFunction"
LOG_GROUP = "FormsLogGroup"
# Environment variables holding secrets: each must come from a NoEcho parameter.
SECRETS = {"DATABASE_URL", "FORMS_SECRET", "IP_HASH_SALT", "SMTP_PASSWORD"}
# Variables settings.py reads that the template leaves at the code's defaults.
LEFT_AT_DEFAULTS = {
    "MIN_FILL_SECONDS",
    "RATE_LIMIT_PER_HOUR",
    "RATE_LIMIT_BURST",
    "JUNK_LIMIT_PER_HOUR",
    "EMAIL_LIMIT_PER_HOUR",
    "FORM_LIMIT_PER_HOUR",
    "TRUSTED_PROXIES",  # a Function URL hands the endpoint the sender's own address
    "MAX_BODY_BYTES",
    "MAX_FIELDS",
    "DUPLICATE_WINDOW_SECONDS",
    "SMTP_TIMEOUT",
    "FORMS_DIR",  # the zip holds forms/ where the endpoint looks by default
    "GITHUB_URL",  # GitHub itself; the tests point these at a stand-in
    "GITHUB_API_URL",
    "SITE_MANIFEST",  # SITE_URL/forms/manifest.json by default
    "MANIFEST_TTL",
    "COMMENTS_MODERATION",  # "all": every comment waits for a moderator
    "COMMENTS_PURGE_AFTER_DAYS",
    # The template's DATABASE_URL is PostgreSQL, which requires the secrets already.
    "ENVIRONMENT",
}


@pytest.fixture(scope="module")
def template():
    return cfn_yaml.load(str(TEMPLATE))


@pytest.fixture(scope="module")
def function(template):
    resource = template["Resources"][FUNCTION]
    assert resource["Type"] == "AWS::Serverless::Function"
    return resource["Properties"]


@pytest.fixture(scope="module")
def environment(function):
    return function["Environment"]["Variables"]


def referenced_parameter(template, value):
    """The parameter `value` takes its whole content from, or None for anything else.

    Accepted: {"Ref": P} and {"Fn::Join": [separator, {"Ref": P}]} (a list parameter
    joined into one string), where P is a parameter of the template.
    """
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, joined = value["Fn::Join"]
        if not isinstance(separator, str):
            return None
        value = joined
    if isinstance(value, dict) and set(value) == {"Ref"}:
        name = value["Ref"]
        return name if name in template.get("Parameters", {}) else None
    return None


def variables_read_by_settings() -> set[str]:
    """Every environment variable name Settings.from_env looks up."""

    class Recorder(dict):
        def __init__(self):
            super().__init__()
            self.seen = set()

        def get(self, key, default=None):
            self.seen.add(key)
            return super().get(key, default)

    recorder = Recorder()
    Settings.from_env(recorder, warn=False)
    return recorder.seen


def test_cfn_lint_reports_no_error_or_warning():
    matches = lint_file(TEMPLATE)
    assert not matches, "\n".join(
        f"{match.rule.id} line {match.linenumber}: {match.message}" for match in matches
    )


def test_every_environment_value_comes_from_a_parameter(template, environment):
    literals = {
        name: value
        for name, value in environment.items()
        if referenced_parameter(template, value) is None
    }
    assert not literals, f"literal values (use a parameter instead): {literals}"


def test_secrets_are_noecho_parameters_without_a_default(template, environment):
    assert SECRETS <= set(environment)
    for name in sorted(SECRETS):
        parameter = template["Parameters"][referenced_parameter(template, environment[name])]
        assert parameter.get("NoEcho") is True, name
        # A default would be a secret written in the repository (empty means "none").
        assert parameter.get("Default", "") == "", name
    for name, parameter in template["Parameters"].items():
        if parameter.get("NoEcho"):
            assert parameter.get("Default", "") == "", name


def test_environment_is_what_settings_reads(environment):
    read = variables_read_by_settings()
    assert set(environment) <= read, f"settings.py never reads {set(environment) - read}"
    missing = read - LEFT_AT_DEFAULTS - set(environment)
    assert not missing, f"the template does not set {missing}"


def test_handler_runtime_and_code_are_what_the_package_builds(function):
    assert function["Handler"] == HANDLER
    module_name, attribute = function["Handler"].rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), attribute, None)
    assert callable(handler)
    assert function["Runtime"] == f"python{LAMBDA_PLATFORM[1]}"
    assert function["Architectures"] == ["x86_64"]  # the wheels are manylinux x86_64
    assert (TEMPLATE.parent / function["CodeUri"]).resolve() == Path(DEFAULT_OUTPUT)


def test_function_url_is_public_and_its_cors_origins_come_from_a_parameter(
    template, function, environment
):
    url = function["FunctionUrlConfig"]
    assert url["AuthType"] == "NONE"
    origins = referenced_parameter(template, url["Cors"]["AllowOrigins"])
    assert origins is not None, "AllowOrigins must be a !Ref to a parameter"
    assert set(url["Cors"]["AllowOrigins"]) == {"Ref"}
    assert template["Parameters"][origins]["Type"] == "CommaDelimitedList"
    assert "Default" not in template["Parameters"][origins]
    # The endpoint's own check uses the very same list.
    assert environment["ALLOWED_ORIGINS"] == {"Fn::Join": [",", {"Ref": origins}]}


def test_function_url_cors_matches_what_the_endpoint_sends(function):
    """Lambda's CORS headers replace the endpoint's: they must say the same things."""
    cors = function["FunctionUrlConfig"]["Cors"]
    preflight = dict(web.preflight(True, "GET, OPTIONS").headers)
    sent = {}
    web.send(web.Response(200), lambda status, headers: sent.update(headers), "https://x.org")

    def items(header):
        return {item.strip() for item in header.split(",")}

    assert set(cors["AllowMethods"]) == {"GET", "POST"}  # start (GET) and submit (POST)
    assert set(cors["AllowHeaders"]) == items(preflight["Access-Control-Allow-Headers"])
    assert set(cors["ExposeHeaders"]) == items(sent["Access-Control-Expose-Headers"])
    assert cors["MaxAge"] == int(preflight["Access-Control-Max-Age"])


def test_logs_concurrency_and_limits(template, function):
    parameters = template["Parameters"]
    log_group = template["Resources"][LOG_GROUP]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    retention = referenced_parameter(template, log_group["Properties"]["RetentionInDays"])
    assert retention is not None and parameters[retention]["Default"] in range(1, 366)
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": LOG_GROUP}

    concurrency = referenced_parameter(template, function["ReservedConcurrentExecutions"])
    assert concurrency is not None, "ReservedConcurrentExecutions must be a parameter"
    assert 1 <= parameters[concurrency]["Default"] <= 10

    # Room for the notification e-mail, sent before the invocation ends.
    assert Settings().smtp_timeout < function["Timeout"] <= 60
    assert 128 <= function["MemorySize"] <= 1024


def test_outputs_give_the_function_url(template):
    assert template["Outputs"]["FunctionUrl"]["Value"] == {
        "Fn::GetAtt": [f"{FUNCTION}Url", "FunctionUrl"]
    }
