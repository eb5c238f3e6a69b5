"""The editor's local backend (devserver/local_backend.py): every action, the refusals, the
atomic writes, and a post saved through a running `invoke serve` that is then served."""

import base64
import hashlib
import json
import os
import time
import urllib.error
import urllib.request

import pytest
import watchfiles
from pelican.settings import read_settings

from devserver import local_backend
from devserver.local_backend import LocalBackend
from tests.helpers import ROOT, copy_project, dev_server

POST = """\
Title: Saved from the editor
Date: 2026-12-01 10:00
Slug: saved-from-the-editor
Summary: A post the local backend test writes.

This sentence was written through the local backend.
"""
POST_PATH = "content/blog/2026-12-01-saved-from-the-editor.md"
# The smallest PNG: a binary file that must come back byte for byte.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def project(tmp_path):
    """A project root with two collection folders; media go to content/images."""
    (tmp_path / "content" / "blog").mkdir(parents=True)
    (tmp_path / "content" / "pages").mkdir()
    (tmp_path / "pelicanconf.py").write_text("SECRET = 1\n", "utf-8")
    return tmp_path


@pytest.fixture
def backend(project):
    return LocalBackend(project, ["content/blog", "content/pages", "content/images"])


def call(backend, action, expect=200, **params):
    """One request as the editor sends it; returns the answer after checking the status."""
    request = json.loads(json.dumps({"action": action, "params": {"branch": "main", **params}}))
    status, answer = backend.handle(request)
    assert status == expect, answer
    return json.loads(json.dumps(answer))  # what the editor receives


def persist(backend, path, raw, expect=200, new=True, **data_file):
    options = {"newEntry": new, "commitMessage": "save", "useWorkflow": False, "status": ""}
    data_files = [{"slug": "s", "path": path, "raw": raw, **data_file}]
    return call(backend, "persistEntry", expect, dataFiles=data_files, assets=[], options=options)


def test_info_makes_decap_use_the_file_system_in_simple_mode(backend, project):
    status, answer = backend.handle({"action": "info"})
    assert status == 200
    assert answer == {"repo": project.name, "publish_modes": ["simple"], "type": "local_fs"}


def test_a_new_entry_round_trips(backend, project):
    assert persist(backend, POST_PATH, POST) == {"message": "entry persisted"}
    assert (project / POST_PATH).read_text("utf-8") == POST
    entry = call(backend, "getEntry", path=POST_PATH)
    sha = hashlib.sha256(POST.encode()).hexdigest()
    assert entry == {"data": POST, "file": {"path": POST_PATH, "id": sha}}


def test_entries_by_folder_lists_the_extension_and_skips_hidden_files(backend, project):
    blog = project / "content" / "blog"
    (blog / "b.md").write_text("B", "utf-8")
    (blog / "a.md").write_text("A", "utf-8")
    (blog / "notes.txt").write_text("not an entry", "utf-8")
    (blog / ".a.md.x1y2~").write_text("a write in progress", "utf-8")
    (blog / "2026").mkdir()
    (blog / "2026" / "deeper.md").write_text("D", "utf-8")
    entries = call(backend, "entriesByFolder", folder="content/blog", extension="md", depth=1)
    assert [(e["file"]["path"], e["data"]) for e in entries] == [
        ("content/blog/a.md", "A"),
        ("content/blog/b.md", "B"),
    ]
    entries = call(backend, "entriesByFolder", folder="content/blog", extension="md", depth=2)
    assert "content/blog/2026/deeper.md" in [e["file"]["path"] for e in entries]
    # A collection folder that does not exist yet is empty, as in decap-server.
    assert call(backend, "entriesByFolder", folder="content/pages/x", extension="md", depth=1) == []


def test_entries_by_files_keeps_labels_and_answers_a_missing_file_with_null(backend, project):
    (project / "content" / "pages" / "about.md").write_text("About", "utf-8")
    files = [
        {"path": "content/pages/about.md", "label": "About"},
        {"path": "content/pages/gone.md"},
    ]
    about, gone = call(backend, "entriesByFiles", files=files)
    assert about["data"] == "About" and about["file"]["label"] == "About"
    assert gone == {"data": None, "file": {"path": "content/pages/gone.md", "id": None}}


def test_a_new_entry_never_replaces_another_file(backend, project):
    (project / POST_PATH).write_text("Someone else's post", "utf-8")
    answer = persist(backend, POST_PATH, POST, expect=409)
    assert "already exists" in answer["error"]
    assert (project / POST_PATH).read_text("utf-8") == "Someone else's post"


def test_saving_the_same_new_entry_twice_is_harmless(backend, project):
    persist(backend, POST_PATH, POST)
    persist(backend, POST_PATH, POST)  # the editor retrying after a lost answer
    assert (project / POST_PATH).read_text("utf-8") == POST


def test_an_update_replaces_the_text(backend, project):
    persist(backend, POST_PATH, POST)
    persist(backend, POST_PATH, POST.replace("written", "rewritten"), new=False)
    assert "rewritten through" in (project / POST_PATH).read_text("utf-8")


