"""Build the AWS Lambda zip of the form endpoint (run through `invoke endpoint-package`).

The zip holds, at its root: the `endpoint` and `webforms` packages, the `forms/`
definitions next to them (where `webforms.definitions` looks by default) and the
endpoint's runtime dependencies at the versions pinned in requirements.txt. Dependencies
come either from pip, downloaded as wheels for Lambda's platform (the default, for
deploying), or from the running interpreter's own environment (`from_venv=True`: no
network, for tests and for building on a Linux x86_64 machine with Python 3.11). This
module itself is left out of the zip.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
DEFAULT_OUTPUT = ROOT / "dist" / "endpoint-lambda.zip"

# What the endpoint imports at run time, plus what those need (psycopg needs
# typing_extensions on Python 3.11). Versions are read from requirements.txt. Granian
# is not here: Lambda is the server.
RUNTIME_PACKAGES = (
    "apig-wsgi",
    "email-validator",
    "dnspython",
    "idna",
    "markdown",  # with nh3: comments' HTML (webforms/comment_text.py)
    "nh3",
    "psycopg",
    "psycopg-binary",
    "typing-extensions",
)
LAMBDA_PLATFORM = ("manylinux2014_x86_64", "3.11", "cp")
HANDLER = "endpoint.lambda_handler.handler"

_SKIPPED_DIRS = {"__pycache__", "tests", "bin"}
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_PACKAGING_FILE = "endpoint/lambda_package.py"
# Fixed timestamps make two builds of the same sources byte-identical.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class PackageError(RuntimeError):
    """The zip cannot be built; the message says what to fix."""


def normalize(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements(requirements=REQUIREMENTS, names=RUNTIME_PACKAGES) -> list[str]:
    """The `name==version` pins of `names`, read from the requirements file."""
    pins = {}
    for line in Path(requirements).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = (part.strip() for part in line.split("==", 1))
            pins[normalize(name)] = f"{name}=={version}"
    missing = [name for name in names if normalize(name) not in pins]
    if missing:
        raise PackageError(
            f"{Path(requirements).name} has no exact pin (name==version) for: {', '.join(missing)}"
        )
    return [pins[normalize(name)] for name in names]


def pip_command(target, requirements=REQUIREMENTS) -> list[str]:
    """The pip command installing the pinned runtime wheels for Lambda into `target`."""
    platform, python_version, implementation = LAMBDA_PLATFORM
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(target),
        "--only-binary=:all:",
        "--platform",
        platform,
        "--python-version",
        python_version,
        "--implementation",
        implementation,
        *pinned_requirements(requirements),
    ]


def install_for_lambda(target, requirements=REQUIREMENTS) -> None:
    """Install the pinned runtime dependencies for Lambda's platform with pip."""
    result = subprocess.run(pip_command(target, requirements), capture_output=True, text=True)
    if result.returncode != 0:
        raise PackageError(f"pip could not install the Lambda dependencies:\n{result.stderr}")
    # A new dependency of a pinned package would arrive unpinned: refuse it.
    expected = {normalize(name) for name in RUNTIME_PACKAGES}
    installed = {normalize(path.name.split("-", 1)[0]) for path in Path(target).glob("*.dist-info")}
    unpinned = sorted(installed - expected)
    if unpinned:
        raise PackageError(
            f"pip also installed {', '.join(unpinned)}: pin it in requirements.txt and "
            "add it to RUNTIME_PACKAGES in endpoint/lambda_package.py"
        )


def copy_from_environment(target, requirements=REQUIREMENTS) -> None:
    """Copy the pinned runtime dependencies from the running Python's environment."""
    target = Path(target)
    for pin in pinned_requirements(requirements):
        name, version = pin.split("==")
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise PackageError(f"{name} is not installed here; run `make` first") from None
        if distribution.version != version:
            raise PackageError(
                f"{name} {distribution.version} is installed but requirements.txt pins "
                f"{version}; run `make` first"
            )
        for file in distribution.files or ():
            parts = Path(file).parts
            # Entries outside site-packages (console scripts) start with "..".
            if parts[0] == ".." or _skipped(parts):
                continue
            destination = target.joinpath(*parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(distribution.locate_file(file), destination)


def _skipped(parts) -> bool:
    return any(part in _SKIPPED_DIRS for part in parts[:-1]) or parts[-1].endswith(
        _SKIPPED_SUFFIXES
    )


def _files_under(folder: Path, prefix: str = ""):
    """(path in zip, file) for every file to ship under `folder`, sorted."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or _skipped(relative.parts):
            continue
        yield prefix + relative.as_posix(), path


def _add(archive: zipfile.ZipFile, name: str, path: Path) -> None:
    info = zipfile.ZipInfo(name, _ZIP_TIME)
    executable = os.access(path, os.X_OK) and path.suffix != ".py"
    # Lambda runs the code as another user: everything must be world-readable.
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, path.read_bytes(), compresslevel=9)


def _bytecode(entries, folder: Path) -> list[tuple[str, Path]]:
    """(path in zip, file) of compiled bytecode for every module, when this is Lambda's Python.

    Lambda's code folder is read-only, so without it every cold start compiles the
    endpoint and its dependencies again (about 12 ms for the endpoint alone). The files
    are unchecked-hash bytecode: used without comparing the sources' modification times,
    which the zip's fixed timestamps would never match. Another Python's bytecode would
    be ignored there, so none is built.
    """
    if f"{sys.version_info.major}.{sys.version_info.minor}" != LAMBDA_PLATFORM[1]:
        return []
    compiled = []
    for name, path in entries:
        if not name.endswith(".py"):
            continue
        cache_name = importlib.util.cache_from_source(name)
        destination = folder / cache_name
        try:
            py_compile.compile(
                str(path),
                cfile=str(destination),
                dfile=name,
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
        except py_compile.PyCompileError:
            continue  # Python compiles it at import, as before, and reports any error then
        compiled.append((cache_name, destination))
    return sorted(compiled)


def build(output=DEFAULT_OUTPUT, from_venv=False, requirements=REQUIREMENTS) -> Path:
    """Write the Lambda zip to `output` and return its path.

    The zip is written beside `output` first and moved into place at the end, so a failed
    build never leaves half a zip behind.
    """
    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="endpoint-lambda-") as temporary:
        dependencies = Path(temporary) / "dependencies"
        dependencies.mkdir()
        if from_venv:
            copy_from_environment(dependencies, requirements)
        else:
            install_for_lambda(dependencies, requirements)
        entries = [
            (name, path)
            for name, path in _files_under(ROOT / "endpoint", "endpoint/")
            if name != _PACKAGING_FILE
        ]
        entries += list(_files_under(ROOT / "webforms", "webforms/"))
        entries += [
            (f"forms/{path.name}", path) for path in sorted((ROOT / "forms").glob("*.toml"))
        ]
        entries += list(_files_under(dependencies))
        entries += _bytecode(entries, Path(temporary) / "bytecode")
        partial = output.with_name(output.name + ".partial")
        try:
            with zipfile.ZipFile(partial, "w") as archive:
                for name, path in entries:
                    _add(archive, name, path)
            partial.replace(output)
        finally:
            partial.unlink(missing_ok=True)
    return output
