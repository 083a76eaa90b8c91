from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=200)
    role: Literal["admin", "clinician"]
    grid_ids: list[int] = Field(default_factory=list)
    full_name: str | None = Field(None, max_length=100)
    language: Literal["zh_Hans", "zh_Hant", "en"] | None = None


class UserRead(BaseModel):
    id: int
    username: str
    role: str
    grid_ids: list[int]
    full_name: str | None = None
    language: str | None = None
    is_active: bool = True


class UserUpdate(BaseModel):
    is_active: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=200)
    grid_ids: list[int] | None = None
