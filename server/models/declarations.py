"""Self-declarations (自我申报) and the door-to-door census: who declared, and how far the count got."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow

WAITING = "waiting"
ENROLLED = "enrolled"
DISMISSED = "dismissed"
DECLARATION_STATUSES = (WAITING, ENROLLED, DISMISSED)


class Declaration(Base):
    """A resident's declaration, made on the public page or taken down by a grid worker at the door; it
    waits in its grid's screening queue until staff enrol the person or dismiss it."""

    __tablename__ = "declarations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"))
    full_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(300))
    id_number: Mapped[str | None] = mapped_column(String(32))
    arrival_date: Mapped[date | None] = mapped_column(Date)
    arrived_from: Mapped[str | None] = mapped_column(String(100))
    contact_with_case: Mapped[bool | None] = mapped_column(Boolean)
    symptoms: Mapped[list[str]] = mapped_column(JSON, default=list)
    gatherings: Mapped[bool | None] = mapped_column(Boolean)
    # "self" (the public page) or "census" (a grid worker at the door, recorded_by).
    source: Mapped[str] = mapped_column(String(16), default="self")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default=WAITING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dismiss_reason: Mapped[str | None] = mapped_column(String(500))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_declarations_queue", "status", "grid_id", "created_at"),)


class CensusTally(Base):
    """What a grid worker counted on a round of doors: households visited and people counted."""

    __tablename__ = "census_tallies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"))
    households_visited: Mapped[int] = mapped_column(Integer)
    people_counted: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_census_tallies_grid", "grid_id"),)
