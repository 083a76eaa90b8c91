from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.fields import MultilineText, Text


class ReadingCreate(BaseModel):
    id: uuid.UUID | None = Field(
        None, description="Chosen by the client so a retried submission is stored once."
    )
    # A string is accepted too so "37,5" style input reaches the readable plausibility message.
    temperature_c: float | Text
    taken_at: datetime | None = Field(None, description="ISO 8601 with offset; defaults to now.")
    method: Literal["forehead", "ear", "oral", "armpit"] | None = None
    symptoms: list[Annotated[Text, Field(max_length=50)]] = Field(default_factory=list, max_length=20)
    note: MultilineText | None = Field(None, max_length=500)


class StaffReadingCreate(ReadingCreate):
    source: Literal["clinician", "visit", "phone"] | None = Field(
        None, description="How staff took it: on a visit, read out by phone, or by a clinician (video).")


class ReadingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    subject_id: uuid.UUID
    temperature_c: float
    taken_at: datetime
    received_at: datetime
    method: str | None
    symptoms: list[str]
    note: str | None
    source: str
    classification: str
    window_start: datetime | None
    checkin_id: uuid.UUID | None = None
