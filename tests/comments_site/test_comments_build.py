"""The comments plugin in a real build: pages, lists, feeds, manifest and search index."""

import gzip
import http.server
import json
import logging
import os
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import feedparser
import pytest

from plugins.comments import plugin
from tests.comments_site.conftest import NOW, build, write_content
from tests.helpers import RecordedLog

HIDDEN_WORDS = ("heldword", "Held Harry", "rejectedword", "Rejected Rita", "Never shown", "c8@")


def page(site, slug):
    return (site["output"] / "blog" / "2013" / slug / "index.html").read_text(encoding="utf-8")


def test_approved_comments_are_on_the_page_with_replies_one_level_deep(comments_site):
    html = page(comments_site, "open-post")
    section = html[html.index('<section class="comments"') :]
    # Ana's comment holds both replies: Ben's, and Cy's reply to Ben (one level).
    ana = section[section.index('id="comment-c1"') : section.index('id="comment-c4"')]
    assert 'id="comment-c2"' in ana and 'id="comment-c3"' in ana
    assert ana.count('class="comment-list comment-list--replies"') == 1
    assert '<a href="https://example.org" rel="nofollow ugc noopener">this</a>' in ana
    # The date is the site's zone: 03:30 UTC on the 22nd is the 21st in New York.
    assert '<time datetime="2013-07-21T23:30:00-04:00">July 21, 2013</time>' in ana
    assert '<a href="#comment-c2">' in ana
    di = section[section.index('id="comment-c4"') :]
    assert "Answering a removed comment." in di
    assert 'Comments <span class="comments__count">(4)</span>' in section
    assert 'action="http://127.0.0.1:8001/forms/comment"' in section
    assert 'name="post" value="open-post"' in section
    assert "Comments close on October 18, 2013." in section


def test_nothing_unapproved_or_from_a_post_without_comments_is_written_anywhere(comments_site):
    for path in comments_site["output"].rglob("*"):
        if path.is_file() and path.suffix in (".html", ".xml", ".json"):
            text = path.read_text(encoding="utf-8", errors="replace")
            for word in HIDDEN_WORDS:
                assert word not in text, (word, path)


@pytest.mark.parametrize("slug", ["closed-post", "old-post"])
def test_closed_posts_show_their_comments_without_the_form(comments_site, slug):
    html = page(comments_site, slug)
    assert "Comments on this post are closed." in html
    assert 'id="form-comment"' not in html and "comments.js" not in html
    if slug == "closed-post":
        assert 'id="comment-c7"' in html and "lighthousekeeper" in html


def test_a_post_with_comments_none_has_no_comments_section_feed_or_manifest_entry(
    comments_site,
):
    html = page(comments_site, "quiet-post")
    assert 'class="comments"' not in html and "comments/quiet-post" not in html
    assert not (comments_site["output"] / "feeds" / "comments" / "quiet-post.atom.xml").exists()


def test_post_lists_show_how_many_comments_each_post_has(comments_site):
    listing = comments_site["output"] / "blog" / "category" / "blog" / "index.html"
    items = listing.read_text(encoding="utf-8").split('class="post-list__item"')[1:]
    counts = {item.split("/blog/2013/")[1].split("/")[0]: item for item in items}
    assert '<a href="../../../blog/2013/open-post/#comments">4 comments</a>' in counts["open-post"]
    assert (
        '<a href="../../../blog/2013/closed-post/#comments">1 comment</a>' in counts["closed-post"]
    )
    assert "#comments" not in counts["old-post"]


def test_the_manifest_lists_posts_taking_or_showing_comments(comments_site):
    manifest = json.loads((comments_site["output"] / "forms" / "manifest.json").read_text())
    posts = manifest["posts"]
    assert set(posts) == {"open-post", "closed-post", "old-post"}
    assert posts["open-post"] == {
        "title": "Open for comments",
        "url": "http://127.0.0.1:8000/blog/2013/open-post/",
        "comments": "open",
        "closes_at": "2013-10-18T10:00:00-04:00",
    }
    assert posts["old-post"]["comments"] == "closed" and posts["old-post"]["closes_at"] is None
    assert posts["closed-post"]["comments"] == "closed"


