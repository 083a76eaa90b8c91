from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from server.fields import DbId, Text
from server.readings.schemas import ReadingCreate, ReadingRead
from server.subjects.schemas import not_blank

Address = Annotated[Text, Field(min_length=1, max_length=300), AfterValidator(not_blank)]

# Past any household a grid worker has met; keeps one request's work (and its row locks) small.
MAX_READINGS = 30


class HouseholdCreate(BaseModel):
    address: Address
    area_id: DbId = Field(description="The grid (a grid-kind area) the address belongs to.")


class HouseholdMember(BaseModel):
    id: uuid.UUID
    full_name: str
    status: str = Field(description="active, released or closed")


class HouseholdRead(BaseModel):
    id: uuid.UUID
    address: str
    area_id: int
    created_at: datetime
    members: list[HouseholdMember] = Field(default_factory=list)


class HouseholdCreated(HouseholdRead):
    access_code: str
    access_url: str


class HouseholdAccessCodeRead(BaseModel):
    household_id: uuid.UUID
    access_code: str
    access_url: str


class HouseholdReadingCreate(ReadingCreate):
    subject_id: uuid.UUID


class HouseholdReadingsCreate(BaseModel):
    readings: list[HouseholdReadingCreate] = Field(min_length=1, max_length=MAX_READINGS)


class HouseholdReadingsRead(BaseModel):
    readings: list[ReadingRead]
