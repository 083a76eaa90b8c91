"""The course of a case: public-health actions, tests, moves between grids and sites."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules, day_start, evaluate
from monitoring.course import action_effect, lab_state
from monitoring.release import LabResult
from server.alerts.service import open_alert
from server.audit import service as audit
from server.auth.principal import Staff
from server.domain_events import emit
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.models import ACTIVE, CLOSED, Alert, Grid, Subject
from server.models.case import CaseAction, LabTest
from server.models.checkins import Checkin
from server.roster.status import reevaluate, subject_state
from server.subjects.schemas import ActionCreate, LabTestCreate, LabTestUpdate, TransferCreate
from server.subjects.service import get_in_scope

TEST_POSITIVE = "test_positive"


def _(message: str) -> str:
    """Marks a message template for the catalogue; the error handler translates it."""
    return message


def _status(subject: Subject, now: datetime, rules: Rules) -> str:
    return evaluate(subject_state(subject), now, rules).status.value


async def record_action(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID, body: ActionCreate,
                        rules: Rules, now: datetime) -> CaseAction:
    """Record an action; a hospitalisation or a confirmed case closes the observation with that outcome."""
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id, for_update=True)
    if subject.state != ACTIVE:
        raise Conflict("This person is no longer under observation.")
    at = body.at or now
    if at > now:
        raise Invalid(_("An action cannot be recorded in the future."))
    effect = action_effect(body.kind, subject.case_flag)
    action = CaseAction(id=uuid.uuid4(), subject_id=subject.id, kind=body.kind, note=body.note, at=at,
                        recorded_by=staff.db_user_id, recorded_at=now)
    session.add(action)
    subject.case_flag = effect.case_flag
    if effect.observation_type is not None:
        subject.observation_type = effect.observation_type
    if effect.closes_with is not None:
        subject.state = CLOSED
        subject.outcome = effect.closes_with
        subject.closed_at = now
    else:
        reevaluate(session, subject, now=now, rules=rules)
    await session.flush()
    audit.record(session, staff, "case.action_recorded", subject_id=subject.id, kind=body.kind, note=body.note)
    emit(session, "subject.closed" if effect.closes_with else "case.action_recorded", subject_id=str(subject.id),
         grid_id=subject.grid_id, kind=body.kind,
         status="closed" if effect.closes_with else _status(subject, now, rules))
    return action


async def list_actions(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID) -> Sequence[CaseAction]:
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id)
    return (await session.scalars(select(CaseAction).where(CaseAction.subject_id == subject.id)
                                  .order_by(CaseAction.at.desc(), CaseAction.recorded_at.desc()))).all()


async def _tests_of_this_observation(session: AsyncSession, subject: Subject, rules: Rules) -> Sequence[LabTest]:
    """Tests sampled since the current observation began (a readmission starts a new observation, and
    the release rule weighs only its tests)."""
    since = day_start(subject.start_date, rules)
    return (await session.scalars(select(LabTest).where(LabTest.subject_id == subject.id, LabTest.sampled_at >= since)
                                  .order_by(LabTest.sampled_at.desc()))).all()


async def lab_results(session: AsyncSession, subject: Subject, rules: Rules) -> list[LabResult]:
    """The tests the release rule weighs (see :func:`monitoring.release.lab_reasons`)."""
    return [LabResult(t.kind, t.sampled_at, t.result)
            for t in await _tests_of_this_observation(session, subject, rules)]


async def lab_results_of(session: AsyncSession, subjects: Sequence[Subject],
                         rules: Rules) -> dict[uuid.UUID, list[LabResult]]:
    """:func:`lab_results` of many people in one query."""
    if not subjects:
        return {}
    since = {s.id: day_start(s.start_date, rules) for s in subjects}
    rows = (await session.scalars(select(LabTest).where(LabTest.subject_id.in_(list(since))))).all()
    found: dict[uuid.UUID, list[LabResult]] = {}
    for t in rows:
        if t.sampled_at >= since[t.subject_id]:
            found.setdefault(t.subject_id, []).append(LabResult(t.kind, t.sampled_at, t.result))
    return found


async def _apply_results(session: AsyncSession, *, staff: Staff, subject: Subject, test: LabTest,
                         was_positive: bool, rules: Rules, now: datetime) -> None:
    results = [t.result for t in await _tests_of_this_observation(session, subject, rules)]
    subject.test_state = lab_state(results)
    reevaluate(session, subject, now=now, rules=rules)
    if test.result == "positive" and not was_positive and subject.state == ACTIVE:
        await open_alert(session, actor=staff, subject=subject, kind=TEST_POSITIVE, now=now, rules=rules,
                         note=test.lab)


async def record_test(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID, body: LabTestCreate,
                      rules: Rules, now: datetime) -> LabTest:
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id, for_update=True)
    if subject.state != ACTIVE:
        raise Conflict("This person is no longer under observation.")
    _check_times(body.sampled_at, body.resulted_at, body.result, now)
    test = LabTest(id=uuid.uuid4(), subject_id=subject.id, kind=body.kind, sampled_at=body.sampled_at,
                   result=body.result, resulted_at=body.resulted_at or (now if body.result != "pending" else None),
                   lab=body.lab, recorded_by=staff.db_user_id, recorded_at=now)
    session.add(test)
    await session.flush()
    await _apply_results(session, staff=staff, subject=subject, test=test, was_positive=False, rules=rules,
                         now=now)
    audit.record(session, staff, "case.test_recorded", subject_id=subject.id, test_id=str(test.id),
                 kind=body.kind, result=body.result)
    emit(session, "case.test_recorded", subject_id=str(subject.id), grid_id=subject.grid_id, result=body.result,
         status=_status(subject, now, rules))
    return test


async def update_test(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID, test_id: uuid.UUID,
                      body: LabTestUpdate, rules: Rules, now: datetime) -> LabTest:
    """Record a test's result when it comes (or correct it)."""
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id, for_update=True)
    test = await session.scalar(select(LabTest).where(LabTest.id == test_id, LabTest.subject_id == subject.id))
    if test is None:
        raise NotFound(_("No such test for this person."))
    _check_times(test.sampled_at, body.resulted_at, body.result, now)
    was_positive = test.result == "positive"
    old = test.result
    test.result = body.result
    test.resulted_at = body.resulted_at or (now if body.result != "pending" else None)
    if body.lab is not None:
        test.lab = body.lab
    await session.flush()
    await _apply_results(session, staff=staff, subject=subject, test=test, was_positive=was_positive, rules=rules,
                         now=now)
    audit.record(session, staff, "case.test_updated", subject_id=subject.id, test_id=str(test.id),
                 result=body.result, previous=old)
    emit(session, "case.test_recorded", subject_id=str(subject.id), grid_id=subject.grid_id, result=body.result,
         status=_status(subject, now, rules))
    return test


