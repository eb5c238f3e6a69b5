"""The comment renderer shared by the site and the endpoint: hostile input stays text."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from webforms import comment_text
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


def fresh_render(text):
    """What a Markdown built for this one comment gives (render_comment reuses one)."""
    return comment_text._clean(comment_text._markdown().convert(text))


# A reference, an abbreviation-like and a footnote-like definition, raw HTML, then texts
# that would pick up whatever an earlier comment left behind in a reused Markdown.
SEQUENCE = [
    "[site][1]\n\n[1]: https://example.org/defined",
    "[site][1] and [1]",
    "<div>\nblock\n</div>\n\nafter <b>bold</b> &amp;",
    "*[HTML]: Hyper\n\nHTML",
    "text[^1]\n\n[^1]: note",
    "line one\nline two\n\n> quote\n\n- a\n- b\n\n1. x\n2. y",
    "`code <b>` **strong *em***",
    "",
]


def test_each_comment_renders_as_if_alone_whatever_came_before():
    # Twice through: the second pass follows comments that defined references.
    for text in SEQUENCE + SEQUENCE[::-1]:
        assert render_comment(text) == fresh_render(text), text
    assert "href" not in render_comment("[site][1]")


def test_a_comment_that_fails_leaves_the_next_one_unharmed():
    with pytest.raises(UnicodeEncodeError):
        render_comment("[site][1]\n\n[1]: https://example.org/x\n\n\ud800")
    assert render_comment("[site][1]") == "<p>[site][1]</p>"


def test_threads_rendering_at_once_get_the_same_html():
    # The endpoint answers from several threads: each has its own Markdown.
    texts = SEQUENCE * 50
    expected = [fresh_render(text) for text in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(render_comment, texts)) == expected


def test_count_links_counts_linked_and_bare_addresses():
    assert count_links("no links here") == 0
    assert count_links("[a](https://a.example) and http://b.example") == 2
    assert count_links("www.c.example mailto:d@example.org <https://e.example>") == 3
