from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from server.fields import MultilineText, Text

Outcome = Literal["reading", "help", "unknown_sender", "ambiguous"]


class SmsInboundCreate(BaseModel):
    """A reply as the gateway forwards it."""

    model_config = ConfigDict(populate_by_name=True)

    message_id: Text = Field(min_length=1, max_length=100, description="The gateway's id: a retry sends the same.")
    from_: Text = Field(alias="from", min_length=1, max_length=40, description="The sender's phone number.")
    text: MultilineText = Field(max_length=1000)
    received_at: AwareDatetime | None = None


class SmsInboundRead(BaseModel):
    message_id: str
    outcome: Outcome
    reading_id: uuid.UUID | None = None
