"""Save-to-page: how long after a writer saves a post its page on disk shows the change.

Two servers are compared on the same content:

* ours: the dev server of `make serve` (`python -m devserver`, a warm Pelican
  that re-renders only the pages an edit touches), with the given settings;
* plain: `pelican --autoreload` with its reader-level content cache on, which
  rebuilds the whole site on every change.

Each starts in its own temporary output and cache folders, builds once, and
then one post is edited `repeats` times (a new sentence appended each time).
The clock starts right before the file is written and stops when the post's
page file contains the new sentence; the server's rebuild is then let finish
before the next edit. The figure is the median.

    python -m bench.save_to_page CONTENT_DIR [--plain] [--settings FILE]
"""

import argparse
import os
import queue
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUR_SETTINGS = ROOT / "pelicanconf.py"
PLAIN_SETTINGS = ROOT / "bench" / "plainconf.py"
# What each server prints when a build has finished.
BUILD_DONE = {"ours": re.compile(r"devserver: (built|build FAILED)"), "plain": re.compile(r"Done:")}
START_TIMEOUT = 600
CHANGE_TIMEOUT = 120


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _content_folder(site_dir):
    site_dir = Path(site_dir)
    return site_dir / "content" if (site_dir / "content").is_dir() else site_dir


def _pick_post(content):
    """The middle blog post (by file name): neither newest nor oldest."""
    posts = sorted((content / "blog").rglob("*.md")) or sorted(content.rglob("*.md"))
    if not posts:
        raise ValueError(f"save_to_page: no Markdown posts under {content}")
    return posts[len(posts) // 2]


def _slug(post):
    match = re.search(r"^Slug:\s*(\S+)\s*$", post.read_text("utf-8"), re.MULTILINE)
    return match.group(1) if match else post.stem


def _find_page(output, slug):
    pages = [p for p in output.rglob("*.html") if slug in p.relative_to(output).as_posix()]
    if len(pages) != 1:
        raise RuntimeError(f"save_to_page: expected one page for {slug!r}, found {pages}")
    return pages[0]


class _Server:
    """A server process whose output lines are counted as builds finish."""

    def __init__(self, command, kind, cwd):
        self.kind = kind
        self.builds = 0
        self.lines = queue.Queue()
        self.log = []
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.log.append(line)
            if BUILD_DONE[self.kind].search(line):
                self.lines.put(line)

    def wait_for_build(self, timeout):
        """Block until the next finished build is reported."""
        try:
            self.lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(
                f"save_to_page: {self.kind} server reported no build in {timeout} s:\n"
                + "".join(self.log[-30:])
            ) from None

    def stop(self):
        """Ctrl-C the server (it cleans up its children), then make sure."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._reader.join(5)
        self.process.stdout.close()


def measure_save_to_page(
    site_dir=None,
    settings=None,
    plain=False,
    *,
    content=None,
    work=None,
    quick=False,
    repeats=None,
):
    """Median seconds from saving one post to its page file showing the change.

    `site_dir` is the content folder (or a folder holding content/), `settings`
    the Pelican settings file (default: ours, or bench/plainconf.py when
    `plain`), `plain` picks `pelican --autoreload` instead of our dev server.

    Called the way `invoke bench` calls it (content=..., work=..., quick=...),
    it measures both and returns a dict of figures: ours, plain, and the ratio.
    """
    if site_dir is None:
        if content is None:
            raise TypeError("measure_save_to_page needs site_dir (or content)")
        runs = 1 if quick else (repeats or 5)
        ours = measure_save_to_page(content, OUR_SETTINGS, plain=False, repeats=runs)
        theirs = measure_save_to_page(content, PLAIN_SETTINGS, plain=True, repeats=runs)
        return {
            "save_to_page_ours_s": round(ours, 3),
            "save_to_page_plain_s": round(theirs, 3),
            "save_to_page_ours_over_plain": round(ours / theirs, 3),
        }
    content_dir = _content_folder(site_dir)
    settings = Path(settings or (PLAIN_SETTINGS if plain else OUR_SETTINGS)).resolve()
    repeats = repeats or 5
    with tempfile.TemporaryDirectory(prefix="save-to-page-") as folder:
        folder = Path(folder)
        # Edit a copy: the caller's content stays as it was.
        site = folder / "content"
        shutil.copytree(content_dir, site)
        output, cache = folder / "output", folder / "cache"
        if plain:
            command = [
                sys.executable, "-m", "pelican", str(site), "-s", str(settings),
                "-o", str(output), "--autoreload",
                "-e", "CACHE_CONTENT=true", "LOAD_CONTENT_CACHE=true",
                f"CACHE_PATH={_json(str(cache))}",
            ]  # fmt: skip
            kind = "plain"
        else:
            command = [
                sys.executable, "-m", "devserver", "--settings", str(settings),
                "--content", str(site), "--output", str(output), "--cache", str(cache),
                "--port", str(_free_port()), "--no-endpoint",
            ]  # fmt: skip
            kind = "ours"
        server = _Server(command, kind, cwd=ROOT)
        try:
            server.wait_for_build(START_TIMEOUT)
            post = _pick_post(site)
            page = _find_page(output, _slug(post))
            # Plain Pelican starts watching only once its build is done.
            time.sleep(1.0)
            timings = []
            for _ in range(repeats):
                marker = f"savetopage{uuid.uuid4().hex}"
                text = post.read_text("utf-8").rstrip("\n") + f"\n\nEdited {marker} here.\n"
                started = time.perf_counter()
                post.write_text(text, "utf-8")
                timings.append(_wait_for(page, marker, started))
                # Let the rest of that rebuild finish before the next edit.
                server.wait_for_build(CHANGE_TIMEOUT)
                time.sleep(0.5)
        finally:
            server.stop()
    return statistics.median(timings)


def _json(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wait_for(page, marker, started):
    needle = marker.encode()
    while time.perf_counter() - started < CHANGE_TIMEOUT:
        try:
            if needle in page.read_bytes():
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.002)
    raise RuntimeError(f"save_to_page: {page} did not show the edit in {CHANGE_TIMEOUT} s")


def main(argv=None):
    """Print the save-to-page figure for one content folder."""
    parser = argparse.ArgumentParser(prog="python -m bench.save_to_page")
    parser.add_argument("site_dir", help="content folder (e.g. from bench/synthetic.py)")
    parser.add_argument("--settings", help="settings file (default: ours, or plainconf)")
    parser.add_argument("--plain", action="store_true", help="pelican --autoreload instead")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    seconds = measure_save_to_page(args.site_dir, args.settings, args.plain, repeats=args.repeats)
    print(f"save_to_page_{'plain' if args.plain else 'ours'}_s {seconds:.3f}")


if __name__ == "__main__":
    main()
