"""All ORM models in one package, so relationships and migrations see one picture."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, utcnow

ACTIVE = "active"
RELEASED = "released"
ACTIVE_ROW = "state = 'active'"
ABNORMAL = "state = 'active' AND severity < 3"
CALM = "state = 'active' AND severity = 3"
ONE_BY_ONE = ["grid_id", "severity", "filled_window_1", "filled_window_2", "created_at", "start_date"]
# Stands for "no filled window" in the roster counters' key, whose columns cannot be NULL.
NO_WINDOW = datetime(1970, 1, 1, tzinfo=UTC)
CLOSED = "closed"

user_areas = Table(
    "user_areas",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Area(Base):
    """A unit of the district's tree: district > town | street > community | village > grid. A grid is
    the area of kind ``grid`` with the same id as its row in ``grids`` (the leaves people belong to)."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AreaPath(Base):
    """The tree's closure: every (ancestor, descendant) pair, each area its own at depth 0, so all that
    lies below an area is one indexed read, whatever the depth."""

    __tablename__ = "area_paths"

    ancestor_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True)
    descendant_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True,
                                               index=True)
    depth: Mapped[int] = mapped_column(SmallInteger)


class Grid(Base):
    """A grid: the leaf of the area tree that people, households and staff rounds belong to."""

    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    """A staff member: an admin, a clinician, a grid worker or an observer (see server.auth.principal)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped to revoke every token issued before (password change, deactivation).
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The areas the member works in; they see everything below them.
    areas: Mapped[list[Area]] = relationship(secondary=user_areas, lazy="raise", order_by=Area.id)


class Subject(Base):
    """A person under observation, with the summary of their readings kept on the row so the roster
    never has to read the readings table (maintained in the transaction that stores a reading)."""

    __tablename__ = "subjects"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"))
    full_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32))
    observation_type: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500))
    start_date: Mapped[date] = mapped_column(Date)
    duration_days: Mapped[int] = mapped_column(Integer)
    planned_end_date: Mapped[date] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(String(300))
    id_number: Mapped[str | None] = mapped_column(String(32))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    language: Mapped[str | None] = mapped_column(String(16))
    clinician_note: Mapped[str | None] = mapped_column(Text)
    # The observation counts from here when known; a later exposure extends it (monitoring.course).
    last_exposure_date: Mapped[date | None] = mapped_column(Date)
    # Why the planned end moved, shown to the person beside their new end date.
    end_date_reason: Mapped[str | None] = mapped_column(String(500))

    access_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    access_code_version: Mapped[int] = mapped_column(Integer, default=1)
    access_code_issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    state: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    release_note: Mapped[str | None] = mapped_column(Text)
    release_override: Mapped[bool] = mapped_column(Boolean, default=False)
    # A case that ends without release (hospitalised, a confirmed case): state "closed" with this outcome.
    outcome: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Centralised observation: the site and the room (free text, as sites number them).
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    # The household whose link may report for this person too (server/households).
    household_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("households.id"))
    room: Mapped[str | None] = mapped_column(String(50))
    # Public-health course kept on the row for the roster (monitoring.course): "referred" or "suspected"
    # from actions, "pending" or "positive" from tests.
    case_flag: Mapped[str | None] = mapped_column(String(16))
    test_state: Mapped[str | None] = mapped_column(String(16))
    # Set when the retention period erased the personal data; the row stays as a pseudonymous record.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Summary of readings and alerts (see monitoring.SubjectState). No status is stored: missed and due
    # change whenever a window opens or closes and are derived from the filled windows at read time
    # (server/roster/rules_sql.py); the severity is what readings, tests and call-back requests change:
    # below 3 the group that needs attention, most severe lowest; 3 nothing abnormal (monitoring.severity).
    severity: Mapped[int] = mapped_column(SmallInteger, default=3, server_default=text("3"))
    last_reading_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_temperature_c: Mapped[float | None] = mapped_column(Float)
    last_fever_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_high_fever_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_symptoms_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    filled_window_1: Mapped[datetime | None] = mapped_column(UTCDateTime)
    filled_window_2: Mapped[datetime | None] = mapped_column(UTCDateTime)
    open_alerts: Mapped[int] = mapped_column(Integer, default=0)
    # The open "please call me back" request, cleared when a clinician acknowledges it.
    callback_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_checkin_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_checkin_face_seen: Mapped[bool | None] = mapped_column(Boolean)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The census import that enrolled the person, so its enrolment cards can be printed per grid.
    census_import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("census_imports.id"))

    grid: Mapped[Grid] = relationship(lazy="raise")

    __table_args__ = (
        # The roster lists its groups one after another (server/roster/service.py): the abnormal group
        # by severity and name, then missed, due and ok, each by name among the people with nothing
        # abnormal, filtered by the derived status while the index gives the order.
        Index("ix_subjects_roster_abnormal", "severity", "full_name", "id",
              postgresql_where=text(ABNORMAL), sqlite_where=text(ABNORMAL)),
        Index("ix_subjects_grid_roster_abnormal", "grid_id", "severity", "full_name", "id",
              postgresql_where=text(ABNORMAL), sqlite_where=text(ABNORMAL)),
        Index("ix_subjects_roster_calm", "full_name", "id", postgresql_where=text(CALM), sqlite_where=text(CALM)),
        Index("ix_subjects_grid_roster_calm", "grid_id", "full_name", "id",
              postgresql_where=text(CALM), sqlite_where=text(CALM)),
        # The few people not yet held to the latest windows (enrolled since, or starting later) are
        # counted one by one beside the counters; PostgreSQL reads them from these indexes alone.
        Index("ix_subjects_enrolled_at", "created_at", postgresql_where=text(ACTIVE_ROW),
              sqlite_where=text(ACTIVE_ROW), postgresql_include=ONE_BY_ONE),
        Index("ix_subjects_start_date", "start_date", postgresql_where=text(ACTIVE_ROW),
              sqlite_where=text(ACTIVE_ROW), postgresql_include=ONE_BY_ONE),
        Index("ix_subjects_phone", "phone"),
        # Duplicates at enrolment are looked for among the people under observation only.
        Index("ix_subjects_active_id_number", "id_number",
              postgresql_where=text("state = 'active'"), sqlite_where=text("state = 'active'")),
        Index("ix_subjects_state_planned_end", "state", "planned_end_date"),
        Index("ix_subjects_site", "site_id", postgresql_where=text("site_id IS NOT NULL"),
              sqlite_where=text("site_id IS NOT NULL")),
        Index("ix_subjects_household", "household_id", postgresql_where=text("household_id IS NOT NULL"),
              sqlite_where=text("household_id IS NOT NULL")),
        Index("ix_subjects_census_import", "census_import_id", "grid_id",
              postgresql_where=text("census_import_id IS NOT NULL"), sqlite_where=text("census_import_id IS NOT NULL")),
    )


class CensusImport(Base):
    """A census list being enrolled (or only checked, ``dry_run``) in the background. Its progress and
    its report live here, not in the process that runs it, so every app process shows the same job."""

    __tablename__ = "census_imports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    filename: Mapped[str] = mapped_column(String(200))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_duplicates: Mapped[bool] = mapped_column(Boolean, default=False)
    # queued → checking → writing → done; or rejected (lines need fixing), checked (a dry run), failed.
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    checked_rows: Mapped[int] = mapped_column(Integer, default=0)
    written_rows: Mapped[int] = mapped_column(Integer, default=0)
    # Lines with a problem, and the first problems themselves (field, code, params, line).
    problem_lines: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    # Moved on by the process running the job; a job whose heartbeat stopped lost its process.
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_census_imports_created_at", "created_at"),)


class DailyBrief(Base):
    """One grid's figures for one past day, written once when the day is over (by the scheduler, or by
    the first brief that asks for the day) and never changed: a past day's brief reads these rows only.
    ``missed`` is the people whose last window of the day went without a reading; it can only be seen
    soon after the day ends, so a day frozen later leaves it empty."""

    __tablename__ = "daily_brief"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True)
    home: Mapped[int] = mapped_column(Integer)
    centralized: Mapped[int] = mapped_column(Integer)
    new: Mapped[int] = mapped_column(Integer)
    released: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    fever: Mapped[int] = mapped_column(Integer)
    symptoms: Mapped[int] = mapped_column(Integer)
    missed: Mapped[int | None] = mapped_column(Integer)
    referrals: Mapped[int] = mapped_column(Integer)
    tests_sampled: Mapped[int] = mapped_column(Integer)
    tests_pending: Mapped[int] = mapped_column(Integer)
    tests_positive: Mapped[int] = mapped_column(Integer)
    video_checkins: Mapped[int] = mapped_column(Integer)
    # The door-to-door census (null on days frozen before it was counted here).
    households_visited: Mapped[int | None] = mapped_column(Integer)
    people_counted: Mapped[int | None] = mapped_column(Integer)
    declarations: Mapped[int | None] = mapped_column(Integer)
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reading(Base):
    __tablename__ = "readings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    temperature_c: Mapped[float] = mapped_column(Float)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    method: Mapped[str | None] = mapped_column(String(16))
    symptoms: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(16), default="self")
    classification: Mapped[str] = mapped_column(String(16))
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checkin_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (Index("ix_readings_subject_taken", "subject_id", "taken_at"),)


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"))
    kind: Mapped[str] = mapped_column(String(32))
    reading_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("readings.id", ondelete="SET NULL"))
    temperature_c: Mapped[float | None] = mapped_column(Float)
    symptoms: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_alerts_status_grid_opened", "status", "grid_id", "opened_at"),
        Index("ix_alerts_subject", "subject_id", "opened_at"),
    )


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_name: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_audit_subject_at", "subject_id", "at"),
        Index("ix_audit_at", "at"),
    )


class SignInThrottle(Base):
    """Failed sign-ins per key (a username, a client address), shared by every app process: each
    failure beyond the free ones doubles the wait before the next attempt of that key. One row per key,
    locked while an attempt is decided, so concurrent attempts cannot all slip through."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_sign_in_throttle_last_failure_at", "last_failure_at"),)


