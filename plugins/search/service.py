"""A small client of `pagefind --service`: pages go in one at a time, the bundle comes out.

The protocol (Pagefind's src/service/): each message is a JSON object, base64-encoded and
followed by a comma, on Pagefind's stdin; each answer comes back the same way on its
stdout, with the `message_id` of its request, in the order the requests were sent.

A page is sent without waiting for its answer: Pagefind reads its input as it comes and
queues what it has not parsed yet, and queues its answers too, so neither side waits
for the other while pages go in. The answers are read when the bundle is asked for, and
any error among them is raised then. Pagefind's own Python client is not used: it looks
for answers every 0.1 s, which makes each page cost 0.1 s.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import subprocess
import tempfile

from pagefind_bin import get_executable


class PagefindError(Exception):
    """Pagefind refused a request or ended; the message is what it said."""


class PagefindService:
    """One `pagefind --service` process holding one index."""

    def __init__(self):
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [str(get_executable()), "--service"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self._last_id = 0
        self._answers: collections.deque = collections.deque()
        self._unread = b""  # the start of an answer not yet complete
        self._noise = b""  # what Pagefind wrote on stdout that was no answer
        try:
            self._index_id = self._call({"type": "NewIndex", "config": None})["index_id"]
        except PagefindError:
            self.close()
            raise

    def add_html(self, file_path: str, html: str):
        """Index one page; `file_path` is its path in the site, which gives its URL."""
        self._send(
            {
                "type": "AddFile",
                "index_id": self._index_id,
                "file_path": file_path,
                "url": None,
                "file_contents": html,
            }
        )

    def write_files(self, output_path):
        """Write the bundle of every page added into `output_path`, then end Pagefind."""
        self.wait_for_files(self.start_writing(output_path))

    def start_writing(self, output_path) -> int:
        """Ask for the bundle in `output_path` and return at once; see wait_for_files."""
        return self._send(
            {"type": "WriteFiles", "index_id": self._index_id, "output_path": str(output_path)}
        )

    def wait_for_files(self, request: int):
        """Wait until the bundle asked for by start_writing is written, then end Pagefind."""
        self._answer_to(request)
        self.close()

    def terminate(self):
        """Stop Pagefind at once, dropping its index; safe from another thread."""
        if self.process.poll() is None:
            self.process.kill()

    def close(self):
        """End Pagefind (it stops when its input ends) and free the pipes."""
        with contextlib.suppress(OSError):  # it ended by itself meanwhile
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.terminate()
            self.process.wait()
        self.process.stdout.close()
        self._stderr.close()

    def _send(self, payload) -> int:
        self._last_id += 1
        message = json.dumps({"message_id": self._last_id, "payload": payload}, ensure_ascii=False)
        try:
            self.process.stdin.write(base64.b64encode(message.encode()) + b",")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):  # ValueError: its input was closed
            raise self._ended() from None
        return self._last_id

    def _call(self, payload) -> dict:
        """Send a request and read the answers up to its own; raises on any error in them."""
        return self._answer_to(self._send(payload))

    def _answer_to(self, message_id: int) -> dict:
        while True:
            answer = self._next_answer()
            body = answer["payload"]
            if body["type"] == "Error":
                raise PagefindError(body["message"])
            if answer["message_id"] == message_id:
                return body

    def _next_answer(self) -> dict:
        while not self._answers:
            chunk = self.process.stdout.read1(65536)
            if not chunk:
                self._noise += self._unread
                raise self._ended()
            *messages, self._unread = (self._unread + chunk).split(b",")
            for message in messages:
                try:
                    self._answers.append(json.loads(base64.b64decode(message, validate=True)))
                except ValueError:
                    self._noise += message + b","
        return self._answers.popleft()

    def _ended(self) -> PagefindError:
        code = self.process.wait()
        self._stderr.seek(0)
        said = (self._noise + self._stderr.read()).decode("utf-8", "replace").strip()
        return PagefindError(f"Pagefind ended (exit {code}). It said:\n{said or '(nothing)'}")
