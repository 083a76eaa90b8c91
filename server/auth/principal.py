"""Who is calling, and what they may see: decided here, once, for every route."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, false, true

from server.models import Subject, User

Role = Literal["admin", "clinician"]


@dataclass(frozen=True, slots=True)
class Staff:
    user_id: int
    username: str
    role: Role
    grid_ids: frozenset[int]
    language: str | None = None

    @classmethod
    def of(cls, user: User) -> Staff:
        """The staff member signed in as ``user`` (its grids loaded)."""
        return cls(
            user_id=user.id,
            username=user.username,
            role=user.role,  # type: ignore[arg-type]  # the column holds only "admin" or "clinician"
            grid_ids=frozenset(g.id for g in user.grids),
            language=user.language,
        )

    @property
    def db_user_id(self) -> int | None:
        """The users.id to store as author; None for the command line's system actor."""
        return self.user_id or None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def sees_grid(self, grid_id: int | None) -> bool:
        return self.is_admin or (grid_id is not None and grid_id in self.grid_ids)

    def subject_filter(self) -> ColumnElement[bool]:
        """The one scope rule: admins see everyone, clinicians the subjects of their grids."""
        if self.is_admin:
            return true()
        if not self.grid_ids:
            return false()
        return Subject.grid_id.in_(sorted(self.grid_ids))

    @property
    def audit_actor(self) -> tuple[str, str, str]:
        return ("staff", str(self.user_id), self.username)


@dataclass(frozen=True, slots=True)
class SubjectPrincipal:
    subject_id: uuid.UUID
    subject: Subject

    @property
    def audit_actor(self) -> tuple[str, str, str]:
        return ("subject", str(self.subject_id), self.subject.full_name)


# The command line (demo seeding, imports) acts as this admin; it has no row in users.
SYSTEM_STAFF = Staff(user_id=0, username="system", role="admin", grid_ids=frozenset())
