"""Households: the people of one address who report together through one household link."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow


class Household(Base):
    """One address in a grid. Its link (``/h/<code>``) is made and kept like a personal link: 128 random
    bits shown once, only the SHA-256 stored, and a version that a re-issued link bumps so every token
    signed in with the old one stops working."""

    __tablename__ = "households"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # The grid (a grid-kind area) the address belongs to.
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"))
    address: Mapped[str] = mapped_column(String(300))
    access_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    access_code_version: Mapped[int] = mapped_column(Integer, default=1)
    access_code_issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (Index("ix_households_grid", "grid_id", "address"),)


class ContactAttempt(Base):
    """A visit or a call by staff that found nobody to take a reading from: the round shows it beside the
    person until a reading comes, and the record keeps it."""

    __tablename__ = "contact_attempts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    # "visit" (at the door) or "phone"; outcome "not_home" or "no_answer".
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (Index("ix_contact_attempts_subject_at", "subject_id", "at"),)
