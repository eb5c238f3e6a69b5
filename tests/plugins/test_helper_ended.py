"""content_meta.helper_ended: how a build waits for a process it forked."""

import os
import time

import pytest

from plugins.content_meta import helper_ended
from tests.helpers import RecordedLog

LATE = "the helper took over %s s"


def fork(then):
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            then()
        finally:
            os._exit(0)
    return pid


@pytest.fixture(params=["pidfd", "polling"])
def waiting(request, monkeypatch):
    """Both ways of waiting: Linux's pidfd, and looking now and then elsewhere."""
    if request.param == "polling":
        monkeypatch.delattr(os, "pidfd_open")


def test_a_helper_that_ends_well_or_fails_is_told_apart_and_reaped(waiting):
    assert helper_ended(fork(lambda: None), 30, RecordedLog(), LATE) is True
    assert helper_ended(fork(lambda: os._exit(3)), 30, RecordedLog(), LATE) is False


def test_a_helper_still_running_at_the_deadline_is_stopped_and_reaped(waiting):
    pid = fork(lambda: time.sleep(600))
    started = time.monotonic()
    log = RecordedLog()
    assert helper_ended(pid, 0.3, log, LATE) is None
    assert log == ["the helper took over 0.3 s"]
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):  # reaped: nothing is left running
        os.waitpid(pid, os.WNOHANG)
