"""The roster counts (trigger-kept counters by severity and filled windows, turned into statuses by the
rule, plus the people counted one by one) always equal each person's status evaluated in Python."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import httpx
from sqlalchemy import func, select

from monitoring import roster_status, sweep_parameters
from server.context import AppContext
from server.models import ACTIVE, NO_WINDOW, RosterCount, Subject
from server.roster.service import counts_by_grid
from server.roster.status import subject_state
from tests.conftest import Clock
from tests.factories import World, enrol, make_grid, subject_headers


async def _assert_counts_match(ctx: AppContext, now: datetime) -> dict[tuple[int, str], int]:
    rules = ctx.settings.rules
    p = sweep_parameters(now, rules)
    async with ctx.db.session() as session:
        subjects = (await session.scalars(select(Subject).where(Subject.state == ACTIVE))).all()
        live = Counter((s.grid_id, roster_status(subject_state(s), p, severity_now=s.severity).value)
                       for s in subjects)
        counted = {(grid_id, status.value): n for grid_id, by_status in
                   (await counts_by_grid(session, now=now, rules=rules)).items() for status, n in by_status.items()}
        kept = {(g, s, w1, w2): n for g, s, w1, w2, n in (await session.execute(
            select(RosterCount.grid_id, RosterCount.severity, RosterCount.filled_window_1,
                   RosterCount.filled_window_2, RosterCount.n))).all()}
    keyed = Counter((s.grid_id, s.severity,
                     s.filled_window_1 or NO_WINDOW if s.severity == 3 else NO_WINDOW,
                     s.filled_window_2 or NO_WINDOW if s.severity == 3 else NO_WINDOW) for s in subjects)
    assert {k: v for k, v in kept.items() if v} == dict(keyed)
    assert all(v >= 0 for v in kept.values())
    assert {k: v for k, v in counted.items() if v} == dict(live), now
    return dict(live)


async def test_counts_follow_enrolment_readings_time_and_release(client: httpx.AsyncClient, world: World,
                                                                 app_ctx: AppContext, clock: Clock) -> None:
    grid = await make_grid(app_ctx, "南湖")
    others = [await enrol(app_ctx, grid, name=f"张{i}", phone=f"1370000000{i}") for i in range(3)]
    await _assert_counts_match(app_ctx, clock.now)
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 38.8})
    await client.post("/api/v1/readings", headers=subject_headers(app_ctx, others[0]), json={"temperature_c": 36.5})
    await client.post("/api/v1/readings", headers=subject_headers(app_ctx, others[1]),
                      json={"temperature_c": 36.5, "symptoms": ["cough"]})
    await _assert_counts_match(app_ctx, clock.now)
    clock.now += timedelta(hours=3)  # the morning window closes: statuses change, no row is written
    roster = (await client.get("/api/v1/roster", headers=world.admin_h)).json()
    live = await _assert_counts_match(app_ctx, clock.now)
    assert roster["counts"]["total"] == sum(live.values()) == 5
    assert roster["counts"]["abnormal"] == 2 and roster["counts"]["missed"] == 2
    await client.post(f"/api/v1/subjects/{others[2].id}/release", headers=world.admin_h,
                      json={"override": True, "note": "moved away"})
    await _assert_counts_match(app_ctx, clock.now)
    grid_counts = (await client.get("/api/v1/roster", params={"grid_id": grid.id}, headers=world.admin_h)).json()
    assert grid_counts["counts"] == {"abnormal": 1, "missed": 0, "due": 0, "ok": 1, "total": 2}


async def test_counts_stay_exact_as_the_clock_passes_every_boundary(client: httpx.AsyncClient, world: World,
                                                                     app_ctx: AppContext, clock: Clock) -> None:
    # People enrolled at different moments (some inside a window's enrolment grace, one starting
    # tomorrow), reporting in some windows and not others, seen every 20 minutes for two days: the
    # counters and the people counted one by one always add up to each person's own status.
    grid = await make_grid(app_ctx, "东湖")
    start = clock.now
    people = []
    for i in range(6):
        people.append(await enrol(app_ctx, grid, name=f"赵{i}", phone=f"1390000000{i}",
                                  now=start + timedelta(hours=5 * i, minutes=37 * i)))
    people.append(await enrol(app_ctx, grid, name="钱", phone="13900000099", start_date=date(2026, 3, 11)))
    step = timedelta(minutes=20)
    moment = start
    while moment < start + timedelta(days=2):
        clock.now = moment
        index = int((moment - start) / step)
        person = people[index % len(people)]
        if index % 3 and person.subject.created_at <= moment:
            await client.post("/api/v1/readings", headers=subject_headers(app_ctx, person),
                              json={"temperature_c": 37.8 if index % 11 == 0 else 36.6})
        await _assert_counts_match(app_ctx, moment)
        moment += step


async def test_a_new_grid_starts_with_zero_counts(client: httpx.AsyncClient, world: World, app_ctx: AppContext) -> None:
    grid = (await client.post("/api/v1/grids", json={"name": "北坡"}, headers=world.admin_h)).json()
    roster = (await client.get("/api/v1/roster", params={"grid_id": grid["id"]}, headers=world.admin_h)).json()
    assert roster["counts"] == {"abnormal": 0, "missed": 0, "due": 0, "ok": 0, "total": 0}
    async with app_ctx.db.session() as session:
        rows = await session.scalar(select(func.count()).where(RosterCount.grid_id == grid["id"]))
    assert rows == 0  # counters appear with the first person keyed by them
