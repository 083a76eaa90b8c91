from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from server.fields import DbId, MultilineText, Text
from server.subjects import phones

# The English template of the "phone" error; server/validation.py holds its translations.
PHONE_RULE = ("write a mobile (11 digits, e.g. 138 1234 5678), a landline with its area code (010 1234 5678), "
              "or a number abroad starting with +")

Language = Literal["zh_Hans", "zh_Hant", "en"]


class SubjectCreate(BaseModel):
    full_name: Text = Field(min_length=1, max_length=100)
    phone: Text = Field(min_length=1, max_length=32)
    grid_id: DbId
    observation_type: Literal["home", "centralized"]
    reason: Text = Field(min_length=1, max_length=500)
    start_date: date | None = None
    duration_days: int | None = Field(None, ge=1, le=60)
    address: Text | None = Field(None, max_length=300)
    id_number: Text | None = Field(None, max_length=32)
    date_of_birth: date | None = None
    language: Language | None = None

    # Our own rules raise PydanticCustomError with a type that server/validation.py turns into words.
    @field_validator("full_name", "reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise PydanticCustomError("blank", "must not be blank")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        try:
            return phones.normalise(value)
        except phones.NotAPhoneNumber:
            raise PydanticCustomError("phone", PHONE_RULE) from None

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().upper()
        if not value.isalnum():
            raise PydanticCustomError("id_number", "an ID number has only letters and digits")
        return value


class LastReading(BaseModel):
    temperature_c: float
    taken_at: datetime


class SubjectRead(BaseModel):
    id: uuid.UUID
    grid_id: int
    full_name: str
    phone: str
    observation_type: str
    reason: str
    start_date: date
    duration_days: int
    planned_end_date: date
    address: str | None
    id_number_masked: str | None
    date_of_birth: date | None
    language: str | None
    status: Literal["active", "released"]
    roster_status: str | None
    flags: list[str]
    observation_day: int
    last_reading: LastReading | None
    open_alerts: int
    released_at: datetime | None
    release_note: str | None
    release_override: bool
    clinician_note: str | None
    created_at: datetime


class SubjectCreated(SubjectRead):
    access_code: str
    access_url: str


class AccessCodeRead(BaseModel):
    subject_id: uuid.UUID
    access_code: str
    access_url: str


NOTE_MAX_LENGTH = 4000


class NoteUpdate(BaseModel):
    clinician_note: MultilineText = Field(max_length=NOTE_MAX_LENGTH)


class CensusEnrolled(BaseModel):
    line: int
    id: uuid.UUID
    full_name: str
    grid_id: int
    access_code: str
    access_url: str


class CensusResult(BaseModel):
    created: int
    subjects: list[CensusEnrolled]


class ReasonRead(BaseModel):
    code: str
    message: str


class EligibilityRead(BaseModel):
    eligible: bool
    reasons: list[ReasonRead]


class ReleaseCreate(BaseModel):
    note: MultilineText | None = Field(None, max_length=2000)
    override: bool = False
