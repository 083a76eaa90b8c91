"""The daily round for grid workers (and clinicians): who still needs a reading, door by door, with a
reading or a "found nobody" entered in one tap, and the same entry on a person's record page.

The round page keeps working without a network: its script queues each entry on the phone with the id
chosen when the entry was made and sends the queue when the connection returns, so a resend stores
nothing twice (web/static/js/round.js). Without JavaScript the forms post to the routes below."""

from __future__ import annotations

import uuid
from typing import Any, cast

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError

from server.areas.service import narrow_for_page
from server.errors import AppError, Forbidden, NotFound
from server.models import Subject
from server.pages.rendering import FieldStaffPage, Page, parse_uuid
from server.readings import service as readings
from server.readings.schemas import ReadingCreate
from server.round import service
from server.round.schemas import ContactAttemptCreate
from server.subjects.service import get_in_scope

router = APIRouter(include_in_schema=False)

def _sources(page: Page[Any]) -> tuple[str, ...]:
    return cast(tuple[str, ...], page.caller.reading_sources)


async def entry_context(page: Page[Any], subject: Subject) -> dict[str, Any]:
    """What the record page needs to offer staff entry: only to those who take readings."""
    sources = _sources(page)
    if not sources:
        return {"can_enter": False}
    return {"can_enter": True, "entry_id": str(uuid.uuid4()), "entry_sources": sources, "entry_error": None,
            "attempts": await service.attempts_for(page.session, staff=page.caller, subject_id=subject.id, limit=5)}


def _taker(page: Page[Any]) -> None:
    if not _sources(page):
        raise Forbidden("Only a clinician or a grid worker can do this.")


def _subject_id(raw: str) -> uuid.UUID:
    subject_id = parse_uuid(raw)
    if subject_id is None:
        raise NotFound("No such person in your grids.")
    return subject_id


async def _back(page: Page[Any], subject_id: uuid.UUID, done: str, error: AppError | None = None) -> Response:
    form_next = str((await page.form()).get("next", ""))
    if form_next == "round" and error is None:
        return page.redirect(f"/round?done={done}")
    if error is not None:
        # Imported here: the record page imports this module for its entry form.
        from server.pages.subject_detail import _render
        return await _render(page, subject_id, status_code=error.status_code, entry_error=page.error_text(error))
    return page.redirect(f"/subjects/{subject_id}?done={done}#entry")


@router.post("/subjects/{subject_id}/readings")
async def enter_reading(subject_id: str, page: FieldStaffPage) -> Response:
    _taker(page)
    sid = _subject_id(subject_id)
    form = await page.form()
    source = str(form.get("source", ""))
    try:
        if source not in _sources(page):
            source = _sources(page)[0]
        body = ReadingCreate(id=parse_uuid(str(form.get("id", ""))), temperature_c=str(form.get("temperature_c", "")))
        subject = await get_in_scope(page.session, staff=page.caller, subject_id=sid)
        await readings.add_reading(page.session, subject=subject, actor=page.caller, body=body,
                                   rules=page.ctx.settings.rules, now=page.ctx.now(), source=source,
                                   entered_by=page.caller.db_user_id,
                                   staff_channels=page.ctx.settings.staff_channels)
    except ValidationError:
        return await _back(page, sid, "", AppError(page._("Please enter a temperature such as 36.8."),
                                                   status_code=422))
    except AppError as error:
        return await _back(page, sid, "", error)
    return await _back(page, sid, "reading_saved")


@router.post("/subjects/{subject_id}/attempts")
async def record_attempt(subject_id: str, page: FieldStaffPage) -> Response:
    _taker(page)
    sid = _subject_id(subject_id)
    form = await page.form()
    kind, _sep, outcome = str(form.get("attempt", "visit:not_home")).partition(":")
    try:
        body = ContactAttemptCreate.model_validate({"id": parse_uuid(str(form.get("id", ""))), "kind": kind,
                                                    "outcome": outcome})
        await service.record_attempt(page.session, staff=page.caller, subject_id=sid, body=body, now=page.ctx.now())
    except ValidationError:
        return await _back(page, sid, "", AppError(page._("Choose what happened."), status_code=422))
    except AppError as error:
        return await _back(page, sid, "", error)
    return await _back(page, sid, "attempt_saved")


@router.get("/round")
async def round_page(page: FieldStaffPage, area: str | None = None, done: str | None = None) -> Response:
    staff, area_id = await narrow_for_page(page.session, staff=page.caller, area=area)
    result = await service.round_list(page.session, staff=staff, now=page.ctx.now(), rules=page.ctx.settings.rules)
    return page.render("staff/round.html", result=result, sources=_sources(page) or ("visit",),
                       can_enter=bool(_sources(page)), area_id=area_id,
                       notice=done if done in ("reading_saved", "attempt_saved") else None,
                       new_id=lambda: str(uuid.uuid4()))
