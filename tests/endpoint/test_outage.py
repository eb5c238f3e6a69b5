"""PostgreSQL stopped mid-run: 503 and no row; started again, submissions work."""

import pytest

from .conftest import valid

pytestmark = pytest.mark.postgres


def test_database_down_gives_503_and_nothing_is_claimed(make_client, postgres_server, postgres_url):
    client = make_client(database_url=postgres_url)
    assert client.post("knowledge-donor", valid("knowledge-donor")).status == 200

    postgres_server.stop()
    try:
        down = client.post("help-request", valid("help-request"))
        assert down.status == 503
        assert down.json()["ok"] is False and "Nothing was saved" in down.json()["error"]
        page = client.post("help-request", valid("help-request"), accept_json=False)
        assert page.status == 503 and "Nothing was saved" in page.text
        assert client.request("GET", "/health").status == 503
    finally:
        postgres_server.start()

    assert client.request("GET", "/health").status == 200
    again = client.post("help-request", valid("help-request"), accept_json=False)
    assert again.status == 303
    rows = client.app.storage.submissions()
    assert sorted(row.form_id for row in rows) == ["help-request", "knowledge-donor"]


def test_endpoint_starts_while_the_database_is_down(make_client, postgres_server, postgres_url):
    postgres_server.stop()
    try:
        client = make_client(database_url=postgres_url)  # no connection yet
        assert client.post("knowledge-donor", valid("knowledge-donor")).status == 503
    finally:
        postgres_server.start()
    assert client.post("knowledge-donor", valid("knowledge-donor")).status == 200
    assert len(client.app.storage.submissions()) == 1
