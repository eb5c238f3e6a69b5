"""Personal data: private database files, forget leaves no copy, one e-mail form, page
addresses without other people's data, no invisible formatting characters."""

import csv
import io
import os
import stat
import sys

import pytest

from endpoint.storage import base, open_storage
from endpoint.validation import clean_text

from .conftest import SITE, run_command, valid


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# --- 4. The database files are the owner's alone ------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_sqlite_files_and_their_folder_are_readable_by_the_owner_only(tmp_path, make_client):
    folder = tmp_path / "data"
    url = f"sqlite:///{folder / 'submissions.sqlite3'}"
    old = os.umask(0o022)  # the usual umask: files 644, folders 755
    try:
        client = make_client(database_url=url)
        assert client.post("knowledge-donor", valid("knowledge-donor")).status == 200
    finally:
        os.umask(old)
    names = sorted(path.name for path in folder.iterdir())
    assert names == [
        "submissions.sqlite3", "submissions.sqlite3-shm", "submissions.sqlite3-wal",
        "submissions.sqlite3-writer-lock",
    ]  # fmt: skip
    assert mode(folder) == 0o700
    for path in folder.iterdir():
        assert mode(path) == 0o600, path.name


# --- 5. forget leaves no copy in the database files -----------------------------------


NAME = "Zebulon Quartermaine"
ADDRESS = "zebulon.q@example.org"


def copies(folder, needle: bytes) -> list[str]:
    """The files in `folder` whose raw bytes hold `needle`."""
    return sorted(p.name for p in folder.iterdir() if p.is_file() and needle in p.read_bytes())


def sign_up_three_times_and_one_other(client):
    """NAME and ADDRESS signed up three times, and one other person once."""
    for number in range(3):
        data = valid("knowledge-donor", name=NAME, email=ADDRESS, region=f"Region {number}")
        assert client.post("knowledge-donor", data).status == 200
    assert client.post("knowledge-donor", valid("knowledge-donor")).status == 200


def test_forget_leaves_no_copy_in_the_sqlite_files(make_client, tmp_path):
    folder = tmp_path / "db"
    url = f"sqlite:///{folder / 'submissions.sqlite3'}"
    client = make_client(database_url=url)
    sign_up_three_times_and_one_other(client)
    assert copies(folder, NAME.encode()), "the test needs the name on disk before forget"
    result = run_command(url, "forget", ADDRESS.upper(), tool="invoke")
    assert result.returncode == 0, result.stderr
    assert "Deleted 3 submission(s)" in result.stdout
    assert copies(folder, NAME.encode()) == []
    assert copies(folder, ADDRESS.encode()) == []
    assert "no copy" in result.stdout.lower()
    # The endpoint's own connection (still open) goes on working.
    assert [s.fields["name"] for s in client.app.storage.submissions()] == ["Rosa Parks-Lopez"]
    assert (
        client.post("knowledge-donor", valid("knowledge-donor", email="x@example.org")).status
        == 200
    )


def test_forget_in_a_running_process_leaves_no_copy(make_client, tmp_path):
    """Another connection stays open (the endpoint's), and so does forget's own: nothing
    is left for a closing connection to clean up."""
    folder = tmp_path / "db"
    url = f"sqlite:///{folder / 'submissions.sqlite3'}"
    client = make_client(database_url=url)
    sign_up_three_times_and_one_other(client)
    organizer = open_storage(url)
    try:
        assert organizer.forget(ADDRESS) == 3
        assert copies(folder, NAME.encode()) == []
        assert copies(folder, ADDRESS.encode()) == []
        assert "no copy" in organizer.forget_note().lower()
    finally:
        organizer.close()


def test_forget_says_so_when_a_reader_keeps_the_log(make_client, tmp_path):
    import sqlite3

    path = tmp_path / "submissions.sqlite3"
    client = make_client(database_url=f"sqlite:///{path}")
    data = valid("knowledge-donor", name=NAME, email=ADDRESS)
    assert client.post("knowledge-donor", data).status == 200
    organizer = open_storage(f"sqlite:///{path}")
    organizer.migrate()
    organizer._connection.execute("PRAGMA busy_timeout=50")  # not 10 s in a test
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM submissions").fetchone() == (1,)
        assert organizer.forget(ADDRESS) == 1
        note = organizer.forget_note()
        assert "could not be emptied" in note and "no copy" not in note.lower()
    finally:
        reader.close()
        organizer.close()


def test_forget_says_what_it_does(storage):
    assert storage.forget("nobody@example.org") == 0
    note = storage.forget_note()
    assert note and ("no copy" in note.lower() or "postgresql" in note.lower())


