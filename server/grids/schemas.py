from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from server.fields import DbId, Text


class GridCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=100)
    parent_id: DbId | None = Field(None, description="The community or village (or any area) it lies in.")


class GridRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
