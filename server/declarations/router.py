from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from server.areas.service import narrow
from server.auth.service import Anonymous
from server.declarations import service
from server.declarations.schemas import (
    CensusProgressRead,
    DeclarationCreate,
    DeclarationCreated,
    DeclarationDismiss,
    DeclarationEnrol,
    DeclarationRead,
    DeclarationStatus,
)
from server.deps import Ctx, CurrentAnyStaff, CurrentFieldStaff, CurrentStaff, SessionDep, client_address
from server.fields import DbId, Limit, Offset
from server.models.declarations import Declaration
from server.rate_limit import RateLimit
from server.subjects.schemas import SubjectCreated
from server.subjects.service import access_url, mask_id_number, to_read

router = APIRouter(prefix="/declarations", tags=["declarations"])
census_router = APIRouter(prefix="/census", tags=["declarations"])


def _read(d: Declaration) -> DeclarationRead:
    return DeclarationRead(
        id=d.id, area_id=d.grid_id, full_name=d.full_name, phone=d.phone, address=d.address,
        id_number_masked=mask_id_number(d.id_number), arrival_date=d.arrival_date, arrived_from=d.arrived_from,
        contact_with_case=d.contact_with_case, symptoms=d.symptoms, gatherings=d.gatherings, source=d.source,
        status=d.status, created_at=d.created_at, decided_at=d.decided_at,
        dismiss_reason=d.dismiss_reason, subject_id=d.subject_id)


@router.post("", response_model=DeclarationCreated, status_code=status.HTTP_201_CREATED,
             responses={429: {"description": "Too many declarations from this connection; `Retry-After` says when."}})
async def declare(body: DeclarationCreate, request: Request, ctx: Ctx, session: SessionDep) -> DeclarationCreated:
    """A resident declares themselves (public, no sign-in; rate-limited per client address). The declaration
    waits in its area's screening queue."""
    settings = ctx.settings
    now = ctx.now()
    await service.check_rate(session, address=client_address(request), now=now,
                             rate=RateLimit(settings.declaration_rate_limit, settings.declaration_rate_window_seconds))
    declaration = await service.declare(session, actor=Anonymous(client_address(request)), body=body, now=now)
    return DeclarationCreated(id=declaration.id, status="waiting")


@router.get("", response_model=list[DeclarationRead])
async def screening_queue(
    staff: CurrentFieldStaff, session: SessionDep, area_id: DbId | None = None,
    status: Annotated[DeclarationStatus | None, Query()] = "waiting", limit: Limit = 100, offset: Offset = 0,
) -> list[DeclarationRead]:
    """The screening queue of the caller's areas (or of one of them and everything below it, 404 outside
    them), oldest first. Grid workers read it; clinicians and administrators decide."""
    staff = await narrow(session, staff=staff, area_id=area_id)
    found = await service.queue(session, staff=staff, area_id=None, status=status, limit=limit, offset=offset)
    return [_read(d) for d in found]


_DECIDED: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such declaration in the caller's areas."},
    409: {"description": "Already enrolled or dismissed, or (enrol) the person is already under observation."},
}


@router.post("/{declaration_id}/enrol", response_model=SubjectCreated, status_code=status.HTTP_201_CREATED,
             responses=_DECIDED)
async def enrol_declared(declaration_id: uuid.UUID, body: DeclarationEnrol, staff: CurrentStaff, ctx: Ctx,
                         session: SessionDep) -> SubjectCreated:
    """Enrol the person a declaration names, prefilled from it (name, phone, address, ID number, area; the
    arrival date as last exposure), with the fields it lacks. Refused (409 `duplicate`) for someone already
    under observation unless `allow_duplicate`. The answer carries the personal link, shown this once."""
    now = ctx.now()
    subject, code = await service.enrol(session, staff=staff, declaration_id=declaration_id, body=body,
                                        rules=ctx.settings.rules, now=now)
    read = to_read(subject, now=now, rules=ctx.settings.rules)
    return SubjectCreated(**read.model_dump(), access_code=code, access_url=access_url(ctx.settings.public_url, code))


@router.post("/{declaration_id}/dismiss", response_model=DeclarationRead, responses=_DECIDED)
async def dismiss_declaration(declaration_id: uuid.UUID, body: DeclarationDismiss, staff: CurrentStaff, ctx: Ctx,
                              session: SessionDep) -> DeclarationRead:
    """Take a declaration out of the queue without enrolling anyone, saying why."""
    declaration = await service.dismiss(session, staff=staff, declaration_id=declaration_id,
                                        reason=body.reason, now=ctx.now())
    return _read(declaration)


@census_router.get("/progress", response_model=list[CensusProgressRead])
async def census_progress(staff: CurrentAnyStaff, session: SessionDep,
                          area_id: DbId | None = None) -> list[CensusProgressRead]:
    """Door-to-door census per grid of the caller's areas (or below `area_id`): households visited, people
    counted, declarations waiting. Counts only: observers read it too."""
    staff = await narrow(session, staff=staff, area_id=area_id)
    area_id = None
    return [CensusProgressRead(area_id=p.area_id, name=p.name, households_visited=p.households_visited,
                               people_counted=p.people_counted, declarations_waiting=p.declarations_waiting)
            for p in await service.progress(session, staff=staff, area_id=area_id)]
