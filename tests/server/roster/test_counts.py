"""The trigger-kept roster counts always equal a live count of the subjects table."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select

from server.context import AppContext
from server.models import ACTIVE, RosterCount, Subject
from tests.conftest import Clock
from tests.factories import World, enrol, make_grid, subject_headers


async def _assert_counts_match(ctx: AppContext) -> dict[tuple[int, int], int]:
    async with ctx.db.session() as session:
        kept = {(g, r): n for g, r, n in (await session.execute(
            select(RosterCount.grid_id, RosterCount.status_rank, RosterCount.n))).all()}
        live = {(g, r): n for g, r, n in (await session.execute(
            select(Subject.grid_id, Subject.status_rank, func.count()).where(Subject.state == ACTIVE)
            .group_by(Subject.grid_id, Subject.status_rank))).all()}
    assert {k: v for k, v in kept.items() if v} == live
    assert all(v >= 0 for v in kept.values())
    return live


async def test_counts_follow_enrolment_readings_time_and_release(client: httpx.AsyncClient, world: World,
                                                                 app_ctx: AppContext, clock: Clock) -> None:
    grid = await make_grid(app_ctx, "南湖")
    others = [await enrol(app_ctx, grid, name=f"张{i}", phone=f"1370000000{i}") for i in range(3)]
    await _assert_counts_match(app_ctx)
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 38.8})
    await client.post("/api/v1/readings", headers=subject_headers(app_ctx, others[0]), json={"temperature_c": 36.5})
    await client.post("/api/v1/readings", headers=subject_headers(app_ctx, others[1]),
                      json={"temperature_c": 36.5, "symptoms": ["cough"]})
    await _assert_counts_match(app_ctx)
    clock.now += timedelta(hours=3)  # the morning window closes: the sweep moves many at once
    roster = (await client.get("/api/v1/roster", headers=world.admin_h)).json()
    live = await _assert_counts_match(app_ctx)
    assert roster["counts"]["total"] == sum(live.values()) == 5
    assert roster["counts"]["abnormal"] == 2 and roster["counts"]["missed"] == 2
    await client.post(f"/api/v1/subjects/{others[2].id}/release", headers=world.admin_h,
                      json={"override": True, "note": "moved away"})
    await _assert_counts_match(app_ctx)
    grid_counts = (await client.get("/api/v1/roster", params={"grid_id": grid.id}, headers=world.admin_h)).json()
    assert grid_counts["counts"] == {"abnormal": 1, "missed": 0, "due": 0, "ok": 1, "total": 2}


async def test_a_new_grid_starts_with_zero_counts(client: httpx.AsyncClient, world: World, app_ctx: AppContext) -> None:
    grid = (await client.post("/api/v1/grids", json={"name": "北坡"}, headers=world.admin_h)).json()
    roster = (await client.get("/api/v1/roster", params={"grid_id": grid["id"]}, headers=world.admin_h)).json()
    assert roster["counts"] == {"abnormal": 0, "missed": 0, "due": 0, "ok": 0, "total": 0}
    async with app_ctx.db.session() as session:
        rows = (await session.scalars(select(RosterCount.status_rank).where(RosterCount.grid_id == grid["id"]))).all()
    assert sorted(rows) == [0, 1, 2, 3]
