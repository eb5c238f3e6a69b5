"""The test suite's own helpers, where a mistake would hide a failure."""

import subprocess
import sys
import time

import pytest

from tests.helpers import process_alive, run_bounded, stop_session


def test_run_bounded_gives_what_the_command_wrote_and_its_exit_code():
    result = run_bounded([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"])
    assert (result.returncode, result.stdout) == (3, "out\n")


def test_a_command_that_hangs_fails_the_test_with_where_it_hung():
    hangs = "import time\ndef waiting_forever():\n    time.sleep(600)\nwaiting_forever()\n"
    with pytest.raises(pytest.fail.Exception) as failed:
        run_bounded([sys.executable, "-c", hangs], timeout=2)
    message = str(failed.value)
    assert "still ran after 2 s" in message
    assert "waiting_forever" in message  # faulthandler's stack of the hung process


def _starts_a_grouped_child(then_wait):
    """A command that starts a child in a process group of its own, as `invoke serve`
    starts the form endpoint, and prints the child's pid; it then waits (and ends on
    SIGTERM without stopping the child, as a dev server killed outright would) or ends."""
    return (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],\n"
        "                         process_group=0, stdout=subprocess.DEVNULL,\n"
        "                         stderr=subprocess.DEVNULL)\n"
        "print(child.pid, flush=True)\n" + ("time.sleep(600)\n" if then_wait else "")
    )


def _ends_soon(pid):
    deadline = time.monotonic() + 5
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not process_alive(pid)


def test_stop_session_stops_what_the_command_started_in_other_groups():
    process = subprocess.Popen(
        [sys.executable, "-c", _starts_a_grouped_child(then_wait=True)],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    with process.stdout:
        child = int(process.stdout.readline())
    assert process_alive(child)
    stop_session(process, grace=2)
    assert _ends_soon(child)


def test_run_bounded_leaves_nothing_the_command_started_running():
    result = run_bounded([sys.executable, "-c", _starts_a_grouped_child(then_wait=False)])
    assert _ends_soon(int(result.stdout))
