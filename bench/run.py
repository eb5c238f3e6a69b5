"""`invoke bench`: build and endpoint figures, one `name value` line each, and a JSON file.

    python -m bench [--quick] [--posts N] [--output FILE]

Figures carry their unit in the name (_s, _ms, _mb, _bytes, _per_s) or are
plain ratios and counts. Build A is our configuration (pelicanconf.py with
every plugin), every feature on: its comments plugin reads COMMENTS_PER_POST
approved comments on every generated post from a SQLite database the run fills
first (bench.synthetic.fill_comments; site_<N>_comments says how many are stored,
build_<N>_A_comments_shown how many A's post pages show). B is plain Pelican
4.12 (bench/plainconf.py), which has no comments. Each piece of
speed machinery is also measured switched off (PIECES), at N and 200 posts. "cold" means A's
content cache was deleted first (a first build or after `invoke clean`);
"warm" means the cache the previous A build wrote was kept (a rebuild with
no change, like a volunteer's second `make build`). B uses no cache: plain
Pelican's default.
"""

import argparse
import inspect
import json
import math
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import builds, endpoint_load, pages
from bench.synthetic import fill_comments, generate_site

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "bench-results" / "bench.json"
SITE_URL = "http://127.0.0.1:8000"
# The second site size each piece of speed machinery is measured at.
PIECES_ALSO_AT = 200
# Approved readers' comments on each generated post in every A build.
COMMENTS_PER_POST = 10


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run in under a minute")
    parser.add_argument("--posts", type=int, default=None, help="posts in the site (1000)")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="JSON file to write")
    args = parser.parse_args(argv)
    if args.posts is not None and args.posts < 1:
        parser.error("--posts must be at least 1")
    return args


class Figures:
    """Collects figures, printing each as `name value` the moment it is known."""

    def __init__(self):
        self.values = {}
        self.notes = []
        self.failed = []
        self.runs = {}  # every measured run behind a median

    def add(self, name, value):
        if isinstance(value, float):
            value = round(value, 4)
        self.values[name] = value
        print(f"{name} {value}", flush=True)

    def note(self, text):
        self.notes.append(text)
        print(f"# {text}", flush=True)


# Each piece of speed machinery that stays (README, "Performance"): the figure
# it serves, and the -e override that switches it off.
PIECES = {
    "parallel_reading": ("A_cold", ["-e", 'FASTREAD={"workers": 1}']),
    "typogrify_memo": ("A_warm", ["-e", 'FASTREAD={"typogrify_memo": false}']),
    "skip_idle_smartypants": ("A_cold", ["-e", 'FASTREAD={"skip_idle_smartypants": false}']),
    # Pelican's -e replaces a dict setting whole: these repeat pelicanconf.py's other keys.
    "comments_read_early": (
        "A_cold",
        ["-e", 'COMMENTS={"close_after_days": 90, "source": "database", "read_early": false}'],
    ),
    "search_written_early": ("A_cold", ["-e", 'SEARCH={"enabled": true, "write_early": false}']),
}


def _site(figures, work, posts):
    """A site of `posts` posts and its comments database: (content, database URL, counts)."""
    content = work / f"site-{posts}"
    counts = generate_site(content, posts)
    database = endpoint_load.sqlite_url(work, f"comments-{posts}")
    counts["comments"] = fill_comments(database, posts, COMMENTS_PER_POST)
    figures.add(f"site_{posts}_comments", counts["comments"])
    return content, database, counts


def _comments_shown(output):
    """Comments (replies included) on the generated posts' pages of a built site."""
    marker = '<li class="comment" id="comment-'
    pages = output.glob("blog/*/post-*/index.html")
    return sum(page.read_text(encoding="utf-8").count(marker) for page in pages)


def _check_comments(figures, posts, output, stored):
    shown = _comments_shown(output)
    figures.add(f"build_{posts}_A_comments_shown", shown)
    if shown != stored:
        figures.note(f"A build at {posts} posts shows {shown} of the {stored} stored comments")


