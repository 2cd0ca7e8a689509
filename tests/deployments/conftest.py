"""Database fixtures: every test runs on SQLite, and on PostgreSQL too when TEST_DATABASE_URL
is set (`postgresql+psycopg://postgres@127.0.0.1:5432/test`), each test in a schema of its own."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from deployments import auth, db

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")

BACKENDS = [pytest.param("sqlite", id="sqlite")]
if POSTGRES_URL:
    BACKENDS.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a fresh SQLite file, or a fresh PostgreSQL schema that
    every connection of the URL uses (search_path) and that is dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'notes.db'}"
        return
    assert POSTGRES_URL is not None
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def bare_engine(database_url: str) -> Iterator[Engine]:
    """An engine on the empty database, not migrated."""
    engine = db.make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def engine(bare_engine: Engine) -> Engine:
    """An engine on a database migrated to the latest revision, with one clinic ("test", id 1)."""
    db.migrate(bare_engine)
    assert auth.clinic_id(bare_engine, "test", create=True) == 1
    return bare_engine
