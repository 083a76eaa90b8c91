"""Self-declaration and the door-to-door census: declarations wait in their grid's screening queue until
staff enrol the person (through the one enrolment, with its duplicate check) or dismiss them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import ReadingRejected, Rules, local_date, normalise_symptoms
from server.audit import service as audit
from server.audit.service import Actor
from server.auth.principal import Staff
from server.declarations.schemas import DeclarationCreate, DeclarationEnrol
from server.errors import Conflict, Invalid, NotFound, TooManyRequests
from server.models import Grid, Subject
from server.models.declarations import DISMISSED, ENROLLED, WAITING, CensusTally, Declaration
from server.rate_limit import RateLimit, take
from server.readings.service import reading_rejected
from server.subjects.schemas import SubjectCreate
from server.subjects.service import enrol as enrol_subject


async def check_rate(session: AsyncSession, *, address: str, rate: RateLimit, now: datetime) -> None:
    """The public form's budget per client address (every app process counts together)."""
    wait = await take(session, f"declare:{address}", rate=rate, now=now)
    if wait:
        seconds = int(wait) + 1
        raise TooManyRequests("Too many declarations from this connection. Please wait {seconds} seconds.",
                              seconds=seconds, headers={"Retry-After": str(seconds)})


async def declare(session: AsyncSession, *, actor: Actor | None, body: DeclarationCreate, now: datetime,
                  recorded_by: Staff | None = None) -> Declaration:
    """Store a declaration in its grid's queue (``recorded_by``: a grid worker at the door)."""
    grid = await session.get(Grid, body.area_id)
    if grid is None or (recorded_by is not None and not recorded_by.sees_grid(grid.id)):
        raise Invalid("No area with id {area_id}.", area_id=body.area_id)
    try:
        symptoms = normalise_symptoms([s for s in body.symptoms if s != "other"], None)
    except ReadingRejected as error:
        raise reading_rejected(error) from error
    declaration = Declaration(
        id=uuid.uuid4(), grid_id=grid.id, full_name=body.full_name, phone=body.phone, address=body.address.strip(),
        id_number=body.id_number, arrival_date=body.arrival_date, arrived_from=body.arrived_from,
        contact_with_case=body.contact_with_case, symptoms=list(symptoms), gatherings=body.gatherings,
        source="census" if recorded_by is not None else "self",
        recorded_by=recorded_by.db_user_id if recorded_by is not None else None,
        status=WAITING, created_at=now)
    session.add(declaration)
    await session.flush()
    audit.record(session, recorded_by or actor, "declaration.created", declaration_id=str(declaration.id),
                 grid_id=grid.id, source=declaration.source)
    return declaration


def _visible_area(staff: Staff, area_id: int | None) -> None:
    if area_id is not None and not staff.sees_grid(area_id):
        raise NotFound("No such area in your grids.")


async def queue(session: AsyncSession, *, staff: Staff, area_id: int | None = None, status: str | None = WAITING,
                limit: int = 100, offset: int = 0) -> Sequence[Declaration]:
    """The screening queue: declarations of the staff member's grids (or one of them), oldest first."""
    _visible_area(staff, area_id)
    query = select(Declaration).where(staff.grid_filter(Declaration.grid_id))
    if area_id is not None:
        query = query.where(Declaration.grid_id == area_id)
    if status is not None:
        query = query.where(Declaration.status == status)
    return (await session.scalars(
        query.order_by(Declaration.created_at, Declaration.id).limit(limit).offset(offset))).all()


async def get_in_scope(session: AsyncSession, *, staff: Staff, declaration_id: uuid.UUID) -> Declaration:
    """A declaration of the staff member's grids, locked for a decision; out of scope looks like missing."""
    declaration = await session.scalar(
        select(Declaration).where(Declaration.id == declaration_id, staff.grid_filter(Declaration.grid_id))
        .with_for_update())
    if declaration is None:
        raise NotFound("No such declaration in your grids.")
    return declaration


def _waiting(declaration: Declaration) -> None:
    if declaration.status != WAITING:
        raise Conflict("This declaration has already been decided: its person enrolled, or it was dismissed.")


