from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from server.fields import Text


class OutboxRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: str
    subject_id: uuid.UUID | None
    title: str
    text: str
    dedupe_key: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class OutboxPage(BaseModel):
    counts: dict[str, int]
    items: list[OutboxRead]


class PushKeys(BaseModel):
    p256dh: Text = Field(min_length=1, max_length=200)
    auth: Text = Field(min_length=1, max_length=100)


class PushSubscriptionCreate(BaseModel):
    """What the browser's ``PushSubscription.toJSON()`` gives."""

    endpoint: Text = Field(min_length=8, max_length=1000, pattern=r"^https://")
    keys: PushKeys
    expirationTime: Any = None  # noqa: N815 - the browser's own name


class PushKeyRead(BaseModel):
    public_key: str


class ReleaseCandidate(BaseModel):
    subject_id: uuid.UUID
    full_name: str
    grid_id: int
    start_date: date
    planned_end_date: date
    eligible: bool
    reasons: list[dict[str, str]]


class ReleaseCandidatePage(BaseModel):
    total: int
    items: list[ReleaseCandidate]
