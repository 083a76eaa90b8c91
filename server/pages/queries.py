"""Read-only queries only the pages need: the admin's daily summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, SQLColumnExpression, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules, day_start, local_date
from server.auth.principal import Staff
from server.db import dialect_of
from server.grids.service import list_grids
from server.models import RELEASED, Reading, Subject
from server.pages.charts import DayCount
from server.roster.service import counts_by_grid
from server.roster.status import STATUS_BY_RANK, refresh_stale_statuses

SUMMARY_DAYS = 14


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


def _local_day(column: SQLColumnExpression[datetime], session: AsyncSession, now: datetime,
               rules: Rules) -> ColumnElement[Any]:
    if dialect_of(session) == "postgresql":
        return cast(func.timezone(rules.timezone, column), Date)
    # SQLite keeps UTC text; shift by the zone's current offset (exact for zones without DST, such as
    # Asia/Shanghai, and at most an hour off around a DST change elsewhere).
    offset = now.astimezone(rules.tz).utcoffset() or timedelta(0)
    return func.date(column, literal(f"{int(offset.total_seconds() // 60):+d} minutes"))


async def daily_summary(session: AsyncSession, *, staff: Staff, now: datetime, rules: Rules,
                        sweep: bool = True) -> Summary:
    if sweep:
        await refresh_stale_statuses(session, now=now, rules=rules)
    today = local_date(now, rules)
    by_grid = {grid.id: GridSummary(grid.id, grid.name) for grid in await list_grids(session, staff=staff)}
    counts = {status.value: 0 for status in STATUS_BY_RANK.values()}
    for grid_id, by_group in (await counts_by_grid(session, now=now, rules=rules)).items():
        by_status = {group.value: n for group, n in by_group.items()}
        for status, count in by_status.items():
            counts[status] += count
        if grid_id in by_grid:
            by_grid[grid_id].counts = by_status
    released_today = await session.scalar(
        select(func.count()).select_from(Subject)
        .where(Subject.state == RELEASED, Subject.released_at >= day_start(today, rules))
    ) or 0

    first = today - timedelta(days=SUMMARY_DAYS - 1)
    day = _local_day(Reading.taken_at, session, now, rules)
    series = await session.execute(
        select(day.label("day"), func.count(),
               func.sum(case((Reading.classification != "normal", 1), else_=0)))
        .where(Reading.taken_at >= day_start(first, rules))
        .group_by(day).order_by(day)
    )
    per_day = {str(d): (int(n), int(a or 0)) for d, n, a in series.all()}
    days = []
    for offset in range(SUMMARY_DAYS):
        current = first + timedelta(days=offset)
        readings, abnormal = per_day.get(current.isoformat(), (0, 0))
        days.append(DayCount(current, readings, abnormal))
    return Summary(active=sum(counts.values()), released_today=released_today, counts=counts,
                   grids=list(by_grid.values()), days=days)
