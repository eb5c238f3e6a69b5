"""`invoke bench --quick` runs end to end and writes every figure (times are not asserted)."""

import json
import math
import sys

from tests.helpers import ROOT, run_bounded

EXPECTED = [
    "site_40_comments",
    "build_40_A_comments_shown",
    "build_200_A_comments_shown",
    "build_40_A_cold_median_s",
    "build_40_A_warm_median_s",
    "build_40_B_median_s",
    "build_40_A_cold_without_parallel_reading_median_s",
    "build_40_A_warm_without_typogrify_memo_median_s",
    "build_40_A_cold_without_skip_idle_smartypants_median_s",
    "piece_parallel_reading_40_gain",
    "piece_typogrify_memo_40_gain",
    "piece_skip_idle_smartypants_40_gain",
    "piece_comments_read_early_40_gain",
    "piece_search_written_early_40_gain",
    "build_40_ratio_A_cold_over_B",
    "build_40_ratio_A_warm_over_B",
    "build_200_A_cold_s",
    "build_200_B_s",
    "build_200_over_40_A_cold",
    "build_200_over_40_B",
    "peak_memory_200_A_pss_mb",
    "peak_memory_200_B_pss_mb",
    "peak_memory_200_ratio_A_over_B_pss",
    "peak_memory_200_A_pss_without_pagefind_mb",
    "peak_memory_200_ratio_A_without_pagefind_over_B_pss",
    "peak_memory_200_ratio_A_over_B_rss_sum",
    "page_bytes_index",
    "page_bytes_article",
    "page_bytes_page",
    "page_bytes_max",
    "endpoint_cold_import_ms",
]
LOAD = [
    "submissions_per_s",
    "p50_ms",
    "p99_ms",
    "ok_answers",
    "stored_rows",
    "lost",
    "failed_requests",
]


def test_bench_quick_writes_every_figure(tmp_path):
    output = tmp_path / "bench.json"
    invoke = [sys.executable, "-m", "invoke", "bench", "--quick", "--output", str(output)]
    result = run_bounded(invoke, timeout=400, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr

    report = json.loads(output.read_text(encoding="utf-8"))
    figures = report["figures"]
    expected = EXPECTED + [
        f"endpoint_{database}_32_clients_{name}"
        for database in ("sqlite", "postgres")
        for name in LOAD
    ]
    missing = [name for name in expected if name not in figures]
    assert not missing, missing
    for name, value in figures.items():
        assert isinstance(value, int | float) and math.isfinite(value), (name, value)
        # Each figure is also printed as one `name value` line.
        assert f"\n{name} {value}\n" in "\n" + result.stdout + "\n", name
    # Build A shows every comment stored on the generated posts.
    assert figures["build_40_A_comments_shown"] == figures["site_40_comments"] == 400
    assert figures["build_200_A_comments_shown"] == figures["site_200_comments"] == 2000
    # The peak without Pagefind's process is part of the whole tree's peak.
    without = figures["peak_memory_200_A_pss_without_pagefind_mb"]
    assert 0 < without <= figures["peak_memory_200_A_pss_mb"]
    for template in ("index", "article", "page"):
        assert figures[f"page_bytes_{template}"] > 1000
    for database in ("sqlite", "postgres"):
        prefix = f"endpoint_{database}_32_clients"
        assert figures[f"{prefix}_ok_answers"] > 0
        # Every success the endpoint answered is a stored row: nothing lost.
        assert figures[f"{prefix}_stored_rows"] == figures[f"{prefix}_ok_answers"]
        assert figures[f"{prefix}_lost"] == 0
    assert report["settings"]["quick"] is True
