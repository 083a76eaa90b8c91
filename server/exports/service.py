"""Exports for the health bureau's spreadsheets: the roster, readings and the release register.

Each export is scoped like the roster (a clinician gets their grids), recorded in the audit log when it
is asked for, and read with a server-side cursor in batches by a unit of work of its own, which lives as
long as the download: the request's unit of work has committed (with the audit entry) before the first
byte goes out. ID numbers are masked unless an administrator asks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules, Status, day_start, observation_day, sweep_parameters
from monitoring.course import case_flags
from server import labels
from server.audit import service as audit
from server.auth.principal import Staff
from server.db import Database
from server.errors import Invalid
from server.exports.tabular import Cell, Format
from server.i18n import Translator
from server.models import RELEASED, Grid, Reading, Subject, User
from server.models.case import Site
from server.roster import rules_sql
from server.roster.service import roster_filters
from server.roster.status import STATUS_BY_RANK
from server.subjects.phones import display as display_phone
from server.subjects.service import mask_id_number

# Rows fetched from the cursor and encoded at a time: large enough that the per-batch overhead is
# small, small enough that a batch is a few milliseconds of the event loop's time.
BATCH = 2000


def _(message: str) -> str:
    """Marks a column header for the catalogue; translated when the export is made."""
    return message


@dataclass
class Export:
    """A table ready to stream: its headers in the chosen language and its rows in batches."""

    name: str
    title: str
    header: list[str]
    batches: AsyncIterator[list[Sequence[Cell]]]

    def filename(self, fmt: Format, today: date) -> str:
        return f"{self.name}-{today.isoformat()}.{fmt}"


def _convert(convert: Callable[[tuple[Any, ...]], Sequence[Cell]], rows: Sequence[Any]) -> list[Sequence[Cell]]:
    return [convert(tuple(row)) for row in rows]


async def _batches(db: Database, query: Select[Any],
                   convert: Callable[[tuple[Any, ...]], Sequence[Cell]]) -> AsyncIterator[list[Sequence[Cell]]]:
    async with db.session() as session:
        result = await session.stream(query.execution_options(yield_per=BATCH))
        async for rows in result.partitions():
            # Converting a batch (labels, local times, masks) is a few tens of milliseconds of Python:
            # done in a worker thread, like the encoding, so other requests keep the event loop.
            yield await asyncio.to_thread(_convert, convert, rows)


async def _names(session: AsyncSession, model: type[Grid] | type[Site]) -> dict[int, str]:
    return {ident: name for ident, name in (await session.execute(select(model.id, model.name))).all()}


def _id_number(staff: Staff, value: str | None) -> str | None:
    return value if staff.is_admin else mask_id_number(value)


def _local(value: datetime | None, rules: Rules) -> datetime | None:
    return value.astimezone(rules.tz) if value is not None else None


ROSTER_COLUMNS = (
    _("Full name"), _("Mobile phone"), _("Grid"), _("Status"), _("Where"), _("Site"), _("Room"), _("First day"),
    _("Last day"), _("Day of observation"), _("Latest temperature (°C)"), _("Time of the latest reading"),
    _("Course of the case"), _("ID number"), _("Address"), _("Reason for observation"),
)


async def roster(session: AsyncSession, *, db: Database, staff: Staff, rules: Rules, now: datetime, locale: str,
                 fmt: Format, grid_id: int | None = None, status: Status | None = None, q: str | None = None,
                 site_id: int | None = None) -> Export:
    """Everyone the roster lists for these filters, in one table (by grid and name)."""
    filters = roster_filters(staff, grid_id=grid_id, q=q, site_id=site_id)
    rank = rules_sql.status_rank(sweep_parameters(now, rules))
    if status is not None:
        filters.append(rank == status.rank)
    audit.record(session, staff, "export.roster", format=fmt, grid_id=grid_id,
                 status=status.value if status else None, q=q, site_id=site_id)
    grids, sites = await _names(session, Grid), await _names(session, Site)
    t = Translator(locale)
    query: Select[Any] = cast(Select[Any], select(
                    Subject.full_name, Subject.phone, Subject.grid_id, rank, Subject.observation_type,
                    Subject.site_id, Subject.room, Subject.start_date, Subject.planned_end_date,
                    Subject.last_temperature_c, Subject.last_reading_at, Subject.case_flag, Subject.test_state,
                    Subject.id_number, Subject.address, Subject.reason)
             .where(*filters).order_by(Subject.grid_id, Subject.full_name, Subject.id))

    def row(r: tuple[Any, ...]) -> Sequence[Cell]:
        (name, phone, grid, rank_value, where, site, room, start, end, temperature, reading_at, case_flag,
         test_state, id_number, address, reason) = r
        return (name, display_phone(phone), grids.get(grid, str(grid)),
                labels.status(t, STATUS_BY_RANK[rank_value].value), labels.observation_type(t, where),
                sites.get(site) if site else None, room, start, end - timedelta(days=1),
                observation_day(start, now, rules), temperature, _local(reading_at, rules),
                "、".join(labels.flag(t, f) for f in case_flags(case_flag, test_state)) or None,
                _id_number(staff, id_number), address, reason)

    return Export("roster", t(_("Roster")), [t(c) for c in ROSTER_COLUMNS], _batches(db, query, row))


EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 1, 1)


def _period(start: date, end: date, rules: Rules) -> tuple[datetime, datetime]:
    if end < start:
        raise Invalid("The period ends before it starts.")
    if start < EARLIEST or end >= LATEST:
        raise Invalid("Choose days between {first} and {last}.", first=EARLIEST.isoformat(),
                      last=(LATEST - timedelta(days=1)).isoformat())
    return day_start(start, rules), day_start(end + timedelta(days=1), rules)


READING_COLUMNS = (
    _("Full name"), _("Grid"), _("Time"), _("Temperature (°C)"), _("Result"), _("Symptoms"), _("Measured at"),
    _("Reported by"), _("Note"),
)


async def readings(session: AsyncSession, *, db: Database, staff: Staff, rules: Rules, locale: str, fmt: Format,
                   start: date, end: date) -> Export:
    """Every reading taken in the period (local days, both included) by people in the caller's grids."""
    since, until = _period(start, end, rules)
    audit.record(session, staff, "export.readings", format=fmt, start=start.isoformat(), end=end.isoformat())
    grids = await _names(session, Grid)
    t = Translator(locale)
    query: Select[Any] = cast(Select[Any], select(
                    Subject.full_name, Subject.grid_id, Reading.taken_at, Reading.temperature_c,
                    Reading.classification, Reading.symptoms, Reading.method, Reading.source, Reading.note)
             .join(Subject, Subject.id == Reading.subject_id)
             .where(staff.subject_filter(), Reading.taken_at >= since, Reading.taken_at < until)
             .order_by(Reading.taken_at, Reading.id))

    def row(r: tuple[Any, ...]) -> Sequence[Cell]:
        name, grid, taken_at, temperature, classification, symptoms, method, source, note = r
        return (name, grids.get(grid, str(grid)), _local(taken_at, rules), temperature,
                labels.classification(t, classification),
                "、".join(labels.symptom(t, s) for s in symptoms or []) or None,
                labels.method(t, method) if method else None, labels.source(t, source), note)

    return Export("readings", t(_("Readings")), [t(c) for c in READING_COLUMNS], _batches(db, query, row))


