"""Where HTTP meets the media plane: answering offers, and the callbacks that record what the media
plane saw. The callbacks run long after the request that started the check-in, so each opens its own
unit of work."""

from __future__ import annotations

import logging
import uuid

from server.auth.principal import Staff, SubjectPrincipal
from server.checkins import service, storage
from server.checkins.cluster import check_here
from server.checkins.lifecycle import media
from server.context import AppContext
from server.errors import AppError, Conflict, Invalid, NotFound
from server.rate_limit import RateLimit
from webrtc import (
    AlreadyConnected,
    CapacityExceeded,
    CheckinResult,
    InvalidOffer,
    ManagerClosed,
    MediaError,
    NotLive,
    Snapshot,
)

logger = logging.getLogger(__name__)


class MediaBusy(AppError):
    status_code = 503
    error = "busy"


def media_refusal(exc: MediaError) -> AppError:
    """The one translation of the media plane's refusals into answers; the app's handler for
    :class:`MediaError` renders what this returns."""
    match exc:
        case CapacityExceeded(retry_after=seconds):
            return MediaBusy("All video lines are busy; please try again in {seconds} seconds.",
                             seconds=seconds, headers={"Retry-After": str(seconds)})
        case ManagerClosed():
            return MediaBusy("The video service is restarting; please try again in a minute.",
                             headers={"Retry-After": "60"})
        case InvalidOffer():
            return Invalid("The video offer could not be used: {reason}", reason=str(exc))
        case NotLive():
            return NotFound("This check-in is not live.")
        case AlreadyConnected():
            return Conflict("This check-in is already connected.")
    raise exc  # a refusal the app has no answer for: a 500, and a bug to fix here


def turn_name(caller: Staff | SubjectPrincipal) -> str:
    """Who a TURN credential is for, as the TURN server's logs show it: an id, never a name."""
    return f"staff-{caller.user_id}" if isinstance(caller, Staff) else f"subject-{caller.subject_id}"


class CheckinRecorder:
    """The callbacks of one check-in."""

    def __init__(self, ctx: AppContext, checkin_id: uuid.UUID) -> None:
        self.ctx = ctx
        self.checkin_id = checkin_id

    async def on_live(self) -> None:
        async with self.ctx.db.session() as session:
            await service.mark_live(session, checkin_id=self.checkin_id, now=self.ctx.now())

    async def on_snapshot(self, snapshot: Snapshot) -> None:
        relpath = await storage.write_snapshot(self.ctx.settings.media_dir, self.checkin_id, snapshot.index,
                                               snapshot.jpeg)
        async with self.ctx.db.session() as session:
            await service.add_snapshot(session, checkin_id=self.checkin_id, index=snapshot.index,
                                       taken_at=snapshot.taken_at, relpath=relpath,
                                       face_detected=snapshot.face_detected)

    async def on_finished(self, result: CheckinResult) -> None:
        async with self.ctx.db.session() as session:
            await service.finish(session, checkin_id=self.checkin_id, result=result, now=self.ctx.now(),
                                 rules=self.ctx.settings.rules)


async def begin_checkin(
    ctx: AppContext, *, subject_id: uuid.UUID, sdp: str, type: str, call_id: uuid.UUID | None
) -> tuple[uuid.UUID, str, str]:
    me = ctx.settings.internal_url
    if call_id is not None and me is not None:
        # Joining a call: both halves meet on the process that holds (or now claims) the call's media.
        async with ctx.db.session() as session:
            owner = await service.claim_call_media(session, call_id=call_id, subject_id=subject_id, owner=me)
        check_here(me, owner)
    # The row is committed before the offer is answered: the callbacks may fire as soon as media flows,
    # possibly before the request that started it has finished.
    async with ctx.db.session() as session:
        checkin = await service.open_checkin(
            session, subject_id=subject_id, call_id=call_id, now=ctx.now(),
            rate=RateLimit(ctx.settings.checkin_rate_limit, ctx.settings.checkin_rate_window_seconds),
            max_seconds=ctx.settings.checkin_max_seconds, media_owner=me)
    recorder = CheckinRecorder(ctx, checkin.id)
    try:
        answer_sdp, answer_type = await media(ctx).start_checkin(
            checkin_id=str(checkin.id), sdp=sdp, type=type, on_live=recorder.on_live,
            on_snapshot=recorder.on_snapshot, on_finished=recorder.on_finished,
            call_id=str(call_id) if call_id else None,
        )
    except BaseException:
        async with ctx.db.session() as session:
            await service.discard(session, checkin_id=checkin.id)
        raise
    return checkin.id, answer_sdp, answer_type


async def watch(ctx: AppContext, *, checkin_id: uuid.UUID, media_owner: str | None, viewer_id: str, sdp: str,
                type: str) -> tuple[str, str]:
    check_here(ctx.settings.internal_url, media_owner)
    return await media(ctx).watch(checkin_id=str(checkin_id), sdp=sdp, type=type, viewer_id=viewer_id)


async def host_call(ctx: AppContext, *, call_id: uuid.UUID, staff: Staff, sdp: str, type: str) -> tuple[str, str]:
    async def host_gone() -> None:
        # The clinician's connection closed without a hang-up (page closed, network lost): the call
        # is over for the person too.
        await end_call(ctx, call_id=call_id, staff=staff, host_closed=True)

    if (me := ctx.settings.internal_url) is not None:
        async with ctx.db.session() as session:
            owner = await service.claim_call_media(session, call_id=call_id, owner=me)
        check_here(me, owner)
    return await media(ctx).start_call_host(call_id=str(call_id), sdp=sdp, type=type, on_ended=host_gone)


async def end_call(ctx: AppContext, *, call_id: uuid.UUID, staff: Staff | None = None,
                   subject_id: uuid.UUID | None = None, host_closed: bool = False) -> None:
    """Either side hangs up. The call's state and its ``call.ended`` event are committed first, so the
    other side's page hears of it at once; then the media plane closes both connections."""
    async with ctx.db.session() as session:
        if staff is not None:
            call = await service.get_call_for_host(session, staff=staff, call_id=call_id, ended_too=True)
            by = "staff"
        elif subject_id is not None:
            call = await service.get_call_for_subject(session, subject_id=subject_id, call_id=call_id)
            by = "subject"
        else:
            raise ValueError("a call is ended by its clinician or its person")
        # Hanging up closes the call's media, so the process holding it does all of it.
        check_here(ctx.settings.internal_url, call.media_owner)
        checkin_ids = await service.end_call(session, call=call, by=by, now=ctx.now())
    manager = media(ctx)
    if not host_closed:  # from the host's own ending, waiting for it to stop would wait for itself
        await manager.end_call(str(call_id))
    for checkin_id in checkin_ids:
        await manager.end(str(checkin_id))
