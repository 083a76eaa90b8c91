"""Migrations are code: an empty database upgrades to a schema identical to the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from server.db import Base, Database
from server.migrate import upgrade


async def test_empty_database_upgrades_to_the_models(db_url: str) -> None:
    # db_url is already migrated by the fixtures; upgrading again must be a no-op.
    await upgrade(db_url)
    database = Database.from_url(db_url)

    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    def tables(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names())

    try:
        async with database.engine.connect() as connection:
            assert await connection.run_sync(diff) == []
            expected = {"subjects", "readings", "alerts", "audit_log", "users", "grids", "checkins", "outbox"}
            assert expected <= await connection.run_sync(tables)
    finally:
        await database.dispose()
