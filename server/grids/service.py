from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.audit.service import Actor
from server.auth.principal import Staff
from server.errors import Conflict, Invalid
from server.models import Grid


async def create_grid(session: AsyncSession, *, actor: Actor, name: str) -> Grid:
    name = name.strip()
    if not name:
        raise Invalid("A grid needs a name.")
    if await session.scalar(select(Grid.id).where(Grid.name == name)) is not None:
        raise Conflict("A grid named “{name}” already exists.", name=name)
    grid = Grid(name=name)
    session.add(grid)
    await session.flush()
    audit.record(session, actor, "grid.created", grid_id=grid.id, name=name)
    return grid


async def list_grids(session: AsyncSession, *, staff: Staff) -> Sequence[Grid]:
    query = select(Grid).order_by(Grid.name)
    if not staff.is_admin:
        query = query.where(Grid.id.in_(sorted(staff.grid_ids)))
    return (await session.scalars(query)).all()


async def get_or_create_grids(session: AsyncSession, *, actor: Actor, names: list[str]) -> list[Grid]:
    grids = []
    for name in names:
        grid = await session.scalar(select(Grid).where(Grid.name == name))
        grids.append(grid or await create_grid(session, actor=actor, name=name))
    return grids
