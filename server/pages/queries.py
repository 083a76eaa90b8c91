"""Read-only queries only the pages need: the admin's daily summary and a few lookups."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Date, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules, day_start, local_date
from server.models import RELEASED, Alert, Grid, Reading, RosterCount, Subject
from server.pages.charts import DayCount
from server.roster import rules_sql
from server.roster.status import STATUS_BY_RANK, refresh_stale_statuses

SUMMARY_DAYS = 14


async def open_alert_of_kind(session: AsyncSession, *, subject_id: uuid.UUID, kind: str) -> Alert | None:
    return await session.scalar(
        select(Alert).where(Alert.subject_id == subject_id, Alert.kind == kind, Alert.status == "open")
        .order_by(Alert.opened_at.desc()).limit(1)
    )


@dataclass
class GridSummary:
    grid_id: int
    name: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def active(self) -> int:
        return sum(self.counts.values())


@dataclass
class Summary:
    active: int
    released_today: int
    counts: dict[str, int]
    grids: list[GridSummary]
    days: list[DayCount]


def _local_day(column: object, session: AsyncSession, now: datetime, rules: Rules) -> object:
    if session.bind.dialect.name == "postgresql":
        return cast(func.timezone(rules.timezone, column), Date)
    # SQLite keeps UTC text; shift by the zone's current offset (exact for zones without DST, such as
    # Asia/Shanghai, and at most an hour off around a DST change elsewhere).
    offset = now.astimezone(rules.tz).utcoffset() or timedelta(0)
    return func.date(column, literal(f"{int(offset.total_seconds() // 60):+d} minutes"))


async def daily_summary(session: AsyncSession, *, now: datetime, rules: Rules, sweep: bool = True) -> Summary:
    if sweep:
        await refresh_stale_statuses(session, now=now, rules=rules)
    today = local_date(now, rules)
    by_grid: dict[int, GridSummary] = {
        grid.id: GridSummary(grid.id, grid.name)
        for grid in (await session.scalars(select(Grid).order_by(Grid.name))).all()
    }
    counts = {status.value: 0 for status in STATUS_BY_RANK.values()}
    # The trigger-kept counters: a district of a million people costs a read of grids × 4 rows.
    rows = await session.execute(select(RosterCount.grid_id, RosterCount.status_rank, RosterCount.n))
    for grid_id, rank, count in rows.all():
        status = STATUS_BY_RANK[rank].value
        counts[status] += count
        if grid_id in by_grid:
            by_grid[grid_id].counts[status] = by_grid[grid_id].counts.get(status, 0) + count
    released_today = await session.scalar(
        select(func.count()).select_from(Subject)
        .where(Subject.state == RELEASED, Subject.released_at >= day_start(today, rules))
    ) or 0

    first = today - timedelta(days=SUMMARY_DAYS - 1)
    day = _local_day(Reading.taken_at, session, now, rules)
    series = await session.execute(
        select(day.label("day"), func.count(),  # type: ignore[attr-defined]
               func.sum(case((Reading.classification != "normal", 1), else_=0)))
        .where(Reading.taken_at >= day_start(first, rules))
        .group_by(day).order_by(day)  # type: ignore[arg-type]
    )
    per_day = {str(d): (int(n), int(a or 0)) for d, n, a in series.all()}
    days = []
    for offset in range(SUMMARY_DAYS):
        current = first + timedelta(days=offset)
        readings, abnormal = per_day.get(current.isoformat(), (0, 0))
        days.append(DayCount(current, readings, abnormal))
    return Summary(active=sum(counts.values()), released_today=released_today, counts=counts,
                   grids=list(by_grid.values()), days=days)


async def period_over(session: AsyncSession, *, now: datetime, rules: Rules, limit: int = 20) -> list[Subject]:
    """Active people whose observation period is over: the admin's release review list."""
    return list((await session.scalars(
        select(Subject).where(rules_sql.period_over(now, rules))
        .order_by(Subject.planned_end_date, Subject.full_name).limit(limit)
    )).all())
