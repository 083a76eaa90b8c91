from __future__ import annotations

from fastapi import APIRouter, status

from server.deps import CurrentAdmin, CurrentAnyStaff, SessionDep
from server.fields import DbId
from server.users import service
from server.users.schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", response_model=UserRead, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, admin: CurrentAdmin, session: SessionDep) -> UserRead:
    """Create a staff account (admin, clinician, grid_worker or observer) and assign its areas
    (`area_ids`, any level of the tree; `grid_ids` still works). Admins only."""
    user = await service.create_user(session, actor=admin, **body.model_dump())
    return service.to_read(user)


@router.patch("/{user_id}", response_model=UserRead)
async def update_user(user_id: DbId, body: UserUpdate, admin: CurrentAdmin, session: SessionDep) -> UserRead:
    """Deactivate or reactivate a staff account, reset its password, or change its grids (admins only).
    Deactivation and a new password sign the account out everywhere at once."""
    user = await service.update_user(session, actor=admin, user_id=user_id, **body.model_dump(exclude_unset=True))
    return service.to_read(user)


@router.get("", response_model=list[UserRead])
async def list_users(admin: CurrentAdmin, session: SessionDep) -> list[UserRead]:
    """Every staff account with its grids. Admins only."""
    return [service.to_read(u) for u in await service.list_users(session)]


@router.get("/me", response_model=UserRead)
async def who_am_i(staff: CurrentAnyStaff) -> UserRead:
    """The signed-in staff member."""
    return UserRead(id=staff.user_id, username=staff.username, role=staff.role,
                    grid_ids=sorted(staff.grid_ids), area_ids=sorted(staff.area_ids), language=staff.language)