async def enrol(session: AsyncSession, *, staff: Staff, declaration_id: uuid.UUID, body: DeclarationEnrol,
                rules: Rules, now: datetime) -> tuple[Subject, str]:
    """Enrol the person a declaration names, prefilled from it, through the one enrolment (its duplicate
    check refuses someone already under observation unless ``allow_duplicate``)."""
    declaration = await get_in_scope(session, staff=staff, declaration_id=declaration_id)
    _waiting(declaration)
    exposure = body.last_exposure_date
    if exposure is None and declaration.arrival_date is not None \
            and declaration.arrival_date <= local_date(now, rules):
        exposure = declaration.arrival_date  # arriving from an affected area is the exposure
    subject, code = await enrol_subject(session, actor=staff, rules=rules, now=now, body=SubjectCreate(
        full_name=declaration.full_name, phone=declaration.phone, grid_id=declaration.grid_id,
        address=declaration.address, id_number=declaration.id_number, observation_type=body.observation_type,
        reason=body.reason, start_date=body.start_date, duration_days=body.duration_days,
        last_exposure_date=exposure, language=body.language, household_id=body.household_id,
        allow_duplicate=body.allow_duplicate))
    declaration.status = ENROLLED
    declaration.subject_id = subject.id
    declaration.decided_at = now
    declaration.decided_by = staff.db_user_id
    audit.record(session, staff, "declaration.enrolled", subject_id=subject.id, declaration_id=str(declaration.id))
    return subject, code


async def dismiss(session: AsyncSession, *, staff: Staff, declaration_id: uuid.UUID, reason: str,
                  now: datetime) -> Declaration:
    declaration = await get_in_scope(session, staff=staff, declaration_id=declaration_id)
    _waiting(declaration)
    declaration.status = DISMISSED
    declaration.dismiss_reason = reason
    declaration.decided_at = now
    declaration.decided_by = staff.db_user_id
    audit.record(session, staff, "declaration.dismissed", declaration_id=str(declaration.id), reason=reason)
    return declaration


async def record_tally(session: AsyncSession, *, staff: Staff, area_id: int, households_visited: int,
                       people_counted: int, now: datetime) -> CensusTally:
    """A round of doors: households visited and people counted, added to the grid's census progress."""
    if await session.get(Grid, area_id) is None or not staff.sees_grid(area_id):
        raise Invalid("No area with id {area_id}.", area_id=area_id)
    tally = CensusTally(grid_id=area_id, households_visited=households_visited, people_counted=people_counted,
                        recorded_by=staff.db_user_id, recorded_at=now)
    session.add(tally)
    await session.flush()
    audit.record(session, staff, "census.tallied", grid_id=area_id, households=households_visited,
                 people=people_counted)
    return tally


@dataclass(frozen=True, slots=True)
class CensusProgress:
    area_id: int
    name: str
    households_visited: int
    people_counted: int
    declarations_waiting: int


async def progress(session: AsyncSession, *, staff: Staff, area_id: int | None = None) -> list[CensusProgress]:
    """Census progress per grid of the staff member: households visited, people counted, declarations
    waiting."""
    _visible_area(staff, area_id)
    grids = select(Grid.id, Grid.name).where(staff.grid_filter(Grid.id))
    if area_id is not None:
        grids = grids.where(Grid.id == area_id)
    names = {grid_id: name for grid_id, name in (await session.execute(grids.order_by(Grid.name))).all()}
    tallies = {grid_id: (int(h or 0), int(p or 0)) for grid_id, h, p in (await session.execute(
        select(CensusTally.grid_id, func.sum(CensusTally.households_visited), func.sum(CensusTally.people_counted))
        .where(CensusTally.grid_id.in_(list(names))).group_by(CensusTally.grid_id))).all()}
    waiting = {grid_id: int(n) for grid_id, n in (await session.execute(
        select(Declaration.grid_id, func.count()).where(Declaration.status == WAITING,
                                                        Declaration.grid_id.in_(list(names)))
        .group_by(Declaration.grid_id))).all()}
    return [CensusProgress(grid_id, name, *tallies.get(grid_id, (0, 0)), waiting.get(grid_id, 0))
            for grid_id, name in names.items()]
