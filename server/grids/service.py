from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.areas import service as areas
from server.audit.service import Actor
from server.auth.principal import Staff
from server.errors import Invalid
from server.models import Grid


async def create_grid(session: AsyncSession, *, actor: Actor, name: str, parent_id: int | None = None) -> Grid:
    """A grid is the leaf of the area tree: made as an area of kind ``grid`` (same id)."""
    if not name.strip():
        raise Invalid("A grid needs a name.")
    area = await areas.create_area(session, actor=actor, name=name, kind=areas.GRID, parent_id=parent_id)
    grid = await session.get(Grid, area.id)
    assert grid is not None
    return grid


async def list_grids(session: AsyncSession, *, staff: Staff) -> Sequence[Grid]:
    """The grids the caller sees (below their areas), by name."""
    query = select(Grid).order_by(Grid.name)
    if not staff.all_grids:
        query = query.where(Grid.id.in_(sorted(staff.grid_ids)))
    return (await session.scalars(query)).all()


async def get_or_create_grids(session: AsyncSession, *, actor: Actor, names: list[str]) -> list[Grid]:
    grids = []
    for name in names:
        grid = await session.scalar(select(Grid).where(Grid.name == name))
        grids.append(grid or await create_grid(session, actor=actor, name=name))
    return grids
