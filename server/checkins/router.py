from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import FileResponse

from server.auth.principal import Staff, SubjectPrincipal
from server.checkins import media, service
from server.checkins.lifecycle import media as media_manager
from server.checkins.schemas import (
    CallCreated,
    CheckinAnswer,
    CheckinOffer,
    CheckinRead,
    IceServerRead,
    IceServersRead,
    PendingCall,
    SessionAnswer,
    SessionOffer,
)
from server.deps import (
    Ctx,
    CurrentClinician,
    CurrentStaff,
    CurrentStaffHoldingNoConnection,
    CurrentStaffOrSubject,
    CurrentSubject,
    CurrentSubjectHoldingNoConnection,
    SessionDep,
)
from server.fields import SmallIndex
from server.models.checkins import Checkin
from server.readings import service as readings
from server.readings.schemas import ReadingCreate, ReadingRead
from server.subjects.service import get_in_scope
from webrtc import browser_ice_servers

router = APIRouter(tags=["check-ins"])

OFFER_ERRORS: dict[int | str, dict[str, object]] = {
    422: {"description": "The SDP offer is not usable (not SDP, no video, wrong type)."},
    503: {"description": "Every video line is busy; `Retry-After` says when to try again."},
}


async def _visible(session: SessionDep, viewer: Staff | SubjectPrincipal, checkin_id: uuid.UUID) -> Checkin:
    if isinstance(viewer, Staff):
        return await service.get_for_staff(session, staff=viewer, checkin_id=checkin_id)
    return await service.get_for_subject(session, subject_id=viewer.subject_id, checkin_id=checkin_id)


@router.post("/checkins", response_model=CheckinAnswer, status_code=status.HTTP_201_CREATED,
             responses={**OFFER_ERRORS, 409: {"description": "Released, the call has ended, or another check-in "
                                                         "of the person's is in progress (`Retry-After`)."},
                        429: {"description": "Too many check-ins started lately; `Retry-After` says when to retry."}})
async def start_checkin(body: CheckinOffer, me: CurrentSubjectHoldingNoConnection, ctx: Ctx) -> CheckinAnswer:
    """A person starts a video check-in (or joins a clinician's call with `call_id`). Send the whole
    offer once ICE gathering is complete; the answer is complete too. One check-in per person at a time,
    and a few per window (`HOMEWATCH_CHECKIN_RATE_LIMIT` per `HOMEWATCH_CHECKIN_RATE_WINDOW_SECONDS`)."""
    checkin_id, sdp, _ = await media.begin_checkin(ctx, subject_id=me.subject_id, sdp=body.sdp, type=body.type,
                                                   call_id=body.call_id)
    return CheckinAnswer(checkin_id=checkin_id, sdp=sdp, type="answer")


@router.get("/checkins", response_model=list[CheckinRead])
async def list_checkins(
    subject_id: uuid.UUID, staff: CurrentStaff, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CheckinRead]:
    """A person's check-ins, newest first (staff in scope; the look is audited)."""
    checkins = await service.checkins_for_staff(session, staff=staff, subject_id=subject_id, limit=limit)
    return [service.to_read(c) for c in checkins]


@router.get("/checkins/{checkin_id}", response_model=CheckinRead)
async def get_checkin(checkin_id: uuid.UUID, viewer: CurrentStaffOrSubject, session: SessionDep) -> CheckinRead:
    """One check-in with its snapshots (the person themself, or staff in scope; staff looks are audited)."""
    checkin = await _visible(session, viewer, checkin_id)
    if isinstance(viewer, Staff):
        service.audit_view(session, viewer, checkin, "checkin.viewed")
    return service.to_read(checkin)


@router.get("/checkins/{checkin_id}/snapshots/{index}.jpg", response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}}}})
async def get_snapshot(checkin_id: uuid.UUID, index: SmallIndex, viewer: CurrentStaffOrSubject, ctx: Ctx,
                       session: SessionDep) -> Response:
    """A snapshot as JPEG (the person themself, or staff in scope; staff looks are audited)."""
    checkin = await _visible(session, viewer, checkin_id)
    path = service.snapshot_file(checkin, index, ctx.settings.media_dir)
    if isinstance(viewer, Staff):
        service.audit_view(session, viewer, checkin, "checkin.snapshot_viewed", index=index)
    # Private pictures of a person: kept by no cache, shared or the browser's own (a shared phone).
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.get("/ice-servers", response_model=IceServersRead, response_model_exclude_none=True)
async def ice_servers(caller: CurrentStaffOrSubject, ctx: Ctx) -> IceServersRead:
    """The ICE servers for a video connection, with TURN credentials of the caller's own that expire after
    `HOMEWATCH_TURN_TTL_SECONDS` (fetched just before connecting, so a page left open still connects)."""
    servers = browser_ice_servers(media_manager(ctx).config, who=media.turn_name(caller))
    return IceServersRead(ice_servers=[IceServerRead.model_validate(server) for server in servers])


