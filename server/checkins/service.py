"""Check-in and call use cases. Each function takes the session first and only flushes."""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from monitoring import Evaluation, Rules, evaluate
from server.audit import service as audit
from server.audit.service import Actor
from server.auth.principal import Staff
from server.checkins import storage
from server.checkins.schemas import CheckinRead, SnapshotRead
from server.db import after_commit
from server.domain_events import emit
from server.errors import Conflict, NotFound, TooManyRequests
from server.models import ACTIVE, Grid, Subject, User
from server.models.checkins import (
    CALL_ENDED,
    CALL_EXPIRED,
    CALL_JOINED,
    CALL_MISSED,
    CALL_PENDING,
    CONNECTING,
    LIVE,
    Call,
    Checkin,
    CheckinSnapshot,
)
from server.notifications import outbox
from server.rate_limit import RateLimit, take
from server.roster.status import reevaluate, subject_state
from server.settings import Settings
from server.subjects.service import lock_subject, look_at
from webrtc import CheckinOutcome, CheckinResult

# A subject sees a call this long after it was requested; an unanswered call then simply expires.
CALL_RING_SECONDS = 120


def not_found() -> NotFound:
    return NotFound("No such check-in.")


# A check-in still "connecting" or "live" this long after it was opened is a leftover of a process that
# died before it could record the end; it no longer keeps its person from starting another.
IN_PROGRESS_GRACE_SECONDS = 60
# When a person's check-in is in progress, another may usually be started within this many seconds.
IN_PROGRESS_RETRY_SECONDS = 30


async def open_checkin(
    session: AsyncSession, *, subject_id: uuid.UUID, call_id: uuid.UUID | None, now: datetime,
    rate: RateLimit, max_seconds: float, media_owner: str | None = None,
) -> Checkin:
    """The row of a new check-in (self-started, or joining the call ``call_id``), or a refusal: 429 past
    the person's budget of check-ins (``rate``), 409 while another of theirs is in progress. One in
    progress at a time per person, of any kind, so one person holds at most one media slot; the
    budget's row lock serialises a person's concurrent attempts, in every app process."""
    wait = await take(session, f"checkin:{subject_id}", rate=rate, now=now)
    if wait:
        raise TooManyRequests("You have started many video check-ins in a short time; please try again in "
                              "{minutes} minute(s).", minutes=math.ceil(wait / 60),
                              headers={"Retry-After": str(math.ceil(wait))})
    subject = await session.get(Subject, subject_id)
    if subject is None:
        raise NotFound("No such person.")
    if subject.state != ACTIVE:
        raise Conflict("Observation has ended for this person; no more video check-ins are needed.")
    recent = now - timedelta(seconds=max_seconds + IN_PROGRESS_GRACE_SECONDS)
    in_progress = await session.scalar(select(Checkin.id).where(
        Checkin.subject_id == subject_id, Checkin.status.in_((CONNECTING, LIVE)), Checkin.created_at > recent,
    ).limit(1))
    if in_progress is not None:
        raise Conflict("A video check-in of yours is already in progress. Please finish it (or close its page) "
                       "and try again in a moment.", extra={"checkin_id": str(in_progress)},
                       headers={"Retry-After": str(IN_PROGRESS_RETRY_SECONDS)})
    if call_id is not None:
        call = await session.get(Call, call_id)
        if call is None or call.subject_id != subject.id:
            raise NotFound("No such call.")
        if call.status not in (CALL_PENDING, CALL_JOINED):
            raise Conflict("This call has ended.")
        call.status = CALL_JOINED
        call.joined_at = call.joined_at or now
    checkin = Checkin(id=uuid.uuid4(), subject_id=subject.id, grid_id=subject.grid_id, call_id=call_id,
                      status=CONNECTING, created_at=now, media_owner=media_owner)
    session.add(checkin)
    await session.flush()
    audit.record(session, _SubjectActor(subject), "checkin.started", subject_id=subject.id,
                 checkin_id=str(checkin.id), call_id=str(call_id) if call_id else None)
    return checkin


class _SubjectActor:
    def __init__(self, subject: Subject) -> None:
        self.audit_actor = ("subject", str(subject.id), subject.full_name)


async def discard(session: AsyncSession, *, checkin_id: uuid.UUID) -> None:
    """Forget a check-in whose offer was refused: nothing was received, so there is nothing to keep."""
    await session.execute(delete(Checkin).where(Checkin.id == checkin_id))


