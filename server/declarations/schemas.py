from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from server.fields import DbId, Text
from server.subjects.schemas import IdNumber, Language, Name, Phone, Reason

DeclarationStatus = Literal["waiting", "enrolled", "dismissed"]
Address = Annotated[Text, Field(min_length=1, max_length=300)]


class DeclarationCreate(BaseModel):
    """What a resident declares (自我申报), on the public page or to a grid worker at the door."""

    full_name: Name
    phone: Phone
    address: Address
    area_id: DbId = Field(description="The grid (a grid-kind area) of the address.")
    id_number: IdNumber | None = None
    arrival_date: date | None = None
    arrived_from: Text | None = Field(None, max_length=100)
    contact_with_case: bool | None = None
    symptoms: list[Annotated[Text, Field(max_length=50)]] = Field(default_factory=list, max_length=20)
    gatherings: bool | None = Field(None, description="Took part in a large gathering recently.")


class DeclarationCreated(BaseModel):
    id: uuid.UUID
    status: DeclarationStatus


class DeclarationRead(BaseModel):
    id: uuid.UUID
    area_id: int
    full_name: str
    phone: str
    address: str
    id_number_masked: str | None
    arrival_date: date | None
    arrived_from: str | None
    contact_with_case: bool | None
    symptoms: list[str]
    gatherings: bool | None
    source: str
    status: DeclarationStatus
    created_at: datetime
    decided_at: datetime | None
    dismiss_reason: str | None
    subject_id: uuid.UUID | None


class DeclarationEnrol(BaseModel):
    """The enrolment fields a declaration lacks; the rest (name, phone, address, ID number, grid) come from
    it. Without ``last_exposure_date`` the arrival date counts as the last exposure."""

    observation_type: Literal["home", "centralized"] = "home"
    reason: Reason
    start_date: date | None = None
    duration_days: int | None = Field(None, ge=1, le=60)
    last_exposure_date: date | None = None
    language: Language | None = None
    household_id: uuid.UUID | None = None
    allow_duplicate: bool = False


class DeclarationDismiss(BaseModel):
    reason: Reason


class CensusProgressRead(BaseModel):
    area_id: int
    name: str
    households_visited: int
    people_counted: int
    declarations_waiting: int
