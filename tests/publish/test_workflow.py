"""The GitHub Actions workflow parses and runs only the commands README documents."""

import re

import yaml

from tests.helpers import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"


def load_workflow():
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def publishing_section():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("\n## Publishing\n", 1)[1].split("\n## ", 1)[0]


def test_it_runs_on_push_to_main_daily_and_by_hand():
    triggers = load_workflow()["on"]
    assert triggers["push"]["branches"] == ["main"]
    (schedule,) = triggers["schedule"]
    minute, hour, *every_day = schedule["cron"].split()
    assert every_day == ["*", "*", "*"] and minute.isdigit() and hour.isdigit()
    assert "workflow_dispatch" in triggers


def test_every_command_it_runs_is_documented_in_readme():
    documented = set(re.findall(r"`([^`\n]+)`", publishing_section()))
    commands = [
        step["run"].strip()
        for job in load_workflow()["jobs"].values()
        for step in job["steps"]
        if "run" in step
    ]
    # The content check and the tests pass before the site is built.
    assert commands[-3:] == ["make check", "make test", ".venv/bin/invoke publish --dry-run"]
    undocumented = [command for command in commands if command not in documented]
    assert not undocumented


def test_it_publishes_the_dry_run_build_with_the_official_pinned_actions():
    jobs = load_workflow()["jobs"]
    build_steps = jobs["build"]["steps"]
    build = next(step for step in build_steps if step.get("run", "").startswith(".venv/bin/invoke"))
    assert build["env"] == {
        "SITEURL": "${{ vars.SITEURL }}",
        "FORMS_ENDPOINT": "${{ vars.FORMS_ENDPOINT }}",
        "COMMENTS_TOKEN": "${{ secrets.COMMENTS_TOKEN }}",
    }
    upload = build_steps[-1]
    assert upload["uses"].startswith("actions/upload-pages-artifact@")
    assert upload["with"]["path"] == "public"
    assert jobs["deploy"]["needs"] == "build"
    assert jobs["deploy"]["steps"][-1]["uses"].startswith("actions/deploy-pages@")
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    for job in jobs.values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"actions/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
