from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from server.fields import DbId, Text

Kind = Literal["district", "town", "street", "community", "village", "grid"]


class AreaCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=100)
    kind: Kind
    parent_id: DbId | None = Field(None, description="The area it lies in; none for the top of a tree.")


class AreaMove(BaseModel):
    parent_id: DbId | None = Field(description="The area it now lies in; none to make it a top area.")


class AreaRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    parent_id: int | None


class AreaNode(AreaRead):
    """An area with what lies below it and the people under observation there (rolled up)."""

    under_observation: int = 0
    children: list[AreaNode] = Field(default_factory=list)
