"""Snapshots are deleted a configurable time after release; the check-in records stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from server.checkins import storage
from server.checkins.service import purge_released_snapshots
from server.models import RELEASED, Subject
from server.models.checkins import Checkin, CheckinSnapshot


async def _checkin_with_snapshot(app_ctx, subject_id: uuid.UUID, grid_id: int) -> uuid.UUID:
    checkin_id = uuid.uuid4()
    media_dir = app_ctx.settings.media_dir
    relpath = await storage.write_snapshot(media_dir, checkin_id, 0, b"\xff\xd8jpeg")
    async with app_ctx.db.session() as session:
        session.add(Checkin(id=checkin_id, subject_id=subject_id, grid_id=grid_id, status="completed"))
        await session.flush()
        session.add(CheckinSnapshot(checkin_id=checkin_id, index=0, taken_at=datetime.now(UTC), path=relpath,
                                    face_detected=True))
    return checkin_id


async def test_purge_deletes_snapshots_of_people_released_longer_ago_than_retention(app_ctx, world):
    now = datetime(2026, 5, 1, tzinfo=UTC)
    old = await _checkin_with_snapshot(app_ctx, world.subject_a.id, world.grid_a.id)
    recent = await _checkin_with_snapshot(app_ctx, world.subject_b.id, world.grid_b.id)
    async with app_ctx.db.session() as session:
        for subject_id, released_at in ((world.subject_a.id, now - timedelta(days=31)),
                                        (world.subject_b.id, now - timedelta(days=29))):
            subject = await session.get(Subject, subject_id)
            assert subject is not None
            subject.state, subject.released_at = RELEASED, released_at

    async with app_ctx.db.session() as session:
        assert await purge_released_snapshots(session, now, 30, app_ctx.settings.media_dir) == 1

    media_dir = app_ctx.settings.media_dir
    assert not storage.checkin_dir(media_dir, old).exists()
    assert storage.checkin_dir(media_dir, recent).exists()
    async with app_ctx.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(CheckinSnapshot)) == 1
        assert await session.scalar(select(func.count()).select_from(Checkin)) == 2
