from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from server.audit import service as audit
from server.audit.service import Actor
from server.auth.principal import Staff
from server.auth.security import hash_password
from server.errors import Conflict, Invalid, NotFound
from server.models import Grid, User
from server.users.schemas import UserRead

ROLES = ("admin", "clinician")


async def create_user(
    session: AsyncSession, *, actor: Actor | None, username: str, password: str, role: str,
    grid_ids: list[int], full_name: str | None = None, language: str | None = None,
) -> User:
    if role not in ROLES:
        raise Invalid("Unknown role “{role}”; use admin or clinician.", role=role)
    password_hash = _password_hash(password)
    if await session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("The username “{username}” is taken.", username=username)
    user = User(username=username, password_hash=password_hash, role=role, full_name=full_name,
                language=language, grids=await _grids(session, grid_ids))
    session.add(user)
    await session.flush()
    audit.record(session, actor, "user.created", user_id=user.id, username=username, role=role,
                 grid_ids=sorted(grid_ids))
    return user


async def update_user(
    session: AsyncSession, *, actor: Staff, user_id: int, is_active: bool | None = None,
    password: str | None = None, grid_ids: list[int] | None = None,
) -> User:
    """Deactivate/reactivate an account, reset its password or change its grids. Deactivating or a new
    password signs the account out everywhere (its tokens carry the old version)."""
    user = await session.scalar(select(User).where(User.id == user_id).options(selectinload(User.grids))
                                .with_for_update())
    if user is None:
        raise NotFound("No staff account with id {user_id}.", user_id=user_id)
    changes: dict[str, Any] = {}
    if is_active is not None and is_active != user.is_active:
        if not is_active and user.id == actor.user_id:
            raise Conflict("You cannot deactivate your own account.")
        user.is_active = is_active
        changes["is_active"] = is_active
    if password is not None:
        user.password_hash = _password_hash(password)
        changes["password"] = "reset"
    if changes.get("is_active") is False or "password" in changes:
        user.token_version += 1
    if grid_ids is not None:
        user.grids = await _grids(session, grid_ids)
        changes["grid_ids"] = sorted(grid_ids)
    audit.record(session, actor, "user.updated", user_id=user.id, username=user.username, **changes)
    return user


def _password_hash(password: str) -> str:
    if len(password) < 8:
        raise Invalid("The password must have at least 8 characters.")
    return hash_password(password)


async def _grids(session: AsyncSession, grid_ids: list[int]) -> list[Grid]:
    grids = list((await session.scalars(select(Grid).where(Grid.id.in_(grid_ids)))).all())
    missing = sorted(set(grid_ids) - {g.id for g in grids})
    if missing:
        raise Invalid("No grid with id {grid_id}.", grid_id=", ".join(map(str, missing)))
    return grids


async def list_users(session: AsyncSession) -> Sequence[User]:
    return (await session.scalars(select(User).options(selectinload(User.grids)).order_by(User.username))).all()


def to_read(user: User) -> UserRead:
    return UserRead(id=user.id, username=user.username, role=user.role, grid_ids=[g.id for g in user.grids],
                    full_name=user.full_name, language=user.language, is_active=user.is_active)
