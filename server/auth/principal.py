"""Who is calling, and what they may see: decided here, once, for every route.

A caller is staff (an :class:`Admin`, a :class:`Clinician`, a :class:`GridWorker` or an
:class:`Observer`) or a :class:`SubjectPrincipal` (a person under observation); :mod:`server.auth.callers`
makes one from a request's token, for the API and the pages alike. Routes ask for the kind they need
through a dependency (``CurrentAdmin``, ``CurrentFieldStaff``, ``StaffPage``, …), so a handler never
checks a role itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar, Literal

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.orm import InstrumentedAttribute

from server.models import Subject, User
from server.models.households import Household

Role = Literal["admin", "clinician", "grid_worker", "observer"]
ROLES: tuple[Role, ...] = ("admin", "clinician", "grid_worker", "observer")


@dataclass(frozen=True, slots=True)
class Staff:
    """A signed-in staff member: an :class:`Admin`, a :class:`Clinician`, a :class:`GridWorker` or an
    :class:`Observer`. ``area_ids`` are the areas they are assigned to; ``grid_ids`` every grid below
    them, and ``all_grids`` says those are all the district's grids (an admin's are, always), so that a
    district-wide member's queries carry no list of two thousand grids."""

    role: ClassVar[Role]
    # How this role takes a reading on someone's behalf, its default first; none: it does not.
    reading_sources: ClassVar[tuple[str, ...]] = ()

    user_id: int
    username: str
    grid_ids: frozenset[int]
    language: str | None = None
    area_ids: frozenset[int] = frozenset()
    all_grids: bool = False

    @staticmethod
    def of(user: User, *, grid_ids: frozenset[int], all_grids: bool) -> Staff:
        """The staff member signed in as ``user`` (its areas loaded), seeing ``grid_ids``."""
        kind = STAFF_KINDS.get(user.role, Clinician)
        return kind(user_id=user.id, username=user.username, grid_ids=grid_ids, language=user.language,
                    area_ids=frozenset(a.id for a in user.areas), all_grids=all_grids or kind is Admin)

    @property
    def db_user_id(self) -> int | None:
        """The users.id to store as author; None for the command line's system actor."""
        return self.user_id or None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_people(self) -> bool:
        """Whether the member may see personal data at all (an observer sees only counts)."""
        return self.role != "observer"

    @property
    def sees_everything(self) -> bool:
        """Whether the member sees all of their people's records: video, snapshots, alerts, exports (an
        administrator or a clinician; not a grid worker, not an observer)."""
        return self.role in ("admin", "clinician")

    def sees_grid(self, grid_id: int | None) -> bool:
        return self.all_grids or (grid_id is not None and grid_id in self.grid_ids)

    def subject_filter(self) -> ColumnElement[bool]:
        """The one scope rule: staff see the subjects of the grids below their areas (admins, everyone)."""
        return self.grid_filter(Subject.grid_id)

    def grid_filter(self, grid_id: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[bool]:
        """The same rule for any row kept per grid (a person, a household, a declaration)."""
        if self.all_grids:
            return true()
        if not self.grid_ids:
            return false()
        return grid_id.in_(sorted(self.grid_ids))

    @property
    def audit_actor(self) -> tuple[str, str, str]:
        return ("staff", str(self.user_id), self.username)


@dataclass(frozen=True, slots=True)
class Admin(Staff):
    """Sees every grid; manages grids, staff, enrolment and release."""

    role: ClassVar[Role] = "admin"
    all_grids: bool = True


@dataclass(frozen=True, slots=True)
class Clinician(Staff):
    """Sees the people of their grids; enters readings, rings people, acknowledges alerts."""

    role: ClassVar[Role] = "clinician"
    reading_sources: ClassVar[tuple[str, ...]] = ("clinician", "phone", "visit")


@dataclass(frozen=True, slots=True)
class GridWorker(Staff):
    """Goes door to door: sees the people of their areas (without ID numbers), enters readings taken on
    a visit or by phone, records visits that found nobody, takes declarations. No release, no audit log,
    no video."""

    role: ClassVar[Role] = "grid_worker"
    reading_sources: ClassVar[tuple[str, ...]] = ("visit", "phone")


@dataclass(frozen=True, slots=True)
class Observer(Staff):
    """The command centre's read-only seat: counts, the summary and the brief for its areas, never a
    person's data."""

    role: ClassVar[Role] = "observer"


STAFF_KINDS: dict[str, type[Staff]] = {"admin": Admin, "clinician": Clinician, "grid_worker": GridWorker,
                                       "observer": Observer}


@dataclass(frozen=True, slots=True)
class SubjectPrincipal:
    """A person under observation, signed in with their personal link."""

    subject_id: uuid.UUID
    subject: Subject

    @property
    def audit_actor(self) -> tuple[str, str, str]:
        return ("subject", str(self.subject_id), self.subject.full_name)


@dataclass(frozen=True, slots=True)
class HouseholdPrincipal:
    """One member of a household reporting for everyone living there, signed in with the household's
    link. Not a :data:`Caller`: the token opens the household's own page and readings, nothing else."""

    household_id: uuid.UUID
    household: Household

    @property
    def audit_actor(self) -> tuple[str, str, str]:
        return ("household", str(self.household_id), "household")


Caller = Staff | SubjectPrincipal

# The command line (demo seeding, imports) acts as this admin; it has no row in users.
SYSTEM_STAFF = Admin(user_id=0, username="system", grid_ids=frozenset(), all_grids=True)
