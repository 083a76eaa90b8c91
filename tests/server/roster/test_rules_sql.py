"""Every SQL twin in server/roster/rules_sql.py agrees with its Python rule in monitoring/, on SQLite and
PostgreSQL: generated people (fevers, filled windows, enrolment and start dates, released or not), clocks
on window edges and a second either side, other windows and time zones with daylight saving. The stored
severity is the rules' at the clock (what readings and the sweep keep it at); the derived statuses, and
the rule that says whom the roster counters may stand for, are checked against monitoring.roster_status."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import false, select

from monitoring import (
    Rules,
    Status,
    awaits_reading,
    day_start,
    evaluate,
    local_date,
    missed_twice,
    open_window,
    parse_windows,
    period_over,
    roster_status,
    severity,
    sweep_parameters,
    windows_on,
)
from monitoring.flags import SEVERITY_NONE
from server.db import Database
from server.models import ACTIVE, RELEASED, Grid, Subject
from server.roster import rules_sql
from server.roster.status import subject_state

ONE_SECOND = timedelta(seconds=1)
ONE_US = timedelta(microseconds=1)
ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"]
WINDOWS = [
    "07:00-11:00,17:00-21:00",
    "06:30-08:00,12:00-13:00,19:00-23:30",
    # Inside the spring-forward gap of Berlin and New York, and across the repeated autumn hour.
    "00:00-01:30,02:00-03:00",
    "09:00-17:00",
]
# Daylight-saving changes of 2026 in the zones above, and one ordinary day.
ANCHORS = [
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    datetime(2026, 4, 4, 16, 0, tzinfo=UTC),
    datetime(2026, 10, 3, 16, 0, tzinfo=UTC),
    datetime(2026, 6, 15, 0, 0, tzinfo=UTC),
]
GRID_ID = 1


@st.composite
def rules_strategy(draw: st.DrawFn) -> Rules:
    return Rules(
        timezone=draw(st.sampled_from(ZONES)),
        windows=parse_windows(draw(st.sampled_from(WINDOWS))),
        flag_lookback=draw(st.sampled_from([timedelta(hours=24), timedelta(hours=12)])),
        enrolment_grace=draw(st.sampled_from([timedelta(hours=1), timedelta(minutes=30), timedelta(0)])),
    )


@st.composite
def clock(draw: st.DrawFn, rules: Rules) -> datetime:
    now = draw(st.sampled_from(ANCHORS)) + draw(st.timedeltas(timedelta(days=-2), timedelta(days=2)))
    if draw(st.booleans()):
        # Land on a window edge or a day start, or a second either side: off-by-one mistakes live there.
        today = local_date(now, rules)
        edges = []
        for offset in (-1, 0, 1):
            day = today + timedelta(days=offset)
            edges.append(day_start(day, rules))
            for window in windows_on(day, rules):
                edges += [window.start, window.end, window.end - rules.enrolment_grace]
        now = draw(st.sampled_from(edges)) + draw(st.sampled_from([-ONE_SECOND, timedelta(0), ONE_SECOND]))
    return now


@st.composite
def person(draw: st.DrawFn, rules: Rules, now: datetime) -> Subject:
    lookback = rules.flag_lookback
    moment = st.one_of(
        st.none(),
        st.timedeltas(-3 * lookback, timedelta(minutes=10)).map(lambda d: now + d),
        st.sampled_from([now - lookback - ONE_US, now - lookback, now - lookback + ONE_US, now]),
    )
    today = local_date(now, rules)
    nearby = [w for offset in (-2, -1, 0, 1) for w in windows_on(today + timedelta(days=offset), rules)]
    filled = sorted({w.start for w in draw(st.lists(st.sampled_from(nearby), max_size=3))}, reverse=True)[:2]
    enrolment_edges = [w.end - rules.enrolment_grace + d for w in nearby for d in (-ONE_SECOND, timedelta(0))]
    enrolled = draw(st.one_of(
        st.sampled_from(enrolment_edges),
        st.timedeltas(timedelta(days=-3), timedelta(hours=2)).map(lambda d: now + d),
    ))
    start = today + timedelta(days=draw(st.integers(-15, 2)))
    fever = draw(moment)
    subject = Subject(
        id=uuid.uuid4(), grid_id=GRID_ID, full_name="x", phone="13800000000", observation_type="home", reason="r",
        start_date=start, duration_days=14, planned_end_date=start + timedelta(days=draw(st.integers(1, 16))),
        access_code_hash=uuid.uuid4().hex, access_code_version=1, open_alerts=0, release_override=False,
        state=draw(st.sampled_from([ACTIVE, ACTIVE, ACTIVE, RELEASED])), severity=3,
        last_reading_at=draw(moment), last_fever_at=fever,
        # Usually a high fever is also the last fever; sometimes an older one, sometimes (a row broken by
        # hand) a later one.
        last_high_fever_at=draw(st.one_of(st.none(), st.just(fever), moment)),
        last_symptoms_at=draw(moment), filled_window_1=filled[0] if filled else None,
        filled_window_2=filled[1] if len(filled) > 1 else None, created_at=enrolled,
        test_state=draw(st.sampled_from([None, None, None, "pending", "positive"])),
        callback_requested_at=draw(st.sampled_from([None, None, now - timedelta(hours=30)])),
    )
    # Stored as the rules say at `now`: what readings and the sweep keep it at.
    subject.severity = severity(subject_state(subject), now, rules)
    return subject


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Rules, datetime, list[Subject]]:
    rules = draw(rules_strategy())
    now = draw(clock(rules))
    return rules, now, draw(st.lists(person(rules, now), min_size=6, max_size=14))


@pytest_asyncio.fixture
async def database(db: Database) -> AsyncIterator[Database]:
    async with db.session() as session:
        session.add(Grid(id=GRID_ID, name="g", created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    yield db


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
async def test_every_sql_twin_agrees_with_its_rule(
    database: Database, scenario: tuple[Rules, datetime, list[Subject]],
) -> None:
    rules, now, subjects = scenario
    p = sweep_parameters(now, rules)
    window = open_window(now, rules)
    async with database.session() as session:
        session.add_all(subjects)
        await session.flush()
        rows = (await session.execute(
            select(
                Subject.id,
                rules_sql.under_observation(),
                rules_sql.status_rank(p),
                rules_sql.severity(p),
                rules_sql.missed_twice(p),
                rules_sql.awaits_reading(window) if window is not None else false(),
                rules_sql.period_over(now, rules),
                rules_sql.abnormal(),
                rules_sql.calm_status_rank(p),
                rules_sql.counted_one_by_one(p),
            ).where(Subject.id.in_([s.id for s in subjects]))
        )).all()
        await session.rollback()
    states = {s.id: subject_state(s) for s in subjects}
    assert len(rows) == len(subjects)
    for subject_id, active, rank, severity_sql, twice, awaits, over, abnormal, calm_rank, one_by_one in rows:
        state = states[subject_id]
        assert bool(active) == (not state.released)
        assert bool(twice) == missed_twice(state, now, rules), ("missed twice", now, state)
        assert bool(awaits) == (window is not None and awaits_reading(state, window)), ("reminder", now, state)
        assert bool(over) == period_over(state, now, rules), ("period over", now, state)
        if state.released:
            continue  # the status twins describe people under observation; a release sets no status
        evaluation = evaluate(state, now, rules)
        assert rank == evaluation.status.rank, ("status", now, state, evaluation)
        assert severity_sql == severity(state, now, rules), ("severity", now, state)
        assert bool(abnormal) == (evaluation.status is Status.abnormal), ("abnormal", now, state)
        calm = roster_status(state, p, severity_now=SEVERITY_NONE)
        assert calm_rank == calm.rank, ("calm status", now, state)
        if not one_by_one:
            # The roster counters stand for this person: held to every window, as if enrolled long before.
            group = replace(state, start_date=date.min, enrolled_at=None)
            assert calm == roster_status(group, p, severity_now=SEVERITY_NONE), ("counted in a group", now, state)

