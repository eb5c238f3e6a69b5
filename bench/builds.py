"""Site builds for the benchmark: A (our configuration) against B (plain Pelican).

Every build runs as its own `python -m pelican` subprocess, as a volunteer's would.
"""

import os
import shutil
import sys
from pathlib import Path

from bench.measure import run_measured

ROOT = Path(__file__).resolve().parent.parent
OUR_SETTINGS = ROOT / "pelicanconf.py"
PLAIN_SETTINGS = ROOT / "bench" / "plainconf.py"


def build_a(content, output, cache, cold, database_url, memory=False, extra=()):
    """Build A: pelicanconf.py with every plugin, our theme and its reader cache.

    cold=True deletes the cache folder first (a first build, or `invoke clean`);
    cold=False keeps the cache the previous A build left (a volunteer's rebuild).
    The comments plugin reads the approved comments from `database_url` (the
    endpoint's DATABASE_URL), never from the developer's own data/ database.
    """
    if cold:
        shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(output, ignore_errors=True)
    cmd = [
        sys.executable, "-m", "pelican", str(content), "-s", str(OUR_SETTINGS),
        "-o", str(output), "--cache-path", str(cache), *extra,
    ]  # fmt: skip
    env = {**os.environ, "DATABASE_URL": database_url}
    return run_measured(cmd, cwd=ROOT, env=env, memory=memory)


def build_b(content, output, memory=False):
    """Build B: plain Pelican 4.12, simple theme, typogrify, same feeds, no cache."""
    shutil.rmtree(output, ignore_errors=True)
    cmd = [
        sys.executable, "-m", "pelican", str(content), "-s", str(PLAIN_SETTINGS),
        "-o", str(output),
    ]  # fmt: skip
    return run_measured(cmd, cwd=ROOT, memory=memory)
