"""Forgetting on time (PIPL's minimum necessary): a closed case's personal data is erased a fixed number of
days after release or closing, leaving a pseudonymous record so counts, charts and the audit trail stay
right. Run by the scheduler and by ``homewatch purge``."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring.course import erasure_cutoff
from server.audit import service as audit
from server.auth.security import hash_access_code, new_access_code
from server.checkins import storage
from server.db import Database, after_commit
from server.models import ACTIVE, Alert, AuditEntry, Reading, Subject
from server.models.checkins import Checkin, CheckinSnapshot

logger = logging.getLogger(__name__)

BATCH = 500
# Details of audit entries that may hold personal data (a correction's old and new values, notes).
_PERSONAL_AUDIT_DETAILS = ("changes", "note", "reason")


def pseudonym(subject_id: uuid.UUID) -> str:
    """What stands in for an erased person's name: stable, and meaningless outside the database."""
    return f"#{subject_id.hex[:8]}"


async def _due_ids(session: AsyncSession, cutoff: datetime) -> list[uuid.UUID]:
    return list((await session.scalars(
        select(Subject.id).where(Subject.state != ACTIVE, Subject.erased_at.is_(None),
                                 or_(Subject.released_at <= cutoff, Subject.closed_at <= cutoff))
        .order_by(Subject.id).limit(BATCH))).all())


async def _erase(session: AsyncSession, ids: list[uuid.UUID], *, now: datetime, media_dir: Path) -> None:
    for subject_id in ids:
        await session.execute(update(Subject).where(Subject.id == subject_id).values(
            full_name=pseudonym(subject_id), phone="", id_number=None, address=None, date_of_birth=None,
            clinician_note=None, release_note=None, end_date_reason=None, room=None, erased_at=now,
            # The personal link dies with the data it opened.
            access_code_hash=hash_access_code(new_access_code()),
            access_code_version=Subject.access_code_version + 1))
    await session.execute(update(Reading).where(Reading.subject_id.in_(ids)).values(note=None))
    await session.execute(update(Alert).where(Alert.subject_id.in_(ids)).values(note=None))
    entries = (await session.scalars(select(AuditEntry).where(AuditEntry.subject_id.in_(ids)))).all()
    for entry in entries:
        if any(key in entry.detail for key in _PERSONAL_AUDIT_DETAILS):
            detail = dict(entry.detail)
            for key in _PERSONAL_AUDIT_DETAILS:
                if key == "changes" and isinstance(detail.get(key), dict):
                    # Which fields were corrected stays on record; what they said does not.
                    detail[key] = {name: ["…", "…"] for name in detail[key]}
                elif key in detail and detail[key] is not None:
                    detail[key] = "…"
            entry.detail = detail
    checkin_ids = list((await session.scalars(select(Checkin.id).where(Checkin.subject_id.in_(ids)))).all())
    if checkin_ids:
        await session.execute(delete(CheckinSnapshot).where(CheckinSnapshot.checkin_id.in_(checkin_ids)))

        async def delete_files() -> None:
            # Only once the rows are gone for good: a rolled-back erasure must not leave rows without files.
            for checkin_id in checkin_ids:
                await asyncio.to_thread(storage.delete_checkin_files, media_dir, checkin_id)

        after_commit(session, delete_files)
    audit.record(session, None, "subjects.erased", count=len(ids), subject_ids=[str(i) for i in ids])


async def erase_due(db: Database, *, now: datetime, retention_days: int, media_dir: Path) -> int:
    """Erase every case due, in batches each committed on its own; returns how many were erased."""
    cutoff = erasure_cutoff(now, retention_days)
    erased = 0
    while True:
        async with db.session() as session:
            ids = await _due_ids(session, cutoff)
            if not ids:
                return erased
            await _erase(session, ids, now=now, media_dir=media_dir)
        erased += len(ids)
        logger.info("erased the personal data of %d closed cases", len(ids))
