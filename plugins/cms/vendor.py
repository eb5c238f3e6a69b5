"""The vendored Decap CMS: which release, and the checksums that prove it, in one place.

`invoke vendor-cms` fetches the release with `npm pack`, refuses a tarball whose sha512
differs from INTEGRITY (the npm registry's own `dist.integrity`), writes its
dist/decap-cms.js into plugins/cms/decap/ (committed, so `make serve` needs only Python)
with its licence notice and its gzip and brotli copies, and records the bundle's SHA-256
in SHA256 below. A test checks the committed files against SHA256.

The compressed copies are made once, here: left to pelican-precompress, the 5 MB bundle
took a publish build of our content from 1.2 s to 8.9 s (README, "Writing from the
browser"). The plugin copies all four files into the output.

To move to another release: set VERSION, set INTEGRITY to what
`npm view decap-cms@VERSION dist.integrity` prints, run `invoke vendor-cms`, commit.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

import brotli

PACKAGE = "decap-cms"
VERSION = "3.16.3"
INTEGRITY = "sha512-hf+dPlCh7TJmWl8+6VRzHYOWhri5xgUknrZbDewaWe4s9B7xJ8PQugp2QHeSldMUKzav6+z0oIpwUYhUJDYtYw=="  # noqa: E501 - one line, as npm prints it
SHA256 = "7c1efd6b616b4786e279aeef194dd21649a72058d3bc8d1f78901b574610dfb8"

FOLDER = Path(__file__).resolve().parent / "decap"
BUNDLE_NAME = "decap-cms.js"
# Inside the tarball; the bundle's first line points readers to the licence notice.
MEMBERS = {BUNDLE_NAME: "package/dist/decap-cms.js",
           f"{BUNDLE_NAME}.LICENSE.txt": "package/dist/decap-cms.js.LICENSE.txt"}  # fmt: skip


class VendorError(Exception):
    """The release could not be fetched or is not the pinned one; the message says why."""


def integrity(data: bytes) -> str:
    """The npm registry's integrity string of a tarball: sha512-<base64 digest>."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def sha256(path: Path) -> str:
    """The SHA-256 of a file, in hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fetch_tarball(npm: str = "npm") -> bytes:
    """The pinned release's tarball, as `npm pack` fetches it, checked against INTEGRITY."""
    with tempfile.TemporaryDirectory() as folder:
        command = [npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", folder,
                   "--ignore-scripts", "--silent"]  # fmt: skip
        try:
            subprocess.run(command, check=True, capture_output=True, text=True)
        except FileNotFoundError:
            raise VendorError(f"{npm} is not installed; install Node.js (it brings npm)") from None
        except subprocess.CalledProcessError as error:
            raise VendorError(f"npm pack failed: {error.stderr.strip()}") from None
        tarballs = list(Path(folder).glob("*.tgz"))
        if len(tarballs) != 1:
            raise VendorError(f"npm pack left {len(tarballs)} tarballs, not one")
        data = tarballs[0].read_bytes()
    if integrity(data) != INTEGRITY:
        raise VendorError(
            f"the {PACKAGE} {VERSION} tarball has integrity {integrity(data)}, not the "
            f"pinned {INTEGRITY}; nothing was written"
        )
    return data


def vendor(npm: str = "npm", folder: Path = FOLDER) -> str:
    """Fetch and check the release; write the bundle, its licence notice and its
    compressed copies into `folder`. Returns the bundle's SHA-256."""
    data = fetch_tarball(npm)
    contents = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for name, member in MEMBERS.items():
            try:
                contents[name] = archive.extractfile(member).read()
            except KeyError:
                raise VendorError(f"the tarball has no {member}") from None
    bundle = contents[BUNDLE_NAME]
    # As pelican-precompress would compress it (brotli at quality 11), stamped 0 so the
    # same release always gives the same bytes.
    contents[f"{BUNDLE_NAME}.br"] = brotli.compress(bundle, mode=brotli.MODE_TEXT, quality=11)
    contents[f"{BUNDLE_NAME}.gz"] = gzip.compress(bundle, compresslevel=9, mtime=0)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in contents.items():
        (folder / name).write_bytes(content)
    return hashlib.sha256(bundle).hexdigest()


def record_sha256(digest: str, module: Path = Path(__file__)):
    """Write `digest` as SHA256 in this module (the one place the pins live)."""
    text = module.read_text("utf-8")
    module.write_text(re.sub(r'(?m)^SHA256 = "[0-9a-f]*"$', f'SHA256 = "{digest}"', text), "utf-8")
