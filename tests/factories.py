"""Plain async factories: build the world a test needs through the real services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from server.auth.principal import SYSTEM_STAFF
from server.context import AppContext
from server.grids import service as grids
from server.models import Grid, Subject, User
from server.subjects import service as subjects
from server.subjects.schemas import SubjectCreate
from server.users import service as users

SYSTEM_ADMIN = SYSTEM_STAFF
PASSWORD = "correct horse battery"


async def make_grid(ctx: AppContext, name: str | None = None) -> Grid:
    async with ctx.db.session() as session:
        return await grids.create_grid(session, actor=SYSTEM_ADMIN, name=name or f"grid-{uuid.uuid4().hex[:6]}")


async def make_user(ctx: AppContext, *, role: str = "clinician", grids_: list[Grid] | None = None,
                    username: str | None = None, password: str = PASSWORD, area_ids: list[int] | None = None) -> User:
    async with ctx.db.session() as session:
        return await users.create_user(
            session, actor=None, username=username or f"{role}-{uuid.uuid4().hex[:6]}", password=password,
            role=role, grid_ids=[g.id for g in grids_ or []], area_ids=area_ids or [],
        )


@dataclass
class Enrolled:
    subject: Subject
    code: str

    @property
    def id(self) -> uuid.UUID:
        return self.subject.id


async def enrol(ctx: AppContext, grid: Grid, *, name: str = "王小明", phone: str = "13800138000",
                start_date: date | None = None, duration_days: int | None = None,
                now: datetime | None = None) -> Enrolled:
    body = SubjectCreate(full_name=name, phone=phone, grid_id=grid.id, observation_type="home",
                         reason="returned from an affected area", start_date=start_date,
                         duration_days=duration_days)
    async with ctx.db.session() as session:
        subject, code = await subjects.enrol(session, actor=SYSTEM_ADMIN, body=body, rules=ctx.settings.rules,
                                             now=now or ctx.now())
    return Enrolled(subject, code)


def staff_headers(ctx: AppContext, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {ctx.tokens.issue('staff', str(user.id), user.token_version)}"}


def subject_headers(ctx: AppContext, enrolled: Enrolled) -> dict[str, str]:
    token = ctx.tokens.issue("subject", str(enrolled.id), enrolled.subject.access_code_version)
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    """Two grids, an admin, a clinician in each grid, and one person under observation in each."""

    ctx: AppContext
    grid_a: Grid
    grid_b: Grid
    admin: User
    clinician_a: User
    clinician_b: User
    subject_a: Enrolled
    subject_b: Enrolled

    @property
    def admin_h(self) -> dict[str, str]:
        return staff_headers(self.ctx, self.admin)

    @property
    def clin_a(self) -> dict[str, str]:
        return staff_headers(self.ctx, self.clinician_a)

    @property
    def clin_b(self) -> dict[str, str]:
        return staff_headers(self.ctx, self.clinician_b)

    @property
    def subj_a(self) -> dict[str, str]:
        return subject_headers(self.ctx, self.subject_a)

    @property
    def subj_b(self) -> dict[str, str]:
        return subject_headers(self.ctx, self.subject_b)


async def make_world(ctx: AppContext) -> World:
    grid_a = await make_grid(ctx, "东园社区")
    grid_b = await make_grid(ctx, "西岭村")
    return World(
        ctx=ctx,
        grid_a=grid_a,
        grid_b=grid_b,
        admin=await make_user(ctx, role="admin", username="admin"),
        clinician_a=await make_user(ctx, grids_=[grid_a], username="doc-a"),
        clinician_b=await make_user(ctx, grids_=[grid_b], username="doc-b"),
        subject_a=await enrol(ctx, grid_a, name="王小明", phone="13800138000"),
        subject_b=await enrol(ctx, grid_b, name="李华", phone="13900139000"),
    )