def _piece_runs(content, work, database, tag=""):
    """Build runs for A cold and warm, and each with one piece switched off."""
    out_a = work / f"out-a{tag}"

    def build(cache, cold, extra=()):
        return builds.build_a(content, out_a, cache, cold, database, extra=extra)

    runs = {
        "A_cold": lambda: build(work / f"cache-a{tag}", cold=True),
        "A_warm": lambda: build(work / f"cache-a{tag}", cold=False),
    }
    for piece, (figure, off) in PIECES.items():
        cache = work / f"cache-{piece}{tag}"

        def run(cache=cache, off=off, cold=figure == "A_cold"):
            return build(cache, cold, extra=off)

        runs[f"{figure}_without_{piece}"] = run
    return runs, out_a


def _add_piece_gains(figures, posts, medians):
    for piece, (figure, _) in PIECES.items():
        without = medians[f"{figure}_without_{piece}"]
        figures.add(f"build_{posts}_{figure}_without_{piece}_median_s", without)
        # The share of the figure the piece saves: it stays only at 0.05 or more.
        figures.add(f"piece_{piece}_{posts}_gain", (without - medians[figure]) / without)


def _alternate(runs, rounds, warm_up=True):
    """Warm up every run once, then alternate them `rounds` times: (wall, cpu) lists.

    The quick run skips the warm-up: it checks that every part runs, not how fast.
    """
    for run in runs.values() if warm_up else ():
        run()  # imports, page cache, the pyc files; the warm runs' caches
    times = {name: [] for name in runs}
    cpu = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            measured = run()
            times[name].append(measured["seconds"])
            cpu[name].append(measured["cpu_seconds"])
    return times, cpu


def bench_builds(figures, work, posts, rounds, warm_up=True):
    """A cold, A warm, B, and A with each piece of speed machinery off, alternated."""
    content, database, counts = _site(figures, work, posts)
    figures.add(f"site_{posts}_posts", counts["posts"])
    figures.add(f"site_{posts}_trainings", counts["trainings"])
    figures.add(f"site_{posts}_intern_calls", counts["intern_calls"])
    runs, out_a = _piece_runs(content, work, database)
    runs["B"] = lambda: builds.build_b(content, work / "out-b")
    times, cpu = _alternate(runs, rounds, warm_up)
    figures.runs[f"build_{posts}_wall_s"] = times
    figures.runs[f"build_{posts}_cpu_s"] = cpu
    # The last run left A's output where the page weights can read it.
    runs["A_cold"]()
    _check_comments(figures, posts, out_a, counts["comments"])
    medians = {name: statistics.median(values) for name, values in times.items()}
    medians.update({f"{name}_cpu": statistics.median(values) for name, values in cpu.items()})
    for name in ("A_cold", "A_warm", "B"):
        figures.add(f"build_{posts}_{name}_median_s", medians[name])
        figures.add(f"build_{posts}_{name}_cpu_median_s", statistics.median(cpu[name]))
    # The fastest run of each is the least disturbed by whatever else the machine runs.
    fastest = {name: min(values) for name, values in times.items()}
    for name in ("A_cold", "A_warm", "B"):
        figures.add(f"build_{posts}_{name}_min_s", fastest[name])
    figures.add(f"build_{posts}_ratio_A_cold_over_B_min", fastest["A_cold"] / fastest["B"])
    b = medians["B"]
    figures.add(f"build_{posts}_ratio_A_cold_over_B", medians["A_cold"] / b)
    figures.add(f"build_{posts}_ratio_A_warm_over_B", medians["A_warm"] / b)
    _add_piece_gains(figures, posts, medians)
    return content, out_a, medians


def bench_pieces(figures, work, posts, rounds):
    """Each piece's figure with it and without it at another site size."""
    content, database, _ = _site(figures, work, posts)
    runs, out_a = _piece_runs(content, work, database, tag=f"-{posts}")
    times, _ = _alternate(runs, rounds)
    figures.runs[f"pieces_{posts}_wall_s"] = times
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name in ("A_cold", "A_warm"):
        figures.add(f"build_{posts}_{name}_median_s", medians[name])
    _add_piece_gains(figures, posts, medians)
    for folder in (out_a, content):
        builds.shutil.rmtree(folder, ignore_errors=True)


