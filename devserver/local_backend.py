"""The editor's local backend: Decap CMS's local-backend protocol, served by the dev server.

When the editor at /admin/ runs on loopback and its config has `local_backend`, Decap CMS
POSTs `{"action": ..., "params": {...}}` to /api/v1 and reads and writes the site's files
through it instead of GitHub: no git, no login, no Node. The actions and the shapes of the
answers are those of decap-server's localFs middleware
(packages/decap-server/src/middlewares/localFs), with stricter rules:

* only the collections' folders (the settings' ARTICLE_PATHS and PAGE_PATHS) and
  content/images are read or written; an absolute path, a `..`, a symlink leading out or
  any other folder is refused with 403 and a JSON `{"error": ...}`;
* every write goes to a temporary file in the same folder, then os.replace, so a crash
  never leaves half a post; its name (`.NAME.XXXX~`) is one the file watcher ignores;
* a new entry (Decap sends `options.newEntry`) or a rename never replaces an existing file
  holding other text: 409. An update replaces the file, as in decap-server: the protocol
  sends no version to compare with;
* `info` answers `type: local_fs` with `publish_modes: ["simple"]`, so Decap saves straight
  to the files (an editorial workflow in the config is switched to simple, as Decap does
  for decap-server); the workflow's actions are refused with 422.
"""

import base64
import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path, PurePosixPath

logger = logging.getLogger("devserver")

API_PATH = "/api/v1"
MEDIA_FOLDER = "images"  # under the content folder, as in the editor's config
MAX_REQUEST_BYTES = 64 * 1024 * 1024  # a few photos, base64-encoded


