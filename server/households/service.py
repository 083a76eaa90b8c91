"""Households: one address, one link, one member reporting for everyone living there.

A household's readings go through the one reading service (:func:`server.readings.service.add_reading`),
so flags, alerts, events and retried ids behave exactly as for a person's own reading; only the source
("household") and the author differ. A batch is all or nothing: it runs in the request's one unit of
work, and any refusal (a person outside the household, a released member, an implausible value) rolls
every reading of it back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules
from server.audit import service as audit
from server.auth.principal import HouseholdPrincipal, Staff
from server.auth.security import hash_access_code, new_access_code
from server.errors import Invalid, NotFound
from server.households.schemas import HouseholdCreate, HouseholdReadingCreate
from server.models import ACTIVE, Grid, Reading, Subject
from server.models.households import Household
from server.readings.service import add_reading

SOURCE = "household"


def access_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/h/{code}"


async def create_household(session: AsyncSession, *, actor: Staff, body: HouseholdCreate,
                           now: datetime) -> tuple[Household, str]:
    """A household at an address in one of the actor's grids; returns it with its access code, which
    exists only in this answer (stored hashed, like a personal link's)."""
    grid = await session.get(Grid, body.area_id)
    if grid is None or not actor.sees_grid(grid.id):
        # A grid outside the actor's scope reads exactly like one that does not exist.
        raise Invalid("No area with id {area_id}.", area_id=body.area_id)
    code = new_access_code()
    household = Household(id=uuid.uuid4(), grid_id=grid.id, address=body.address,
                          access_code_hash=hash_access_code(code), access_code_version=1,
                          access_code_issued_at=now, created_at=now, created_by=actor.db_user_id)
    session.add(household)
    await session.flush()
    audit.record(session, actor, "household.created", household_id=str(household.id), grid_id=grid.id)
    return household, code


async def get_in_scope(session: AsyncSession, *, staff: Staff, household_id: uuid.UUID,
                       for_update: bool = False) -> Household:
    """A household of the staff member's grids; out of scope and unknown look the same (404)."""
    query = select(Household).where(Household.id == household_id, staff.grid_filter(Household.grid_id))
    if for_update:
        query = query.with_for_update()
    household = await session.scalar(query)
    if household is None:
        raise NotFound("No such household in your grids.")
    return household


async def list_households(session: AsyncSession, *, staff: Staff, area_id: int | None = None,
                          limit: int = 200, offset: int = 0) -> Sequence[Household]:
    query = select(Household).where(staff.grid_filter(Household.grid_id))
    if area_id is not None:
        query = query.where(Household.grid_id == area_id)
    return (await session.scalars(
        query.order_by(Household.grid_id, Household.address, Household.id).limit(limit).offset(offset))).all()


async def members(session: AsyncSession, household_ids: Sequence[uuid.UUID], *,
                  active_only: bool = False) -> dict[uuid.UUID, list[Subject]]:
    """The people of each household, by name."""
    found: dict[uuid.UUID, list[Subject]] = {household_id: [] for household_id in household_ids}
    if not household_ids:
        return found
    query = select(Subject).where(Subject.household_id.in_(list(household_ids)))
    if active_only:
        query = query.where(Subject.state == ACTIVE)
    for subject in (await session.scalars(query.order_by(Subject.full_name, Subject.id))).all():
        assert subject.household_id is not None
        found[subject.household_id].append(subject)
    return found


async def reissue_access_code(session: AsyncSession, *, actor: Staff, household: Household, now: datetime) -> str:
    code = new_access_code()
    household.access_code_hash = hash_access_code(code)
    # Bumping the version revokes the old link and every token signed in with it.
    household.access_code_version += 1
    household.access_code_issued_at = now
    audit.record(session, actor, "household.access_code_reissued", household_id=str(household.id),
                 version=household.access_code_version)
    return code


async def report_for_household(
    session: AsyncSession, *, caller: HouseholdPrincipal, household_id: uuid.UUID,
    readings: Sequence[HouseholdReadingCreate], rules: Rules, now: datetime, staff_channels: tuple[str, ...] = (),
) -> list[tuple[Reading, bool]]:
    """Store one reading per entry, each for a member of the caller's household, all or nothing; returns
    each reading and whether it is new (a retried id returns the stored one). Anyone outside the
    household, or another household, is "not found", and nothing is stored."""
    if household_id != caller.household_id:
        raise NotFound("No such household.")
    wanted = sorted({r.subject_id for r in readings})
    # Locked in one order (by id) before any reading is stored: two members of one household reporting
    # at once must not lock each other's rows in opposite orders.
    locked = (await session.scalars(
        select(Subject).where(Subject.id.in_(wanted), Subject.household_id == household_id)
        .order_by(Subject.id).with_for_update().execution_options(populate_existing=True))).all()
    by_id = {subject.id: subject for subject in locked}
    if len(by_id) != len(wanted):
        raise NotFound("No such person in this household.")
    stored = []
    for body in readings:
        stored.append(await add_reading(
            session, subject=by_id[body.subject_id], actor=caller, body=body, rules=rules, now=now,
            source=SOURCE, subject_locked=True, staff_channels=staff_channels,
        ))
    return stored
