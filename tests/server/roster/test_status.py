"""The sweep leaves every subject's stored severity as the Python rules say, at every instant, and writes
only the rows whose severity changes; the status derived from it is the rules' own."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, select

from monitoring import (
    Rules,
    evaluate,
    latest_closed_window,
    open_window,
    severity,
    sweep_parameters,
    windows_on,
)
from server.auth.principal import SYSTEM_STAFF
from server.context import AppContext
from server.grids.service import create_grid
from server.models import Subject
from server.roster import rules_sql
from server.roster.status import STATUS_BY_RANK, refresh_stale_statuses, subject_state, sweep_statuses

BASE = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)


def _instants(rules: Rules, rng: random.Random) -> list[datetime]:
    """Instants that matter: window edges (and a second either side), midnights, and random ones."""
    edges = []
    for day in (date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11)):
        for window in windows_on(day, rules):
            for edge in (window.start, window.end):
                edges += [edge - timedelta(seconds=1), edge, edge + timedelta(seconds=1)]
    return edges + [BASE + timedelta(minutes=rng.randrange(0, 3 * 24 * 60)) for _ in range(10)]


def _random_subject(rules: Rules, rng: random.Random, grid_id: int, now: datetime) -> Subject:
    def maybe_time() -> datetime | None:
        return None if rng.random() < 0.3 else now - timedelta(minutes=rng.randrange(-4, 60 * 30))

    fever = maybe_time()
    high = fever if fever is not None and rng.random() < 0.5 else None
    windows: list[datetime] = []
    for candidate in (open_window(now, rules), latest_closed_window(now, rules)):
        if candidate is not None and rng.random() < 0.5:
            windows.append(candidate.start)
    if rng.random() < 0.3:
        windows.append(BASE - timedelta(days=2))
    filled = tuple(sorted(set(windows), reverse=True)[:2])
    start = (now - timedelta(days=rng.randrange(-1, 3))).astimezone(rules.tz).date()
    subject = Subject(
        id=uuid.uuid4(), grid_id=grid_id, full_name="x", phone="13800000000", observation_type="home",
        reason="r", start_date=start, duration_days=14, planned_end_date=start + timedelta(days=14),
        access_code_hash=uuid.uuid4().hex, access_code_version=1, state="active", open_alerts=0,
        severity=3,
        last_reading_at=maybe_time(), last_fever_at=fever, last_high_fever_at=high,
        last_symptoms_at=maybe_time(), filled_window_1=filled[0] if filled else None,
        created_at=now - timedelta(minutes=rng.randrange(-60, 60 * 40)),
        filled_window_2=filled[1] if len(filled) > 1 else None, release_override=False,
    )
    # As a reading or an earlier sweep left it: the rules' severity at some instant before now.
    subject.severity = severity(subject_state(subject), now - timedelta(minutes=rng.randrange(0, 60 * 30)), rules)
    return subject


async def test_the_sweep_rewrites_exactly_the_rows_the_rules_change(app_ctx: AppContext) -> None:
    rules = app_ctx.settings.rules
    rng = random.Random(7)
    async with app_ctx.db.session() as session:
        grid = await create_grid(session, actor=SYSTEM_STAFF, name="g")
    checked = 0
    for turn, now in enumerate(_instants(rules, rng)):
        async with app_ctx.db.session() as session:
            subjects = [_random_subject(rules, rng, grid.id, now) for _ in range(12)]
            session.add_all(subjects)
        stale = {s.id for s in subjects if s.severity != severity(subject_state(s), now, rules)}
        if turn % 2:
            # Small batches: several key ranges, each its own transaction.
            changes = await sweep_statuses(app_ctx.db, now=now, rules=rules, batch=5)
        else:
            async with app_ctx.db.session() as session:
                changes = await refresh_stale_statuses(session, now=now, rules=rules)
        assert {c.subject_id for c in changes} == stale, now
        async with app_ctx.db.session() as session:
            stored = (await session.execute(select(Subject, rules_sql.status_rank(sweep_parameters(now, rules)))
                                            .where(Subject.id.in_([s.id for s in subjects])))).all()
            for subject, rank in stored:
                expected = evaluate(subject_state(subject), now, rules)
                assert rank == expected.status.rank, (now, subject_state(subject), expected)
                assert subject.severity == severity(subject_state(subject), now, rules), now
                checked += 1
        derived = {subject.id: STATUS_BY_RANK[rank] for subject, rank in stored}
        assert [(c.status, derived[c.subject_id]) for c in changes if c.status is not derived[c.subject_id]] == []
        assert await sweep_statuses(app_ctx.db, now=now, rules=rules, batch=5) == []
        async with app_ctx.db.session() as session:
            await session.execute(delete(Subject).where(Subject.id.in_([s.id for s in subjects])))
    assert checked > 300


async def test_only_the_abnormal_group_is_compared_unless_everyone_is_asked_for(app_ctx: AppContext) -> None:
    rules = app_ctx.settings.rules
    now = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 12:00 Shanghai, between the windows
    async with app_ctx.db.session() as session:
        grid = await create_grid(session, actor=SYSTEM_STAFF, name="g")
        aged_out = _random_subject(rules, random.Random(1), grid.id, now)
        aged_out.last_fever_at = aged_out.last_high_fever_at = now - timedelta(hours=25)
        aged_out.last_symptoms_at = None
        aged_out.severity = 0
        # Loaded around the app with a fresh fever but no severity: the clock never raises a severity,
        # so only a comparison of every row (after a bulk load) sees it.
        loaded = _random_subject(rules, random.Random(2), grid.id, now)
        loaded.last_fever_at, loaded.last_high_fever_at, loaded.last_symptoms_at = now - timedelta(hours=1), None, None
        loaded.severity = 3
        session.add_all([aged_out, loaded])
    changes = await sweep_statuses(app_ctx.db, now=now, rules=rules)
    assert [c.subject_id for c in changes] == [aged_out.id]
    assert [c.subject_id for c in await sweep_statuses(app_ctx.db, now=now, rules=rules, everyone=True)] == [loaded.id]
