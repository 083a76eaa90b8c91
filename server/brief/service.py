"""The daily brief: what happened in each area on one day, beside the day before, and the last 14 days.

A day's figures are counted from the times things happened (enrolled, released, closed, an alert
opened, a test sampled or resulted, a video check-in completed) and, for who was under observation and
whose tests were pending, as of the day's end. Once a day is over they are frozen in ``daily_brief``
(one row per grid): the scheduler freezes yesterday soon after midnight, and a brief asking for a day
not frozen yet freezes it then. A past day's brief reads only those rows, so it answers in
milliseconds at any size and never changes afterwards; today's is counted live.

Its rows are areas of the tree: the children of the area asked for (a grid stands for itself), or the
caller's own top areas; each row sums the grids below it, and the total sums them all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules, Status, day_start, latest_closed_window, local_date
from server.areas import service as areas
from server.auth.principal import Staff
from server.db import Database, insert_new
from server.errors import Invalid
from server.models import Alert, DailyBrief, Grid, Subject
from server.models.case import CaseAction, LabTest
from server.models.checkins import COMPLETED, Checkin
from server.models.declarations import CensusTally, Declaration
from server.roster.service import FEVER_KINDS, counts_by_grid

# In the order the brief shows them. ``missed`` may be unknown (None) for a day frozen late.
METRICS = ("home", "centralized", "new", "released", "closed", "fever", "symptoms", "missed", "referrals",
           "tests_sampled", "tests_pending", "tests_positive", "video_checkins", "households_visited",
           "people_counted", "declarations")
TREND_DAYS = 14
EARLIEST = date(2000, 1, 1)
# How far back the scheduler makes sure every day is frozen (the trend's length, and one more for its
# first day's change).
FREEZE_BACK = TREND_DAYS + 1

Figures = dict[str, int | None]


def _zero() -> Figures:
    return dict.fromkeys(METRICS, 0)


@dataclass
class Row:
    area_id: int | None
    name: str
    values: Figures
    changes: Figures

    @property
    def under_observation(self) -> int:
        return (self.values["home"] or 0) + (self.values["centralized"] or 0)


@dataclass
class TrendDay:
    day: date
    under_observation: int
    new: int
    fever: int
    released: int


@dataclass
class Brief:
    day: date
    area_id: int | None
    live: bool
    rows: list[Row]
    total: Row
    trend: list[TrendDay] = field(default_factory=list)


def _in_day(column: Any, start: datetime, until: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < until)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


async def count_day(session: AsyncSession, *, day: date, now: datetime, rules: Rules,
                    grid_ids: list[int] | None) -> dict[int, Figures]:
    """Each grid's figures for ``day``, counted from the tables (as of the day's end; today: so far).
    Grids without anything that day are left out (their figures are all 0)."""
    start = day_start(day, rules)
    # The day's end even for today: nothing has happened after now, so today's counts are "so far".
    until = day_start(day + timedelta(days=1), rules)
    found: dict[int, Figures] = {}

    def put(grid_id: int, metric: str, value: int | None) -> None:
        found.setdefault(grid_id, _zero())[metric] = value

    def scoped(column: Any) -> list[ColumnElement[bool]]:
        return [column.in_(grid_ids)] if grid_ids is not None else []

    # Under observation at the day's end: enrolled by then, neither released nor closed by then.
    observed = and_(Subject.created_at < until,
                    or_(Subject.released_at.is_(None), Subject.released_at >= until),
                    or_(Subject.closed_at.is_(None), Subject.closed_at >= until))
    people = select(
        Subject.grid_id,
        _count(and_(observed, Subject.observation_type == "home")),
        _count(and_(observed, Subject.observation_type != "home")),
        _count(_in_day(Subject.created_at, start, until)),
        _count(_in_day(Subject.released_at, start, until)),
        _count(_in_day(Subject.closed_at, start, until)),
    ).where(Subject.created_at < until, *scoped(Subject.grid_id)).group_by(Subject.grid_id)
    for grid_id, home, centralized, new, released, closed in (await session.execute(people)).all():
        for metric, value in (("home", home), ("centralized", centralized), ("new", new), ("released", released),
                              ("closed", closed)):
            put(grid_id, metric, int(value or 0))

    # Every fever reading and every reading with symptoms opens an alert (server/readings/service.py),
    # so the alerts of the day say who had one without reading the readings table.
    alerts = select(
        Alert.grid_id,
        func.count(distinct(case((Alert.kind.in_(FEVER_KINDS), Alert.subject_id)))),
        func.count(distinct(case((Alert.kind == "symptoms", Alert.subject_id)))),
    ).where(_in_day(Alert.opened_at, start, until), *scoped(Alert.grid_id)).group_by(Alert.grid_id)
    for grid_id, fever, symptoms in (await session.execute(alerts)).all():
        put(grid_id, "fever", int(fever))
        put(grid_id, "symptoms", int(symptoms))

    referrals = (select(Subject.grid_id, func.count()).select_from(CaseAction)
                 .join(Subject, Subject.id == CaseAction.subject_id)
                 .where(CaseAction.kind == "referred_fever_clinic", _in_day(CaseAction.at, start, until),
                        *scoped(Subject.grid_id)).group_by(Subject.grid_id))
    for grid_id, n in (await session.execute(referrals)).all():
        put(grid_id, "referrals", int(n))

    pending_at_end = and_(LabTest.sampled_at < until, or_(LabTest.resulted_at.is_(None), LabTest.resulted_at >= until))
    tests = (select(Subject.grid_id, _count(_in_day(LabTest.sampled_at, start, until)), _count(pending_at_end),
                    _count(and_(LabTest.result == "positive", _in_day(LabTest.resulted_at, start, until))))
             .select_from(LabTest).join(Subject, Subject.id == LabTest.subject_id)
             .where(LabTest.sampled_at < until, LabTest.recorded_at < until, *scoped(Subject.grid_id))
             .group_by(Subject.grid_id))
    for grid_id, sampled, pending, positive in (await session.execute(tests)).all():
        put(grid_id, "tests_sampled", int(sampled or 0))
        put(grid_id, "tests_pending", int(pending or 0))
        put(grid_id, "tests_positive", int(positive or 0))

    checkins = (select(Checkin.grid_id, func.count(distinct(Checkin.subject_id)))
                .where(Checkin.status == COMPLETED, _in_day(Checkin.ended_at, start, until), *scoped(Checkin.grid_id))
                .group_by(Checkin.grid_id))
    for grid_id, n in (await session.execute(checkins)).all():
        put(grid_id, "video_checkins", int(n))

    # The census so far: what grid workers tallied up to the day's end, and who declared that day.
    tallied = (select(CensusTally.grid_id, func.sum(CensusTally.households_visited),
                      func.sum(CensusTally.people_counted))
               .where(CensusTally.recorded_at < until, *scoped(CensusTally.grid_id)).group_by(CensusTally.grid_id))
    for grid_id, households, people_counted in (await session.execute(tallied)).all():
        put(grid_id, "households_visited", int(households or 0))
        put(grid_id, "people_counted", int(people_counted or 0))
    declared = (select(Declaration.grid_id, func.count())
                .where(_in_day(Declaration.created_at, start, until), *scoped(Declaration.grid_id))
                .group_by(Declaration.grid_id))
    for grid_id, n in (await session.execute(declared)).all():
        put(grid_id, "declarations", int(n))

    # Missed windows can only be read now (the filled windows move on): today's are live, a day just
    # over is seen until the next window closes; a day frozen later than that leaves them unknown.
    last = latest_closed_window(now, rules)
    seen_now = day == local_date(now, rules) or (last is not None and local_date(last.end, rules) == day)
    missed_by_grid = await counts_by_grid(session, now=now, rules=rules, grid_ids=grid_ids) if seen_now else {}
    for grid_id in set(found) | set(missed_by_grid):
        put(grid_id, "missed", missed_by_grid.get(grid_id, {}).get(Status.missed, 0) if seen_now else None)
    return found


async def _frozen(session: AsyncSession, days: list[date], grid_ids: list[int] | None,
                  ) -> dict[date, dict[int, Figures]]:
    """The frozen figures of these days (a day absent from the answer is not frozen yet)."""
    query = select(DailyBrief).where(DailyBrief.day.in_(days))
    if grid_ids is not None:
        query = query.where(DailyBrief.grid_id.in_(grid_ids))
    found: dict[date, dict[int, Figures]] = {}
    for row in (await session.scalars(query)).all():
        found.setdefault(row.day, {})[row.grid_id] = {metric: getattr(row, metric) for metric in METRICS}
    # A day is frozen for every grid at once; a grid without a row that day had nothing to count.
    frozen_days = set((await session.scalars(select(DailyBrief.day).where(DailyBrief.day.in_(days)).distinct())).all())
    return {day: found.get(day, {}) for day in frozen_days}


async def freeze_day(session: AsyncSession, *, day: date, now: datetime, rules: Rules) -> dict[int, Figures]:
    """Count a day that is over for every grid and store it; a concurrent freeze of the same day by
    another process keeps the rows written first."""
    counted = await count_day(session, day=day, now=now, rules=rules, grid_ids=None)
    grids = (await session.scalars(select(Grid.id))).all()
    rows = [{"day": day, "grid_id": grid_id, "frozen_at": now, **counted.get(grid_id, _zero())} for grid_id in grids]
    for start in range(0, len(rows), 500):
        await insert_new(session, DailyBrief, rows[start:start + 500])
    return counted


async def freeze_days(db: Database, *, now: datetime, rules: Rules, back: int = FREEZE_BACK) -> int:
    """Freeze every day of the last ``back`` that is over and not frozen yet (the scheduler calls this
    at each boundary; after midnight it finds yesterday). Returns how many days it froze."""
    today = local_date(now, rules)
    days = [today - timedelta(days=n) for n in range(back, 0, -1)]
    async with db.session() as session:
        done = set((await session.scalars(select(DailyBrief.day).where(DailyBrief.day.in_(days)).distinct())).all())
        if not (await session.scalars(select(Grid.id).limit(1))).first():
            return 0
    frozen = 0
    for day in days:
        if day in done:
            continue
        async with db.session() as session:
            await freeze_day(session, day=day, now=now, rules=rules)
        frozen += 1
    return frozen


async def figures(session: AsyncSession, *, days: list[date], now: datetime, rules: Rules,
                  grid_ids: list[int] | None) -> dict[date, dict[int, Figures]]:
    """Each day's figures per grid: today live, past days from the frozen rows (freezing any that is
    not frozen yet)."""
    today = local_date(now, rules)
    past = [d for d in days if d < today]
    found = await _frozen(session, past, grid_ids) if past else {}
    for day in past:
        if day not in found:
            counted = await freeze_day(session, day=day, now=now, rules=rules)
            found[day] = {g: f for g, f in counted.items() if grid_ids is None or g in grid_ids}
    if today in days:
        found[today] = await count_day(session, day=today, now=now, rules=rules, grid_ids=grid_ids)
    return found


def _sum(parts: list[Figures]) -> Figures:
    total: Figures = _zero()
    for metric in METRICS:
        values = [p[metric] for p in parts]
        total[metric] = None if any(v is None for v in values) else sum(v or 0 for v in values)
    return total


def _change(now: Figures, before: Figures) -> Figures:
    changes: Figures = {}
    for m in METRICS:
        value, earlier = now[m], before[m]
        changes[m] = value - earlier if value is not None and earlier is not None else None
    return changes


async def brief(session: AsyncSession, *, staff: Staff, day: date | None, now: datetime, rules: Rules,
                area_id: int | None = None) -> Brief:
    """The brief of ``day`` (today when None) for the caller's areas, or one of them."""
    today = local_date(now, rules)
    day = day or today
    if day > today:
        raise Invalid("There is no brief for a day that has not come yet.")
    if day < EARLIEST:
        raise Invalid("There is no brief before {first}.", first=EARLIEST.isoformat())
    parts = await areas.breakdown(session, staff=staff, area_id=area_id)
    shown = frozenset().union(*(grids for _area, grids in parts)) if parts else frozenset()
    grid_ids = sorted(shown) if (area_id is not None or not staff.all_grids) else None
    trend_days = [day - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    by_day = await figures(session, days=[day - timedelta(days=TREND_DAYS), *trend_days], now=now, rules=rules,
                           grid_ids=grid_ids)
    previous_day = day - timedelta(days=1)

    def of(d: date, grids: frozenset[int]) -> Figures:
        found = [f for g, f in by_day[d].items() if g in grids]
        return _sum(found) if found else _zero()

    rows = []
    for area, grids in parts:
        values, before = of(day, grids), of(previous_day, grids)
        rows.append(Row(area.id, area.name, values, _change(values, before)))
    if grid_ids is None:
        shown = frozenset(g for d in by_day for g in by_day[d])

    def total_of(d: date) -> Figures:
        return of(d, shown)

    values, before = total_of(day), total_of(previous_day)
    total = Row(None, "", values, _change(values, before))
    trend = []
    for d in trend_days:
        t = total_of(d)
        trend.append(TrendDay(d, (t["home"] or 0) + (t["centralized"] or 0), t["new"] or 0, t["fever"] or 0,
                              t["released"] or 0))
    return Brief(day=day, area_id=area_id, live=day == today, rows=rows, total=total, trend=trend)
