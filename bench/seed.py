"""Bulk-load N people under observation with 14 days of readings straight into the database.

PostgreSQL gets COPY (asyncpg); SQLite gets executemany. The summary columns are filled as the app
would have left them at ``now``, severity included (no status is stored)."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitoring import Rules, day_start, planned_end_date, record_filled_window, severity, window_for, windows_on
from monitoring.state import SubjectState
from server.auth.security import hash_password

GRIDS = 141
DAYS = 14
BATCH = 20_000
SUBJECT_COLUMNS = [
    "id",
    "grid_id",
    "full_name",
    "phone",
    "observation_type",
    "reason",
    "start_date",
    "duration_days",
    "planned_end_date",
    "access_code_hash",
    "access_code_version",
    "access_code_issued_at",
    "state",
    "release_override",
    "severity",
    "last_reading_at",
    "last_temperature_c",
    "last_fever_at",
    "last_high_fever_at",
    "last_symptoms_at",
    "filled_window_1",
    "filled_window_2",
    "open_alerts",
    "created_at",
]
READING_COLUMNS = [
    "id",
    "subject_id",
    "temperature_c",
    "taken_at",
    "received_at",
    "method",
    "symptoms",
    "source",
    "classification",
    "window_start",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def _rows(
    n: int, now: datetime, rules: Rules, rng: random.Random, with_readings: bool, grids: int = GRIDS
) -> Iterator[tuple[list[tuple[object, ...]], list[tuple[object, ...]]]]:
    today = now.astimezone(rules.tz).date()
    window_cache: dict[date, tuple[object, ...]] = {}
    subjects: list[tuple[object, ...]] = []
    readings: list[tuple[object, ...]] = []
    for i in range(n):
        sid = uuid.uuid4()
        start = today - timedelta(days=rng.randrange(0, DAYS))
        state = SubjectState(start_date=start, planned_end_date=planned_end_date(start, DAYS))
        last_temp = None
        day = start
        while day <= today and with_readings:
            windows = window_cache.setdefault(day, windows_on(day, rules))
            for window in windows:
                if rng.random() < 0.07:
                    continue  # some people miss a window now and then
                taken = window.start + timedelta(minutes=rng.randrange(0, 200))  # type: ignore[attr-defined]
                if taken > now:
                    continue
                temp = round(rng.gauss(36.6, 0.35), 1)
                symptoms = rng.random() < 0.01
                cls = "high_fever" if temp >= rules.high_fever_c else "fever" if temp >= rules.fever_c else "normal"
                filled = window_for(taken, rules)
                readings.append(
                    (
                        uuid.uuid4(),
                        sid,
                        temp,
                        taken,
                        taken,
                        "forehead",
                        '["cough"]' if symptoms else "[]",
                        "self",
                        cls,
                        filled.start if filled else None,
                    )
                )
                state = SubjectState(
                    start_date=state.start_date,
                    planned_end_date=state.planned_end_date,
                    last_reading_at=taken,
                    last_fever_at=taken if cls != "normal" else state.last_fever_at,
                    last_high_fever_at=taken if cls == "high_fever" else state.last_high_fever_at,
                    last_symptoms_at=taken if symptoms else state.last_symptoms_at,
                    filled_windows=record_filled_window(state.filled_windows, filled.start)
                    if filled
                    else state.filled_windows,
                )
                last_temp = temp
            day += timedelta(days=1)
        filled_windows = state.filled_windows
        subjects.append(
            (
                sid,
                1 + i % grids,
                SURNAMES[i % len(SURNAMES)] + f"{i:07d}",
                f"1{3 + i % 6}{i:09d}",
                "home",
                "bench",
                start,
                DAYS,
                state.planned_end_date,
                uuid.uuid4().hex + uuid.uuid4().hex,
                1,
                now,
                "active",
                False,
                severity(state, now, rules),
                state.last_reading_at,
                last_temp,
                state.last_fever_at,
                state.last_high_fever_at,
                state.last_symptoms_at,
                filled_windows[0] if filled_windows else None,
                filled_windows[1] if len(filled_windows) > 1 else None,
                0,
                # Enrolled on the morning their observation started (not all at the moment of loading:
                # the roster counts people enrolled since the latest window one by one).
                min(now, day_start(start, rules) + timedelta(hours=8, minutes=rng.randrange(0, 480))),
            )
        )
        if len(subjects) >= BATCH:
            yield subjects, readings
            subjects, readings = [], []
    if subjects:
        yield subjects, readings


async def insert_grids(conn: AsyncConnection, count: int, now: datetime) -> dict[str, int]:
    """``count`` grids (ids 1..count), each an area of kind grid; from 100 grids up, under a tree like a
    real district's: one district, a town per 100 grids, a community per 20. Returns the ids of the
    district and of the first town (none below 100 grids)."""
    areas = [{"id": g, "name": f"网格{g:03d}", "kind": "grid", "parent_id": None, "created_at": now}
             for g in range(1, count + 1)]
    found: dict[str, int] = {}
    if count >= 100:
        district = count + 1
        found = {"district": district}
        areas.append({"id": district, "name": "区", "kind": "district", "parent_id": None, "created_at": now})
        next_id = district + 1
        for first in range(1, count + 1, 100):
            town = next_id
            next_id += 1
            found.setdefault("town", town)
            areas.append({"id": town, "name": f"镇{town}", "kind": "town", "parent_id": district, "created_at": now})
            for start in range(first, min(first + 100, count + 1), 20):
                community = next_id
                next_id += 1
                areas.append({"id": community, "name": f"社区{community}", "kind": "community", "parent_id": town,
                              "created_at": now})
                for g in range(start, min(start + 20, count + 1)):
                    areas[g - 1]["parent_id"] = community
    parents = {a["id"]: a["parent_id"] for a in areas}
    paths = []
    for area_id in parents:
        ancestor, depth = area_id, 0
        while ancestor is not None:
            paths.append({"a": ancestor, "d": area_id, "depth": depth})
            ancestor, depth = parents[ancestor], depth + 1
    await conn.execute(text("INSERT INTO areas (id, name, kind, parent_id, created_at) "
                            "VALUES (:id, :name, :kind, :parent_id, :created_at)"),
                       sorted(areas, key=lambda a: (a["parent_id"] is not None, a["kind"] == "grid", a["id"])))
    await conn.execute(text("INSERT INTO grids (id, name, created_at) VALUES (:id, :name, :created_at)"),
                       [a for a in areas if a["kind"] == "grid"])
    await conn.execute(text("INSERT INTO area_paths (ancestor_id, descendant_id, depth) VALUES (:a, :d, :depth)"),
                       paths)
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT setval(pg_get_serial_sequence('areas', 'id'), (SELECT max(id) FROM areas))"))
    return found


async def seed(
    engine: AsyncEngine, n: int, *, now: datetime, rules: Rules, with_readings: bool = True, seed: int = 1,
    grids: int = GRIDS,
) -> dict[str, float]:
    """Load grids (under a tree from 100 up), staff and n subjects; returns counts and timings. Staff:
    1 an admin, 2 a clinician of grids 1 and 2; with a tree also 3 a clinician of the first town, 4 a
    clinician of the whole district, 5 an observer of the district."""
    rng = random.Random(seed)
    started = time.perf_counter()
    reading_count = 0
    async with engine.begin() as conn:
        tree = await insert_grids(conn, grids, now)
        password = hash_password("bench-password")
        staff = [(1, "bench-admin", "admin"), (2, "bench-clinician", "clinician")]
        assigned = [(2, 1), (2, 2)]
        if tree:
            staff += [(3, "bench-town", "clinician"), (4, "bench-district", "clinician"),
                      (5, "bench-observer", "observer")]
            assigned += [(3, tree["town"]), (4, tree["district"]), (5, tree["district"])]
        await conn.execute(
            text("INSERT INTO users (id, username, password_hash, role, is_active, token_version, created_at) "
                 "VALUES (:id, :name, :p, :role, true, 1, :now)"),
            [{"id": i, "name": name, "role": role, "p": password, "now": now} for i, name, role in staff])
        await conn.execute(text("INSERT INTO user_areas (user_id, area_id) VALUES (:u, :a)"),
                           [{"u": u, "a": a} for u, a in assigned])
    dialect = engine.dialect.name
    for subjects, readings in _rows(n, now, rules, rng, with_readings, grids):
        reading_count += len(readings)
        async with engine.begin() as conn:
            if dialect == "postgresql":
                raw = await conn.get_raw_connection()
                driver = raw.driver_connection
                await driver.copy_records_to_table("subjects", records=subjects, columns=SUBJECT_COLUMNS)
                if readings:
                    await driver.copy_records_to_table("readings", records=readings, columns=READING_COLUMNS)
            else:
                await _sqlite_insert(conn, "subjects", SUBJECT_COLUMNS, subjects)
                if readings:
                    await _sqlite_insert(conn, "readings", READING_COLUMNS, readings)
    loaded = time.perf_counter()
    if dialect == "postgresql":
        async with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
            for table in ("subjects", "readings", "grids", "users", "user_areas", "areas", "area_paths"):
                await conn.execute(text(f"VACUUM ANALYZE {table}"))
    return {
        "subjects": n,
        "readings": reading_count,
        "load_s": loaded - started,
        "analyze_s": time.perf_counter() - loaded,
    }


async def _sqlite_insert(conn: object, table: str, columns: list[str], rows: list[tuple[object, ...]]) -> None:
    from sqlalchemy.ext.asyncio import AsyncConnection

    assert isinstance(conn, AsyncConnection)

    def convert(value: object) -> object:
        if isinstance(value, uuid.UUID):
            return value.hex
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite format
        if isinstance(value, date):
            return value.isoformat()
        return value

    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    raw = await conn.get_raw_connection()
    cursor = await raw.driver_connection.cursor()  # type: ignore[union-attr]
    await cursor.executemany(sql, [tuple(convert(v) for v in row) for row in rows])
