"""The test suite's own helpers, where a mistake would hide a failure."""

import sys

import pytest

from tests.helpers import run_bounded


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
