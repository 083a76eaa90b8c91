"""Video check-ins, their snapshots, and clinicians' calls to a subject."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, utcnow

CONNECTING = "connecting"
LIVE = "live"
COMPLETED = "completed"
FAILED = "failed"
ABANDONED = "abandoned"

CALL_PENDING = "pending"
CALL_JOINED = "joined"
CALL_ENDED = "ended"
CALL_EXPIRED = "expired"
# Ended before the person joined: "missed" on both sides' pages.
CALL_MISSED = "missed"


class Checkin(Base):
    __tablename__ = "checkins"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    # Copied from the subject so live events can be routed to the grid without a join.
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"))
    call_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=CONNECTING)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    frames_received: Mapped[int] = mapped_column(Integer, default=0)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    snapshots_count: Mapped[int] = mapped_column(Integer, default=0)
    faces_seen: Mapped[int] = mapped_column(Integer, default=0)
    face_seen_ratio: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    recording_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The internal URL of the app process holding the media (server/checkins/cluster.py); None with one
    # process.
    media_owner: Mapped[str | None] = mapped_column(String(300))

    snapshots: Mapped[list[CheckinSnapshot]] = relationship(
        lazy="raise", order_by="CheckinSnapshot.index", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("ix_checkins_subject_created", "subject_id", "created_at"),)


class CheckinSnapshot(Base):
    __tablename__ = "checkin_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkin_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Relative to the media directory, so the directory can move between deployments.
    path: Mapped[str] = mapped_column(String(500))
    face_detected: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (UniqueConstraint("checkin_id", "index"),)


class Call(Base):
    """A clinician's request to see a subject live; the subject joins with a check-in."""

    __tablename__ = "calls"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"))
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default=CALL_PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The app process both halves of the call meet on: the first of them to arrive claims it.
    media_owner: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (Index("ix_calls_subject_created", "subject_id", "created_at"),)
