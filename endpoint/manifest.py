"""The site's manifest: the trainings, intern calls and posts the endpoint takes forms about.

The site's build writes it (`forms/manifest.json`, by plugins/forms) from the content,
so capacity, dates, time zones, status and Apply_By are written once, by the writer.
The endpoint reads it from SITE_MANIFEST: an http(s) address (by default
SITE_URL/forms/manifest.json, the published copy) or a file path. It keeps what it read
for MANIFEST_TTL seconds (60), so a training published a minute ago takes registrations
with no redeploy; when the site cannot be reached the last copy it read stays in use,
and with no copy at all the form is answered 503 with nothing saved.

Entries are plain dicts, as the build wrote them (see plugins/forms/manifest.py).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime

log = logging.getLogger("endpoint")

FETCH_TIMEOUT_SECONDS = 5
# The manifest's section for each kind a form can be about (webforms ABOUT_KINDS).
SECTIONS = {"training": "trainings", "internship": "internships", "post": "posts"}


class ManifestUnavailable(RuntimeError):
    """The manifest could not be read and no earlier copy is known."""


class Manifest:
    """The manifest at `source`, read on first use and again after `ttl` seconds."""

    def __init__(self, source: str, ttl: float = 60.0, clock=time.monotonic):
        self.source = source
        self.ttl = ttl
        self.clock = clock
        self._data: dict | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def entry(self, kind: str, slug: str) -> dict | None:
        """The manifest's entry for training, internship or post `slug`, or None if none."""
        return self._current().get(SECTIONS[kind], {}).get(slug)

    def endpoint(self) -> str:
        """The endpoint's public address as the site links to it ("" if the build said none)."""
        return str(self._current().get("endpoint") or "").rstrip("/")

    def _current(self) -> dict:
        with self._lock:
            if self._data is None or self.clock() - self._read_at >= self.ttl:
                try:
                    self._data = self._read()
                except (OSError, ValueError) as error:
                    if self._data is None:
                        raise ManifestUnavailable(f"{self.source}: {error}") from None
                    log.warning(
                        "endpoint: could not read the site manifest (%s); using the copy "
                        "read earlier",
                        type(error).__name__,
                    )
                self._read_at = self.clock()
            return self._data

    def _read(self) -> dict:
        if self.source.startswith(("http://", "https://")):
            from urllib.request import urlopen  # only when used: it is slow to import

            with urlopen(self.source, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
                text = response.read()
        else:
            with open(self.source, "rb") as file:
                text = file.read()
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != 1:
            raise ValueError("not a version 1 site manifest")
        return data


def closed_reason(kind: str, entry: dict | None, now: datetime) -> str | None:
    """Why a form about this training, intern call or post cannot be taken now, or None."""
    if kind == "post":
        from .comments import post_refusal  # comments are the only form about a post

        return post_refusal(entry, now)
    if entry is None:
        what = "training" if kind == "training" else "internship"
        return (
            f"We could not find this {what} on the site; it may have been removed. "
            "Nothing was saved."
        )
    if kind == "training":
        status = entry.get("status")
        if status == "cancelled":
            return "This training was cancelled, so registration is closed. Nothing was saved."
        if status == "postponed":
            return (
                "This training was postponed; registration opens again when it has a new "
                "date. Nothing was saved."
            )
        if datetime.fromisoformat(entry["end"]) <= now:
            return "This training has ended, so registration is closed. Nothing was saved."
        return None
    if datetime.fromisoformat(entry["closes_at"]) <= now:
        return (
            f"Applications for this internship closed at the end of {entry['apply_by_text']}. "
            "Nothing was saved."
        )
    return None
