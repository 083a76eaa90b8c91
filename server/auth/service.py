"""Logins for staff (username + password) and subjects (personal access code), with throttling."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from server.auth.security import hash_access_code, verify_password
from server.db import utcnow
from server.errors import TooManyRequests, Unauthorized
from server.models import AuthFailure, Subject, User


class InvalidCredentials(Unauthorized):
    pass


async def check_throttle(session: AsyncSession, *, keys: list[str], max_failures: int, window_s: int) -> None:
    since = utcnow() - timedelta(seconds=window_s)
    count = await session.scalar(
        select(func.count()).select_from(AuthFailure).where(AuthFailure.key.in_(keys), AuthFailure.at >= since)
        .group_by(AuthFailure.key).order_by(func.count().desc()).limit(1)
    )
    if count is not None and count >= max_failures:
        raise TooManyRequests(
            "Too many failed sign-in attempts. Please wait {minutes} minutes and try again.",
            minutes=window_s // 60,
            headers={"Retry-After": str(window_s)},
        )


async def record_failure(session: AsyncSession, *, keys: list[str], window_s: int) -> None:
    now = utcnow()
    session.add_all([AuthFailure(key=key, at=now) for key in keys])
    # Keep the table small: failures older than the window no longer count.
    await session.execute(delete(AuthFailure).where(AuthFailure.at < now - timedelta(seconds=window_s)))


async def clear_failures(session: AsyncSession, *, keys: list[str]) -> None:
    await session.execute(delete(AuthFailure).where(AuthFailure.key.in_(keys)))


async def authenticate_staff(session: AsyncSession, *, username: str, password: str) -> User:
    user = await session.scalar(
        select(User).where(User.username == username.strip()).options(selectinload(User.grids))
    )
    if not verify_password(user.password_hash if user else None, password) or user is None or not user.is_active:
        raise InvalidCredentials("Wrong username or password.")
    return user


async def authenticate_subject(session: AsyncSession, *, access_code: str) -> Subject:
    subject = await session.scalar(
        select(Subject).where(Subject.access_code_hash == hash_access_code(access_code.strip()))
    )
    if subject is None:
        raise InvalidCredentials("This link is not valid any more. Please ask your grid worker for a new one.")
    return subject
