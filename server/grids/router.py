from __future__ import annotations

from fastapi import APIRouter, status

from server.deps import CurrentAdmin, CurrentAnyStaff, SessionDep
from server.grids import service
from server.grids.schemas import GridCreate, GridRead

router = APIRouter(prefix="/grids", tags=["grids"])


@router.post("", response_model=GridRead, status_code=status.HTTP_201_CREATED)
async def create_grid(body: GridCreate, admin: CurrentAdmin, session: SessionDep) -> GridRead:
    """Create a grid (a neighbourhood unit with its own staff). Admins only; names are unique."""
    return GridRead.model_validate(await service.create_grid(session, actor=admin, name=body.name,
                                                             parent_id=body.parent_id))


@router.get("", response_model=list[GridRead])
async def list_grids(staff: CurrentAnyStaff, session: SessionDep) -> list[GridRead]:
    """Grids the caller works in: every grid below their areas (all of them for an admin)."""
    return [GridRead.model_validate(g) for g in await service.list_grids(session, staff=staff)]