def test_the_older_entry_parameter_is_still_understood(backend, project):
    entry = {"slug": "s", "path": "content/pages/old.md", "raw": "Title: Old\n"}
    options = {"commitMessage": "save", "useWorkflow": False, "status": ""}
    call(backend, "persistEntry", entry=entry, assets=[], options=options)
    assert (project / "content" / "pages" / "old.md").read_text("utf-8") == "Title: Old\n"


def test_a_rename_moves_the_file_and_never_onto_another(backend, project):
    persist(backend, "content/blog/old.md", "one")
    persist(backend, "content/blog/old.md", "two", new=False, newPath="content/blog/new.md")
    assert not (project / "content/blog/old.md").exists()
    assert (project / "content/blog/new.md").read_text("utf-8") == "two"
    (project / "content/blog/taken.md").write_text("taken", "utf-8")
    persist(
        backend, "content/blog/new.md", "3", expect=409, new=False, newPath="content/blog/taken.md"
    )
    assert (project / "content/blog/new.md").read_text("utf-8") == "two"
    assert (project / "content/blog/taken.md").read_text("utf-8") == "taken"


def test_entry_assets_and_media_round_trip_in_base64(backend, project):
    content = base64.b64encode(PIXEL).decode()
    asset = {"path": "content/images/pixel.png", "content": content, "encoding": "base64"}
    options = {"newEntry": True, "commitMessage": "save", "useWorkflow": False, "status": ""}
    data_files = [{"slug": "s", "path": POST_PATH, "raw": POST}]
    call(backend, "persistEntry", dataFiles=data_files, assets=[asset], options=options)
    assert (project / "content/images/pixel.png").read_bytes() == PIXEL

    other = {**asset, "path": "content/images/other.png"}
    saved = call(backend, "persistMedia", asset=other, options={"commitMessage": "upload"})
    assert saved == {
        "id": hashlib.sha256(PIXEL).hexdigest(),
        "content": content,
        "encoding": "base64",
        "path": "content/images/other.png",
        "name": "other.png",
    }
    assert call(backend, "getMediaFile", path="content/images/other.png") == saved
    media = call(backend, "getMedia", mediaFolder="content/images")
    assert [file["name"] for file in media] == ["other.png", "pixel.png"]
    call(backend, "getMediaFile", 404, path="content/images/missing.png")
    bad = {**asset, "content": "not base64!"}
    assert "base64" in call(backend, "persistMedia", 400, asset=bad, options={})["error"]


def test_delete_file_and_files(backend, project):
    for name in ("a", "b", "c"):
        persist(backend, f"content/blog/{name}.md", name)
    call(backend, "deleteFile", path="content/blog/a.md", options={"commitMessage": "rm"})
    call(backend, "deleteFiles", paths=["content/blog/b.md", "content/blog/c.md"], options={})
    call(backend, "deleteFile", path="content/blog/a.md", options={})  # already gone
    assert list((project / "content" / "blog").iterdir()) == []


OUTSIDE = [
    "/etc/passwd",
    "pelicanconf.py",
    "content/extra/robots.txt",
    "content/blog/../../pelicanconf.py",
    "content/blog/../pages/x.md",
    "content/blog/link/escaped.md",
    "content/blog/link-file.md",
    "content\\blog\\x.md",
]


@pytest.fixture
def symlinks_out(project, tmp_path_factory):
    """content/blog/link is a folder and content/blog/link-file.md a file, both outside."""
    outside = tmp_path_factory.mktemp("outside")
    (outside / "escaped.md").write_text("outside", "utf-8")
    (project / "content/blog/link").symlink_to(outside, target_is_directory=True)
    (project / "content/blog/link-file.md").symlink_to(outside / "escaped.md")
    return outside


def _files(*folders):
    """Every file under the folders, with its bytes."""
    return {path: path.read_bytes() for f in folders for path in f.rglob("*") if path.is_file()}


@pytest.mark.parametrize("path", OUTSIDE)
def test_paths_outside_the_collections_are_refused(backend, project, symlinks_out, path):
    (project / POST_PATH).write_text(POST, "utf-8")
    before = _files(project, symlinks_out)
    asset = {"path": path, "content": "eA==", "encoding": "base64"}
    refused = [
        call(backend, "getEntry", 403, path=path),
        call(backend, "entriesByFiles", 403, files=[{"path": path}]),
        call(backend, "getMediaFile", 403, path=path),
        persist(backend, path, "x", expect=403),
        persist(backend, POST_PATH, "x", expect=403, new=False, newPath=path),
        call(backend, "persistMedia", 403, asset=asset, options={}),
        call(backend, "deleteFile", 403, path=path, options={}),
        call(backend, "deleteFiles", 403, paths=[POST_PATH, path], options={}),
    ]
    assert all("error" in answer for answer in refused)
    after = _files(project, symlinks_out)
    assert after == before


