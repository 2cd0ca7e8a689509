"""Alembic environment: upgrades the database under a database-wide lock, in one transaction.

`deployments.db.migrate` passes its engine in `config.attributes["engine"]`; the `alembic`
command line (alembic.ini at the repository root) uses DATABASE_URL instead.
"""

from alembic import context
from sqlalchemy import Connection, text
from sqlmodel import SQLModel

import schemas.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from deployments.db import make_engine
from schemas.settings import Settings

#: Any constant key works: it only has to be the same for every process migrating this database.
POSTGRES_MIGRATION_LOCK = 7_246_001

config = context.config
target_metadata = SQLModel.metadata


def _lock(connection: Connection) -> None:
    """Serialise concurrent migrations until this transaction ends.

    SQLite: take the write lock (BEGIN IMMEDIATE) so the DDL and the version stamp commit
    together; PostgreSQL: a transaction-level advisory lock (its DDL is transactional anyway).
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_MIGRATION_LOCK})


def run_migrations_offline() -> None:
    """Print the SQL (`alembic upgrade head --sql`) instead of running it."""
    context.configure(
        url=Settings().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the engine given by `migrate`, or on DATABASE_URL."""
    engine = config.attributes.get("engine") or make_engine(Settings().database_url)
    with engine.begin() as connection:
        _lock(connection)
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
