from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials

from server.auth.principal import Staff, SubjectPrincipal
from server.checkins import media, service
from server.checkins.models_access import Viewer, current_viewer
from server.checkins.schemas import (
    CallCreated,
    CheckinAnswer,
    CheckinOffer,
    CheckinRead,
    PendingCall,
    SessionAnswer,
    SessionOffer,
)
from server.deps import Ctx, CurrentClinician, CurrentStaff, CurrentSubject, SessionDep
from server.readings import service as readings
from server.readings.schemas import ReadingCreate, ReadingRead
from server.subjects.service import get_in_scope

router = APIRouter(tags=["check-ins"])

OFFER_ERRORS = {
    422: {"description": "The SDP offer is not usable (not SDP, no video, wrong type)."},
    503: {"description": "Every video line is busy; `Retry-After` says when to try again."},
}


@router.post("/checkins", response_model=CheckinAnswer, status_code=status.HTTP_201_CREATED,
             responses={**OFFER_ERRORS, 409: {"description": "Released, or the call has ended."}})
async def start_checkin(body: CheckinOffer, me: CurrentSubject, ctx: Ctx) -> CheckinAnswer:
    """A person starts a video check-in (or joins a clinician's call with `call_id`). Send the whole
    offer after ICE gathering completes; the answer is complete too."""
    checkin_id, sdp, _ = await media.begin_checkin(ctx, subject_id=me.subject_id, sdp=body.sdp, type=body.type,
                                                   call_id=body.call_id)
    return CheckinAnswer(checkin_id=checkin_id, sdp=sdp, type="answer")


@router.get("/checkins", response_model=list[CheckinRead])
async def list_checkins(
    subject_id: uuid.UUID, staff: CurrentStaff, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CheckinRead]:
    """A person's check-ins, newest first (staff in scope; the look is audited)."""
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id)
    checkins = await service.list_for_subject(session, subject_id=subject.id, limit=limit)
    from server.audit import service as audit

    audit.record(session, staff, "checkin.list_viewed", subject_id=subject.id)
    return [service.to_read(c) for c in checkins]


async def _visible(session: SessionDep, viewer: Viewer, checkin_id: uuid.UUID):  # type: ignore[no-untyped-def]
    if isinstance(viewer, Staff):
        checkin = await service.get_for_staff(session, staff=viewer, checkin_id=checkin_id)
    else:
        checkin = await service.get_for_subject(session, subject_id=viewer.subject_id, checkin_id=checkin_id)
    return checkin
