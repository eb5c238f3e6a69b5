"""bench/measure.py: the peak memory of a process tree, and the same without Pagefind."""

import os
import sys

from bench.measure import APART, run_measured

MB = 1024 * 1024
# A child that holds 80 MB for a second, then ends.
HOLD = "import time; block = b'x' * (80 * 1024 * 1024); time.sleep(1)"


def test_a_child_named_pagefind_counts_in_the_peak_but_not_in_the_peak_without_it(tmp_path):
    apart = tmp_path / APART  # the kernel names a process after the file it runs
    os.symlink(sys.executable, apart)
    parent = f"import subprocess; subprocess.run([{str(apart)!r}, '-c', {HOLD!r}], check=True)"
    measured = run_measured([sys.executable, "-c", parent], memory=True)
    whole, without = measured["peak_pss_bytes"], measured["peak_pss_without_apart_bytes"]
    assert whole - without > 70 * MB, (whole / MB, without / MB)
    assert without > 5 * MB  # the parent itself is still counted
