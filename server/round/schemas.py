from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from server.fields import MultilineText


class ContactAttemptCreate(BaseModel):
    id: uuid.UUID | None = Field(None, description="Chosen by the client so a retried submission is stored once.")
    kind: Literal["visit", "phone"]
    outcome: Literal["not_home", "no_answer"]
    note: MultilineText | None = Field(None, max_length=500)
    at: datetime | None = Field(None, description="When it happened (ISO 8601 with offset); defaults to now.")


class ContactAttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    subject_id: uuid.UUID
    kind: str
    outcome: str
    note: str | None
    at: datetime
    recorded_by: int | None


class RoundPerson(BaseModel):
    subject_id: uuid.UUID
    full_name: str
    phone: str | None
    address: str | None
    status: str
    last_attempt: ContactAttemptRead | None = None


class RoundStop(BaseModel):
    """One door: a household, or a person's own address when they belong to none."""

    household_id: uuid.UUID | None
    address: str | None
    people: list[RoundPerson]


class RoundRead(BaseModel):
    total: int
    stops: list[RoundStop]
