"""The vendored Decap CMS is the pinned release (plugins/cms/vendor.py); no network."""

import gzip
import io
import shutil
import tarfile
from pathlib import Path

import brotli
import pytest

from plugins.cms import vendor


def test_the_committed_bundle_is_the_pinned_one():
    bundle = vendor.FOLDER / vendor.BUNDLE_NAME
    assert vendor.sha256(bundle) == vendor.SHA256
    data = bundle.read_bytes()
    assert f'"decap-cms {vendor.VERSION}"'.encode() in data
    assert (vendor.FOLDER / f"{vendor.BUNDLE_NAME}.LICENSE.txt").is_file()
    # The compressed copies hosts send are the same bundle.
    assert brotli.decompress((vendor.FOLDER / f"{vendor.BUNDLE_NAME}.br").read_bytes()) == data
    assert gzip.decompress((vendor.FOLDER / f"{vendor.BUNDLE_NAME}.gz").read_bytes()) == data


def fake_npm(folder, members):
    """An `npm` that packs a tarball holding `members` ({path: bytes}); returns
    (its path, the tarball's integrity)."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as archive:
        for path, content in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    tarball = folder / "release.tgz"
    tarball.write_bytes(data.getvalue())
    npm = folder / "npm"
    # `npm pack SPEC --pack-destination DIR ...`: the tarball lands in DIR.
    npm.write_text(f'#!/bin/sh\ncp {tarball} "$4/decap-cms-{vendor.VERSION}.tgz"\n')
    npm.chmod(0o755)
    return str(npm), vendor.integrity(data.getvalue())


RELEASE = {member: f"/* {name} */".encode() for name, member in vendor.MEMBERS.items()}


def test_a_tarball_that_is_not_the_pinned_one_is_refused(tmp_path):
    npm, _integrity = fake_npm(tmp_path, RELEASE)
    target = tmp_path / "admin"
    with pytest.raises(vendor.VendorError, match="not the pinned"):
        vendor.vendor(npm, target)
    assert not target.exists()


def test_the_pinned_tarball_is_written_with_its_digest(tmp_path, monkeypatch):
    npm, integrity = fake_npm(tmp_path, RELEASE)
    monkeypatch.setattr(vendor, "INTEGRITY", integrity)
    target = tmp_path / "admin"
    digest = vendor.vendor(npm, target)
    assert (target / vendor.BUNDLE_NAME).read_bytes() == b"/* decap-cms.js */"
    assert digest == vendor.sha256(target / vendor.BUNDLE_NAME)
    assert sorted(path.name for path in target.iterdir()) == [
        "decap-cms.js",
        "decap-cms.js.LICENSE.txt",
        "decap-cms.js.br",
        "decap-cms.js.gz",
    ]


def test_npm_missing_says_what_to_install(tmp_path):
    with pytest.raises(vendor.VendorError, match="install Node.js"):
        vendor.vendor(str(tmp_path / "no-npm"), tmp_path / "admin")


def test_the_digest_is_recorded_in_the_one_place(tmp_path):
    module = tmp_path / "vendor.py"
    shutil.copy(vendor.__file__, module)
    vendor.record_sha256("ab" * 32, module)
    changed = module.read_text().replace(f'SHA256 = "{"ab" * 32}"', f'SHA256 = "{vendor.SHA256}"')
    assert changed == Path(vendor.__file__).read_text()