RELEASE_COLUMNS = (
    _("Full name"), _("ID number"), _("Mobile phone"), _("Grid"), _("Where"), _("Reason for observation"),
    _("First day"), _("Last day"), _("Released at"), _("Released by"), _("Released against the rules"),
    _("Release note"),
)


async def releases(session: AsyncSession, *, db: Database, staff: Staff, rules: Rules, locale: str, fmt: Format,
                   start: date, end: date) -> Export:
    """The release register: everyone released in the period (local days, both included), by time."""
    since, until = _period(start, end, rules)
    audit.record(session, staff, "export.releases", format=fmt, start=start.isoformat(), end=end.isoformat())
    grids = await _names(session, Grid)
    t = Translator(locale)
    query: Select[Any] = cast(Select[Any], select(
                    Subject.full_name, Subject.id_number, Subject.phone, Subject.grid_id, Subject.observation_type,
                    Subject.reason, Subject.start_date, Subject.planned_end_date, Subject.released_at,
                    User.username, Subject.release_override, Subject.release_note)
             .outerjoin(User, User.id == Subject.released_by)
             .where(staff.subject_filter(), Subject.state == RELEASED, Subject.released_at >= since,
                    Subject.released_at < until)
             .order_by(Subject.released_at, Subject.id))

    def row(r: tuple[Any, ...]) -> Sequence[Cell]:
        (name, id_number, phone, grid, where, reason, start_date, end_date, released_at, by, override,
         note) = r
        return (name, _id_number(staff, id_number), display_phone(phone), grids.get(grid, str(grid)),
                labels.observation_type(t, where), reason, start_date, end_date - timedelta(days=1),
                _local(released_at, rules), by, t(_("Yes")) if override else t(_("No")), note)

    return Export("releases", t(_("Releases")), [t(c) for c in RELEASE_COLUMNS], _batches(db, query, row))
