"""`make test` installs the system programs the tests need; `make serve` and `make clean` don't.

scripts/system-packages.sh runs here with a PATH of stub programs (id, sudo, apt-get, the
programs it looks for) in a temporary folder, and SYSTEM_PACKAGES_ROOT standing in for /,
so every case runs the same whoever runs the tests, and nothing is really installed.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT

SCRIPT = ROOT / "scripts" / "system-packages.sh"
SH = shutil.which("sh")
NODE = ["nodejs", "npm"]
EVERYTHING = ["chromium", "postgresql", "default-jre-headless", *NODE]
INSTALL = ["install", "-y", "-qq", "--no-install-recommends"]

# Every stub logs its call; id, sudo and apt-get also act, as told by config.json.
STUB = """\
import json, os, sys
from pathlib import Path

stub = Path(__file__)
home = stub.parent.parent
config = json.loads((home / "config.json").read_text())
args = sys.argv[1:]
with open(home / "calls.jsonl", "a") as log:
    log.write(json.dumps({
        "program": stub.name,
        "args": args,
        "frontend": os.environ.get("DEBIAN_FRONTEND"),
        "via_sudo": os.environ.get("STUB_VIA_SUDO") == "1",
        "cwd": os.getcwd(),
    }) + "\\n")

if stub.name == "id":
    print(config["uid"])
elif stub.name == "sudo":
    if not config["sudo_works"]:
        sys.exit("sudo: a password is required")
    if args[:1] == ["-n"]:
        args = args[1:]
    env = dict(os.environ, STUB_VIA_SUDO="1")
    while args and "=" in args[0]:
        key, value = args.pop(0).split("=", 1)
        env[key] = value
    if args != ["true"]:
        os.execvpe(args[0], args, env)
elif stub.name == "apt-get" and args[:1] == ["install"]:
    if config["apt_get_fails"]:
        sys.exit(100)
    if config["apt_get_installs"]:
        for package in args:
            for path in config["provides"].get(package, []):
                target = home / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("#!/bin/sh\\n")
                target.chmod(0o755)
