"""The window-boundary sweep against readings for the same people at the same moment, on PostgreSQL (the
database several processes share): both finish, nobody deadlocks, and every severity, counter and status
ends up right. At this boundary a third of the people have a fever ageing out, so the sweep writes
them while the readings write the same rows and the same grids' counters."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from monitoring import Status, evaluate, severity, windows_on
from server.auth.principal import SYSTEM_STAFF
from server.context import AppContext
from server.models import ACTIVE, Subject
from server.readings.schemas import ReadingCreate
from server.readings.service import add_reading
from server.roster import status as status_module
from server.roster.service import counts_by_grid
from server.roster.status import subject_state
from server.scheduler.service import sweep_once
from tests.factories import make_grid

DAY = date(2026, 3, 10)
PEOPLE = 1500
READERS = 8


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_sweep_and_readings_for_the_same_people_both_finish_with_the_right_statuses(
    app_ctx: AppContext, monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = app_ctx.settings.rules
    morning, evening = windows_on(DAY, rules)
    before, after = evening.start - timedelta(seconds=1), evening.start + timedelta(seconds=1)
    # Small batches: many short transactions interleave with the readings.
    monkeypatch.setattr(status_module, "SWEEP_BATCH", 50, raising=False)
    grids = [await make_grid(app_ctx, f"grid-{i}") for i in range(3)]
    async with app_ctx.db.session() as session:
        people = []
        for i in range(PEOPLE):
            subject = Subject(
                id=uuid.uuid4(), grid_id=grids[i % 3].id, full_name=f"p{i:05d}", phone="13800000000",
                observation_type="home", reason="r", start_date=DAY + timedelta(days=1 if i % 5 == 1 else -1),
                duration_days=14,
                planned_end_date=DAY + timedelta(days=13), access_code_hash=uuid.uuid4().hex,
                access_code_version=1, state=ACTIVE, open_alerts=0, release_override=False,
                created_at=datetime(2026, 3, 8, tzinfo=UTC),
                # Three in five reported this morning: the evening window opening makes them due. One in
                # five did not (missed, and still missed); one in five starts tomorrow (ok, and still ok).
                filled_window_1=morning.start if i % 5 > 1 else None,
                # A third had a fever that ages out exactly as the window opens.
                last_fever_at=evening.start - rules.flag_lookback if i % 3 == 0 else None,
            )
            subject.severity = severity(subject_state(subject), before, rules)
            people.append(subject)
        session.add_all(people)

    queue: asyncio.Queue[uuid.UUID] = asyncio.Queue()
    # First the people the sweep leaves as they are: a reading holds their row while the sweep holds the
    # counters of the people it flips, the order that deadlocked a sweep done in one transaction.
    for subject in sorted(people[::2], key=lambda s: s.start_date <= DAY):
        queue.put_nowait(subject.id)

    async def reader() -> int:
        done = 0
        while not queue.empty():
            subject_id = queue.get_nowait()
            async with app_ctx.db.session() as session:
                subject = await session.get(Subject, subject_id)
                assert subject is not None
                # A fever: the status changes whatever it was, so the reading adjusts the grid's counters.
                await add_reading(session, subject=subject, actor=SYSTEM_STAFF, source="clinician",
                                  body=ReadingCreate(temperature_c=38.0, taken_at=after), rules=rules, now=after)
            done += 1
        return done

    readers = [asyncio.create_task(reader()) for _ in range(READERS)]
    await asyncio.sleep(0.05)  # the readings are under way when the window opens
    changes = await sweep_once(app_ctx, after)
    read = sum(await asyncio.gather(*readers))

    assert changes is not None and read == len(people[::2])
    assert {c.subject_id for c in changes} <= {s.id for s in people[::3]}
    async with app_ctx.db.session() as session:
        stored = (await session.scalars(select(Subject))).all()
        counted = await counts_by_grid(session, now=after, rules=rules)
    wrong = [(s.full_name, s.severity) for s in stored if s.severity != severity(subject_state(s), after, rules)]
    assert wrong == []
    statuses = Counter((s.grid_id, evaluate(subject_state(s), after, rules).status) for s in stored)
    assert {(g, st): n for g, by in counted.items() for st, n in by.items() if n} == dict(statuses)
    ranks = Counter(status for (_, status), n in statuses.items() for _ in range(n))
    # Half had a fever; of the rest, those who reported this morning are due, the others missed it.
    assert ranks[Status.abnormal] == PEOPLE // 2 and ranks[Status.due] > 0 and ranks[Status.missed] > 0
