"""Serve a built folder on loopback the way a static host (Netlify, Cloudflare Pages) does.

`serving(folder)` answers GET and HEAD with a folder's index.html (and a redirect from
the address without its slash), 404.html with status 404 for anything missing, the
headers of every block of the root's `_headers` file whose path matches, and the `.br`
or `.gz` copy beside a file when the request accepts that encoding. The audit
(bench/audit.py) and the tests use it to see the published site as visitors will.
"""

import contextlib
import http.server
import mimetypes
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

# Best first: the copies pelican-precompress writes beside each text file.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def parse_headers_file(text):
    """[(compiled path pattern, [(name, value), ...]), ...] from a `_headers` file.

    An unindented line is a path, where `*` matches anything (`/*` is every path) and
    `:name` one segment; the indented `Name: value` lines below it are its headers.
    """
    rules = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            pattern = re.escape(line.strip()).replace(r"\*", ".*")
            pattern = re.sub(r":\w+", "[^/]+", pattern)
            rules.append((re.compile(pattern + r"\Z"), []))
        elif rules and ":" in line:
            name, value = line.split(":", 1)
            rules[-1][1].append((name.strip(), value.strip()))
    return rules


class StaticHostHandler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD of the files under `root`, with the `_headers` rules in `rules`."""

    root: Path
    rules: list
    protocol_version = "HTTP/1.1"  # keep-alive, as hosts do; every answer has a Content-Length

    def do_GET(self):  # noqa: N802 - name from the stdlib
        self._answer(send_body=True)

    def do_HEAD(self):  # noqa: N802 - name from the stdlib
        self._answer(send_body=False)

    def _answer(self, send_body):
        path = unquote(urlsplit(self.path).path)
        file = self._find(path)
        if file is not None and file.is_dir():
            self.send_response(301)
            self.send_header("Location", path + "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status = 200
        if file is None:
            status, file = 404, self._find("/404.html")
        if file is None:
            body, content_type, encoding = b"Not found\n", "text/plain", None
        else:
            content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            body, encoding = self._encoded(file)
        if content_type.startswith("text/") or content_type.endswith(("json", "xml")):
            content_type += "; charset=utf-8"
        headers = {"content-type": ("Content-Type", content_type)}
        if encoding:
            headers["content-encoding"] = ("Content-Encoding", encoding)
        headers["vary"] = ("Vary", "Accept-Encoding")
        # Headers from `_headers` override the host's own; a header that several matching
        # blocks set gets their values joined, as on Netlify and Cloudflare.
        custom = {}
        for pattern, block in self.rules:
            if pattern.match(path):
                for name, value in block:
                    if name.lower() in custom:
                        value = f"{custom[name.lower()][1]}, {value}"
                    custom[name.lower()] = (name, value)
        self.send_response(status)
        for name, value in {**headers, **custom}.values():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _find(self, path):
        """The file or folder a URL path names (a folder's index.html), or None.

        None for anything outside the root, for `_headers`, which hosts never serve, and
        for a path no file can have (a NUL byte, a name too long).
        """
        try:
            file = (self.root / path.lstrip("/")).resolve()
            if not file.is_relative_to(self.root) or file == self.root / "_headers":
                return None
            if file.is_dir():
                if not path.endswith("/"):
                    return file
                file = file / "index.html"
            return file if file.is_file() else None
        except (OSError, ValueError):
            return None

    def _encoded(self, file):
        """(body, Content-Encoding or None): the best precompressed copy the client accepts."""
        accepted = set()
        for item in self.headers.get("Accept-Encoding", "").split(","):
            name, _, params = item.partition(";")
            if not re.search(r"q=0(\.0*)?\s*$", params):  # q=0 refuses it
                accepted.add(name.strip())
        for encoding, suffix in ENCODINGS:
            copy = file.with_name(file.name + suffix)
            if encoding in accepted and copy.is_file():
                return copy.read_bytes(), encoding
        return file.read_bytes(), None

    def log_message(self, format, *args):  # noqa: A002 - signature from the stdlib
        pass


@contextlib.contextmanager
def serving(folder, port=0):
    """Serve `folder` on 127.0.0.1 until the block ends, on `port` (0: a free one).

    Yields the base URL, "http://127.0.0.1:PORT/".
    """
    root = Path(folder).resolve()
    headers_file = root / "_headers"
    rules = parse_headers_file(headers_file.read_text("utf-8")) if headers_file.is_file() else []
    handler = type("Handler", (StaticHostHandler,), {"root": root, "rules": rules})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    # A short poll: shutdown() at the end of the block waits for one.
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