def test_folders_outside_are_refused_and_symlinks_out_are_not_listed(backend, symlinks_out):
    for folder in ("content", "/etc", "content/blog/..", "content/blog/link"):
        call(backend, "entriesByFolder", 403, folder=folder, extension="md", depth=1)
        call(backend, "getMedia", 403, mediaFolder=folder)
    entries = call(backend, "entriesByFolder", folder="content/blog", extension="md", depth=3)
    assert entries == []


@pytest.mark.parametrize(
    ("request_body", "status"),
    [
        ({"action": "unpublishedEntries", "params": {"branch": "main"}}, 422),
        ({"params": {}}, 400),
        ({"action": "getEntry", "params": []}, 400),
        ({"action": "getEntry", "params": {}}, 400),
        ({"action": "persistEntry", "params": {"assets": [], "options": {}}}, 400),
    ],
)
def test_malformed_requests_get_a_clear_error(backend, request_body, status):
    answer_status, answer = backend.handle(request_body)
    assert answer_status == status and answer["error"]


def test_a_write_that_fails_leaves_the_old_text_and_no_temporary_file(
    backend, project, monkeypatch
):
    persist(backend, POST_PATH, POST)
    replaced = []

    def crash(source, target):
        replaced.append((source, target))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(local_backend.os, "replace", crash)
    answer = persist(backend, POST_PATH, "half a post", expect=500, new=False)
    assert "No space left" in answer["error"]
    assert (project / POST_PATH).read_text("utf-8") == POST
    assert sorted(p.name for p in (project / "content/blog").iterdir()) == [
        os.path.basename(POST_PATH)
    ]
    # The temporary file was beside the post, under a name the watcher ignores.
    [(temporary, target)] = replaced
    assert os.path.dirname(temporary) == os.path.dirname(target)
    assert not watchfiles.DefaultFilter()(watchfiles.Change.added, temporary)


def test_folders_are_created_and_modes_kept(backend, project):
    persist(backend, "content/pages/sub/deep.md", "deep")
    path = project / "content/pages/sub/deep.md"
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o664)
    persist(backend, "content/pages/sub/deep.md", "deeper", new=False)
    assert path.stat().st_mode & 0o777 == 0o664


def test_the_projects_folders_come_from_the_settings():
    backend = LocalBackend.for_settings(ROOT, read_settings(str(ROOT / "pelicanconf.py")))
    names = sorted(folder.relative_to(ROOT).as_posix() for folder in backend.folders)
    assert names == [
        "content/blog",
        "content/images",
        "content/internships",
        "content/pages",
        "content/trainings",
    ]


# --- through a running `invoke serve` -----------------------------------------------


def _post(url, body, headers=None, path="/api/v1"):
    """POST JSON to the dev server; (status, decoded answer or None, headers)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url + path,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None, response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), error.headers


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`invoke serve` running on free ports from a copy of the site."""
    base = copy_project(tmp_path_factory.mktemp("serve"))
    with dev_server(base) as handle:
        yield {**handle, "base": base}


def test_a_post_saved_through_the_dev_server_is_served(server):
    url = server["url"]
    status, info, _ = _post(url, {"action": "info"})
    assert status == 200 and info["type"] == "local_fs"
    options = {"newEntry": True, "commitMessage": "Create post", "useWorkflow": False, "status": ""}
    params = {
        "branch": "main",
        "dataFiles": [{"slug": "saved-from-the-editor", "path": POST_PATH, "raw": POST}],
        "assets": [],
        "options": options,
    }
    status, answer, _ = _post(url, {"action": "persistEntry", "params": params})
    assert (status, answer) == (200, {"message": "entry persisted"})
    saved = time.monotonic()
    page = url + "/blog/2026/saved-from-the-editor/"
    while True:
        try:
            with urllib.request.urlopen(page, timeout=5) as response:
                if "written through the local" in response.read().decode("utf-8"):
                    break
        except urllib.error.HTTPError:
            pass
        if time.monotonic() - saved > 3:
            pytest.fail("the saved post was not served within 3 s:\n" + server["log"].read_text())
        time.sleep(0.05)

    status, entry, _ = _post(url, {"action": "getEntry", "params": {"path": POST_PATH}})
    assert status == 200 and entry["data"] == POST
    folder = {"folder": "content/blog", "extension": "md", "depth": 1}
    status, entries, _ = _post(url, {"action": "entriesByFolder", "params": folder})
    assert POST_PATH in [entry["file"]["path"] for entry in entries]


def test_the_dev_server_refuses_other_sites_and_answers_its_loopback_alias(server):
    url = server["url"]
    port = url.rsplit(":", 1)[1]
    info = {"action": "info"}
    status, answer, _ = _post(url, info, {"Origin": "http://evil.example"})
    assert status == 403 and "evil.example" in answer["error"]
    # A cross-site form can only send text/plain without asking first.
    assert _post(url, info, {"Content-Type": "text/plain"})[0] == 415
    alias = f"http://localhost:{port}"
    status, _, headers = _post(url, info, {"Origin": alias})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == alias
    preflight = urllib.request.Request(url + "/api/v1", method="OPTIONS", headers={"Origin": alias})
    with urllib.request.urlopen(preflight, timeout=5) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert _post(url, info, path="/api/v2")[0] == 404