def test_the_feeds_hold_the_approved_comments_newest_first(comments_site):
    output = comments_site["output"]
    post_feed = feedparser.parse((output / "feeds/comments/open-post.atom.xml").read_bytes())
    assert not post_feed.bozo
    assert [entry.link.rsplit("#", 1)[1] for entry in post_feed.entries] == [
        "comment-c4",
        "comment-c3",
        "comment-c2",
        "comment-c1",
    ]
    assert post_feed.entries[-1].title == "Ana on Open for comments"
    assert 'rel="nofollow ugc noopener"' in post_feed.entries[-1].summary
    site_feed = feedparser.parse((output / "feeds/comments.atom.xml").read_bytes())
    assert not site_feed.bozo
    assert [entry.author for entry in site_feed.entries] == ["Eve", "Di", "Cy", "Ben", "Ana"]
    # Closed, nothing shown: no feed to follow.
    assert not (output / "feeds/comments/old-post.atom.xml").exists()
    # Typogrify keeps the title's last words together with a no-break space.
    head = page(comments_site, "open-post").split("</head>")[0].replace("\xa0", " ")
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Organizing 2.0: comments on '
        'Open for comments (Atom)" '
        'href="http://127.0.0.1:8000/feeds/comments/open-post.atom.xml">' in head
    )


def test_search_indexes_the_comments_but_not_the_form(comments_site):
    for fragment in (comments_site["output"] / "pagefind" / "fragment").glob("*.pf_fragment"):
        record = json.loads(gzip.decompress(fragment.read_bytes()).removeprefix(b"pagefind_dcd"))
        if record["url"].endswith("/closed-post/"):
            assert "lighthousekeeper" in record["content"]
        if record["url"].endswith("/open-post/"):
            assert "Agreed with Ana" in record["content"]
            assert "E-mail address" not in record["content"]
            break
    else:
        pytest.fail("open-post is not in the search index")


def test_a_missing_database_file_is_simply_no_comments(tmp_path):
    missing = tmp_path / "none-yet.sqlite3"
    output, _ = build(tmp_path, write_content(tmp_path / "content"), f"sqlite:///{missing}")
    html = (output / "blog" / "2013" / "open-post" / "index.html").read_text(encoding="utf-8")
    assert "No comments yet." in html and 'id="form-comment"' in html
    assert not missing.exists()  # the build never creates the endpoint's database


def test_an_unreadable_database_warns_once_and_gives_no_comments(tmp_path, monkeypatch, caplog):
    # A folder where the database file should be: SQLite cannot open it.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}")
    config = plugin.check_settings({"COMMENTS": {"now": NOW}, "TIMEZONE": "UTC"})
    with caplog.at_level(logging.WARNING):
        assert plugin.read_comments(config, {}) == {}
    assert [record.getMessage() for record in caplog.records if "comments:" in record.getMessage()]
    assert len(caplog.records) == 1 and "WITHOUT comments" in caplog.records[0].getMessage()


def test_a_build_read_early_warns_once_about_an_unreadable_database(tmp_path):
    # `pelican` reads the comments in a forked process; its parent says what went wrong.
    content = write_content(tmp_path / "content")
    _, result = build(tmp_path, content, f"sqlite:///{tmp_path}", check=False)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0  # --fatal warnings
    assert said.count("WITHOUT comments") == 1, said


