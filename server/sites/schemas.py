from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from server.fields import Text
from server.subjects.schemas import not_blank


class SiteCreate(BaseModel):
    name: Annotated[Text, Field(min_length=1, max_length=100), AfterValidator(not_blank)]
    address: Text | None = Field(None, max_length=300)


class SiteRead(BaseModel):
    id: int
    name: str
    address: str | None
    people: int = Field(description="People under observation at the site now.")