def bench_scale(figures, work, small, large, small_medians):
    """One A (cold) and one B build at `large` posts: time growth and peak memory."""
    content, database, counts = _site(figures, work, large)
    out_a, out_b = work / "out-large-a", work / "out-large-b"
    a = builds.build_a(content, out_a, work / "cache-large", True, database, memory=True)
    _check_comments(figures, large, out_a, counts["comments"])
    b = builds.build_b(content, out_b, memory=True)
    figures.add(f"build_{large}_A_cold_s", a["seconds"])
    figures.add(f"build_{large}_B_s", b["seconds"])
    figures.add(f"build_{large}_over_{small}_A_cold", a["seconds"] / small_medians["A_cold"])
    figures.add(f"build_{large}_over_{small}_B", b["seconds"] / small_medians["B"])
    # CPU seconds grow the same way but are far less disturbed by other work.
    figures.add(
        f"build_{large}_over_{small}_A_cold_cpu", a["cpu_seconds"] / small_medians["A_cold_cpu"]
    )
    figures.add(f"build_{large}_over_{small}_B_cpu", b["cpu_seconds"] / small_medians["B_cpu"])
    mb = 1024 * 1024
    figures.add(f"peak_memory_{large}_A_pss_mb", a["peak_pss_bytes"] / mb)
    figures.add(f"peak_memory_{large}_B_pss_mb", b["peak_pss_bytes"] / mb)
    figures.add(
        f"peak_memory_{large}_ratio_A_over_B_pss", a["peak_pss_bytes"] / b["peak_pss_bytes"]
    )
    # The same without Pagefind's process (search), whose index dominates A's peak.
    without = a["peak_pss_without_apart_bytes"]
    figures.add(f"peak_memory_{large}_A_pss_without_pagefind_mb", without / mb)
    figures.add(
        f"peak_memory_{large}_ratio_A_without_pagefind_over_B_pss", without / b["peak_pss_bytes"]
    )
    # When A's peak fell (0: start, 1: end of the build) and how many processes it
    # summed: whether forked readers were part of it or the main process alone.
    figures.add(f"peak_memory_{large}_A_pss_at_share_of_build", a["peak_pss_share"])
    figures.add(f"peak_memory_{large}_A_processes_at_peak", a["peak_pss_processes"])
    figures.add(f"peak_memory_{large}_A_rss_sum_mb", a["peak_rss_bytes"] / mb)
    figures.add(f"peak_memory_{large}_B_rss_sum_mb", b["peak_rss_bytes"] / mb)
    figures.add(
        f"peak_memory_{large}_ratio_A_over_B_rss_sum", a["peak_rss_bytes"] / b["peak_rss_bytes"]
    )
    for folder in (out_a, out_b, content):
        builds.shutil.rmtree(folder, ignore_errors=True)


def bench_pages(figures, output):
    """HTML + CSS + JS bytes of one page per template of the A build."""
    weights = pages.template_weights(output, SITE_URL)
    for template, sizes in weights.items():
        figures.add(f"page_bytes_{template}", sizes["total"])
    if weights:
        figures.add("page_bytes_max", max(sizes["total"] for sizes in weights.values()))


def bench_save_to_page(figures, content, work, quick):
    """Save-to-page from bench.save_to_page (the dev-server work), when it exists."""
    try:
        from bench import save_to_page
    except ImportError:
        figures.note("save_to_page: bench/save_to_page.py is not in the repository yet; skipped")
        return
    measure = getattr(save_to_page, "measure_save_to_page", None)
    if measure is None:
        figures.note("save_to_page: measure_save_to_page() not found; skipped")
        return
    offered = {"content": content, "work": work, "quick": quick, "site_url": SITE_URL}
    accepted = inspect.signature(measure).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    kwargs = {k: v for k, v in offered.items() if takes_any or k in accepted}
    try:
        result = measure(**kwargs)
    except Exception as error:  # noqa: BLE001 - report it, finish the other figures
        figures.note(f"save_to_page failed: {type(error).__name__}: {error}")
        figures.failed.append("save_to_page")
        return
    if isinstance(result, dict):
        for name, value in result.items():
            figures.add(name if name.startswith("save_to_page") else f"save_to_page_{name}", value)
    else:
        figures.add("save_to_page_s", float(result))