"""

# Where each package puts the programs the script looks for (relative to the machine).
PROVIDES = {
    "chromium": ["root/usr/bin/chromium"],
    "postgresql": [f"root/usr/lib/postgresql/16/bin/{name}" for name in ("initdb", "pg_ctl")],
    "default-jre-headless": ["bin/java"],
    "nodejs": ["bin/node"],
    "npm": ["bin/npm"],
}


class Machine:
    """A pretend machine: bin/ is its whole PATH, root/ its /."""

    def __init__(self, base, have=(), uid=0, sudo=None, apt_get=True, os_id="debian"):
        self.base = base
        self.bin = base / "bin"
        self.root = base / "root"
        self.bin.mkdir()
        (self.root / "etc").mkdir(parents=True)
        (self.root / "etc" / "os-release").write_text(f'NAME="Pretend"\nID={os_id}\n')
        for program in ["id", *(["apt-get"] if apt_get else []), *(["sudo"] if sudo else [])]:
            self.stub(program)
        for package in have:
            self.install(package)
        self.config(
            uid=uid,
            sudo_works=sudo == "works",
            apt_get_fails=False,
            apt_get_installs=True,
            provides=PROVIDES,
        )

    def config(self, **settings):
        path = self.base / "config.json"
        current = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**current, **settings}))

    def stub(self, name, folder=None):
        path = (folder or self.bin) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"#!{sys.executable}\n{STUB}")
        path.chmod(0o755)
        return path

    def install(self, package):
        for path in PROVIDES[package]:
            self.stub((self.base / path).name, (self.base / path).parent)

    def run(self):
        self.log().unlink(missing_ok=True)
        started = time.monotonic()
        result = subprocess.run(
            [SH, str(SCRIPT)],
            env={"PATH": str(self.bin), "SYSTEM_PACKAGES_ROOT": str(self.root)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        result.seconds = time.monotonic() - started
        return result

    def log(self):
        return self.base / "calls.jsonl"

    def calls(self):
        if not self.log().exists():
            return []
        return [json.loads(line) for line in self.log().read_text().splitlines()]

    def commands(self, program=None):
        return [
            [call["program"], *call["args"]]
            for call in self.calls()
            if program is None or call["program"] == program
        ]


def missing(packages):
    return [package for package in EVERYTHING if package not in packages]


# --- Everything there: nothing happens ---------------------------------------


@pytest.mark.parametrize("postgres_on_path", [False, True])
def test_everything_present_does_nothing_silently_and_fast(tmp_path, postgres_on_path):
    machine = Machine(tmp_path, have=EVERYTHING)
    if postgres_on_path:
        shutil.rmtree(machine.root / "usr" / "lib")
        machine.stub("initdb")
        machine.stub("pg_ctl")
    result = machine.run()
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert machine.calls() == []  # not even id: only shell builtins looked
    assert result.seconds < 0.5


def test_this_machine_already_has_everything(tmp_path):
    """The real checks on the real machine: make test has run the script before pytest."""
    machine = Machine(tmp_path, uid=1000, sudo="works")
    result = subprocess.run(
        [SH, str(SCRIPT)],
        env={"PATH": f"{machine.bin}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert machine.calls() == []


# --- Something missing ------------------------------------------------------------


@pytest.mark.parametrize(
    "have",
    [
        [],
        ["chromium", "default-jre-headless"],
        ["postgresql"],
        ["chromium", "postgresql"],
    ],
    ids=["nothing", "no-postgresql", "no-chromium-no-java", "no-java"],
)
def test_as_root_apt_get_installs_exactly_the_missing_packages_then_nothing(tmp_path, have):
    machine = Machine(tmp_path, have=have, uid=0, sudo="works")
    result = machine.run()
    assert result.returncode == 0, result.stderr
    assert machine.commands() == [
        ["id", "-u"],
        ["apt-get", "update", "-qq"],
        ["apt-get", *INSTALL, *missing(have)],
    ]
    assert all(call["frontend"] == "noninteractive" for call in machine.calls()[1:])
    assert "installing " + " ".join(missing(have)) in result.stdout

    # It looks before it installs: the second run finds everything.
    again = machine.run()
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert machine.calls() == []


def test_one_postgresql_program_missing_installs_postgresql(tmp_path):
    machine = Machine(tmp_path, have=["chromium", "default-jre-headless", *NODE])
    machine.stub("initdb")
    assert machine.run().returncode == 0
    assert machine.commands("apt-get")[-1] == ["apt-get", *INSTALL, "postgresql"]


def test_not_root_with_working_sudo_installs_through_sudo(tmp_path):
    machine = Machine(tmp_path, have=["chromium", *NODE], uid=1000, sudo="works")
    result = machine.run()
    assert result.returncode == 0, result.stderr
    wanted = ["postgresql", "default-jre-headless"]
    assert machine.commands() == [
        ["id", "-u"],
        ["sudo", "-n", "true"],
        ["sudo", "-n", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update", "-qq"],
        ["apt-get", "update", "-qq"],
        ["sudo", "-n", "DEBIAN_FRONTEND=noninteractive", "apt-get", *INSTALL, *wanted],
        ["apt-get", *INSTALL, *wanted],
    ]
    for call in machine.calls():
        if call["program"] == "apt-get":
            assert call["via_sudo"] and call["frontend"] == "noninteractive"
    assert machine.run().returncode == 0
    assert machine.calls() == []


@pytest.mark.parametrize(
    "sudo, command",
    [
        (
            "password",
            "sudo apt-get update && sudo apt-get install -y --no-install-recommends "
            "postgresql default-jre-headless",
        ),
        (
            None,
            "su -c 'apt-get update && apt-get install -y --no-install-recommends "
            "postgresql default-jre-headless'",
        ),
    ],
    ids=["sudo-wants-a-password", "no-sudo"],
)
def test_not_root_without_sudo_stops_at_once_with_the_exact_command(tmp_path, sudo, command):
    machine = Machine(tmp_path, have=["chromium", *NODE], uid=1000, sudo=sudo)
    result = machine.run()
    assert result.returncode != 0
    assert f"\n  {command}\n" in result.stderr
    assert "chromium" not in command
    assert machine.commands("apt-get") == []
    assert machine.commands() == [["id", "-u"], *([["sudo", "-n", "true"]] if sudo else [])]


def test_without_apt_get_it_names_the_programs_it_needs(tmp_path):
    machine = Machine(tmp_path, uid=1000, sudo="works", apt_get=False)
    result = machine.run()
    assert result.returncode != 0
    for program in ["/usr/bin/chromium", "initdb", "pg_ctl", "java", "no apt-get"]:
        assert program in result.stderr
    assert machine.calls() == []


def test_a_failing_apt_get_stops_make_test(tmp_path):
    machine = Machine(tmp_path, have=["chromium", "postgresql"])
    machine.config(apt_get_fails=True)
    assert machine.run().returncode != 0


def test_a_package_that_leaves_its_program_missing_stops(tmp_path):
    machine = Machine(tmp_path, have=["postgresql", "default-jre-headless"])
    machine.config(apt_get_installs=False)
    result = machine.run()
    assert result.returncode != 0
    assert "still missing" in result.stderr and "/usr/bin/chromium" in result.stderr


# --- Ubuntu: its chromium package is the snap ---------------------------------------


def test_on_ubuntu_chromium_is_explained_and_the_rest_installed(tmp_path):
    machine = Machine(tmp_path, have=["postgresql", *NODE], os_id="ubuntu")
    result = machine.run()
    assert result.returncode != 0
    assert machine.commands("apt-get")[-1] == ["apt-get", *INSTALL, "default-jre-headless"]
    assert "snap" in result.stderr
    assert "sudo ln -s /usr/bin/google-chrome-stable /usr/bin/chromium" in result.stderr


def test_on_ubuntu_with_a_chromium_everything_passes(tmp_path):
    machine = Machine(tmp_path, have=EVERYTHING, os_id="ubuntu")
    result = machine.run()
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# --- The Makefile and CI ---------------------------------------------------------------


def make_dry_run(target):
    """What `make TARGET` would run, as if requirements.txt had just changed."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(
        ["make", "-n", "-W", "requirements.txt", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_make_test_checks_system_packages_before_anything_else():
    lines = make_dry_run("test").splitlines()
    assert lines[0] == "sh scripts/system-packages.sh"
    assert ".venv/bin/invoke test" in lines


@pytest.mark.parametrize("target", ["serve", "build", "publish", "lint", "check", "bench"])
def test_other_targets_never_install_system_packages(target):
    commands = make_dry_run(target)
    assert f"invoke {target}" in commands
    assert "system-packages" not in commands and "apt-get" not in commands


def test_make_clean_installs_nothing():
    assert make_dry_run("clean").splitlines() == ["rm -rf output public cache"]


def test_ci_runs_make_test_and_nothing_else(tmp_path):
    machine = Machine(tmp_path, uid=1000, sudo="works")
    machine.stub("make")
    result = subprocess.run(
        [str(ROOT / ".ci" / "run")],
        env={**os.environ, "PATH": f"{machine.bin}{os.pathsep}{os.environ['PATH']}"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert machine.commands() == [["make", "test"]]
    assert machine.calls()[0]["cwd"] == str(ROOT)
