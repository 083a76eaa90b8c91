"""Migrations are code: an empty database upgrades to a schema identical to the models."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from server.db import Base, Database, UTCDateTime
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


async def _alembic(url: str, verb: str, revision: str) -> None:
    from alembic import command
    from sqlalchemy.ext.asyncio import create_async_engine

    from server.migrate import alembic_config

    def run(sync_connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        getattr(command, verb)(config, revision)

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
    finally:
        await engine.dispose()


# Tables as an older revision has them: only the columns the tests write, whatever the models say today.
GRIDS = sa.table("grids", sa.column("id", sa.Integer), sa.column("name", sa.String),
                 sa.column("created_at", UTCDateTime))


def _subjects_table(*extra: tuple[str, Any]) -> sa.TableClause:
    return sa.table("subjects", *[sa.column(name, type_) for name, type_ in [
        ("id", sa.Uuid), ("grid_id", sa.Integer), ("full_name", sa.String), ("phone", sa.String),
        ("observation_type", sa.String), ("reason", sa.String), ("start_date", sa.Date),
        ("duration_days", sa.Integer), ("planned_end_date", sa.Date), ("access_code_hash", sa.String),
        ("access_code_version", sa.Integer), ("access_code_issued_at", UTCDateTime), ("state", sa.String),
        ("release_override", sa.Boolean), ("severity", sa.SmallInteger), ("open_alerts", sa.Integer),
        ("created_at", UTCDateTime), *extra]])


async def test_derived_status_migration_carries_people_and_counts_both_ways(db_url: str) -> None:
    # 0008 drops the stored status and keys the counters by severity and filled windows: people stored
    # under 0007 keep their summary, and the counters come out equal to a count of the table, on the way
    # up and back down.
    await _alembic(db_url, "downgrade", "0007")
    database = Database.from_url(db_url)
    morning = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    evening = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    people = [  # grid, severity, status_rank, filled windows
        (1, 3, 3, morning, evening), (1, 3, 2, evening, None), (1, 1, 0, morning, evening),
        (2, 3, 1, None, None), (2, 0, 0, None, None), (2, 3, 3, morning, evening),
    ]
    at = datetime(2026, 3, 9, tzinfo=UTC)
    subjects = _subjects_table(("status_rank", sa.SmallInteger), ("filled_window_1", UTCDateTime),
                               ("filled_window_2", UTCDateTime))
    try:
        async with database.engine.begin() as connection:
            await connection.execute(GRIDS.insert(), [{"id": g, "name": f"g{g}", "created_at": at} for g in (1, 2)])
            await connection.execute(subjects.insert(), [{
                "id": uuid.UUID(int=i + 1), "grid_id": grid, "full_name": f"p{i}", "phone": "1",
                "observation_type": "home", "reason": "r", "start_date": date(2026, 3, 9), "duration_days": 14,
                "planned_end_date": date(2026, 3, 23), "access_code_hash": f"c{i}", "access_code_version": 1,
                "access_code_issued_at": at, "state": "active", "release_override": False, "status_rank": rank,
                "severity": severity, "filled_window_1": w1, "filled_window_2": w2, "open_alerts": 0,
                "created_at": at} for i, (grid, severity, rank, w1, w2) in enumerate(people)])
        await _alembic(db_url, "upgrade", "0011")
        async with database.engine.connect() as connection:
            kept = (await connection.execute(text(
                "SELECT grid_id, severity, n FROM roster_counts WHERE n <> 0 ORDER BY 1, 2, 3"))).all()
            columns = await connection.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("subjects")})
        assert [tuple(row) for row in kept] == [(1, 1, 1), (1, 3, 1), (1, 3, 1), (2, 0, 1), (2, 3, 1), (2, 3, 1)]
        assert "status_rank" not in columns and {"severity", "filled_window_1", "filled_window_2"} <= columns

        await _alembic(db_url, "downgrade", "0007")
        async with database.engine.connect() as connection:
            old = (await connection.execute(text(
                "SELECT grid_id, status_rank, n FROM roster_counts WHERE n <> 0 ORDER BY 1, 2"))).all()
        # Back down, the stored status is "abnormal" or "ok" until the old sweep puts missed and due back.
        assert [tuple(row) for row in old] == [(1, 0, 1), (1, 3, 2), (2, 0, 1), (2, 3, 2)]
        await _alembic(db_url, "upgrade", "heads")
    finally:
        await database.dispose()


async def test_callback_migration_ranks_open_requests_and_moves_the_abnormal_levels_both_ways(db_url: str) -> None:
    # 0012 adds a severity level for an unhandled call-back request between symptoms and nothing
    # abnormal: the abnormal levels move down by one, a calm person with an open request gets the new
    # level, and the counters follow the people there and back.
    await _alembic(db_url, "downgrade", "0011")
    database = Database.from_url(db_url)
    at = datetime(2026, 3, 9, tzinfo=UTC)
    people = [(-1, False), (0, False), (1, True), (2, False), (3, True), (3, False)]  # severity, open request
    subjects = _subjects_table()
    alerts = sa.table("alerts", *[sa.column(name, type_) for name, type_ in [
        ("id", sa.Uuid), ("subject_id", sa.Uuid), ("grid_id", sa.Integer), ("kind", sa.String),
        ("symptoms", sa.JSON), ("status", sa.String), ("opened_at", UTCDateTime)]])
    try:
        async with database.engine.begin() as connection:
            await connection.execute(GRIDS.insert(), [{"id": 1, "name": "g1", "created_at": at}])
            await connection.execute(subjects.insert(), [{
                "id": uuid.UUID(int=i + 1), "grid_id": 1, "full_name": f"p{i}", "phone": "1",
                "observation_type": "home", "reason": "r", "start_date": date(2026, 3, 9), "duration_days": 14,
                "planned_end_date": date(2026, 3, 23), "access_code_hash": f"c{i}", "access_code_version": 1,
                "access_code_issued_at": at, "state": "active", "release_override": False, "severity": severity,
                "open_alerts": 2 if asked else 1, "created_at": at} for i, (severity, asked) in enumerate(people)])
            await connection.execute(alerts.insert(), [
                {"id": uuid.uuid4(), "subject_id": uuid.UUID(int=i + 1), "grid_id": 1, "kind": kind, "symptoms": [],
                 "status": "open", "opened_at": at}
                for i, (_severity, asked) in enumerate(people)
                for kind in (["callback_request", "fever"] if asked else ["fever"])])
            # A request already handled does not count.
            await connection.execute(alerts.insert(), [{
                "id": uuid.uuid4(), "subject_id": uuid.UUID(int=6), "grid_id": 1, "kind": "callback_request",
                "symptoms": [], "status": "acknowledged", "opened_at": at}])

        async def stored() -> tuple[list[tuple[int, bool]], list[tuple[int, int]]]:
            async with database.engine.connect() as connection:
                rows = (await connection.execute(text(
                    "SELECT severity, callback_requested_at IS NOT NULL FROM subjects ORDER BY id"))).all()
                counts = (await connection.execute(text(
                    "SELECT severity, n FROM roster_counts WHERE n <> 0 ORDER BY 1"))).all()
            return [(int(a), bool(b)) for a, b in rows], [(int(a), int(b)) for a, b in counts]

        await _alembic(db_url, "upgrade", "0012")
        people_after, counts_after = await stored()
        assert people_after == [(-2, False), (-1, False), (0, True), (1, False), (2, True), (3, False)]
        assert counts_after == [(-2, 1), (-1, 1), (0, 1), (1, 1), (2, 1), (3, 1)]

        await _alembic(db_url, "downgrade", "0011")
        async with database.engine.connect() as connection:
            back = (await connection.execute(text("SELECT severity FROM subjects ORDER BY id"))).scalars().all()
            counts_back = (await connection.execute(text(
                "SELECT severity, n FROM roster_counts WHERE n <> 0 ORDER BY 1"))).all()
        assert list(back) == [severity for severity, _asked in people]
        assert [tuple(row) for row in counts_back] == [(-1, 1), (0, 1), (1, 1), (2, 1), (3, 2)]
    finally:
        await _alembic(db_url, "upgrade", "heads")
        await database.dispose()


async def test_area_tree_migration_makes_every_grid_an_area_and_keeps_assignments_both_ways(db_url: str) -> None:
    # 0019: existing grids become grid-kind areas with the same ids at the top of the tree, each with its
    # own closure row, and a clinician's grids become their areas; new areas take ids after the grids.
    await _alembic(db_url, "downgrade", "0018")
    database = Database.from_url(db_url)
    at = datetime(2026, 3, 9, tzinfo=UTC)
    users = sa.table("users", *[sa.column(n, t) for n, t in [
        ("id", sa.Integer), ("username", sa.String), ("password_hash", sa.String), ("role", sa.String),
        ("is_active", sa.Boolean), ("token_version", sa.Integer), ("created_at", UTCDateTime)]])
    user_grids = sa.table("user_grids", sa.column("user_id", sa.Integer), sa.column("grid_id", sa.Integer))
    try:
        async with database.engine.begin() as connection:
            await connection.execute(GRIDS.insert(), [{"id": 3, "name": "g3", "created_at": at},
                                                      {"id": 7, "name": "g7", "created_at": at}])
            await connection.execute(users.insert(), [{"id": 1, "username": "doc", "password_hash": "x",
                                                       "role": "clinician", "is_active": True, "token_version": 1,
                                                       "created_at": at}])
            await connection.execute(user_grids.insert(), [{"user_id": 1, "grid_id": 7}])
        await _alembic(db_url, "upgrade", "0019")
        async with database.engine.begin() as connection:
            areas = (await connection.execute(text("SELECT id, name, kind, parent_id FROM areas ORDER BY id"))).all()
            paths = (await connection.execute(text(
                "SELECT ancestor_id, descendant_id, depth FROM area_paths ORDER BY 1"))).all()
            assigned = (await connection.execute(text("SELECT user_id, area_id FROM user_areas"))).all()
            new_id = (await connection.execute(text(
                "INSERT INTO areas (name, kind, created_at) VALUES ('d', 'district', :at) RETURNING id"),
                {"at": at})).scalar_one()
        assert [tuple(a) for a in areas] == [(3, "g3", "grid", None), (7, "g7", "grid", None)]
        assert [tuple(p) for p in paths] == [(3, 3, 0), (7, 7, 0)]
        assert [tuple(a) for a in assigned] == [(1, 7)]
        assert new_id > 7
        await _alembic(db_url, "downgrade", "0018")
        async with database.engine.connect() as connection:
            back = (await connection.execute(text("SELECT user_id, grid_id FROM user_grids"))).all()
        assert [tuple(b) for b in back] == [(1, 7)]
    finally:
        await _alembic(db_url, "upgrade", "heads")
        await database.dispose()