async def mark_live(session: AsyncSession, *, checkin_id: uuid.UUID, now: datetime) -> None:
    checkin = await session.get(Checkin, checkin_id)
    if checkin is None or checkin.status != CONNECTING:
        return
    checkin.status = LIVE
    checkin.started_at = now
    emit(session, "checkin.started", checkin_id=str(checkin.id), subject_id=str(checkin.subject_id),
         grid_id=checkin.grid_id, status=LIVE, call_id=str(checkin.call_id) if checkin.call_id else None)


async def add_snapshot(
    session: AsyncSession, *, checkin_id: uuid.UUID, index: int, taken_at: datetime, relpath: str,
    face_detected: bool,
) -> None:
    session.add(CheckinSnapshot(checkin_id=checkin_id, index=index, taken_at=taken_at, path=relpath,
                                face_detected=face_detected))


async def finish(
    session: AsyncSession, *, checkin_id: uuid.UUID, result: CheckinResult, now: datetime, rules: Rules
) -> Evaluation | None:
    """Store the outcome; a completed check-in updates the subject's video state and status."""
    checkin = await session.get(Checkin, checkin_id)
    if checkin is None:
        return None
    checkin.status = result.outcome.value
    checkin.started_at = result.started_at or checkin.started_at
    checkin.ended_at = result.ended_at
    checkin.duration_s = round(result.duration_s, 2)
    checkin.frames_received = result.frames_received
    checkin.width, checkin.height = result.width, result.height
    checkin.snapshots_count = result.snapshots_taken
    checkin.faces_seen = result.faces_seen
    checkin.face_seen_ratio = (
        round(result.faces_seen / result.snapshots_taken, 3) if result.snapshots_taken else None
    )
    checkin.error = result.error
    checkin.recording_path = str(result.recording_path) if result.recording_path else None
    if checkin.call_id is not None:
        call = await session.get(Call, checkin.call_id)
        if call is not None and call.status in (CALL_PENDING, CALL_JOINED):
            # The person's side ended (hung up, closed the page, lost the connection): the clinician's
            # page learns it from this event rather than from a media timeout.
            _close_call(session, call, status=CALL_ENDED, by="subject", now=now)

    subject = await lock_subject(session, checkin.subject_id)
    if result.outcome is CheckinOutcome.completed and subject.state == ACTIVE:
        # The rules' clock, not the media plane's: "today" must mean the same day for both.
        subject.last_checkin_completed_at = now
        subject.last_checkin_face_seen = result.faces_seen > 0
        reevaluate(session, subject, now=now, rules=rules)
    evaluation = evaluate(subject_state(subject), now, rules, video_rules=True)
    emit(session, "checkin.completed", checkin_id=str(checkin.id), subject_id=str(subject.id),
         grid_id=subject.grid_id, status=checkin.status, face_seen_ratio=checkin.face_seen_ratio,
         flags=[f.value for f in evaluation.flags])
    return evaluation


# -- reading ---------------------------------------------------------------------------------------------


async def _load(session: AsyncSession, checkin_id: uuid.UUID, *conditions: ColumnElement[bool]) -> Checkin:
    checkin = await session.scalar(
        select(Checkin).join(Subject, Subject.id == Checkin.subject_id)
        .where(Checkin.id == checkin_id, *conditions)
        .options(selectinload(Checkin.snapshots))
    )
    if checkin is None:
        raise not_found()
    return checkin


async def get_for_staff(session: AsyncSession, *, staff: Staff, checkin_id: uuid.UUID) -> Checkin:
    """Out-of-scope and unknown check-ins look the same (404), as subjects do."""
    return await _load(session, checkin_id, staff.subject_filter())


async def get_for_subject(session: AsyncSession, *, subject_id: uuid.UUID, checkin_id: uuid.UUID) -> Checkin:
    return await _load(session, checkin_id, Checkin.subject_id == subject_id)


async def list_for_subject(session: AsyncSession, *, subject_id: uuid.UUID, limit: int = 50) -> list[Checkin]:
    return list(
        (
            await session.scalars(
                select(Checkin).where(Checkin.subject_id == subject_id)
                .order_by(Checkin.created_at.desc(), Checkin.id).limit(limit)
                .options(selectinload(Checkin.snapshots))
            )
        ).all()
    )


async def latest_since(session: AsyncSession, *, subject_id: uuid.UUID, since: datetime) -> Checkin | None:
    """The person's newest check-in begun at or after ``since`` (one index range, no snapshots)."""
    return await session.scalar(
        select(Checkin).where(Checkin.subject_id == subject_id, Checkin.created_at >= since)
        .order_by(Checkin.created_at.desc()).limit(1)
    )


