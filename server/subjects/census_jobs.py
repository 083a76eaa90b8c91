"""Long census lists (up to 200,000 people) enrolled in the background.

The request that uploads the list reads it, stores a job row and answers at once (202); a task of the
process that received it then checks every line (the same checks as a short list, in a worker thread a
batch at a time) and, when no line needs fixing, writes the people in short transactions of
:data:`WRITE_BATCH` each, so readings and rosters never wait long on the import's locks. Progress and the
line-by-line report are kept on the job row, so any app process shows them; the running process moves
the row's heartbeat on, and a job whose heartbeat stopped lost its process (shown as interrupted).

The check is all or nothing, as for a short list; the write is not one transaction (100,000 people in
one would hold the roster counters of every grid for the whole import). A job cut off while writing says
how many people it enrolled: they are on the roster, and the rest can be imported again (the ones already
enrolled are then reported as duplicates)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules, local_date
from monitoring.course import enrolment_end
from monitoring.flags import SEVERITY_NONE
from server.audit import service as audit
from server.auth.principal import Staff
from server.auth.security import hash_access_code, new_access_code
from server.context import AppContext
from server.db import after_commit
from server.domain_events import emit
from server.models import ACTIVE, AuditEntry, CensusImport, Subject
from server.subjects import census
from server.subjects.schemas import SubjectCreate
from server.validation import MESSAGES, Problem

logger = logging.getLogger(__name__)

WRITE_BATCH = 1_000
# The report keeps this many problems (the count of lines is always exact): enough to fix a list by,
# small enough to show on a page.
MAX_REPORTED = 2_000
# A job whose heartbeat is older than this lost its process.
STALE_AFTER = timedelta(minutes=2)
RUNNING = ("queued", "checking", "writing")


def stored_problem(problem: Problem) -> dict[str, Any]:
    params = json.loads(json.dumps(dict(problem.params), default=str))
    return {"line": problem.line, "field": problem.field, "code": problem.code, "message": problem.message,
            "params": params, "english": problem.english}


def problem_of(stored: dict[str, Any]) -> Problem:
    return Problem(stored["field"], stored["code"], stored.get("message") or MESSAGES.get(stored["code"], ""),
                   stored.get("params") or {}, stored.get("line"), stored.get("english"))


def shown_status(job: CensusImport, now: datetime) -> str:
    """The job's status, "interrupted" for one whose process stopped moving it on."""
    if job.status in RUNNING and now - job.heartbeat_at > STALE_AFTER:
        return "interrupted"
    return job.status


async def start(session: AsyncSession, ctx: AppContext, *, actor: Staff, rows: list[tuple[int, dict[str, str]]],
                filename: str, dry_run: bool, allow_duplicates: bool) -> CensusImport:
    """Record the job; its work starts once the request's transaction has committed."""
    now = ctx.now()
    job = CensusImport(id=uuid.uuid4(), created_by=actor.db_user_id, created_at=now, filename=filename[:200],
                       dry_run=dry_run, allow_duplicates=allow_duplicates, status="queued", total_rows=len(rows),
                       checked_rows=0, written_rows=0, problem_lines=0, problems=[], heartbeat_at=now)
    session.add(job)
    audit.record(session, actor, "subjects.census_import_started", census_import=str(job.id), rows=len(rows),
                 dry_run=dry_run)

    async def launch() -> None:
        task = asyncio.create_task(run(ctx, job.id, rows, actor=actor), name=f"census-import-{job.id}")
        ctx.background_tasks.add(task)
        task.add_done_callback(ctx.background_tasks.discard)

    after_commit(session, launch)
    return job


async def _update(ctx: AppContext, job_id: uuid.UUID, **values: Any) -> None:
    async with ctx.db.session() as session:
        await session.execute(update(CensusImport).where(CensusImport.id == job_id)
                              .values(heartbeat_at=ctx.now(), **values))