def _add_load(figures, prefix, result):
    figures.add(f"{prefix}_submissions_per_s", result["submissions_per_s"])
    figures.add(f"{prefix}_p50_ms", result["p50_ms"])
    figures.add(f"{prefix}_p99_ms", result["p99_ms"])
    figures.add(f"{prefix}_ok_answers", result["ok"])
    figures.add(f"{prefix}_stored_rows", result["stored"])
    figures.add(f"{prefix}_lost", result["lost"])
    figures.add(f"{prefix}_failed_requests", result["errors"])
    figures.add(f"{prefix}_peak_rss_mb", result["peak_rss_mb"])


def bench_endpoint(figures, work, seconds, open_seconds):
    """Cold import; 32 clients against the baseline, SQLite and PostgreSQL; 200/s offered."""
    figures.add("endpoint_cold_import_ms", endpoint_load.cold_import_ms())
    figures.note(
        "endpoint load: MIN_FILL_SECONDS=0 and FORM_LIMIT_PER_HOUR=0 for the run (each "
        "submission from a loopback address of its own); every other check stays on"
    )
    figures.note(
        "endpoint load: the documented server, `python -m endpoint --port N` (granian, "
        "1 worker); baseline: bench/endpoint_baseline.py under granian, 1 worker"
    )
    baseline = endpoint_load.load_test(
        endpoint_load.sqlite_url(work, "baseline"), seconds, baseline=True
    )
    results = {"sqlite": endpoint_load.load_test(endpoint_load.sqlite_url(work), seconds)}
    with endpoint_load.ThrowawayPostgres() as url:
        results["postgres"] = endpoint_load.load_test(url, seconds)
    _add_load(figures, "endpoint_baseline_32_clients", baseline)
    for database, result in results.items():
        _add_load(figures, f"endpoint_{database}_32_clients", result)
    figures.add(
        "endpoint_ratio_sqlite_over_baseline_32_clients",
        results["sqlite"]["submissions_per_s"] / baseline["submissions_per_s"],
    )
    opened = endpoint_load.load_test(endpoint_load.sqlite_url(work, "open"), open_seconds, rate=200)
    _add_load(figures, "endpoint_sqlite_open_200_per_s", opened)


def main(argv=None):
    """Run every benchmark; returns the process exit code."""
    args = parse_args(argv)
    quick = args.quick
    posts = args.posts or (40 if quick else 1000)
    large = posts * 5
    rounds = 1 if quick else 3
    seconds = 1 if quick else 20  # quick: does every part run, not how fast
    open_seconds = 1 if quick else 20
    figures = Figures()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        work = Path(folder)
        content, output_a, medians = bench_builds(figures, work, posts, rounds, not quick)
        if not quick and posts != PIECES_ALSO_AT:
            bench_pieces(figures, work, PIECES_ALSO_AT, rounds)
        bench_pages(figures, output_a)
        bench_scale(figures, work, posts, large, medians)
        bench_save_to_page(figures, content, work, quick)
        bench_endpoint(figures, work, seconds, open_seconds)
    figures.add("bench_total_s", time.perf_counter() - started)
    result = {
        "figures": figures.values,
        "notes": figures.notes,
        "failed": figures.failed,
        "runs": figures.runs,
        "settings": {"quick": quick, "posts": posts, "large_posts": large, "rounds": rounds,
                     "load_seconds": seconds, "load_clients": 32,
                     "open_load_seconds": open_seconds, "open_load_rate": 200},
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": len(__import__("os").sched_getaffinity(0))},
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    bad = [name for name, value in figures.values.items()
           if isinstance(value, float) and not math.isfinite(value)]  # fmt: skip
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"# wrote {output}", file=sys.stderr)
    if bad or figures.failed:
        print(f"# figures without a value: {', '.join(bad + figures.failed)}", file=sys.stderr)
        return 1
    return 0
