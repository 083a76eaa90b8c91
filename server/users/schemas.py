from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from server.fields import DbId, Text


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: Text = Field(min_length=8, max_length=200)
    role: Literal["admin", "clinician", "grid_worker", "observer"]
    grid_ids: list[DbId] = Field(default_factory=list, max_length=1000)
    area_ids: list[DbId] = Field(default_factory=list, max_length=1000,
                                 description="Areas at any level of the tree; the member sees all below them.")
    full_name: Text | None = Field(None, max_length=100)
    language: Literal["zh_Hans", "zh_Hant", "en"] | None = None


class UserRead(BaseModel):
    id: int
    username: str
    role: str
    grid_ids: list[int]
    area_ids: list[int] = Field(default_factory=list)
    full_name: str | None = None
    language: str | None = None
    is_active: bool = True


class UserUpdate(BaseModel):
    is_active: bool | None = None
    password: Text | None = Field(None, min_length=8, max_length=200)
    grid_ids: list[DbId] | None = Field(None, max_length=1000)
    area_ids: list[DbId] | None = Field(None, max_length=1000)
