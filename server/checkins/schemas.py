from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from server.fields import MultilineText


class SessionOffer(BaseModel):
    # The whole offer, gathered to completion: the server does not trickle ICE candidates.
    sdp: MultilineText = Field(max_length=100_000)
    type: Literal["offer"]


class CheckinOffer(SessionOffer):
    call_id: uuid.UUID | None = Field(None, description="Joins the clinician's call instead of a self check-in.")


class IceServerRead(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceServersRead(BaseModel):
    """What a page passes to `new RTCPeerConnection({iceServers})`."""

    ice_servers: list[IceServerRead]


class SessionAnswer(BaseModel):
    sdp: str
    type: Literal["answer"]


class CheckinAnswer(SessionAnswer):
    checkin_id: uuid.UUID


class SnapshotRead(BaseModel):
    index: int
    taken_at: datetime
    url: str
    face_detected: bool


class CheckinRead(BaseModel):
    id: uuid.UUID
    subject_id: uuid.UUID
    call_id: uuid.UUID | None
    status: Literal["connecting", "live", "completed", "failed", "abandoned"]
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    frames_received: int
    width: int | None
    height: int | None
    face_seen_ratio: float | None
    error: str | None
    snapshots: list[SnapshotRead]


class CallCreated(BaseModel):
    call_id: uuid.UUID


class PendingCall(BaseModel):
    call_id: uuid.UUID
    requested_at: datetime
    clinician: str
    unit: str