def test_a_stuck_early_reading_is_stopped_and_the_build_reads_the_comments_itself(
    monkeypatch,
):
    build_process = os.getpid()

    def read_and_render(config, settings):
        if os.getpid() != build_process:  # the forked reader never finishes
            time.sleep(600)
        return {"open-post": [{"id": "c1"}]}

    monkeypatch.setattr(plugin, "_read_and_render", read_and_render)
    monkeypatch.setattr(plugin, "EARLY_WAIT_SECONDS", 0.5)
    said = RecordedLog()
    monkeypatch.setattr(plugin, "logger", said)
    config = plugin.check_settings({"COMMENTS": {"now": NOW}, "TIMEZONE": "UTC"})
    settings = {"COMMENTS": {"now": NOW}}
    plugin._start_early(config, settings)
    pid = plugin._early[1]
    started = time.monotonic()
    assert plugin.read_comments(config, settings) == {"open-post": [{"id": "c1"}]}
    assert time.monotonic() - started < 30
    assert said == ["comments: the early reading took over 0 s; reading the comments now"]
    with pytest.raises(ChildProcessError):  # stopped and reaped, nothing left behind
        os.waitpid(pid, os.WNOHANG)


def test_the_https_source_without_a_token_warns_and_gives_no_comments(monkeypatch, caplog):
    monkeypatch.delenv("COMMENTS_TOKEN", raising=False)
    config = plugin.check_settings({"COMMENTS": {"source": "https", "now": NOW}})
    with caplog.at_level(logging.WARNING):
        assert plugin.read_comments(config, {"FORMS": {}}) == {}
    assert "COMMENTS_TOKEN" in caplog.text


@pytest.mark.parametrize(
    ("comments", "message"),
    [
        ({"moderation": "some"}, "COMMENTS['moderation'] must be one of all, first"),
        ({"close_after_days": 0}, "COMMENTS['close_after_days'] must be a whole number"),
        ({"sources": "database"}, "unknown COMMENTS key(s) sources"),
        ({"read_early": "yes"}, "COMMENTS['read_early'] must be True or False"),
    ],
)
def test_a_wrong_setting_stops_the_build_with_what_to_fix(tmp_path, comments, message):
    content = write_content(tmp_path / "content")
    _, result = build(tmp_path, content, "sqlite:///unused", comments=comments, check=False)
    assert result.returncode != 0
    # The log wraps long lines and names the file and line at the end of the first.
    logged = re.sub(r"\S+\.py:\d+", " ", result.stdout + result.stderr)
    assert message in " ".join(logged.split())


def test_trainings_and_intern_calls_take_no_comments_unless_their_field_says_so():
    config = plugin.check_settings({"COMMENTS": {"now": NOW}})
    date = datetime(2013, 7, 30, tzinfo=UTC)
    training = SimpleNamespace(metadata={}, event=object(), date=date, source_path="t.md")
    call = SimpleNamespace(metadata={}, intern_call=object(), date=date, source_path="i.md")
    post = SimpleNamespace(metadata={}, date=date, source_path="p.md")
    assert plugin.comments_state(training, config) == ("none", None)
    assert plugin.comments_state(call, config) == ("none", None)
    assert plugin.comments_state(post, config) == ("open", date + timedelta(days=90))


class _Approved(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        allowed = self.headers.get("Authorization") == "Bearer right-token"
        self.send_response(200 if allowed else 403)
        self.end_headers()
        comment = {"id": "c1", "post": "p", "parent": None, "name": "Ana", "text": "Hi",
                   "created": "2013-07-21T14:00:00.000000Z", "html": "<p>Hi</p>"}  # fmt: skip
        self.wfile.write(json.dumps({"comments": [comment]} if allowed else {}).encode())

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


@pytest.mark.parametrize(("token", "count"), [("right-token", 1), ("wrong-token", 0)])
def test_the_https_source_reads_the_endpoint_with_the_token(monkeypatch, caplog, token, count):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Approved)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("COMMENTS_TOKEN", token)
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    config = plugin.check_settings({"COMMENTS": {"source": "https", "now": NOW}})
    try:
        with caplog.at_level(logging.WARNING):
            by_post = plugin.read_comments(config, {"FORMS": {"endpoint": endpoint}})
    finally:
        server.shutdown()
        server.server_close()
    assert len(by_post.get("p", [])) == count
    assert ("403" in caplog.text) == (count == 0)
    assert token not in caplog.text