# --- 6. One normalised form of an address -------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["ann@xn--exmple-cua.org", "ANN@EXÄMPLE.ORG", "ann@exa\u0308mple.org", " Ann@Exämple.org "],
)
def test_forget_finds_an_address_however_it_is_written(make_client, database_url, typed):
    client = make_client(database_url=database_url)
    assert (
        client.post("knowledge-donor", valid("knowledge-donor", email="ann@exämple.org")).status
        == 200
    )
    assert client.post("knowledge-donor", valid("knowledge-donor")).status == 200
    assert client.app.storage.forget(typed) == 1
    assert [s.email for s in client.app.storage.submissions()] == ["rosa@example.org"]


def test_an_address_sent_in_ascii_is_stored_in_the_same_form(make_client, database_url):
    client = make_client(database_url=database_url)
    data = valid("knowledge-donor", email="Ann@xn--exmple-cua.org")
    assert client.post("knowledge-donor", data).status == 200
    (stored,) = client.app.storage.submissions()
    assert stored.email == base.email_key("ann@exämple.org") == "ann@exämple.org"
    assert client.app.storage.forget("ann@exämple.org") == 1


def test_email_key_is_one_form():
    forms = {
        base.email_key(address)
        for address in (
            "ann@xn--exmple-cua.org", "Ann@EXÄMPLE.org", "ann@exa\u0308mple.org",
            "ann@exämple.org.", "  ann@exämple.org",
        )
    }  # fmt: skip
    assert forms == {"ann@exämple.org"}
    assert base.email_key("not an address") == "not an address"
    assert base.email_key("a@xn--broken--") == "a@xn--broken--"


# --- 7. The page address keeps no other query data ----------------------------------


def test_page_url_keeps_the_path_and_the_sites_own_query_keys(client, sqlite_url):
    referer = (
        f"{SITE}/knowledge-donors/?email=someone.else%40example.org&phone=555-0100"
        "&source=afl&utm_campaign=may&utm_medium=mail&token=secret#section"
    )
    answer = client.post("knowledge-donor", valid("knowledge-donor"), headers={"Referer": referer})
    assert answer.status == 200
    (stored,) = client.app.storage.submissions()
    assert (
        stored.page_url == f"{SITE}/knowledge-donors/?source=afl&utm_campaign=may&utm_medium=mail"
    )
    exported = run_command(sqlite_url, "export", "--form", "knowledge-donor")
    assert exported.returncode == 0, exported.stderr
    assert "someone.else" not in exported.stdout and "555-0100" not in exported.stdout
    assert "secret" not in exported.stdout


def test_page_url_drops_credentials_in_the_address(client):
    referer = "https://user:pass@example.org/page?email=a@b.org"
    assert client.post("knowledge-donor", valid("knowledge-donor"),
                       headers={"Referer": referer}).status == 200  # fmt: skip
    (stored,) = client.app.storage.submissions()
    assert stored.page_url == "https://example.org/page"


# --- 8. No invisible formatting characters in single-line fields ---------------------


@pytest.mark.parametrize(
    "hidden", ["\u202e", "\u200b", "\u2066", "\u2069", "\ufeff", "\u00ad", "\u2060", "\U000e0041"]
)
def test_clean_text_drops_invisible_formatting_characters(hidden):
    assert clean_text(f"{hidden}Ro{hidden}sa{hidden}") == "Rosa"


def test_clean_text_keeps_joiners_inside_words_only():
    technologist = "\U0001f469\u200d\U0001f4bb"  # woman technologist: an emoji sequence
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # ZWNJ inside a word
    assert clean_text(technologist) == technologist
    assert clean_text(persian) == persian
    assert clean_text("\u200dAnn\u200c \u200d Lee\u200d") == "Ann Lee"


def test_invisible_characters_never_reach_the_export(client, sqlite_url):
    name = "\u202eRosa\u200b Parks\u2066\ufeff"
    assert client.post("knowledge-donor", valid("knowledge-donor", name=name)).status == 200
    (stored,) = client.app.storage.submissions()
    assert stored.fields["name"] == "Rosa Parks"
    exported = run_command(sqlite_url, "export", "--form", "knowledge-donor")
    (row,) = csv.DictReader(io.StringIO(exported.stdout))
    assert row["name"] == "Rosa Parks"


def test_multi_line_fields_keep_their_text():
    # Only single-line fields lose format characters; a textarea keeps its text as written.
    assert clean_text("a\u200bb\nc", multi_line=True) == "a\u200bb\nc"


def test_every_format_character_but_the_joiners_is_dropped():
    import unicodedata

    kept = {"\u200c", "\u200d"}
    format_characters = [
        chr(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) == "Cf" and chr(code) not in kept
    ]
    assert [hex(ord(c)) for c in format_characters if clean_text(f"a{c}b") != "ab"] == []
