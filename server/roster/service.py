"""The roster: who needs attention now, most severe first, counted by status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules, Status, evaluate, observation_day
from server.auth.principal import Staff
from server.errors import Forbidden
from server.models import ACTIVE, RosterCount, Subject
from server.roster.schemas import RosterCounts, RosterItem, RosterPage
from server.roster.status import STATUS_BY_RANK, refresh_stale_statuses, subject_state
from server.subjects.service import last_reading


def _search(q: str) -> ColumnElement[bool]:
    q = q.strip()
    digits = "".join(ch for ch in q if ch.isdigit())
    conditions = [Subject.full_name.contains(q, autoescape=True)]
    if digits and len(digits) == len(q.replace(" ", "").replace("-", "").lstrip("+")):
        conditions.append(Subject.phone.contains(digits, autoescape=True))
    return or_(*conditions)


async def roster(
    session: AsyncSession, *, staff: Staff, rules: Rules, now: datetime, grid_id: int | None = None,
    status: Status | None = None, q: str | None = None, limit: int = 50, offset: int = 0,
    sweep: bool = True,
) -> RosterPage:
    """``sweep=False`` when the scheduler applies the passage of time (every app process runs it); the
    roster then never waits behind a boundary's mass update."""
    if grid_id is not None and not staff.sees_grid(grid_id):
        raise Forbidden("This grid is not one of yours.")
    if sweep:
        await refresh_stale_statuses(session, now=now, rules=rules)

    filters: list[ColumnElement[bool]] = [Subject.state == ACTIVE, staff.subject_filter()]
    if grid_id is not None:
        filters.append(Subject.grid_id == grid_id)
    if q and q.strip():
        filters.append(_search(q))

    if q and q.strip():
        count_query = select(Subject.status_rank, func.count()).where(*filters).group_by(Subject.status_rank)
    else:
        # Kept exact by triggers: a read of grids × 4 rows instead of a scan of every subject.
        count_query = select(RosterCount.status_rank, func.sum(RosterCount.n)).group_by(RosterCount.status_rank)
        if not staff.is_admin:
            count_query = count_query.where(RosterCount.grid_id.in_(sorted(staff.grid_ids)))
        if grid_id is not None:
            count_query = count_query.where(RosterCount.grid_id == grid_id)
    counts = RosterCounts()
    for rank, count in (await session.execute(count_query)).all():
        setattr(counts, STATUS_BY_RANK[rank].value, int(count or 0))
        counts.total += int(count or 0)

    if status is not None:
        filters.append(Subject.status_rank == status.rank)
    subjects = (
        await session.scalars(
            select(Subject).where(*filters)
            .order_by(Subject.status_rank, Subject.severity, Subject.full_name, Subject.id).limit(limit).offset(offset)
        )
    ).all()
    items = []
    for subject in subjects:
        evaluation = evaluate(subject_state(subject), now, rules, video_rules=True)
        items.append(
            RosterItem(
                subject_id=subject.id,
                full_name=subject.full_name,
                phone=subject.phone,
                grid_id=subject.grid_id,
                status=STATUS_BY_RANK[subject.status_rank].value,
                flags=[f.value for f in evaluation.flags],
                last_reading=last_reading(subject),
                observation_day=observation_day(subject.start_date, now, rules),
                duration_days=subject.duration_days,
                planned_end_date=subject.planned_end_date,
                open_alerts=subject.open_alerts,
            )
        )
    return RosterPage(counts=counts, items=items, limit=limit, offset=offset)


async def counts_by_grid(session: AsyncSession) -> dict[int, dict[str, int]]:
    """Active people per grid and status, from the trigger-kept counters: grids × 4 rows to read,
    whatever the size of the district."""
    result: dict[int, dict[str, int]] = {}
    rows = await session.execute(select(RosterCount.grid_id, RosterCount.status_rank, RosterCount.n))
    for grid_id, rank, count in rows.all():
        by_status = result.setdefault(grid_id, {})
        status = STATUS_BY_RANK[rank].value
        by_status[status] = by_status.get(status, 0) + count
    return result
