"""The area tree: district > town | street > community | village > grid.

Grids are its leaves and keep their ids (a grid is the area of kind ``grid`` with its id), so every
``grid_id`` in the system is an area id too. ``area_paths`` holds the tree's closure, kept here and
nowhere else: creating an area adds its paths, moving one rewrites the paths of its subtree. Staff are
assigned to areas and see every grid below them (:func:`grids_under`); a request's ``area_id`` narrows
the caller's view to one of their areas (:func:`narrow`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.audit.service import Actor
from server.auth.principal import Staff
from server.errors import Conflict, Invalid, NotFound
from server.fields import db_id
from server.models import Area, AreaPath, Grid, RosterCount

# How deep each kind sits; a child lies strictly deeper than its parent (a grid directly under a
# district is allowed, a town under a village is not). Towns and streets are the same level, as are
# communities and villages (rural and urban names for the same tier).
LEVELS: dict[str, int] = {"district": 0, "town": 1, "street": 1, "community": 2, "village": 2, "grid": 3}
GRID = "grid"


def may_contain(parent_kind: str, child_kind: str) -> bool:
    return LEVELS[child_kind] > LEVELS[parent_kind]


async def _area(session: AsyncSession, area_id: int) -> Area:
    area = await session.get(Area, area_id)
    if area is None:
        raise NotFound("No such area.")
    return area


async def create_area(session: AsyncSession, *, actor: Actor, name: str, kind: str,
                      parent_id: int | None = None) -> Area:
    """A new area under ``parent_id``; a grid also gets its row in ``grids`` under the same id."""
    name = name.strip()
    if not name:
        raise Invalid("An area needs a name.")
    if kind not in LEVELS:
        raise Invalid("Unknown kind of area “{kind}”.", kind=kind)
    parent = await _area(session, parent_id) if parent_id is not None else None
    if parent is not None and not may_contain(parent.kind, kind):
        raise Invalid("An area of this kind cannot lie there: the tree runs district, town or street, "
                      "community or village, grid.")
    if kind == GRID:
        if await session.scalar(select(Grid.id).where(Grid.name == name)) is not None:
            raise Conflict("A grid named “{name}” already exists.", name=name)
    elif await session.scalar(select(Area.id).where(Area.name == name, Area.kind != GRID,
                                                    Area.parent_id.is_(None) if parent_id is None
                                                    else Area.parent_id == parent_id)) is not None:
        raise Conflict("An area named “{name}” already exists here.", name=name)
    area = Area(name=name, kind=kind, parent_id=parent_id)
    session.add(area)
    await session.flush()
    if kind == GRID:
        session.add(Grid(id=area.id, name=name, created_at=area.created_at))
    above = [] if parent_id is None else (await session.execute(
        select(AreaPath.ancestor_id, AreaPath.depth).where(AreaPath.descendant_id == parent_id))).all()
    session.add_all([AreaPath(ancestor_id=area.id, descendant_id=area.id, depth=0),
                     *(AreaPath(ancestor_id=a, descendant_id=area.id, depth=d + 1) for a, d in above)])
    await session.flush()
    if kind == GRID:
        audit.record(session, actor, "grid.created", grid_id=area.id, name=name, parent_id=parent_id)
    else:
        audit.record(session, actor, "area.created", area_id=area.id, name=name, kind=kind, parent_id=parent_id)
    return area


async def move_area(session: AsyncSession, *, actor: Actor, area_id: int, parent_id: int | None) -> Area:
    """Places an area (and all below it) under another: a grid enrolled before the tree existed is put
    under its community this way. Its people, staff and history stay as they are."""
    area = await _area(session, area_id)
    parent = await _area(session, parent_id) if parent_id is not None else None
    subtree = dict((await session.execute(
        select(AreaPath.descendant_id, AreaPath.depth).where(AreaPath.ancestor_id == area_id))).all())
    if parent is not None:
        if parent.id in subtree:
            raise Invalid("An area cannot lie within itself.")
        kinds = (await session.scalars(select(Area.kind).where(Area.id.in_(subtree)))).all()
        if not may_contain(parent.kind, area.kind) or any(LEVELS[k] <= LEVELS[parent.kind] for k in kinds):
            raise Invalid("An area of this kind cannot lie there: the tree runs district, town or street, "
                      "community or village, grid.")
    old_parent = area.parent_id
    # Cut the subtree from its old ancestors, then join it to the new parent's: the classic closure
    # table move, both statements bounded by the subtree's size times the tree's depth.
    await session.execute(delete(AreaPath).where(AreaPath.descendant_id.in_(subtree),
                                                 AreaPath.ancestor_id.not_in(subtree)))
    if parent is not None:
        above = (await session.execute(
            select(AreaPath.ancestor_id, AreaPath.depth).where(AreaPath.descendant_id == parent.id))).all()
        session.add_all([AreaPath(ancestor_id=a, descendant_id=d, depth=da + 1 + dd)
                         for a, da in above for d, dd in subtree.items()])
    area.parent_id = parent_id
    await session.flush()
    audit.record(session, actor, "area.moved", area_id=area.id, name=area.name, parent_id=parent_id,
                 old_parent_id=old_parent)
    return area


async def grids_under(session: AsyncSession, area_ids: Iterable[int]) -> frozenset[int]:
    """Every grid lying in any of ``area_ids`` (a grid lies in itself)."""
    ids = sorted(set(area_ids))
    if not ids:
        return frozenset()
    return frozenset((await session.scalars(
        select(AreaPath.descendant_id).join(Grid, Grid.id == AreaPath.descendant_id)
        .where(AreaPath.ancestor_id.in_(ids)))).all())


async def grid_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Grid)) or 0)


async def visible_area(session: AsyncSession, *, staff: Staff, area_id: int) -> Area:
    """An area the caller may look at: one of theirs or below one of theirs (any, for an admin). One
    that is not looks exactly like one that does not exist."""
    area = await session.get(Area, area_id)
    if area is None:
        raise NotFound("No such area among yours.")
    if staff.all_grids:
        return area
    mine = await session.scalar(select(func.count()).select_from(AreaPath).where(
        AreaPath.descendant_id == area_id, AreaPath.ancestor_id.in_(sorted(staff.area_ids))))
    if not mine:
        raise NotFound("No such area among yours.")
    return area


async def narrow(session: AsyncSession, *, staff: Staff, area_id: int | None) -> Staff:
    """The caller seen through one of their areas: the same person and role, whose every scoped query
    now covers only the grids below ``area_id``. Without an area, the caller as they are."""
    if area_id is None:
        return staff
    await visible_area(session, staff=staff, area_id=area_id)
    under = await grids_under(session, [area_id])
    if not staff.all_grids:
        under &= staff.grid_ids
    return dataclasses.replace(staff, grid_ids=under, all_grids=False)


async def narrow_for_page(session: AsyncSession, *, staff: Staff, area: str | None) -> tuple[Staff, int | None]:
    """:func:`narrow` for a page's ``?area=``: an area the caller does not have (an old link, a typo)
    shows their whole view rather than an error page. Returns the caller seen through it, and the area."""
    area_id = db_id(area)
    if area_id is None:
        return staff, None
    try:
        return await narrow(session, staff=staff, area_id=area_id), area_id
    except NotFound:
        return staff, None


async def _top_areas(session: AsyncSession, staff: Staff) -> set[int]:
    """The caller's own areas, leaving out any that lies below another of theirs (not for an admin, whose
    tops are the tree's)."""
    mine = sorted(staff.area_ids)
    if not mine:
        return set()
    below_another = set((await session.scalars(select(AreaPath.descendant_id).where(
        AreaPath.ancestor_id.in_(mine), AreaPath.depth > 0))).all())
    return set(mine) - below_another


