"""The forms' shared code (`webforms`): its names are defined once, and the site build
uses it without importing the endpoint."""

import ast
import subprocess
import sys

from endpoint import abuse, validation
from tests.helpers import ROOT
from webforms import names

from .test_forms_plugin import write_content

NAMES = {
    value: constant
    for constant, value in vars(names).items()
    if constant.isupper() and isinstance(value, str)
}


def constants_defined(path):
    """(name, value) of each module-level `NAME = literal` in the file at `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    yield target.id, node.value.value


def test_the_form_field_names_are_defined_only_in_webforms_names():
    assert set(NAMES) >= {"consent", "_hp", "_token", "_started", "source"}
    found = []
    for folder in ("webforms", "plugins", "endpoint"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative == "webforms/names.py":
                continue
            for constant, value in constants_defined(path):
                if value in NAMES or constant == "SOURCE_MAX_LENGTH":
                    found.append(f"{relative}: {constant} = {value!r}")
    assert not found, "import these from webforms.names instead:\n" + "\n".join(found)


def test_the_endpoint_reads_the_names_the_rendered_form_sends():
    assert validation.CONSENT_FIELD == names.CONSENT
    assert abuse.HONEYPOT_FIELD == names.HONEYPOT
    assert abuse.TOKEN_FIELD == names.TOKEN
    assert abuse.STARTED_FIELD == names.STARTED


# Records every import of the endpoint package, also in the build's forked workers.
SPY = """
import sys

class EndpointSpy:
    def find_spec(self, name, path=None, target=None):
        if name == "endpoint" or name.startswith("endpoint."):
            with open(LOG, "a", encoding="utf-8") as log:
                log.write(name + "\\n")
        return None

LOG = sys.argv[1]
sys.meta_path.insert(0, EndpointSpy())
"""


def endpoint_imports(tmp_path, code, *args):
    """Names of the endpoint modules imported while `code` runs in a new interpreter."""
    log = tmp_path / "endpoint-imports.log"
    log.touch()
    result = subprocess.run(
        [sys.executable, "-c", SPY + code, str(log), *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return sorted(set(log.read_text(encoding="utf-8").split()))


def test_the_spy_sees_an_endpoint_import(tmp_path):
    assert "endpoint.validation" in endpoint_imports(tmp_path, "import endpoint.validation")


def test_building_the_site_does_not_import_the_endpoint(tmp_path):
    content = write_content(tmp_path / "content")
    output = tmp_path / "output"
    build = """
from pelican import main
main([sys.argv[2], "-s", "pelicanconf.py", "-o", sys.argv[3], "--fatal", "warnings",
      "-e", "CACHE_CONTENT=false", "LOAD_CONTENT_CACHE=false"])
with open(LOG, "a", encoding="utf-8") as log:
    log.write("".join(f"{name}\\n" for name in sys.modules if name.partition(".")[0] == "endpoint"))
"""
    assert endpoint_imports(tmp_path, build, content, output) == []
    # The forms plugin did run: the page holds its form.
    page = (output / "join" / "index.html").read_text(encoding="utf-8")
    assert 'data-form="knowledge-donor"' in page
