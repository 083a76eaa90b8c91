from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from server.areas.service import narrow
from server.deps import Ctx, CurrentFieldStaff, CurrentReadingTaker, SessionDep
from server.fields import DbId
from server.round import service
from server.round.schemas import ContactAttemptCreate, ContactAttemptRead, RoundRead

router = APIRouter(tags=["round"])

_REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {"description": "An attempt with this id was stored before; it is returned unchanged."},
    409: {"description": "The person is no longer under observation."},
}


@router.get("/round", response_model=RoundRead)
async def daily_round(staff: CurrentFieldStaff, ctx: Ctx, session: SessionDep,
                      area_id: DbId | None = None) -> RoundRead:
    """Who still needs a reading in the open window or the one just closed (status `due` or `missed`), in
    the caller's areas or below `area_id`: one stop per household (or address), in address order, each
    person with the last visit or call that found nobody (the last 12 hours). At most 500 people;
    `total` counts them all."""
    staff = await narrow(session, staff=staff, area_id=area_id)
    return await service.round_list(session, staff=staff, now=ctx.now(), rules=ctx.settings.rules)


@router.post("/subjects/{subject_id}/contact-attempts", response_model=ContactAttemptRead,
             status_code=status.HTTP_201_CREATED, responses=_REPLAYED)
async def record_contact_attempt(subject_id: uuid.UUID, body: ContactAttemptCreate, staff: CurrentReadingTaker,
                                 ctx: Ctx, session: SessionDep, response: Response) -> ContactAttemptRead:
    """A visit (`kind` "visit") or a call ("phone") that found nobody (`outcome` "not_home" or
    "no_answer"). Clinicians and grid workers; with a client-chosen `id`, sending it again stores it once."""
    attempt, created = await service.record_attempt(session, staff=staff, subject_id=subject_id, body=body,
                                                    now=ctx.now())
    if not created:
        response.status_code = status.HTTP_200_OK
    return ContactAttemptRead.model_validate(attempt)


@router.get("/subjects/{subject_id}/contact-attempts", response_model=list[ContactAttemptRead])
async def contact_attempts(subject_id: uuid.UUID, staff: CurrentFieldStaff,
                           session: SessionDep) -> list[ContactAttemptRead]:
    """A person's visits and calls that found nobody, newest first."""
    return [ContactAttemptRead.model_validate(a)
            for a in await service.attempts_for(session, staff=staff, subject_id=subject_id)]
