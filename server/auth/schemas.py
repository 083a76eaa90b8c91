from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from server.fields import Text


class TokenRead(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    role: str


class SubjectTokenCreate(BaseModel):
    access_code: Text = Field(min_length=8, max_length=200)


class SubjectTokenRead(TokenRead):
    subject_id: uuid.UUID


class HouseholdTokenCreate(BaseModel):
    access_code: Text = Field(min_length=8, max_length=200)


class HouseholdTokenRead(TokenRead):
    household_id: uuid.UUID
