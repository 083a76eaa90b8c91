from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy import select

from monitoring import sweep_parameters
from server.context import AppContext
from server.models import Subject
from server.roster import rules_sql
from server.scheduler.service import needs_full_sweep, next_wakeup, sweep_once
from tests.conftest import Clock
from tests.factories import World


async def _statuses(ctx: AppContext, now: datetime) -> dict[str, int]:
    p = sweep_parameters(now, ctx.settings.rules)
    async with ctx.db.session() as session:
        rows = (await session.execute(select(Subject.full_name, rules_sql.status_rank(p)))).all()
        return {name: rank for name, rank in rows}


async def test_window_close_marks_missed_without_anyone_looking(app_ctx: AppContext, world: World, clock: Clock,
                                                                client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/readings", headers=world.subj_b, json={"temperature_c": 36.5})
    events: list[tuple[str, dict[str, object]]] = []

    async def capture(event_type: str, data: dict[str, object]) -> None:
        events.append((event_type, data))

    app_ctx.db.publisher = capture
    clock.now = next_wakeup(clock.now, app_ctx)  # 11:00:01 Shanghai, the morning window just closed
    changes = await sweep_once(app_ctx, clock.now)
    # Nothing is written at a boundary: 王小明 was due and is now missed, derived from his windows;
    # 李华 reported in time and stays ok. Live rosters of both grids are told to reload.
    assert changes == []
    assert await _statuses(app_ctx, clock.now) == {"王小明": 1, "李华": 3}
    assert sorted((t, d["grid_id"]) for t, d in events) == [
        ("roster.refreshed", world.grid_a.id), ("roster.refreshed", world.grid_b.id)]
    roster = (await client.get("/api/v1/roster", headers=world.admin_h)).json()
    assert [(item["full_name"], item["status"]) for item in roster["items"]] == [("王小明", "missed"), ("李华", "ok")]
    # A sweep between boundaries (another process, or a restart) writes and announces nothing.
    events.clear()
    assert await sweep_once(app_ctx, clock.now + timedelta(minutes=5), full=False) == []
    assert events == []


def test_next_wakeup_is_just_after_the_next_boundary(app_ctx: AppContext) -> None:
    from datetime import UTC

    now = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)  # 09:30 Shanghai
    assert next_wakeup(now, app_ctx) == datetime(2026, 3, 10, 3, 0, 1, tzinfo=UTC)  # 11:00:01


async def test_checkins_orphaned_by_a_restart_are_closed_as_failed(app_ctx: AppContext, world: World,
                                                                   clock: Clock) -> None:
    from server.models.checkins import Checkin

    async with app_ctx.db.session() as session:
        for status, age in (("live", timedelta(minutes=10)), ("connecting", timedelta(minutes=10)),
                            ("live", timedelta(seconds=30)), ("completed", timedelta(minutes=10))):
            session.add(Checkin(subject_id=world.subject_a.id, grid_id=world.grid_a.id, status=status,
                                created_at=clock.now - age, started_at=clock.now - age))
    await sweep_once(app_ctx, clock.now)
    async with app_ctx.db.session() as session:
        rows = (await session.execute(select(Checkin.status, Checkin.error).order_by(Checkin.created_at))).all()
    statuses = sorted(status for status, _error in rows)
    # The two that outlived any possible check-in are failed; the young live one and the finished one stay.
    assert statuses == ["completed", "failed", "failed", "live"]
    assert all("server stopped" in (error or "") for status, error in rows if status == "failed")


def test_every_row_is_compared_after_a_boundary_and_once_more_then_only_the_abnormal_ones(
    app_ctx: AppContext,
) -> None:
    from datetime import UTC

    rules = app_ctx.settings.rules
    closes = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 11:00 Shanghai, the morning window closes
    assert needs_full_sweep(None, closes - timedelta(hours=1), rules)  # at start-up
    assert not needs_full_sweep(closes - timedelta(minutes=20), closes - timedelta(minutes=15), rules)
    assert needs_full_sweep(closes - timedelta(minutes=4), closes + timedelta(seconds=1), rules)
    # The wake-up after the boundary's sweep compares everything once more, the one after that does not.
    assert needs_full_sweep(closes + timedelta(seconds=1), closes + timedelta(minutes=5, seconds=1), rules)
    assert not needs_full_sweep(closes + timedelta(minutes=5, seconds=1), closes + timedelta(minutes=10), rules)


async def test_housekeeping_drops_expired_revoked_tokens_and_empty_counters(app_ctx: AppContext, world: World,
                                                                          clock: Clock) -> None:
    from server.models import NO_WINDOW, RevokedToken, RosterCount

    async with app_ctx.db.session() as session:
        session.add_all([RevokedToken(token_id="expired", expires_at=clock.now - timedelta(seconds=1)),
                         RevokedToken(token_id="current", expires_at=clock.now + timedelta(hours=1)),
                         RosterCount(grid_id=world.grid_a.id, severity=1, filled_window_1=NO_WINDOW,
                                     filled_window_2=clock.now, n=0)])
    await sweep_once(app_ctx, clock.now)
    async with app_ctx.db.session() as session:
        assert (await session.scalars(select(RevokedToken.token_id))).all() == ["current"]
        assert await session.scalar(select(RosterCount.n).where(RosterCount.n == 0)) is None
        # The counters people are keyed by stay.
        assert sum((await session.scalars(select(RosterCount.n))).all()) == 2
