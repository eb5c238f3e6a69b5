"""The fastbuild plugin: parallel rendering writes what Pelican's own Writer writes."""

import ast
import json
import shutil

import pytest

from tests.helpers import ROOT, comparable_output, output_files, run_pelican

EXTRA_POSTS = 30


def _plugins_without_fastbuild():
    tree = ast.parse((ROOT / "pelicanconf.py").read_text("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "PLUGINS" for target in node.targets
        ):
            plugins = ast.literal_eval(node.value)
            break
    assert "fastbuild" in plugins
    return [name for name in plugins if name != "fastbuild"]


def _said(result):
    """Everything the build printed, with Rich's line wrapping undone."""
    return " ".join((result.stdout + result.stderr).split())


@pytest.fixture(scope="module")
def content(tmp_path_factory):
    """The real content plus enough posts for several index pages."""
    folder = tmp_path_factory.mktemp("fastbuild") / "content"
    shutil.copytree(ROOT / "content", folder)
    for number in range(1, EXTRA_POSTS + 1):
        (folder / "blog" / f"parallel-{number}.md").write_text(
            f"Title: Parallel post {number}\nDate: 2014-01-{number:02d} 08:00\n"
            f"Author: Charles Lenchner\nSlug: parallel-{number}\n"
            f"Tags: {'alpha' if number % 2 else 'beta'}, parallel\n"
            f"Summary: Post {number} of a batch rendered on two cores.\n\n"
            f"Post {number} links to [the first one]({{filename}}parallel-1.md) "
            f'and says "hello" -- twice.\n',
            "utf-8",
        )
    return folder


def test_parallel_build_is_byte_identical_to_pelicans_writer(content, tmp_path):
    stock, parallel = tmp_path / "stock", tmp_path / "parallel"
    run_pelican(content, stock, extra=["-e", f"PLUGINS={json.dumps(_plugins_without_fastbuild())}"])
    result = run_pelican(
        content,
        parallel,
        extra=["-e", 'FASTBUILD={"workers": 2, "min_parallel_pages": 1}', "-v"],
    )
    assert "fastbuild: 0 files rendered" not in _said(result)
    assert "fastbuild:" in _said(result)
    built, expected = output_files(parallel), output_files(stock)
    assert sorted(built) == sorted(expected)
    assert len(expected) > 60
    differing = [
        name
        for name in expected
        if comparable_output(name, built[name]) != comparable_output(name, expected[name])
    ]
    assert differing == []


def test_a_misspelt_setting_stops_the_build_with_a_clear_message(content, tmp_path):
    result = run_pelican(
        content, tmp_path / "out", extra=["-e", 'FASTBUILD={"worker": 2}'], check=False
    )
    assert result.returncode != 0
    assert "fastbuild: unknown FASTBUILD key(s) worker" in _said(result)


def test_a_template_error_in_a_worker_fails_the_build(content, tmp_path):
    theme = tmp_path / "theme"
    shutil.copytree(ROOT / "theme", theme)
    article = theme / "templates" / "article.html"
    article.write_text(
        article.read_text("utf-8").replace(
            "{% block content %}", "{% block content %}{{ article.no_such_thing.boom() }}", 1
        ),
        "utf-8",
    )
    result = run_pelican(
        content,
        tmp_path / "out",
        extra=[
            "-e",
            f"THEME={json.dumps(str(theme))}",
            'FASTBUILD={"workers": 2, "min_parallel_pages": 1}',
        ],
        check=False,
    )
    assert result.returncode != 0
    assert "no_such_thing" in _said(result)
