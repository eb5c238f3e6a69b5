"""`invoke audit` (bench/audit.py): Lighthouse on the published site, and how it reads reports.

The browser tests run the whole audit as `invoke audit` does, on the frozen sample content
(tests/fixtures/sample_site), so a volunteer's post never breaks them; `invoke audit`
itself audits content/. The other tests feed it small made-up builds and reports.
"""

import io
import json
import os
import time
from urllib.parse import urlsplit

import pytest

from bench import audit
from bench.audit import FORM_FACTORS, THRESHOLDS, AuditError, Result
from tests.helpers import SAMPLE_CONTENT

SITE = "http://127.0.0.1:8123/"


@pytest.fixture(scope="module")
def audited():
    """(results, passed, printed report) of one full audit of the sample site."""
    try:
        audit.check_lighthouse()
    except AuditError as error:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"the audit must run in CI: {error}")
        pytest.skip(str(error))
    out = io.StringIO()
    results, passed = audit.audit(content=SAMPLE_CONTENT, out=out)
    return results, passed, out.getvalue()


@pytest.mark.browser
def test_every_page_scores_at_least_the_thresholds(audited):
    results, passed, printed = audited
    assert passed, printed
    for result in results:
        assert not result.error, printed
        for category, least in THRESHOLDS.items():
            assert result.scores[category] >= least, printed


@pytest.mark.browser
def test_every_page_is_audited_mobile_and_desktop(audited):
    results, _, printed = audited
    audited_pages = [(result.page, result.form_factor) for result in results]
    assert audited_pages == [(page, form) for page in audit.ORDER for form in FORM_FACTORS], printed
    paths = {result.page: urlsplit(result.url).path for result in results}
    assert paths == {
        "home": "/",
        "post": "/blog/2013/big-list-online-organizing/",
        "training": "/trainings/digital-skills-for-labor/",
        "intern call": "/internships/fall-2013-online-organizing-intern/",
        "knowledge donors": "/knowledge-donors/",
        "subscribe": "/subscribe/",
        "search": "/search/",
    }
    assert all(result.url.startswith("http://127.0.0.1:") for result in results)


# --- Reading builds and reports, without a browser --------------------------------------


def write_build(folder, fixed=None, feed_urls=()):
    """A pretend build: index.html for each fixed path (default all) and a JSON feed."""
    for path in audit.FIXED_PAGES.values() if fixed is None else fixed:
        (folder / path).mkdir(parents=True, exist_ok=True)
        (folder / path / "index.html").write_text("<p>page</p>")
    (folder / "feeds").mkdir()
    items = [{"id": url, "url": url} for url in feed_urls]
    (folder / "feeds" / "all.json").write_text(json.dumps({"items": items}))
    return folder


def test_pages_are_the_fixed_ones_and_the_newest_of_each_kind(tmp_path):
    feed = [
        f"{SITE}trainings/newest-training/",
        f"{SITE}blog/2027/newest-post/",
        f"{SITE}blog/2026/older-post/",
        f"{SITE}trainings/older-training/",
    ]
    pages, problems, notes = audit.pages_to_audit(write_build(tmp_path, feed_urls=feed), SITE)
    assert list(pages) == ["home", "post", "training", "knowledge donors", "subscribe", "search"]
    assert pages["post"] == f"{SITE}blog/2027/newest-post/"
    assert pages["training"] == f"{SITE}trainings/newest-training/"
    assert pages["home"] == SITE and pages["search"] == f"{SITE}search/"
    assert problems == []
    assert notes == ["no intern call in the site's feed: none audited"]


def test_a_fixed_page_missing_from_the_build_is_a_problem(tmp_path):
    build = write_build(tmp_path, fixed=["", "knowledge-donors/", "subscribe/"])
    pages, problems, _ = audit.pages_to_audit(build, SITE)
    assert "search" not in pages
    assert problems == ["the search page, /search/, is not in the build"]
    out = io.StringIO()
    assert not audit.report(
        [Result("home", "mobile", SITE, dict.fromkeys(THRESHOLDS, 100))],
        THRESHOLDS,
        problems,
        out=out,
    )
    assert "Problem: the search page, /search/, is not in the build" in out.getvalue()


def lighthouse_report(scores, audits):
    """A Lighthouse JSON report: {category: score 0-1}, {audit id: (category, score, title)}."""
    return {
        "timing": {"total": 4321.0},
        "categories": {
            name: {
                "score": score,
                "auditRefs": [
                    {"id": audit_id, "weight": 1}
                    for audit_id, (category, _, _) in audits.items()
                    if category == name
                ],
            }
            for name, score in scores.items()
        },
        "audits": {
            audit_id: {
                "score": score,
                "title": title,
                "details": {"items": [{"node": {"selector": "footer > a"}}]},
            }
            for audit_id, (_, score, title) in audits.items()
        },
    }


