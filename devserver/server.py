"""The development server behind `make serve`.

* serves the built site on http://127.0.0.1:PORT/ (404.html for missing pages);
* watches content, theme, plugins, settings, forms and the endpoint with
  watchfiles and asks the build worker (a warm Pelican, see worker.py) to
  rebuild: content and template edits re-render only the pages they touch
  (a file removed from the theme empties the output and renders everything),
  a change to plugins, settings, forms or the endpoint restarts the worker;
* reloads open tabs: every HTML page it serves gets one same-origin script,
  /__livereload.js, which listens to /__livereload (Server-Sent Events) and
  reloads when a newer build is announced. Files on disk are never changed.
  The editor's pages (CMS["save_as"], /admin/) get no script: each save there
  starts a build, and a reload would throw away what the writer types next;
* while the latest build has failed, answers every HTML page with the build's
  report instead (errorpage.py, status 500), so the open tab shows it and goes
  back to the real page once a build succeeds; other files are still served.
  The terminal gets the report once, one unwrapped line per problem;
* starts the form endpoint beside the site (`python -m endpoint --port N`)
  when the project has one;
* answers the editor at /admin/ on POST /api/v1 (local_backend.py: Decap CMS's
  local-backend protocol), which writes into content/; the watcher rebuilds as for
  any save.

Children run in their own process groups and are stopped (SIGTERM, then
SIGKILL) when the server stops, so Ctrl-C leaves no process behind.
"""

import functools
import http.server
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from . import errorpage
from .local_backend import API_PATH, LocalBackend

logger = logging.getLogger("devserver")

LIVERELOAD_SCRIPT = b"""\
(function () {
  var me = document.currentScript;
  var seen = me && me.getAttribute("data-build");
  if (!window.EventSource) return;
  var source = new EventSource("/__livereload");
  source.onmessage = function (event) {
    if (seen === null) { seen = event.data; return; }
    if (event.data !== seen) { source.close(); window.location.reload(); }
  };
})();
"""


class BuildAnnouncer:
    """The number of the latest finished build, and a way to wait for the next.

    `failure` is None after a build that worked, else the failed build's worker
    answer ({"error": ..., "logged": [...]}).
    """

    def __init__(self):
        self.build = 0
        self.failure = None
        self.closing = False
        self._changed = threading.Condition()

    def announce(self, failure=None):
        """A build finished (or failed, with the worker's answer): wake every open page."""
        with self._changed:
            self.build += 1
            self.failure = failure
            self._changed.notify_all()

    def state(self):
        """(build number, failure) of the latest build, read together."""
        with self._changed:
            return self.build, self.failure

    def close(self):
        """Let every waiting event stream end."""
        with self._changed:
            self.closing = True
            self._changed.notify_all()

    def wait(self, seen, timeout):
        """Block until a build newer than `seen` (or `timeout`); return the latest."""
        with self._changed:
            self._changed.wait_for(lambda: self.build != seen or self.closing, timeout)
            return self.build


class DevRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files from the output folder, with live reload in every HTML page."""

    announcer = None  # set per server
    local_backend = None  # set per server: the editor's API_PATH
    editor_path = None  # set per server: "/admin/", whose pages are never reloaded
    # config.yml as YAML: Decap logs a complaint about any other type.
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".yml": "text/yaml",
        ".yaml": "text/yaml",
    }
    _showing_failure = False

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        if self._showing_failure:
            return  # the terminal has the report already
        if args and str(args[1] if len(args) > 1 else "").startswith(("4", "5")):
            logger.info("devserver: %s %s", self.address_string(), format % args)

    def end_headers(self):
        # A preview must never show a stale copy from the browser cache.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self):
        """Serve events, the reload script, HTML with the script, or static files."""
        self._showing_failure = False
        path = urlsplit(self.path).path
        if path == "/__livereload":
            return self._event_stream()
        if path == "/__livereload.js":
            return self._send(200, LIVERELOAD_SCRIPT, "text/javascript; charset=utf-8")
        local = self.translate_path(self.path)
        if os.path.isdir(local):
            if not path.endswith("/"):
                self.send_response(301)
                parts = urlsplit(self.path)
                self.send_header(
                    "Location", parts.path + "/" + ("?" + parts.query if parts.query else "")
                )
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            local = os.path.join(local, "index.html")
        build, failure = self.announcer.state()
        if failure is not None and _is_page(local):
            return self._send_failure(build, failure)
        if local.endswith((".html", ".htm")) and os.path.isfile(local):
            if self.editor_path and path.startswith(self.editor_path):
                return super().do_GET()  # the editor: no live reload
            return self._send_html(200, local)
        if not os.path.exists(local):
            missing = os.path.join(self.directory, "404.html")
            if os.path.isfile(missing):
                return self._send_html(404, missing)
        return super().do_GET()

    def do_POST(self):
        """The editor's local backend on API_PATH; nothing else takes a POST."""
        self._showing_failure = False
        if urlsplit(self.path).path != API_PATH or self.local_backend is None:
            return self._send(404, b'{"error": "not found"}', "application/json")
        return self.local_backend.respond(self)

    do_OPTIONS = do_POST  # the CORS preflight, when the editor is open under localhost

    def _send(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_failure(self, build, failure):
        self._showing_failure = True
        body = errorpage.render(failure.get("error"), failure.get("logged") or (), build)
        self._send(500, body, "text/html; charset=utf-8")

    def _send_html(self, status, filename):
        try:
            with open(filename, "rb") as handle:
                body = handle.read()
        except OSError:
            self.send_error(404)
            return
        snippet = (
            f'<script src="/__livereload.js" data-build="{self.announcer.build}"></script>'
        ).encode()
        at = body.lower().rfind(b"</body>")
        body = body[:at] + snippet + body[at:] if at >= 0 else body + snippet
        self._send(status, body, "text/html; charset=utf-8")

    def _event_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        seen = self.announcer.build
        try:
            self.wfile.write(f"retry: 500\ndata: {seen}\n\n".encode())
            self.wfile.flush()
            while not self.announcer.closing:
                latest = self.announcer.wait(seen, timeout=15)
                if self.announcer.closing:
                    break
                if latest != seen:
                    seen = latest
                    self.wfile.write(f"data: {seen}\n\n".encode())
                else:
                    self.wfile.write(b": still here\n\n")
                self.wfile.flush()
        except OSError:
            pass  # the tab went away


def _editor_path(project_settings):
    """The editor's folder as a URL path ("/admin/"), or None when no editor is built."""
    from plugins.cms.plugin import check_settings, editor_written

    config = check_settings(project_settings)
    return f"/{config['save_as']}/" if editor_written(config) else None


def _is_page(local):
    """Whether a request for this file gets a page: HTML, or missing and not an asset."""
    if local.endswith((".html", ".htm")):
        return True
    # A missing page (a post not built yet, a wrong link) is answered with a page
    # too; a missing image or stylesheet is not, a browser would not show it.
    return not os.path.exists(local) and not os.path.splitext(local)[1]


class ChildProcess:
    """A child in its own process group, stopped with everything it started."""

    def __init__(self, name, command, cwd, env=None, **popen):
        self.name = name
        self.command = command
        self.cwd = cwd
        self.env = env
        self.popen = popen
        self.process = None

    def start(self):
        """Start the child in a new process group."""
        self.process = subprocess.Popen(
            self.command, cwd=self.cwd, env=self.env, process_group=0, **self.popen
        )
        return self.process

    def running(self):
        """True while the child is alive."""
        return self.process is not None and self.process.poll() is None

    def stop(self, grace=3.0):
        """SIGTERM the child's group, then SIGKILL whatever is left; reap the child."""
        process = self.process
        if process is None:
            return
        for stream in (process.stdin,):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        # Forked helpers may outlive the leader: the group goes in any case.
        _signal_group(process.pid, signal.SIGKILL)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            logger.error("devserver: %s (pid %s) did not stop", self.name, process.pid)
        if process.stdout:
            process.stdout.close()
        self.process = None


def _signal_group(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


class BuildWorker(ChildProcess):
    """The warm Pelican (worker.py) as a child process."""

    def __init__(self, root, settings, content, output, forms_endpoint, env, cache=None):
        command = [sys.executable, "-m", "devserver.worker", "--settings", str(settings)]
        if content:
            command += ["--content", str(content)]
        command += ["--output", str(output)]
        if forms_endpoint:
            command += ["--forms-endpoint", forms_endpoint]
        if cache:
            command += ["--cache", str(cache)]
        super().__init__(
            "build worker",
            command,
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def start(self):
        """Start the worker and wait for its first (full) build."""
        super().start()
        return self._answer()

    def build(self, full=False):
        """Ask for a rebuild and wait for it; returns the worker's answer."""
        if not self.running():
            return self.start()
        self.process.stdin.write(json.dumps({"full": full}) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def _answer(self):
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            stopped = "The build worker stopped; its last messages are in the terminal."
            return {"ok": False, "error": stopped, "fatal": True}
        return json.loads(line)


# The project's code folders: a change there restarts the build worker.
CODE_FOLDERS = ("plugins", "webforms", "forms", "endpoint")


def _settings_paths(settings_file, content, root):
    """Folders to watch, by what a change there needs: content, full or restart."""
    from pelican.settings import read_settings

    settings = read_settings(str(settings_file))
    base = Path(settings_file).resolve().parent
    content = Path(content or settings["PATH"]).resolve()
    theme = Path(settings["THEME"])
    theme = theme if theme.is_absolute() else (base / theme)
    watched = {"content": [content], "full": [], "restart": []}
    if theme.is_dir():
        watched["full"].append(theme.resolve())
    for name in CODE_FOLDERS:
        if (root / name).is_dir():
            watched["restart"].append((root / name).resolve())
    return watched


def _report(result, after=None):
    """Print a build's outcome; a failure's report once, one unwrapped line per problem."""
    seen = "" if after is None else f" ({after:.2f} s after the change was seen)"
    if not result.get("ok"):
        logger.error(
            "devserver: build FAILED%s; fix this and save (open tabs show it too):\n%s",
            seen,
            result.get("error") or "(no message)",
        )
        return
    text = f"built in {result.get('seconds', 0):.2f} s"
    if "rendered" in result:
        text += f": {result['rendered']} written, {result['skipped']} unchanged" + (
            f", {result['removed']} removed" if result.get("removed") else ""
        )
    logger.info("devserver: %s%s", text, seen)


def _announce(announcer, result):
    """Tell open tabs about a build: the new pages, or the failed build's report."""
    announcer.announce(None if result.get("ok") else result)


def serve(
    root,
    settings,
    port=8000,
    endpoint_port=8001,
    start_endpoint=True,
    content=None,
    output=None,
    host="127.0.0.1",
    cache=None,
):
    """Build, serve and live-reload until Ctrl-C (or SIGTERM); then stop everything."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    root = Path(root).resolve()
    settings = Path(settings).resolve()
    output = Path(output or root / "output").resolve()
    site_url = f"http://{host}:{port}"
    env = dict(os.environ)
    env.setdefault("SITEURL", site_url)
    endpoint_main = root / "endpoint" / "__main__.py"
    use_endpoint = start_endpoint and endpoint_main.is_file()
    forms_endpoint = f"http://{host}:{endpoint_port}" if use_endpoint else None

    # Stop cleanly on SIGTERM and SIGHUP as on Ctrl-C.
    def _interrupt(signum, frame):
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)

    from pelican.settings import read_settings

    announcer = BuildAnnouncer()
    project_settings = read_settings(str(settings))
    members = {
        "announcer": announcer,
        "local_backend": LocalBackend.for_settings(root, project_settings, content),
        "editor_path": _editor_path(project_settings),
    }
    handler = functools.partial(
        type("Handler", (DevRequestHandler,), members), directory=str(output)
    )
    try:
        httpd = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise SystemExit(
            f"devserver: cannot listen on {site_url} ({exc.strerror}); "
            "is another server running? Try `invoke serve --port 8002`."
        ) from None
    httpd.daemon_threads = True

    worker = BuildWorker(root, settings, content, output, forms_endpoint, env, cache)
    endpoint = None
    if use_endpoint:
        endpoint_env = dict(env)
        endpoint_env.setdefault("SITE_URL", site_url)
        endpoint_env.setdefault("ALLOWED_ORIGINS", f"{site_url},http://localhost:{port}")
        endpoint = ChildProcess(
            "form endpoint",
            [sys.executable, "-m", "endpoint", "--port", str(endpoint_port)],
            cwd=root,
            env=endpoint_env,
        )
    server_thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    stop = threading.Event()
    try:
        if endpoint:
            endpoint.start()
        # Watch before the first build, so no save is ever missed.
        watcher = Watcher(root, settings, content, output, stop)
        logger.info("devserver: building %s ...", output)
        result = worker.start()
        _report(result)
        # Before the first request: a first build that failed shows its report.
        _announce(announcer, result)
        server_thread.start()
        logger.info("devserver: serving %s/ (Ctrl-C to stop)", site_url)
        if endpoint:
            logger.info("devserver: form endpoint on %s", forms_endpoint)
        _rebuild_on_changes(watcher, root, worker, endpoint, announcer)
    except KeyboardInterrupt:
        logger.info("devserver: stopping")
    finally:
        stop.set()
        announcer.close()
        if server_thread.is_alive():
            httpd.shutdown()
        httpd.server_close()
        worker.stop()
        if endpoint:
            endpoint.stop()


class Watcher:
    """The watched folders and settings files, and the sets of paths changed in them."""

    def __init__(self, root, settings, content, output, stop):
        import watchfiles

        self.watched = _settings_paths(settings, content, root)
        self.settings_files = sorted({settings, *root.glob("*conf.py")})
        self._stamps = {path: _stamp(path) for path in self.settings_files}
        self.deleted = set()
        folders = [path for kind in self.watched.values() for path in kind]
        self._changes = watchfiles.watch(
            *folders,
            watch_filter=watchfiles.DefaultFilter(ignore_paths=[str(output)]),
            debounce=400,
            step=30,
            rust_timeout=300,
            yield_on_timeout=True,
            stop_event=stop,
        )
        # The first step starts the watcher; what it saw, the first build covers.
        next(self._changes, None)

    def __iter__(self):
        import watchfiles

        for changes in self._changes:
            changed = {Path(path) for _, path in changes}
            self.deleted = {
                Path(path) for change, path in changes if change == watchfiles.Change.deleted
            }
            for path in self.settings_files:
                if _stamp(path) != self._stamps[path]:
                    self._stamps[path] = _stamp(path)
                    changed.add(path)
            yield changed

    def kind_of_change(self, changed):
        """'restart' beats 'full' beats 'content'."""
        return _kind_of_change(changed, self.watched, self.settings_files, self.deleted)


def _rebuild_on_changes(watcher, root, worker, endpoint, announcer):
    endpoint_warned = False
    for changed in watcher:
        if endpoint and not endpoint.running() and not endpoint_warned:
            logger.warning("devserver: the form endpoint stopped; forms will not submit")
            endpoint_warned = True
        if not changed:
            continue
        kind = watcher.kind_of_change(changed)
        names = ", ".join(sorted(_short(p, root) for p in changed))
        started = time.perf_counter()
        if kind == "restart":
            logger.info("devserver: %s changed; restarting the build worker", names)
            worker.stop()
            if endpoint and any(
                _within(p, root / name)
                for p in changed
                for name in ("endpoint", "webforms", "forms")
            ):
                endpoint.stop()
                endpoint.start()
                endpoint_warned = False
            result = worker.start()
        else:
            logger.info("devserver: %s changed", names)
            result = worker.build(full=(kind == "full"))
        _report(result, time.perf_counter() - started)
        # A failure is announced too: the open tabs reload to show the report.
        _announce(announcer, result)


def _stamp(path):
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def _within(path, folder):
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
    except ValueError:
        return False
    return True


def _kind_of_change(changed, watched, settings_files, deleted=()):
    """What a set of changed paths needs: 'restart' beats 'full' beats 'content'.

    Plugins, settings, forms and the endpoint need a fresh worker. A theme
    edit is rebuilt incrementally (the incremental writer fingerprints every template a page
    uses, so each page using the edited template is rendered again); a file
    removed from the theme needs a full build, which clears the output.
    """
    kinds = set()
    for path in changed:
        if path in settings_files or any(_within(path, f) for f in watched["restart"]):
            kinds.add("restart")
        elif any(_within(path, f) for f in watched["full"]):
            gone = path in deleted and not path.exists()  # editors save by renaming
            kinds.add("full" if gone else "content")
        else:
            kinds.add("content")
    for kind in ("restart", "full", "content"):
        if kind in kinds:
            return kind
    return "content"


def _short(path, root):
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)
