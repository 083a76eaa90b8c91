from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from server.areas.service import narrow
from server.deps import Ctx, CurrentFieldStaff, CurrentHousehold, CurrentStaff, SessionDep
from server.fields import DbId, Limit, Offset
from server.households import service
from server.households.schemas import (
    HouseholdAccessCodeRead,
    HouseholdCreate,
    HouseholdCreated,
    HouseholdMember,
    HouseholdRead,
    HouseholdReadingsCreate,
    HouseholdReadingsRead,
)
from server.models import Subject
from server.models.households import Household
from server.readings.schemas import ReadingRead

router = APIRouter(prefix="/households", tags=["households"])


def _read(household: Household, people: list[Subject]) -> HouseholdRead:
    return HouseholdRead(id=household.id, address=household.address, area_id=household.grid_id,
                         created_at=household.created_at,
                         members=[HouseholdMember(id=p.id, full_name=p.full_name, status=p.state) for p in people])


@router.post("", response_model=HouseholdCreated, status_code=status.HTTP_201_CREATED,
             responses={422: {"description": "No such area in the caller's grids."}})
async def create_household(body: HouseholdCreate, staff: CurrentStaff, ctx: Ctx,
                           session: SessionDep) -> HouseholdCreated:
    """A household at an address in one of the caller's grids. The answer carries its household link
    (`access_url`, `/h/<code>`) and access code: shown this once, stored only hashed. People join it with
    `household_id` at enrolment, in a census list or by correcting their record."""
    household, code = await service.create_household(session, actor=staff, body=body, now=ctx.now())
    return HouseholdCreated(**_read(household, []).model_dump(), access_code=code,
                            access_url=service.access_url(ctx.settings.public_url, code))


@router.get("", response_model=list[HouseholdRead])
async def list_households(staff: CurrentFieldStaff, session: SessionDep, area_id: DbId | None = None,
                          limit: Limit = 200, offset: Offset = 0) -> list[HouseholdRead]:
    """Households of the caller's areas (or below `area_id`), with their members."""
    staff = await narrow(session, staff=staff, area_id=area_id)
    households = await service.list_households(session, staff=staff, area_id=None, limit=limit, offset=offset)
    people = await service.members(session, [h.id for h in households])
    return [_read(h, people[h.id]) for h in households]


@router.get("/{household_id}", response_model=HouseholdRead)
async def get_household(household_id: uuid.UUID, staff: CurrentFieldStaff, session: SessionDep) -> HouseholdRead:
    """A household with its members (404 outside the caller's grids)."""
    household = await service.get_in_scope(session, staff=staff, household_id=household_id)
    return _read(household, (await service.members(session, [household.id]))[household.id])


@router.post("/{household_id}/access-code", response_model=HouseholdAccessCodeRead)
async def reissue_access_code(household_id: uuid.UUID, staff: CurrentStaff, ctx: Ctx,
                              session: SessionDep) -> HouseholdAccessCodeRead:
    """Issue a new household link; the old link and its sign-ins stop working at once."""
    household = await service.get_in_scope(session, staff=staff, household_id=household_id, for_update=True)
    code = await service.reissue_access_code(session, actor=staff, household=household, now=ctx.now())
    return HouseholdAccessCodeRead(household_id=household.id, access_code=code,
                                   access_url=service.access_url(ctx.settings.public_url, code))


_BATCH: dict[int | str, dict[str, Any]] = {
    200: {"description": "Every reading had been stored before (retried ids); returned unchanged."},
    404: {"description": "Another household, or a person who is not a member: nothing was stored."},
    409: {"description": "A member has been released, or a reading id belongs to someone else: nothing was stored."},
    422: {"description": "An implausible temperature or unknown symptom: nothing was stored."},
}


@router.post("/{household_id}/readings", response_model=HouseholdReadingsRead,
             status_code=status.HTTP_201_CREATED, responses=_BATCH)
async def report_for_household(household_id: uuid.UUID, body: HouseholdReadingsCreate, caller: CurrentHousehold,
                               ctx: Ctx, session: SessionDep, response: Response) -> HouseholdReadingsRead:
    """One member reports for everyone in the household (signed in with the household link's token):
    each reading is stored with source "household", all or nothing, with the same flags, alerts and
    retry rules as a person's own reading."""
    stored = await service.report_for_household(
        session, caller=caller, household_id=household_id, readings=body.readings, rules=ctx.settings.rules,
        now=ctx.now(), staff_channels=ctx.settings.staff_channels)
    if not any(created for _reading, created in stored):
        response.status_code = status.HTTP_200_OK
    return HouseholdReadingsRead(readings=[ReadingRead.model_validate(r) for r, _created in stored])