def read(tmp_path, report):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    run = {"page": "post", "formFactor": "mobile", "url": SITE, "output": str(path)}
    return audit.read_report(run)


def test_a_report_under_the_thresholds_fails_and_names_the_audits(tmp_path):
    scores = {"performance": 0.96, "accessibility": 0.95, "best-practices": 1, "seo": 1}
    audits = {
        "target-size": ("accessibility", 0, "Touch targets do not have sufficient size"),
        "color-contrast": ("accessibility", 1, "Contrast is enough"),
        "largest-contentful-paint": ("performance", 0.9, "Largest Contentful Paint"),
    }
    result = read(tmp_path, lighthouse_report(scores, audits))
    assert result.scores == {
        "performance": 96,
        "accessibility": 95,
        "best-practices": 100,
        "seo": 100,
    }
    assert result.seconds == pytest.approx(4.321)
    assert [audit_id for _, audit_id, _, _ in result.failing] == [
        "largest-contentful-paint",
        "target-size",
    ]
    assert result.below(THRESHOLDS) == ["accessibility"]
    assert result.below(dict.fromkeys(THRESHOLDS, 100)) == ["performance", "accessibility"]
    out = io.StringIO()
    assert not audit.report([result], THRESHOLDS, out=out)
    printed = out.getvalue()
    assert "under threshold: accessibility" in printed
    assert (
        "accessibility: target-size: Touch targets do not have sufficient size (footer > a)"
        in printed
    )


def test_a_report_at_the_thresholds_passes(tmp_path):
    scores = {"performance": 0.95, "accessibility": 1, "best-practices": 1, "seo": 1}
    result = read(tmp_path, lighthouse_report(scores, {}))
    assert audit.report([result], THRESHOLDS, out=io.StringIO())
    assert not audit.report([result], dict.fromkeys(THRESHOLDS, 100), out=io.StringIO())


def test_a_run_lighthouse_could_not_finish_fails(tmp_path):
    report = {"runtimeError": {"code": "NO_FCP", "message": "The page did not paint"}}
    result = read(tmp_path, report)
    assert result.error == "The page did not paint"
    assert result.below(THRESHOLDS) == list(THRESHOLDS)
    out = io.StringIO()
    assert not audit.report([result], THRESHOLDS, out=out)
    assert "Lighthouse could not audit it: The page did not paint" in out.getvalue()
    run = {"page": "home", "formFactor": "mobile", "url": SITE, "output": str(tmp_path / "none")}
    assert audit.read_report(run).error.startswith("Lighthouse wrote no report")


def test_lighthouse_that_never_finishes_ends_the_audit_with_a_message(tmp_path, monkeypatch):
    # A runner that waits forever, as a stuck Chromium would; SIGINT ends it.
    runner = tmp_path / "stuck.mjs"
    runner.write_text("setInterval(() => {}, 1000);\n")
    monkeypatch.setattr(audit, "NODE_RUNNER", runner)
    monkeypatch.setattr(audit, "LIGHTHOUSE_SECONDS", 1)
    started = time.monotonic()
    with pytest.raises(AuditError, match="Lighthouse did not finish in 1 s"):
        audit.run_lighthouse({"home": SITE}, tmp_path, workers=2)
    assert time.monotonic() - started < 60


def test_a_failing_audit_quotes_what_it_found(tmp_path):
    audits = {"errors-in-console": ("best-practices", 0, "Browser errors were logged")}
    report = lighthouse_report({"best-practices": 0.96}, audits)
    items = [{"source": "other", "description": "Refused to\n  compile WebAssembly"}]
    report["audits"]["errors-in-console"]["details"] = {"items": items}
    assert read(tmp_path, report).failing == [
        (
            "best-practices",
            "errors-in-console",
            "Browser errors were logged",
            "Refused to compile WebAssembly",
        ),
    ]


def test_a_build_without_the_feed_is_a_problem(tmp_path):
    build = write_build(tmp_path)
    (build / "feeds" / "all.json").unlink()
    pages, problems, _ = audit.pages_to_audit(build, SITE)
    assert list(pages) == list(audit.FIXED_PAGES)
    assert problems == ["the site's feed, /feeds/all.json, is not in the build"]
