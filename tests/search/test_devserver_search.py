"""`make serve`'s build worker refreshes the search index after each answer.

That the build itself leaves the index alone when deferred (so a reload never waits
for Pagefind) is tested in test_search_plugin.py; here the worker indexes each build
soon after answering it, and its index is byte for byte a clean build's.
"""

import json
import shutil
import subprocess
import sys
import time

from tests.helpers import ROOT, comparable_output, output_files, run_pelican
from tests.search.conftest import cache_override, indexed

NEW_POST = """\
Title: Marmalade for the strike fund
Date: 2014-06-01 10:00
Summary: Jars sold at the gate.

The marmalade stall raised more for the strike fund than the raffle.
"""


def eventually(condition, seconds=60):
    """Wait until `condition()` holds; False if it never does within `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def comparable(folder):
    """{name: bytes} of a build's files, build-time stamps masked."""
    return {name: comparable_output(name, data) for name, data in output_files(folder).items()}


def test_the_worker_indexes_each_build_after_answering(search_site, tmp_path):
    content = tmp_path / "content"
    shutil.copytree(search_site["content"], content)
    output = tmp_path / "output"
    command = [sys.executable, "-m", "devserver.worker", "--settings", str(ROOT / "pelicanconf.py")]
    command += ["--content", str(content), "--output", str(output)]
    command += ["--cache", str(tmp_path / "cache")]
    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
        )
        try:
            assert json.loads(worker.stdout.readline())["ok"]
            assert eventually(lambda: "/about/" in indexed(output))
            # A clean build of the same files writes the very same index (and pages).
            clean = tmp_path / "clean"
            run_pelican(content, clean, extra=cache_override(tmp_path / "cache"))
            built, expected = comparable(output), comparable(clean)
            assert sorted(set(built) ^ set(expected)) == []
            assert [name for name in expected if built[name] != expected[name]] == []

            (content / "blog" / "2014-06-01-marmalade.md").write_text(NEW_POST, "utf-8")
            worker.stdin.write(json.dumps({"full": False}) + "\n")
            worker.stdin.flush()
            assert json.loads(worker.stdout.readline())["ok"]
            url = "/blog/2014/marmalade-for-the-strike-fund/"
            assert eventually(lambda: url in indexed(output)), (tmp_path / "worker.log").read_text()
            assert "marmalade stall" in indexed(output)[url]["content"]
        finally:
            worker.stdin.close()
            worker.wait(30)
            worker.stdout.close()
    assert "search:" not in (tmp_path / "worker.log").read_text()