async def checkins_for_staff(session: AsyncSession, *, staff: Staff, subject_id: uuid.UUID,
                             limit: int = 50) -> list[Checkin]:
    """A person's check-ins, newest first, for staff in scope; the look is audited."""
    subject = await look_at(session, staff=staff, subject_id=subject_id, action="checkin.list_viewed")
    return await list_for_subject(session, subject_id=subject.id, limit=limit)


def snapshot_url(checkin_id: uuid.UUID, index: int) -> str:
    return f"/api/v1/checkins/{checkin_id}/snapshots/{index}.jpg"


def to_read(checkin: Checkin) -> CheckinRead:
    return CheckinRead(
        id=checkin.id,
        subject_id=checkin.subject_id,
        call_id=checkin.call_id,
        status=checkin.status,
        created_at=checkin.created_at,
        started_at=checkin.started_at,
        ended_at=checkin.ended_at,
        duration_s=checkin.duration_s,
        frames_received=checkin.frames_received,
        width=checkin.width,
        height=checkin.height,
        face_seen_ratio=checkin.face_seen_ratio,
        error=checkin.error,
        snapshots=[
            SnapshotRead(index=s.index, taken_at=s.taken_at, url=snapshot_url(checkin.id, s.index),
                         face_detected=s.face_detected)
            for s in checkin.snapshots
        ],
    )


def snapshot_file(checkin: Checkin, index: int, media_dir: Path) -> Path:
    for snapshot in checkin.snapshots:
        if snapshot.index == index:
            path = storage.resolve(media_dir, snapshot.path)
            if path.is_file():
                return path
    raise NotFound("No such snapshot.")


# -- calls -----------------------------------------------------------------------------------------------


async def request_call(session: AsyncSession, *, staff: Staff, subject: Subject, now: datetime,
                       settings: Settings | None = None) -> Call:
    if subject.state != ACTIVE:
        raise Conflict("Observation has ended for this person.")
    # One ringing call per person: a new request replaces any earlier unanswered one.
    for earlier in await session.scalars(
        select(Call).where(Call.subject_id == subject.id, Call.status == CALL_PENDING)
    ):
        earlier.status, earlier.ended_at = CALL_EXPIRED, now
    call = Call(id=uuid.uuid4(), subject_id=subject.id, grid_id=subject.grid_id, requested_by=staff.user_id,
                status=CALL_PENDING, created_at=now)
    session.add(call)
    await session.flush()
    audit.record(session, staff, "call.requested", subject_id=subject.id, call_id=str(call.id))
    # Who is calling travels with the event, so the person's page rings without asking back first.
    user = await session.get(User, staff.user_id)
    grid = await session.get(Grid, subject.grid_id)
    clinician = (user.full_name or user.username) if user else staff.username
    unit = grid.name if grid else ""
    emit(session, "call.requested", call_id=str(call.id), subject_id=str(subject.id), grid_id=subject.grid_id,
         clinician=clinician, unit=unit)
    if settings is not None:
        await outbox.enqueue_call_push(session, call_id=call.id, subject=subject, clinician=clinician, unit=unit,
                                       settings=settings, now=now)
    return call


async def pending_call(session: AsyncSession, *, subject_id: uuid.UUID,
                       now: datetime) -> tuple[Call, str, str] | None:
    """The call ringing for the person now, with the clinician's full name and their unit (the grid)."""
    row = (
        await session.execute(
            select(Call, User, Grid.name).join(User, User.id == Call.requested_by)
            .join(Grid, Grid.id == Call.grid_id)
            .where(Call.subject_id == subject_id, Call.status == CALL_PENDING,
                   Call.created_at > now - timedelta(seconds=CALL_RING_SECONDS))
            .order_by(Call.created_at.desc()).limit(1)
        )
    ).first()
    if row is None:
        return None
    call, user, unit = row
    return call, user.full_name or user.username, unit


def _close_call(session: AsyncSession, call: Call, *, status: str, by: str, now: datetime) -> None:
    call.status, call.ended_at = status, now
    emit(session, "call.ended", call_id=str(call.id), subject_id=str(call.subject_id), grid_id=call.grid_id,
         status=status, by=by)


async def end_call(session: AsyncSession, *, call: Call, by: str, now: datetime) -> list[uuid.UUID]:
    """Hang up: a call nobody joined is missed, a joined one ended. Returns the check-ins still carrying
    the call, for the media plane to close once this is committed."""
    if call.status in (CALL_PENDING, CALL_JOINED):
        _close_call(session, call, status=CALL_MISSED if call.status == CALL_PENDING else CALL_ENDED, by=by,
                    now=now)
    return list(
        (
            await session.scalars(
                select(Checkin.id).where(Checkin.call_id == call.id, Checkin.status.in_((CONNECTING, LIVE)))
            )
        ).all()
    )