class RateLimitHit(Base):
    """Requests per key (``checkin:<person>``) in the current fixed window, shared by every app process.
    One row per key, locked while a request is counted, so concurrent requests cannot all slip through."""

    __tablename__ = "rate_limit_hits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    hits: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_rate_limit_hits_window_start", "window_start"),)


class RevokedToken(Base):
    """Tokens signed out before they expire (by their id): every app process refuses them. A row is
    kept only until the token would have expired anyway."""

    __tablename__ = "revoked_tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_revoked_tokens_expires_at", "expires_at"),)


class RosterCount(Base):
    """Active subjects per grid, severity and last two filled windows, kept exact by database triggers
    (migration 0008), so the roster's counts by status cost a read of these rows instead of a scan of
    every subject: the status of everyone in a row follows from its key and the clock
    (``monitoring.roster_status``). In the abnormal group the windows do not matter and are keyed as
    ``NO_WINDOW``, like a window never filled."""

    __tablename__ = "roster_counts"

    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True)
    severity: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    filled_window_1: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    filled_window_2: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


from server.models.case import CaseAction, Certificate, LabTest, Site  # noqa: E402,F401
from server.models.checkins import Call, Checkin, CheckinSnapshot  # noqa: E402,F401
from server.models.declarations import CensusTally, Declaration  # noqa: E402,F401
from server.models.households import Household  # noqa: E402,F401
from server.models.notifications import OutboxMessage, PushSubscription  # noqa: E402,F401
from server.models.sms import SmsInbound  # noqa: E402,F401
