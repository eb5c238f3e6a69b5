"""The endpoint tests' fixtures (storages, PostgreSQL, the loopback SMTP server), shared."""

from tests.endpoint.conftest import (  # noqa: F401 - fixtures pytest finds by name
    database_url,
    make_client,
    postgres_server,
    postgres_url,
    smtp_inbox,
    sqlite_url,
)