async def run(ctx: AppContext, job_id: uuid.UUID, rows: list[tuple[int, dict[str, str]]], *, actor: Staff) -> None:
    rules = ctx.settings.rules
    now = ctx.now()
    written = 0
    try:
        async with ctx.db.session() as session:
            job = await session.get(CensusImport, job_id)
            assert job is not None
            dry_run, allow_duplicates = job.dry_run, job.allow_duplicates
        await _update(ctx, job_id, status="checking")

        async def checked(n: int) -> None:
            await _update(ctx, job_id, checked_rows=n)

        async with ctx.db.session() as session:
            bodies, problems = await census.check_rows(session, rows, rules=rules, now=now,
                                                       allow_duplicates=allow_duplicates, progress=checked)
        if problems or dry_run:
            await _update(ctx, job_id, status="checked" if dry_run else "rejected", finished_at=ctx.now(),
                          problem_lines=len({p.line for p in problems}),
                          problems=[stored_problem(p) for p in problems[:MAX_REPORTED]])
            return
        await _update(ctx, job_id, status="writing")
        for start_at in range(0, len(bodies), WRITE_BATCH):
            batch = bodies[start_at:start_at + WRITE_BATCH]
            async with ctx.db.session() as session:
                await write_batch(session, batch, actor=actor, job_id=job_id, rules=rules, now=now,
                                  allow_duplicates=allow_duplicates)
                written += len(batch)
                last = written == len(bodies)
                if last:
                    audit.record(session, actor, "subjects.census_imported", count=written,
                                 census_import=str(job_id))
                await session.execute(update(CensusImport).where(CensusImport.id == job_id).values(
                    written_rows=written, heartbeat_at=ctx.now(),
                    **({"status": "done", "finished_at": ctx.now()} if last else {})))
    except asyncio.CancelledError:
        await asyncio.shield(_update(ctx, job_id, status="failed", finished_at=ctx.now(),
                                     error=f"stopped with the server after {written} people were enrolled"))
        raise
    except Exception as error:
        logger.exception("census import %s failed", job_id)
        await _update(ctx, job_id, status="failed", finished_at=ctx.now(),
                      error=f"{type(error).__name__} after {written} people were enrolled")


async def write_batch(session: AsyncSession, batch: list[tuple[int, SubjectCreate]], *, actor: Staff,
                      job_id: uuid.UUID, rules: Rules, now: datetime, allow_duplicates: bool) -> None:
    """One transaction's people, inserted in bulk (enrolment's own rules for the dates, nobody's status
    yet abnormal), each with their audit entry; live rosters of the grids touched are told to reload.
    The personal links are not shown now: the cards printed per grid afterwards issue them."""
    today = local_date(now, rules)
    subjects: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    kind, ident, name = actor.audit_actor
    for _line, body in batch:
        start = body.start_date or today
        end = enrolment_end(start, body.duration_days or rules.observation_days, body.last_exposure_date, rules)
        subject_id = uuid.uuid4()
        subjects.append({
            "id": subject_id, "grid_id": body.grid_id, "full_name": body.full_name, "phone": body.phone,
            "observation_type": body.observation_type, "reason": body.reason, "start_date": start,
            "duration_days": (end - start).days, "planned_end_date": end,
            "last_exposure_date": body.last_exposure_date, "site_id": body.site_id, "room": body.room,
            "address": body.address, "id_number": body.id_number, "date_of_birth": body.date_of_birth,
            "language": body.language, "access_code_hash": hash_access_code(new_access_code()),
            "access_code_version": 1, "access_code_issued_at": now, "state": ACTIVE, "open_alerts": 0,
            "severity": SEVERITY_NONE, "created_at": now, "created_by": actor.db_user_id,
            "release_override": False, "census_import_id": job_id,
        })
        detail: dict[str, Any] = {"grid_id": body.grid_id, "census_import": str(job_id)}
        if allow_duplicates:
            detail["duplicates_allowed"] = True
        entries.append({"at": now, "actor_kind": kind, "actor_id": ident, "actor_name": name,
                        "action": "subject.enrolled", "subject_id": subject_id, "detail": detail})
    await session.execute(insert(Subject), subjects)
    await session.execute(insert(AuditEntry), entries)
    for grid_id in sorted({body.grid_id for _line, body in batch}):
        emit(session, "roster.refreshed", subject_id=None, grid_id=grid_id, changed=None)


async def recent(session: AsyncSession, limit: int = 10) -> list[CensusImport]:
    return list((await session.scalars(
        select(CensusImport).order_by(CensusImport.created_at.desc(), CensusImport.id).limit(limit))).all())


async def stop(ctx: AppContext) -> None:
    """At shutdown: jobs still running are cancelled and record how far they got."""
    tasks = list(ctx.background_tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