class BackendError(Exception):
    """A request the backend refuses: an HTTP status and a message for the editor."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class LocalBackend:
    """The protocol over a project root; reads and writes only under `folders`."""

    def __init__(self, root, folders):
        self.root = Path(root).resolve()
        # Resolved once, so a symlink anywhere on a request's path is judged by its target.
        self.folders = [(self.root / folder).resolve() for folder in folders]
        self._writing = threading.Lock()  # the server answers requests in threads
        self._actions = {
            "info": self.info,
            "entriesByFolder": self.entries_by_folder,
            "entriesByFiles": self.entries_by_files,
            "getEntry": self.get_entry,
            "persistEntry": self.persist_entry,
            "getMedia": self.get_media,
            "getMediaFile": self.get_media_file,
            "persistMedia": self.persist_media,
            "deleteFile": self.delete_file,
            "deleteFiles": self.delete_files,
            "getDeployPreview": lambda params: None,
        }

    @classmethod
    def for_settings(cls, root, settings, content=None):
        """The backend for a Pelican project (its settings, as Pelican reads them): its
        collections' folders and content/images."""
        content = Path(content or settings["PATH"]).resolve()
        names = [*settings["ARTICLE_PATHS"], *settings["PAGE_PATHS"], MEDIA_FOLDER]
        return cls(root, [content / name for name in names])

    # --- the protocol -------------------------------------------------------

    def handle(self, request):
        """Answer one decoded request: (HTTP status, JSON-ready answer)."""
        if not isinstance(request, dict) or not isinstance(request.get("action"), str):
            return 400, {"error": 'expected {"action": "...", "params": {...}}'}
        action = self._actions.get(request["action"])
        if action is None:
            message = f"unsupported action {request['action']!r} (saves go straight to files)"
            return 422, {"error": message}
        params = request.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise BackendError(400, "params must be an object")
            return 200, action(params)
        except BackendError as error:
            return error.status, {"error": error.message}
        except OSError as error:
            logger.error("devserver: the editor's %s failed: %s", request["action"], error)
            return 500, {"error": f"{request['action']} failed: {error.strerror or error}"}

    def info(self, params):
        """What makes Decap use this backend, in the file-system mode."""
        return {"repo": self.root.name, "publish_modes": ["simple"], "type": "local_fs"}

    def entries_by_folder(self, params):
        """Entries in `folder` ending with `extension`, `depth` levels down (1: no subfolders)."""
        folder = self._locate(params.get("folder"), "folder")
        extension = _string(params, "extension", empty=True)
        depth = params.get("depth", 1)
        if not isinstance(depth, int) or isinstance(depth, bool):
            raise BackendError(400, "depth must be a number")
        return [
            self._entry(path) for path in self._list(params["folder"], folder, extension, depth)
        ]

    def entries_by_files(self, params):
        """The entries at the given paths, with their labels; a missing file has data null."""
        files = params.get("files")
        if not isinstance(files, list) or not all(isinstance(file, dict) for file in files):
            raise BackendError(400, "files must be a list of {path, label}")
        return [self._entry(file.get("path"), file.get("label")) for file in files]

    def get_entry(self, params):
        """One entry: {data, file: {path, id}}, data null when the file is missing."""
        return self._entry(params.get("path"))

    def persist_entry(self, params):
        """Write an entry's files (`dataFiles`, or the older `entry`) and its `assets`."""
        data_files = params.get("dataFiles")
        if data_files is None and params.get("entry") is not None:
            data_files = [params["entry"]]
        if not isinstance(data_files, list) or not data_files:
            raise BackendError(400, "persistEntry needs dataFiles [{path, raw}] or entry")
        options = params.get("options") or {}
        new_entry = isinstance(options, dict) and options.get("newEntry") is True
        # Every path and every asset is checked before anything is written.
        writes = []  # (target, bytes, the file it replaces or None, whether it must be new)
        for data_file in data_files:
            if not isinstance(data_file, dict):
                raise BackendError(400, "each data file must be {path, raw}")
            path = self._locate(data_file.get("path"))
            raw = _string(data_file, "raw", empty=True).encode("utf-8")
            if data_file.get("newPath") not in (None, data_file["path"]):
                writes.append((self._locate(data_file["newPath"], "newPath"), raw, path, True))
            else:
                writes.append((path, raw, None, new_entry))
        for asset in _list_of(params, "assets"):
            writes.append((*self._asset(asset), None, False))
        with self._writing:
            for target, data, _, must_be_new in writes:
                if must_be_new and target.is_file() and target.read_bytes() != data:
                    raise BackendError(
                        409,
                        f"{self._relative(target)} already exists with other text; "
                        "nothing was saved: choose another title or slug",
                    )
            for target, data, renamed_from, _ in writes:
                _write_atomically(target, data)
                if renamed_from not in (None, target):
                    renamed_from.unlink(missing_ok=True)
        return {"message": "entry persisted"}

    def get_media(self, params):
        """Every file directly in `mediaFolder`, with its content."""
        folder = self._locate(params.get("mediaFolder"), "mediaFolder")
        return [self._media_file(path) for path in self._list(params["mediaFolder"], folder, "", 1)]

    def get_media_file(self, params):
        """One media file: {id, content (base64), encoding, path, name}."""
        path = params.get("path")
        if not self._locate(path).is_file():
            raise BackendError(404, f"{path} does not exist")
        return self._media_file(path)

    def persist_media(self, params):
        """Write one uploaded file (`asset`: {path, content, encoding: base64}); answer it."""
        target, data = self._asset(params.get("asset"))
        with self._writing:
            _write_atomically(target, data)
        return self._media_file(params["asset"]["path"])

    def delete_file(self, params):
        """Delete one file; a file already gone is not an error."""
        path = params.get("path")
        self._delete([path])
        return {"message": f"deleted file {path}"}

    def delete_files(self, params):
        """Delete several files (`paths`)."""
        paths = _list_of(params, "paths")
        self._delete(paths)
        return {"message": f"deleted files {', '.join(paths)}"}

    # --- paths, files and writes ---------------------------------------------

    def _locate(self, value, name="path"):
        """The file a path names, when it is inside one of the folders; else BackendError."""
        if not isinstance(value, str) or not value or "\0" in value:
            raise BackendError(400, f"{name} must be a non-empty string")
        relative = PurePosixPath(value)
        if relative.is_absolute() or ".." in relative.parts or "\\" in value:
            raise BackendError(403, f"{name} {value!r} must be relative, without '..'")
        target = (self.root / relative).resolve()
        if not any(target.is_relative_to(folder) for folder in self.folders):
            allowed = ", ".join(self._relative(folder) + "/" for folder in self.folders)
            raise BackendError(403, f"{name} {value!r} is outside the editor's folders: {allowed}")
        return target

    def _relative(self, path):
        return path.relative_to(self.root).as_posix()

    def _list(self, shown, folder, extension, depth):
        """Paths (as the request spells its folder) of files under `folder`, sorted.

        Hidden files and folders, such as a write's temporary file, are left out.
        """
        found = []
        if depth <= 0 or not folder.is_dir():
            return found
        for child in sorted(folder.iterdir()):
            name = f"{shown.rstrip('/')}/{child.name}"
            if child.name.startswith("."):
                continue
            try:
                target = self._locate(name)
            except BackendError:
                continue  # a symlink leading out
            if target.is_dir():
                found += self._list(name, target, extension, depth - 1)
            elif child.name.endswith(extension):
                found.append(name)
        return found

    def _entry(self, path, label=None):
        target = self._locate(path)
        file = {"path": path, "id": None}
        if label is not None:
            file["label"] = label
        try:
            content = target.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return {"data": None, "file": file}
        file["id"] = hashlib.sha256(content).hexdigest()
        return {"data": content.decode("utf-8", errors="replace"), "file": file}

    def _media_file(self, path):
        content = self._locate(path).read_bytes()
        return {
            "id": hashlib.sha256(content).hexdigest(),
            "content": base64.b64encode(content).decode("ascii"),
            "encoding": "base64",
            "path": path,
            "name": PurePosixPath(path).name,
        }

    def _asset(self, asset):
        """(target, bytes) of an uploaded file: {path, content, encoding: base64}."""
        if not isinstance(asset, dict) or asset.get("encoding") != "base64":
            raise BackendError(400, "an asset must be {path, content, encoding: base64}")
        target = self._locate(asset.get("path"))
        try:
            data = base64.b64decode(_string(asset, "content", empty=True), validate=True)
        except ValueError:
            raise BackendError(400, f"the content of {asset['path']} is not base64") from None
        return target, data

    def _delete(self, paths):
        targets = [self._locate(path) for path in paths]
        with self._writing:
            for target in targets:
                if not target.is_dir():
                    target.unlink(missing_ok=True)

    # --- HTTP -------------------------------------------------------------------

    def respond(self, request):
        """Answer a POST (or the CORS preflight) on API_PATH from an http.server handler.

        Only the dev server's own origin (under its loopback names) may call it: a page
        from any other site gets 403, so it cannot write into content/ through the browser.
        """
        origin = request.headers.get("Origin")
        if origin is not None and origin not in _own_origins(request.server.server_address):
            return _send(request, 403, {"error": f"requests from {origin} are refused"})
        if request.command == "OPTIONS":
            return _send(request, 204, None, origin)
        if request.headers.get_content_type() != "application/json":
            return _send(request, 415, {"error": "send application/json"}, origin)
        try:
            length = int(request.headers.get("Content-Length", ""))
        except ValueError:
            return _send(request, 411, {"error": "Content-Length is required"}, origin)
        if not 0 <= length <= MAX_REQUEST_BYTES:
            return _send(request, 413, {"error": "the request is too large"}, origin)
        try:
            decoded = json.loads(request.rfile.read(length))
        except ValueError:
            return _send(request, 400, {"error": "the body is not JSON"}, origin)
        status, answer = self.handle(decoded)
        return _send(request, status, answer, origin)