async def tree(session: AsyncSession, *, staff: Staff) -> list[dict[str, object]]:
    """The caller's part of the tree: each of their areas with everything below it, and the people
    under observation rolled up from the grids (from the roster's counters, not the people table).

    One read of the areas and one of the counters summed per grid; the roll-up is a walk of the tree
    in memory (a district of 2,000 grids is a few thousand nodes)."""
    areas = (await session.execute(select(Area.id, Area.name, Area.kind, Area.parent_id)
                                   .order_by(Area.name, Area.id))).all()
    per_grid = {grid: int(n or 0) for grid, n in (await session.execute(
        select(RosterCount.grid_id, func.sum(RosterCount.n)).group_by(RosterCount.grid_id))).all()}
    known = {a.id for a in areas}
    children: dict[int | None, list[Any]] = {}
    for a in areas:
        children.setdefault(a.parent_id if a.parent_id in known else None, []).append(a)

    def node(a: Any) -> dict[str, object]:
        below = [node(c) for c in children.get(a.id, [])]
        total = per_grid.get(a.id, 0) + sum(cast(int, c["under_observation"]) for c in below)
        return {"id": a.id, "name": a.name, "kind": a.kind, "parent_id": a.parent_id, "under_observation": total,
                "children": below}

    if staff.all_grids:
        roots = children.get(None, [])
    else:
        tops = await _top_areas(session, staff)
        roots = [a for a in areas if a.id in tops]  # already in name order
    return [node(a) for a in roots]


async def breakdown(session: AsyncSession, *, staff: Staff, area_id: int | None) -> list[tuple[Area, frozenset[int]]]:
    """The areas a report shows one row each for, with the caller's grids below each: the children of
    ``area_id`` (a grid stands for itself), or without one the caller's own top areas (the tree's tops
    for an admin). Counts roll up by summing each row's grids."""
    if area_id is not None:
        area = await visible_area(session, staff=staff, area_id=area_id)
        rows: Sequence[Area] = [area] if area.kind == GRID else (await session.scalars(
            select(Area).where(Area.parent_id == area.id).order_by(Area.name, Area.id))).all()
    elif staff.all_grids:
        rows = (await session.scalars(select(Area).where(Area.parent_id.is_(None))
                                      .order_by(Area.name, Area.id))).all()
    else:
        rows = (await session.scalars(select(Area).where(Area.id.in_(sorted(await _top_areas(session, staff))))
                                      .order_by(Area.name, Area.id))).all()
    below: dict[int, set[int]] = {a.id: set() for a in rows}
    if below:
        for ancestor, grid in (await session.execute(
                select(AreaPath.ancestor_id, AreaPath.descendant_id).join(Grid, Grid.id == AreaPath.descendant_id)
                .where(AreaPath.ancestor_id.in_(sorted(below))))).all():
            if staff.sees_grid(grid):
                below[ancestor].add(grid)
    return [(a, frozenset(below[a.id])) for a in rows]


async def flat_tree(session: AsyncSession, *, staff: Staff) -> list[tuple[dict[str, object], int]]:
    """The caller's tree in reading order, each area with its depth: for lists and pickers on pages."""
    out: list[tuple[dict[str, object], int]] = []

    def walk(node: dict[str, object], depth: int) -> None:
        out.append((node, depth))
        for child in cast(list[dict[str, object]], node["children"]):
            walk(child, depth + 1)

    for root in await tree(session, staff=staff):
        walk(root, 0)
    return out
