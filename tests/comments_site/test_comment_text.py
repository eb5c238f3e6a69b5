"""The comment renderer shared by the site and the endpoint: hostile input stays text."""

import re

import pytest

from webforms.comment_text import count_links, render_comment

REL = 'rel="nofollow ugc noopener"'


def tags(html):
    """The names of the elements in `html`."""
    return set(re.findall(r"<([a-z0-9]+)", html))


@pytest.mark.parametrize(
    "typed",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="https://example.org" onmouseover="alert(1)">x</a>',
        "<div>\n<iframe src=https://example.org></iframe>\n</div>",
        "<style>body{display:none}</style>",
    ],
)
def test_typed_html_is_shown_as_text_never_as_markup(typed):
    html = render_comment(typed)
    assert tags(html) <= {"p", "br"}
    # The reader sees what they typed, escaped.
    assert "&lt;" in html


@pytest.mark.parametrize(
    "address",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java&#x09;script:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "/relative/path",
        "//evil.example.org/",
    ],
)
def test_links_to_anything_but_http_https_or_mailto_lose_their_address(address):
    html = render_comment(f"[click me]({address})")
    assert "href" not in html
    assert "click me" in html


def test_allowed_links_keep_their_address_and_carry_the_rel():
    html = render_comment(
        "[site](https://example.org/a?b=1) [old](http://example.org) [m](mailto:a@example.org)"
    )
    assert html.count(REL) == 3
    assert 'href="https://example.org/a?b=1"' in html
    assert 'href="http://example.org"' in html
    assert 'href="mailto:a@example.org"' in html


def test_the_markdown_subset_renders():
    html = render_comment(
        "First *em* and **strong** and `code <b>`.\nSame paragraph.\n\n> quoted\n\n- one\n- two\n"
    )
    for tag in (
        "<p>",
        "<em>em</em>",
        "<strong>strong</strong>",
        "<br>",
        "<blockquote>",
        "<ul>",
        "<li>",
    ):
        assert tag in html
    assert "<code>code &lt;b&gt;</code>" in html
    assert "<ol>" in render_comment("1. first\n2. second")


def test_what_is_outside_the_subset_stays_text():
    assert render_comment("#union rocks") == "<p>#union rocks</p>"
    assert "<img" not in render_comment("![x](https://example.org/x.png)")
    assert "<h" not in render_comment("Title\n=====\n\n## Sub")


@pytest.mark.parametrize("broken", ["**unclosed [link](http://a", "[", "<", "> ", "`", "", "\x00"])
def test_broken_markdown_still_gives_safe_html(broken):
    assert tags(render_comment(broken)) <= {"p", "a", "strong", "em", "code", "blockquote"}


def test_count_links_counts_linked_and_bare_addresses():
    assert count_links("no links here") == 0
    assert count_links("[a](https://a.example) and http://b.example") == 2
    assert count_links("www.c.example mailto:d@example.org <https://e.example>") == 3
