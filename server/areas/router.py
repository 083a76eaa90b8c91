from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from server.areas import service
from server.areas.schemas import AreaCreate, AreaMove, AreaNode, AreaRead
from server.deps import CurrentAdmin, CurrentAnyStaff, SessionDep
from server.fields import DbId

router = APIRouter(prefix="/areas", tags=["areas"])

_REFUSED: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such parent area."},
    409: {"description": "A grid of that name, or an area of that name in the same parent, exists."},
    422: {"description": "A kind that cannot lie in the parent's kind (a town in a village, say)."},
}


@router.post("", response_model=AreaRead, status_code=status.HTTP_201_CREATED, responses=_REFUSED)
async def create_area(body: AreaCreate, admin: CurrentAdmin, session: SessionDep) -> AreaRead:
    """Add an area to the tree (`district > town | street > community | village > grid`). An area of kind
    `grid` is a grid: it appears under `/grids` with the same id and takes people. Admins only."""
    area = await service.create_area(session, actor=admin, name=body.name, kind=body.kind, parent_id=body.parent_id)
    return AreaRead.model_validate(area)


@router.get("", response_model=list[AreaNode])
async def area_tree(staff: CurrentAnyStaff, session: SessionDep) -> list[AreaNode]:
    """The caller's part of the tree: each of their areas with everything below it (the whole tree for an
    admin), each with the people under observation below it."""
    return [AreaNode.model_validate(node) for node in await service.tree(session, staff=staff)]


@router.patch("/{area_id}", response_model=AreaRead, responses=_REFUSED)
async def move_area(area_id: DbId, body: AreaMove, admin: CurrentAdmin, session: SessionDep) -> AreaRead:
    """Place an area, with everything below it, in another (a grid made before the tree existed is put in
    its community this way). Admins only; people and staff assignments stay as they are."""
    return AreaRead.model_validate(await service.move_area(session, actor=admin, area_id=area_id,
                                                           parent_id=body.parent_id))
