"""Run a command and measure its wall time and the peak memory of its whole process tree."""

import os
import subprocess
import threading
import time
from pathlib import Path

from tests.helpers import descendants

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.02
# Processes reported apart as well as in the sum: the search indexer (plugins/search).
APART = "pagefind"


def _memory(pid):
    """(RSS, PSS) of one process in bytes; (0, 0) once it is gone."""
    try:
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0, 0
    pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError):
        pss = rss
    return rss, pss


def _name(pid) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class _Sampler(threading.Thread):
    """Samples the summed RSS and PSS of a process and all its descendants.

    It also notes when the PSS peak fell (seconds from the start) and how many
    processes were alive then, so a report shows whether forked workers were
    part of it, and the peak of the summed PSS without the APART processes.
    """

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_pss_at = 0.0
        self.peak_pss_processes = 0
        self.peak_pss_without_apart = 0
        self.stop = threading.Event()

    def run(self):
        started = time.perf_counter()
        while not self.stop.is_set():
            rss = pss = apart = alive = 0
            for pid in [self.pid, *descendants(self.pid)]:
                one_rss, one_pss = _memory(pid)
                rss += one_rss
                pss += one_pss
                alive += one_rss > 0
                if one_pss and _name(pid) == APART:
                    apart += one_pss
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss_without_apart = max(self.peak_pss_without_apart, pss - apart)
            if pss > self.peak_pss:
                self.peak_pss = pss
                self.peak_pss_at = time.perf_counter() - started
                self.peak_pss_processes = alive
            self.stop.wait(SAMPLE_SECONDS)


def run_measured(cmd, cwd=None, env=None, memory=False):
    """Run `cmd`; return {"seconds", "cpu_seconds", "output"}, and with memory=True
    "peak_rss_bytes", "peak_pss_bytes", "peak_pss_share" (when the PSS peak fell, as
    a share of the wall time: 0 at the start, 1 at the end), "peak_pss_processes"
    and "peak_pss_without_apart_bytes" (the peak without Pagefind).

    Memory is the peak of the summed RSS (shared pages counted in every process)
    and summed PSS (shared pages split between the processes sharing them) of
    the process and all its descendants, sampled every 20 ms; the RSS figure is
    never less than the kernel's own maximum RSS of the main process (wait4).
    Raises RuntimeError with the command's output if it fails.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sampler = _Sampler(proc.pid) if memory else None
    if sampler:
        sampler.start()
    output_chunks = []
    reader = threading.Thread(target=lambda: output_chunks.append(proc.stdout.read()))
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    proc.stdout.close()  # or each run leaves a pipe open until the garbage collector
    if sampler:
        sampler.stop.set()
        sampler.join()
    output = b"".join(output_chunks).decode("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{output}")
    # CPU time of the process and every descendant it waited for (what `time` shows).
    result = {"seconds": elapsed, "cpu_seconds": usage.ru_utime + usage.ru_stime, "output": output}
    if sampler:
        kernel_peak = usage.ru_maxrss * 1024
        result["peak_rss_bytes"] = max(sampler.peak_rss, kernel_peak)
        result["peak_pss_bytes"] = sampler.peak_pss
        result["peak_pss_share"] = min(sampler.peak_pss_at / elapsed, 1.0) if elapsed else 0.0
        result["peak_pss_processes"] = sampler.peak_pss_processes
        result["peak_pss_without_apart_bytes"] = sampler.peak_pss_without_apart
    return result
