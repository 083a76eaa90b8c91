from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from monitoring import Status
from server.areas.service import narrow
from server.deps import Ctx, CurrentFieldStaff, SessionDep
from server.fields import DbId, Offset, Text
from server.roster import service
from server.roster.schemas import RosterPage

router = APIRouter(prefix="/roster", tags=["roster"])


@router.get("", response_model=RosterPage)
async def get_roster(
    staff: CurrentFieldStaff,
    ctx: Ctx,
    session: SessionDep,
    grid_id: DbId | None = None,
    status: Status | None = None,
    q: Annotated[Text | None, Query(max_length=100, description="Part of a name or phone number")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
    site_id: Annotated[DbId | None, Query(description="Only people at this centralised observation site")] = None,
    area_id: Annotated[DbId | None, Query(description="Only this area and everything below it")] = None,
) -> RosterPage:
    """People under observation in the caller's areas (or below `area_id`), most severe first (abnormal,
    missed, due, ok), with counts by status for the same filters (the status filter aside). Flags of the case's course
    (`test_positive`, `suspected`, `referred`, `test_pending`) come first in each person's flags."""
    staff = await narrow(session, staff=staff, area_id=area_id)
    return await service.roster(session, staff=staff, rules=ctx.settings.rules, now=ctx.now(),
                                grid_id=grid_id, status=status, q=q, limit=limit, offset=offset,
                                sweep=not ctx.settings.scheduler_enabled, site_id=site_id)
