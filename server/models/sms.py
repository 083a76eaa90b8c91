"""SMS replies received from the gateway, kept by message id so a gateway's retry is handled once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow


class SmsInbound(Base):
    """One message the gateway delivered, and what became of it. Neither the text nor the sender's
    number is kept (the reading holds what was reported): only what a retry needs to be answered the same."""

    __tablename__ = "sms_inbound"

    message_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    # "reading", "help" (not a report we can read), "unknown_sender", "ambiguous" (a number several people share)
    outcome: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id", ondelete="SET NULL"))
    reading_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_sms_inbound_received_at", "received_at"),)
