"""Video pages: a person's check-in (and joining a call), clinicians watching or calling, and the
check-ins panel of the subject detail page."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from markupsafe import Markup

from server.auth.principal import Clinician, Staff, SubjectPrincipal
from server.checkins import service
from server.checkins.lifecycle import media
from server.checkins.media import turn_name
from server.errors import NotFound
from server.models import ACTIVE, Subject
from server.models.checkins import LIVE
from server.pages.rendering import AnyCallerPage, ClinicianPage, Page, StaffPage, SubjectPage, parse_uuid
from server.subjects.service import get_in_scope
from webrtc import browser_ice_servers

router = APIRouter(include_in_schema=False)

# How long each step of the guided script lasts; together longer than the minimum of a check-in.
SCRIPT_SECONDS = (8, 8)


def _json(value: object) -> Markup:
    # Safe inside a <script type="application/json">: "<" can never close the element.
    return Markup(json.dumps(value, ensure_ascii=False).replace("<", "\\u003c"))


def _ice(page: AnyCallerPage) -> dict[str, object]:
    """The page's ICE servers. With TURN, its credentials expire: the script fetches fresh ones from
    `iceServersUrl` just before it connects, and uses these only if that fails."""
    config = media(page.ctx).config
    caller = page.caller
    who = turn_name(caller) if isinstance(caller, Staff | SubjectPrincipal) else "page"
    return {"iceServers": browser_ice_servers(config, who=who),
            "iceServersUrl": "/api/v1/ice-servers" if config.turn is not None else None}


@router.get("/me/checkin")
async def checkin_page(page: SubjectPage) -> Response:
    subject = page.caller.subject
    _ = page._
    # The script's words, translated here: checkin.js holds no text of its own.
    strings = {
        "face_title": _("Show your face"),
        "face_hint": _("Keep your face in the frame, in good light."),
        "thermometer_title": _("Hold the thermometer to the camera"),
        "thermometer_hint": _("Hold it still until the countdown ends."),
        "connecting": _("Connecting…"),
        "received": _("Check-in received at {time}"),
        "failed": _("The check-in did not go through. Please try again."),
        "no_camera": _("Please allow the camera to do a video check-in."),
        "in_call": _("In a call with your clinic"),
        "call_ended": _("The call has ended."),
        "call_ended_by_clinic": _("The clinic has ended the call."),
        "call_lost": _("The connection was lost; the call has ended."),
        "stopped": _("Check-in stopped. Start again when you are ready."),
    }
    config = {
        **_ice(page),
        "strings": strings,
        "script": list(SCRIPT_SECONDS),
        "active": subject.state == ACTIVE,
        "locale": page.locale.replace("_", "-"),
        "timeZone": page.ctx.settings.timezone,
    }
    return page.render("checkin.html", config=_json(config), active=subject.state == ACTIVE,
                       script_seconds=sum(SCRIPT_SECONDS))


def _staff_subject_id(raw: str) -> uuid.UUID:
    subject_id = parse_uuid(raw)
    if subject_id is None:
        raise NotFound("No such person in your grids.")
    return subject_id


async def _video_page(page: AnyCallerPage, subject: Subject, *, mode: str, target: str,
                      call_id: uuid.UUID | None = None) -> Response:
    _, name = page._, subject.full_name
    strings = {
        "waiting": _("Waiting for {name} to join…", name=name),
        "connected": _("Connected"),
        "call_ended": _("The call has ended."),
        "no_microphone": _("Allow the microphone so that you can talk."),
        "person_ended": _("{name} has hung up.", name=name),
        "declined": _("{name} did not take the call. It is shown to both of you as a missed call.", name=name),
        "no_answer": _("{name} did not answer. It is shown to both of you as a missed call.", name=name),
        "missed": _("You hung up before {name} answered. It is shown as a missed call.", name=name),
        "checkin_ended": _("The check-in has ended."),
        "connection_lost": _("The connection was lost; the call has ended."),
    }
    config = {**_ice(page), "mode": mode, "target": target, "strings": strings,
              "subjectUrl": f"/subjects/{subject.id}", "ringSeconds": service.CALL_RING_SECONDS,
              "callId": str(call_id) if call_id else None}
    return page.render("watch.html", s=subject, mode=mode, config=_json(config))


@router.post("/subjects/{subject_id}/call")
async def ring(subject_id: str, page: ClinicianPage) -> Response:
    """'Call' rings the person as the button is pressed; the call page then opens the media."""
    await page.form()
    subject = await get_in_scope(page.session, staff=page.caller, subject_id=_staff_subject_id(subject_id))
    call = await service.request_call(page.session, staff=page.caller, subject=subject, now=page.ctx.now(),
                                      settings=page.ctx.settings)
    return page.redirect(f"/subjects/{subject.id}/call?call={call.id}")


@router.get("/subjects/{subject_id}/call")
async def call_page(subject_id: str, page: ClinicianPage, call: str | None = None) -> Response:
    subject = await get_in_scope(page.session, staff=page.caller, subject_id=_staff_subject_id(subject_id))
    call_id = parse_uuid(call) if call else None
    return await _video_page(page, subject, mode="call", target=str(subject.id), call_id=call_id)


@router.get("/checkins/{checkin_id}/watch")
async def watch_page(checkin_id: str, page: StaffPage) -> Response:
    staff = page.caller
    parsed = parse_uuid(checkin_id)
    if parsed is None:
        raise NotFound("No such check-in.")
    checkin = await service.get_for_staff(page.session, staff=staff, checkin_id=parsed)
    subject = await get_in_scope(page.session, staff=staff, subject_id=checkin.subject_id)
    return await _video_page(page, subject, mode="watch", target=str(checkin.id))


async def detail_context(page: Page[Staff], subject: Subject) -> dict[str, Any]:
    """What ``partials/checkins.html`` needs on the subject detail page."""
    checkins = await service.list_for_subject(page.session, subject_id=subject.id, limit=20)
    # Live here, or live in the database on another process (whose watch requests are forwarded there).
    me = page.ctx.settings.internal_url
    live = media(page.ctx).live_checkins() | {
        str(c.id) for c in checkins if c.status == LIVE and c.media_owner is not None and c.media_owner != me}
    now = page.ctx.now()
    missed = await service.missed_calls(page.session, subject_id=subject.id, since=now - timedelta(days=2), now=now)
    return {
        "missed_calls": missed,
        "checkins": [service.to_read(c) for c in checkins],
        "live_checkins": live,
        # Only a clinician's call page exists (an admin watches, but does not ring people).
        "can_call": isinstance(page.caller, Clinician) and subject.state == ACTIVE,
    }