@router.post("/checkins/{checkin_id}/watch", response_model=SessionAnswer, responses=OFFER_ERRORS)
async def watch_checkin(
    checkin_id: uuid.UUID, body: SessionOffer, staff: CurrentStaff, ctx: Ctx, session: SessionDep
) -> SessionAnswer:
    """Watch a check-in that is live now (staff in scope); 404 when it is not live."""
    checkin = await service.get_for_staff(session, staff=staff, checkin_id=checkin_id)
    sdp, _ = await media.watch(ctx, checkin_id=checkin.id, media_owner=checkin.media_owner,
                               viewer_id=f"staff-{staff.user_id}", sdp=body.sdp, type=body.type)
    service.audit_view(session, staff, checkin, "checkin.watched")
    return SessionAnswer(sdp=sdp, type="answer")


@router.post("/checkins/{checkin_id}/reading", response_model=ReadingRead, status_code=status.HTTP_201_CREATED)
async def reading_seen_on_video(
    checkin_id: uuid.UUID, body: ReadingCreate, staff: CurrentClinician, ctx: Ctx, session: SessionDep,
    response: Response,
) -> ReadingRead:
    """A clinician stores a temperature they read on the thermometer shown in this check-in."""
    checkin = await service.get_for_staff(session, staff=staff, checkin_id=checkin_id)
    subject = await get_in_scope(session, staff=staff, subject_id=checkin.subject_id)
    reading, created = await readings.add_reading(
        session, subject=subject, actor=staff, body=body, rules=ctx.settings.rules, now=ctx.now(),
        source="video", entered_by=staff.db_user_id, checkin_id=checkin.id,
        staff_channels=ctx.settings.staff_channels,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return ReadingRead.model_validate(reading)


@router.post("/subjects/{subject_id}/call", response_model=CallCreated, status_code=status.HTTP_201_CREATED)
async def call_subject(subject_id: uuid.UUID, staff: CurrentClinician, ctx: Ctx, session: SessionDep) -> CallCreated:
    """Ring a person: their page shows "the clinic is calling" for two minutes. Then open the call with
    `POST /calls/{call_id}/host`."""
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id)
    call = await service.request_call(session, staff=staff, subject=subject, now=ctx.now(), settings=ctx.settings)
    return CallCreated(call_id=call.id)


@router.get("/me/call", response_model=PendingCall, responses={204: {"description": "Nobody is calling."}})
async def my_call(me: CurrentSubject, ctx: Ctx, session: SessionDep) -> PendingCall | Response:
    """The call ringing for the caller now, if any; join it with a check-in offer carrying `call_id`."""
    pending = await service.pending_call(session, subject_id=me.subject_id, now=ctx.now())
    if pending is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    call, clinician, unit = pending
    return PendingCall(call_id=call.id, requested_at=call.created_at, clinician=clinician, unit=unit)


@router.post("/me/call/{call_id}/end", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def end_my_call(call_id: uuid.UUID, me: CurrentSubjectHoldingNoConnection, ctx: Ctx) -> Response:
    """The person hangs up (or declines a ringing call); the clinician's page is told at once."""
    await media.end_call(ctx, call_id=call_id, subject_id=me.subject_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/calls/{call_id}/end", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def end_call(call_id: uuid.UUID, staff: CurrentStaffHoldingNoConnection, ctx: Ctx) -> Response:
    """The clinician who rang hangs up; a call nobody joined becomes a missed call. The person's page is
    told at once through their event stream."""
    await media.end_call(ctx, call_id=call_id, staff=staff)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/calls/{call_id}/host", response_model=SessionAnswer, responses=OFFER_ERRORS)
async def host_call(
    call_id: uuid.UUID, body: SessionOffer, staff: CurrentClinician, ctx: Ctx, session: SessionDep
) -> SessionAnswer:
    """The clinician who rang opens the call's media; it carries the person's video once they join."""
    call = await service.get_call_for_host(session, staff=staff, call_id=call_id)
    sdp, _ = await media.host_call(ctx, call_id=call.id, staff=staff, sdp=body.sdp, type=body.type)
    service.audit_call_hosted(session, staff, call)
    return SessionAnswer(sdp=sdp, type="answer")