def _check_times(sampled_at: datetime, resulted_at: datetime | None, result: str, now: datetime) -> None:
    if sampled_at > now:
        raise Invalid(_("A sample cannot be taken in the future."))
    if resulted_at is not None and (resulted_at < sampled_at or resulted_at > now):
        raise Invalid(_("A result comes after its sample and not in the future."))


async def list_tests(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID) -> Sequence[LabTest]:
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id)
    return (await session.scalars(select(LabTest).where(LabTest.subject_id == subject.id)
                                  .order_by(LabTest.sampled_at.desc()))).all()


async def transfer(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID, body: TransferCreate,
                   now: datetime) -> Subject:
    """Move a person to another grid with their open alerts (future reminders follow the grid): staff of
    the old grid lose sight of them at once, those of the new grid see the whole history. Administrators,
    or a clinician who works in both grids."""
    if not staff.sees_grid(body.grid_id):
        raise Forbidden(_("You can move people only into a grid you work in."))
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id, for_update=True)
    if subject.state != ACTIVE:
        raise Conflict("This person is no longer under observation.")
    if await session.get(Grid, body.grid_id) is None:
        raise Invalid("No grid with id {grid_id}.", grid_id=body.grid_id)
    old_grid = subject.grid_id
    if old_grid == body.grid_id:
        raise Invalid(_("The person is already in this grid."))
    subject.grid_id = body.grid_id
    await session.execute(update(Alert).where(Alert.subject_id == subject.id, Alert.status == "open")
                          .values(grid_id=body.grid_id))
    await session.execute(update(Checkin).where(Checkin.subject_id == subject.id).values(grid_id=body.grid_id))
    audit.record(session, staff, "subject.transferred", subject_id=subject.id, from_grid=old_grid,
                 to_grid=body.grid_id, reason=body.reason)
    for grid_id in (old_grid, body.grid_id):
        emit(session, "subject.transferred", subject_id=str(subject.id), grid_id=grid_id, from_grid=old_grid,
             to_grid=body.grid_id)
    return subject
