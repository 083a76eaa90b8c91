from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from server.deps import Ctx, CurrentFieldStaff, CurrentReadingTaker, CurrentSubject, CurrentSubjectLocked, SessionDep
from server.errors import Invalid
from server.fields import Limit
from server.readings import service
from server.readings.schemas import ReadingCreate, ReadingRead, StaffReadingCreate
from server.subjects.service import get_in_scope

router = APIRouter(tags=["readings"])

CREATED_OR_REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {"description": "A reading with this id was stored before; it is returned unchanged."},
    409: {"description": "The person has been released; no new readings are taken."},
    422: {"description": "Implausible temperature, unknown symptom, or a time in the future."},
}


@router.post("/readings", response_model=ReadingRead, status_code=status.HTTP_201_CREATED,
             responses=CREATED_OR_REPLAYED)
async def report_reading(
    body: ReadingCreate, me: CurrentSubjectLocked, ctx: Ctx, session: SessionDep, response: Response
) -> ReadingRead:
    """A person under observation reports their own temperature and symptoms."""
    reading, created = await service.add_reading(
        session, subject=me.subject, actor=me, body=body, rules=ctx.settings.rules, now=ctx.now(),
        subject_locked=True, staff_channels=ctx.settings.staff_channels,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return ReadingRead.model_validate(reading)


@router.get("/me/readings", response_model=list[ReadingRead])
async def my_readings(
    me: CurrentSubject, session: SessionDep, limit: Limit = 200
) -> list[ReadingRead]:
    """The caller's own readings, newest first (also after release)."""
    readings = await service.list_readings(session, subject_id=me.subject_id, limit=limit)
    return [ReadingRead.model_validate(r) for r in readings]


@router.post("/subjects/{subject_id}/readings", response_model=ReadingRead,
             status_code=status.HTTP_201_CREATED, responses=CREATED_OR_REPLAYED)
async def enter_reading(
    subject_id: uuid.UUID, body: StaffReadingCreate, staff: CurrentReadingTaker, ctx: Ctx, session: SessionDep,
    response: Response,
) -> ReadingRead:
    """A clinician or a grid worker enters a reading for a person in their areas, saying how it was taken:
    `source` "visit" (at the door), "phone" (read out on a call) or, for a clinician, "clinician" (the
    default for a clinician; "visit" for a grid worker)."""
    source = body.source or staff.reading_sources[0]
    if source not in staff.reading_sources:  # only a grid worker's list leaves one out ("clinician")
        raise Invalid("A grid worker's reading was taken on a visit or by phone.")
    subject = await get_in_scope(session, staff=staff, subject_id=subject_id)
    reading, created = await service.add_reading(
        session, subject=subject, actor=staff, body=ReadingCreate(**body.model_dump(exclude={"source"})),
        rules=ctx.settings.rules, now=ctx.now(), source=source, entered_by=staff.db_user_id,
        staff_channels=ctx.settings.staff_channels,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return ReadingRead.model_validate(reading)


@router.get("/subjects/{subject_id}/readings", response_model=list[ReadingRead])
async def subject_readings(
    subject_id: uuid.UUID, staff: CurrentFieldStaff, session: SessionDep,
    limit: Limit = 200,
) -> list[ReadingRead]:
    """A person's readings, newest first (staff in scope; the look is audited)."""
    readings = await service.readings_for_staff(session, staff=staff, subject_id=subject_id, limit=limit)
    return [ReadingRead.model_validate(r) for r in readings]