async def get_call_for_subject(session: AsyncSession, *, subject_id: uuid.UUID, call_id: uuid.UUID) -> Call:
    call = await session.scalar(select(Call).where(Call.id == call_id, Call.subject_id == subject_id))
    if call is None:
        raise NotFound("No such call, or it has ended.")
    return call


async def missed_calls(session: AsyncSession, *, subject_id: uuid.UUID, since: datetime,
                       now: datetime) -> list[tuple[Call, str]]:
    """Calls to the person since ``since`` that nobody answered (hung up before, or rang out), newest
    first, with the caller's name."""
    rang_out = and_(Call.status == CALL_PENDING, Call.created_at <= now - timedelta(seconds=CALL_RING_SECONDS))
    rows = await session.execute(
        select(Call, User).join(User, User.id == Call.requested_by)
        .where(Call.subject_id == subject_id, Call.created_at >= since,
               or_(Call.status.in_((CALL_MISSED, CALL_EXPIRED)), rang_out))
        .order_by(Call.created_at.desc()).limit(10)
    )
    return [(call, user.full_name or user.username) for call, user in rows.all()]


async def get_call_for_host(session: AsyncSession, *, staff: Staff, call_id: uuid.UUID,
                            ended_too: bool = False) -> Call:
    call = await session.scalar(
        select(Call).join(Subject, Subject.id == Call.subject_id)
        .where(Call.id == call_id, Call.requested_by == staff.user_id, staff.subject_filter())
    )
    if call is None or (not ended_too and call.status in (CALL_ENDED, CALL_EXPIRED, CALL_MISSED)):
        raise NotFound("No such call, or it has ended.")
    return call


async def claim_call_media(session: AsyncSession, *, call_id: uuid.UUID, owner: str,
                           subject_id: uuid.UUID | None = None) -> str | None:
    """The process holding the call's media: the one recorded, else ``owner``, which claims it now. The
    claim is one conditional update, so of two processes claiming at once (host and person arriving at
    different processes) exactly one wins and both read the winner. None for a call that is not the
    person's (the check-in refuses it afterwards)."""
    conditions = [Call.id == call_id] + ([Call.subject_id == subject_id] if subject_id is not None else [])
    await session.execute(
        update(Call).where(*conditions, Call.media_owner.is_(None), Call.status.in_((CALL_PENDING, CALL_JOINED)))
        .values(media_owner=owner).execution_options(synchronize_session=False))
    return await session.scalar(select(Call.media_owner).where(*conditions))


def audit_call_hosted(session: AsyncSession, staff: Staff, call: Call) -> None:
    """The clinician opened the call's media: from here they may see and hear the person."""
    audit.record(session, staff, "call.hosted", subject_id=call.subject_id, call_id=str(call.id))


# -- retention -------------------------------------------------------------------------------------------


async def purge_released_snapshots(
    session: AsyncSession, now: datetime, retention_days: int, media_dir: Path
) -> int:
    """Delete snapshot files and rows of subjects released more than `retention_days` ago; returns how
    many snapshots went. The check-in records stay: they are the history, the pictures are not."""
    cutoff = now - timedelta(days=retention_days)
    rows = (
        await session.execute(
            select(CheckinSnapshot.id, CheckinSnapshot.checkin_id)
            .join(Checkin, Checkin.id == CheckinSnapshot.checkin_id)
            .join(Subject, Subject.id == Checkin.subject_id)
            .where(Subject.state != ACTIVE, Subject.released_at.is_not(None), Subject.released_at < cutoff)
        )
    ).all()
    if not rows:
        return 0
    ids = [snapshot_id for snapshot_id, _ in rows]
    for start in range(0, len(ids), 500):
        await session.execute(delete(CheckinSnapshot).where(CheckinSnapshot.id.in_(ids[start:start + 500])))
    checkin_ids = {checkin_id for _, checkin_id in rows}

    async def delete_files() -> None:
        # Only once the rows are gone for good: a rolled-back purge must not leave rows without files.
        for checkin_id in checkin_ids:
            await asyncio.to_thread(storage.delete_checkin_files, media_dir, checkin_id)

    after_commit(session, delete_files)
    return len(ids)


def audit_view(session: AsyncSession, actor: Actor, checkin: Checkin, what: str, **detail: object) -> None:
    audit.record(session, actor, what, subject_id=checkin.subject_id, checkin_id=str(checkin.id), **detail)