def _string(params, key, empty=False):
    value = params.get(key)
    if not isinstance(value, str) or not (value or empty):
        raise BackendError(400, f"{key} must be a string")
    return value


def _list_of(params, key):
    value = params.get(key, [])
    if not isinstance(value, list):
        raise BackendError(400, f"{key} must be a list")
    return value


def _write_atomically(target, data):
    """Write `data` to `target` through a temporary file beside it and os.replace."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix="~", dir=target.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private; keep the mode of the file replaced.
        os.chmod(temporary, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _own_origins(server_address):
    host, port = server_address[:2]
    names = {"127.0.0.1", "localhost", "[::1]", f"[{host}]" if ":" in host else host}
    return {f"http://{name}:{port}" for name in names}


def _send(request, status, answer, origin=None):
    body = b"" if status == 204 else json.dumps(answer, ensure_ascii=False).encode("utf-8")
    request.send_response(status)
    if origin is not None:
        # Same site under another loopback name (localhost and 127.0.0.1).
        request.send_header("Access-Control-Allow-Origin", origin)
        request.send_header("Access-Control-Allow-Methods", "POST")
        request.send_header("Access-Control-Allow-Headers", "Content-Type")
        request.send_header("Vary", "Origin")
    if status != 204:
        request.send_header("Content-Type", "application/json; charset=utf-8")
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)
