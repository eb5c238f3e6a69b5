"""One storage suite, run against SQLite and against a real PostgreSQL server."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from endpoint.storage import (
    MIGRATIONS_DIR,
    RateLimited,
    Submission,
    format_time,
    open_storage,
    parse_time,
)

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def submission(number=1, form_id="knowledge-donor", when=NOW, **changes):
    values = dict(
        id=f"id-{number}",
        form_id=form_id,
        submitted_at=format_time(when),
        fields={"name": f"Person {number}", "email": f"p{number}@example.org", "skills": ["a"]},
        source="partner",
        consent_at=format_time(when),
        consent_version="2026-11-01",
        consent_sha256="0" * 64,
        page_url="http://127.0.0.1:8000/knowledge-donors/",
        ip_hash="f" * 64,
        user_agent="Test browser",
        idempotency_token=f"token-{number:016d}",
        email=f"p{number}@example.org",
        content_hash=f"hash-{number}",
        notify_state="pending",
    )
    values.update(changes)
    return Submission(**values)


def test_migrations_run_once_and_are_recorded(storage, database_url):
    every = [path.name[:4] for path in sorted(MIGRATIONS_DIR.glob("*.sql"))]
    assert every[:4] == ["0001", "0002", "0003", "0004"]
    assert storage.applied_migrations() == every
    again = open_storage(database_url)
    again.migrate()  # a second start-up finds nothing to do
    assert again.applied_migrations() == every
    again.close()


def test_a_submission_round_trips_exactly(storage):
    original = submission(fields={"name": "Zoë “Q” Ünal", "skills": ["x", "y"], "notes": "a\nb"})
    stored, created = storage.add(original)
    assert created and stored == original
    assert storage.get(original.id) == original
    assert storage.submissions() == [original]


def test_same_idempotency_token_is_stored_once(storage):
    first, created = storage.add(submission(1))
    again, created_again = storage.add(submission(2, idempotency_token=first.idempotency_token))
    assert created and not created_again
    assert again == first
    assert len(storage.submissions()) == 1
    assert storage.find_by_token("knowledge-donor", first.idempotency_token) == first
    # The same token on another form is another submission.
    _, other = storage.add(
        submission(3, form_id="help-request", idempotency_token=first.idempotency_token)
    )
    assert other


def test_submissions_without_token_are_all_kept(storage):
    storage.add(submission(1, idempotency_token=None))
    storage.add(submission(2, idempotency_token=None))
    assert len(storage.submissions()) == 2


def test_find_duplicate_only_within_the_window(storage):
    storage.add(submission(1, idempotency_token=None, email="a@example.org", content_hash="h"))
    assert storage.find_duplicate("knowledge-donor", "a@example.org", "h", NOW - timedelta(1))
    assert not storage.find_duplicate("knowledge-donor", "a@example.org", "h", NOW + timedelta(1))
    assert not storage.find_duplicate("knowledge-donor", "a@example.org", "other", NOW)
    assert not storage.find_duplicate("help-request", "a@example.org", "h", NOW)


def test_filter_by_form_and_since(storage):
    storage.add(submission(1, when=NOW - timedelta(days=3)))
    storage.add(submission(2, when=NOW))
    storage.add(submission(3, form_id="help-request", when=NOW))
    assert [s.id for s in storage.submissions("knowledge-donor")] == ["id-1", "id-2"]
    assert [s.id for s in storage.submissions("knowledge-donor", NOW - timedelta(1))] == ["id-2"]
    assert [s.id for s in storage.submissions(since=NOW)] == ["id-2", "id-3"]


def test_forget_deletes_every_submission_with_the_address(storage):
    storage.add(submission(1, email="ann@example.org"))
    storage.add(submission(2, form_id="help-request", email="ann@example.org"))
    storage.add(submission(3, email="bob@example.org"))
    assert storage.forget("  Ann@Example.org ") == 2
    assert [s.id for s in storage.submissions()] == ["id-3"]
    assert storage.forget("ann@example.org") == 0


def test_counts_per_form_with_newest_time(storage):
    storage.add(submission(1, when=NOW - timedelta(hours=1)))
    storage.add(submission(2, when=NOW))
    storage.add(submission(3, form_id="help-request", when=NOW - timedelta(days=1)))
    assert storage.counts() == [
        ("help-request", 1, format_time(NOW - timedelta(days=1))),
        ("knowledge-donor", 2, format_time(NOW)),
    ]


def test_notification_state(storage):
    storage.add(submission(1))
    storage.add(submission(2, notify_state="none"))
    assert [s.id for s in storage.pending_notifications()] == ["id-1"]
    storage.mark_notified("id-1", sent=False, now=NOW)
    pending = storage.pending_notifications()
    assert [(s.id, s.notify_attempts) for s in pending] == [("id-1", 1)]
    storage.mark_notified("id-1", sent=True, now=NOW)
    assert storage.pending_notifications() == []
    sent = storage.get("id-1")
    assert (sent.notify_state, sent.notify_attempts, sent.notified_at) == (
        "sent",
        2,
        format_time(NOW),
    )


def test_rate_limit_counts_per_ip_hash_and_frees_up_after_an_hour(storage):
    for _ in range(3):
        assert storage.record_hit("ip-a", NOW, limit=3) is None
    # 3 an hour: one post's room comes back every 20 minutes, the first at NOW + 20 min.
    retry = storage.record_hit("ip-a", NOW + timedelta(minutes=10), limit=3)
    assert retry == pytest.approx(10 * 60)
    assert storage.record_hit("ip-b", NOW, limit=3) is None  # another sender
    assert storage.record_hit("ip-a", NOW + timedelta(hours=1, seconds=1), limit=3) is None


def test_store_counts_the_hit_finds_repeats_and_stores_in_one_go(storage):
    since = NOW - timedelta(minutes=10)
    first, created = storage.store(submission(1), rate_limit=3, duplicate_since=since)
    assert created and storage.get(first.id) == first
    # Same token: answered with the first, nothing new stored.
    again, created = storage.store(
        submission(2, idempotency_token=first.idempotency_token), 3, since
    )
    assert not created and again == first
    # No token (JavaScript off): same e-mail and content within the window is a repeat.
    plain = dict(idempotency_token=None, email="jo@example.org", content_hash="same")
    _, created = storage.store(submission(3, **plain), 3, since)
    assert created
    # Over the limit: refused before anything is written, and the hit is not counted.
    with pytest.raises(RateLimited) as refused:
        storage.store(submission(4, **plain), 3, since)
    assert refused.value.retry_after == pytest.approx(20 * 60)  # one post's room back
    assert storage.get("id-4") is None
    assert len(storage.submissions()) == 2
    # Three hits were counted, not four: 20 minutes later there is room for one.
    assert storage.record_hit("f" * 64, NOW + timedelta(minutes=20), limit=3) is None
    repeat, created = storage.store(submission(5, **plain), None, since)
    assert not created and repeat.id == "id-3"


def test_times_sort_and_parse_back():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert parse_time(format_time(moment)) == moment
    assert format_time(moment) < format_time(moment + timedelta(microseconds=1))


def test_unknown_database_scheme_is_a_clear_error():
    with pytest.raises(ValueError, match="DATABASE_URL must start with"):
        open_storage("mysql://somewhere/db")


def test_stored_record_has_exactly_the_documented_columns(storage):
    stored, _ = storage.add(submission(1))
    assert set(dataclasses.asdict(stored)) == {
        "id", "form_id", "submitted_at", "fields", "source", "consent_at",
        "consent_version", "consent_sha256", "page_url", "ip_hash", "user_agent",
        "idempotency_token", "email", "content_hash", "notify_state",
        "notify_attempts", "notified_at", "about", "status", "confirmed_at",
    }  # fmt: skip


def test_a_new_numbered_migration_runs_at_the_next_start_up(
    storage, database_url, tmp_path, monkeypatch
):
    from endpoint.storage import base

    storage.add(submission(1))
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in base.MIGRATIONS_DIR.glob("*.sql"):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "0099_organizer_notes.sql").write_text(
        "-- A later change to the schema.\n"
        "CREATE TABLE organizer_notes (submission_id TEXT NOT NULL, note TEXT NOT NULL);\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(base, "MIGRATIONS_DIR", folder)
    restarted = open_storage(database_url)
    assert restarted.applied_migrations()[-1] == "0099"
    assert len(restarted.applied_migrations()) == len(list(folder.glob("*.sql")))
    assert [s.id for s in restarted.submissions()] == ["id-1"]  # data kept
    restarted.close()
