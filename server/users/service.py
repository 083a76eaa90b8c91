from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from server.audit import service as audit
from server.audit.service import Actor
from server.auth.principal import ROLES, Staff
from server.auth.security import hash_password
from server.errors import Conflict, Invalid, NotFound
from server.models import Area, User
from server.users.schemas import UserRead

ROLE_NAMES = "admin, clinician, grid_worker or observer"


async def create_user(
    session: AsyncSession, *, actor: Actor | None, username: str, password: str, role: str,
    grid_ids: list[int], area_ids: list[int] | None = None, full_name: str | None = None,
    language: str | None = None,
) -> User:
    """A staff account working in ``area_ids`` (any level of the tree) and ``grid_ids`` (grids, as before
    the tree): both are kept as its areas."""
    if role not in ROLES:
        raise Invalid("Unknown role “{role}”; use {roles}.", role=role, roles=ROLE_NAMES)
    password_hash = _password_hash(password)
    if await session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("The username “{username}” is taken.", username=username)
    user = User(username=username, password_hash=password_hash, role=role, full_name=full_name,
                language=language, areas=await _areas(session, grid_ids, area_ids or []))
    session.add(user)
    await session.flush()
    audit.record(session, actor, "user.created", user_id=user.id, username=username, role=role,
                 area_ids=sorted(a.id for a in user.areas))
    return user


async def update_user(
    session: AsyncSession, *, actor: Staff, user_id: int, is_active: bool | None = None,
    password: str | None = None, grid_ids: list[int] | None = None, area_ids: list[int] | None = None,
) -> User:
    """Deactivate/reactivate an account, reset its password or change its grids. Deactivating or a new
    password signs the account out everywhere (its tokens carry the old version)."""
    user = await session.scalar(select(User).where(User.id == user_id).options(selectinload(User.areas))
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
    if grid_ids is not None or area_ids is not None:
        user.areas = await _areas(session, grid_ids or [], area_ids or [])
        changes["area_ids"] = sorted(a.id for a in user.areas)
    audit.record(session, actor, "user.updated", user_id=user.id, username=user.username, **changes)
    return user


def _password_hash(password: str) -> str:
    if len(password) < 8:
        raise Invalid("The password must have at least 8 characters.")
    return hash_password(password)


async def _areas(session: AsyncSession, grid_ids: list[int], area_ids: list[int]) -> list[Area]:
    wanted = set(grid_ids) | set(area_ids)
    areas = list((await session.scalars(select(Area).where(Area.id.in_(sorted(wanted))))).all())
    not_grids = sorted(a.id for a in areas if a.id in set(grid_ids) and a.kind != "grid")
    missing = sorted(set(grid_ids) - {a.id for a in areas}) + not_grids
    if missing:
        raise Invalid("No grid with id {grid_id}.", grid_id=", ".join(map(str, missing)))
    missing = sorted(wanted - {a.id for a in areas})
    if missing:
        raise Invalid("No area with id {area_id}.", area_id=", ".join(map(str, missing)))
    return sorted(areas, key=lambda a: a.id)


async def list_users(session: AsyncSession) -> Sequence[User]:
    return (await session.scalars(select(User).options(selectinload(User.areas)).order_by(User.username))).all()


def to_read(user: User) -> UserRead:
    return UserRead(id=user.id, username=user.username, role=user.role,
                    grid_ids=[a.id for a in user.areas if a.kind == "grid"], area_ids=[a.id for a in user.areas],
                    full_name=user.full_name, language=user.language, is_active=user.is_active)
