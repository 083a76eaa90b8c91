"""The roster: who needs attention now, most severe first, counted by status."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import (
    Rules,
    Status,
    SubjectState,
    SweepParameters,
    evaluate,
    observation_day,
    roster_status,
    sweep_parameters,
    video_today,
)
from monitoring.course import case_flags
from monitoring.flags import SEVERITY_NONE
from server.auth.principal import Staff
from server.errors import Forbidden
from server.models import ACTIVE, NO_WINDOW, Alert, Reading, RosterCount, Subject
from server.roster import rules_sql
from server.roster.schemas import RosterCounts, RosterItem, RosterPage
from server.roster.status import STATUS_BY_RANK, refresh_stale_statuses, subject_state
from server.subjects.schemas import LastReading
from server.subjects.service import last_reading

# Alert kinds opened by a fever reading, each carrying the reading's temperature.
FEVER_KINDS = ("fever", "high_fever")


def _search(q: str) -> ColumnElement[bool]:
    q = q.strip()
    digits = "".join(ch for ch in q if ch.isdigit())
    conditions = [Subject.full_name.contains(q, autoescape=True)]
    if digits and len(digits) == len(q.replace(" ", "").replace("-", "").lstrip("+")):
        conditions.append(Subject.phone.contains(digits, autoescape=True))
    return or_(*conditions)


GROUPS = (Status.abnormal, Status.missed, Status.due, Status.ok)


def _status_of_counter(severity_now: int, window_1: datetime, window_2: datetime,
                       p: SweepParameters) -> Status:
    """The status of everyone in one counter row: people held to every window (the rest are counted one
    by one) with this severity and these filled windows, by the rule itself."""
    filled = tuple(w for w in (window_1, window_2) if w != NO_WINDOW)
    group = SubjectState(start_date=date.min, planned_end_date=date.max, filled_windows=filled, enrolled_at=None)
    return roster_status(group, p, severity_now=severity_now)


async def counts_by_grid(session: AsyncSession, *, now: datetime, rules: Rules, grid_ids: list[int] | None = None,
                         per_grid: bool = True) -> dict[int, dict[Status, int]]:
    """Active people per grid and status now, exact, without reading every subject.

    The counters (``roster_counts``, kept by triggers) hold people per grid, severity and last two
    filled windows; a reading moves its person between two of them, the clock moves nobody. Everyone in
    one counter has the same status at any instant, as long as the latest closed and the open window
    are both held against them, so each counter turns into a count by status with the rule itself
    (``monitoring.roster_status``). The few people not yet held to those windows (enrolled since the
    closed window's grace began, or starting observation later; ``rules_sql.counted_one_by_one``) are
    taken out of their counter's status and counted by their own, read through the indexes on
    ``created_at`` and ``start_date``.

    Why this key, measured at a million people (141 grids, 14 days of readings): ~2,200 counter rows in
    all, a read of a few milliseconds; keying them by status is what made every window boundary rewrite
    nearly every row, and keying them by the current window's fill alone would not say who missed. The
    people counted one by one are those enrolled in the last hours (about 5 % there: 51,000 read from a
    covering index in ~30 ms on a loaded machine); their number, not the district's, sets the cost."""
    p = sweep_parameters(now, rules)
    result: dict[int, dict[Status, int]] = {}
    memo: dict[tuple[int, datetime, datetime], Status] = {}

    def add(grid_id: int, status: Status, n: int) -> None:
        by_status = result.setdefault(grid_id, dict.fromkeys(GROUPS, 0))
        by_status[status] += n

    def counter_status(key: tuple[int, datetime, datetime]) -> Status:
        if key not in memo:
            memo[key] = _status_of_counter(*key, p)
        return memo[key]

    # Per grid, or (``per_grid=False``, the roster's header) summed over the grids in the database.
    key = [RosterCount.severity, RosterCount.filled_window_1, RosterCount.filled_window_2]
    kept = cast(Select[Any], select(RosterCount.grid_id, *key, RosterCount.n) if per_grid else
                select(literal_column("0"), *key, func.sum(RosterCount.n)).group_by(*key))
    kept = kept.where(RosterCount.n != 0)
    if grid_ids is not None:
        kept = kept.where(RosterCount.grid_id.in_(grid_ids))
    for grid_id, severity_now, window_1, window_2, n in (await session.execute(kept)).all():
        add(grid_id, counter_status((severity_now, window_1, window_2)), int(n))
    # rules_sql.counted_one_by_one as two disjoint parts, each read from its own covering index.
    for part in (rules_sql.enrolled_since(p), and_(rules_sql.starts_later(p), ~rules_sql.enrolled_since(p))):
        people = select(Subject.grid_id, Subject.filled_window_1, Subject.filled_window_2,
                        rules_sql.calm_status_rank(p).label("rank")).where(
            rules_sql.under_observation(), rules_sql.calm(), part)
        if grid_ids is not None:
            people = people.where(Subject.grid_id.in_(grid_ids))
        one = people.subquery()
        groups = [one.c.filled_window_1, one.c.filled_window_2, one.c.rank]
        grid_column = one.c.grid_id if per_grid else literal_column("0")
        one_by_one = cast(Select[Any], select(grid_column, *groups, func.count())).group_by(
            *groups, *([grid_column] if per_grid else []))
        for grid_id, own_1, own_2, rank, n in (await session.execute(one_by_one)).all():
            add(grid_id, counter_status((SEVERITY_NONE, own_1 or NO_WINDOW, own_2 or NO_WINDOW)), -n)
            add(grid_id, STATUS_BY_RANK[rank], n)
    return result


async def active_by_grid(session: AsyncSession) -> dict[int, int]:
    """People under observation per grid, from the counters."""
    rows = await session.execute(select(RosterCount.grid_id, func.sum(RosterCount.n)).group_by(RosterCount.grid_id))
    return {grid_id: int(n or 0) for grid_id, n in rows.all()}


def roster_filters(staff: Staff, *, grid_id: int | None = None, q: str | None = None,
                   site_id: int | None = None) -> list[ColumnElement[bool]]:
    """Who the roster lists for these filters (the status filter aside): the people under observation in
    the caller's grids. The roster's export lists the same people (server/exports)."""
    if grid_id is not None and not staff.sees_grid(grid_id):
        raise Forbidden("This grid is not one of yours.")
    filters: list[ColumnElement[bool]] = [Subject.state == ACTIVE, staff.subject_filter()]
    if grid_id is not None:
        filters.append(Subject.grid_id == grid_id)
    if q and q.strip():
        filters.append(_search(q))
    if site_id is not None:
        filters.append(Subject.site_id == site_id)
    return filters


async def roster(
    session: AsyncSession, *, staff: Staff, rules: Rules, now: datetime, grid_id: int | None = None,
    status: Status | None = None, q: str | None = None, limit: int = 50, offset: int = 0,
    sweep: bool = True, site_id: int | None = None,
) -> RosterPage:
    """Most severe first: the abnormal group by severity and name, then missed, due and ok by name.

    Without a search, the counts come from the counters (:func:`counts_by_grid`) and the page is read
    group by group, each group through an index in its own order (``ix_subjects_*roster_abnormal`` by
    severity and name; ``ix_subjects_*roster_calm`` by name, filtered by the derived status), skipping
    whole groups by their counts. ``sweep=False`` when the scheduler ages fevers out (every app process
    runs it)."""
    if grid_id is not None and not staff.sees_grid(grid_id):
        raise Forbidden("This grid is not one of yours.")
    if sweep:
        await refresh_stale_statuses(session, now=now, rules=rules)
    p = sweep_parameters(now, rules)

    filters = roster_filters(staff, grid_id=grid_id, q=q, site_id=site_id)
    counts = RosterCounts()
    found: list[tuple[Subject, int]] = []
    if (q and q.strip()) or site_id is not None:
        rank = rules_sql.status_rank(p)
        found_ranks = select(rank.label("rank")).where(*filters).subquery()
        for rank_value, count in (await session.execute(
                select(found_ranks.c.rank, func.count()).group_by(found_ranks.c.rank))).all():
            setattr(counts, STATUS_BY_RANK[rank_value].value, int(count))
        listed = select(Subject, rank).where(*filters)
        if status is not None:
            listed = listed.where(rank == status.rank)
        found = [(subject, rank_value) for subject, rank_value in (await session.execute(
            listed.order_by(rank, Subject.severity, Subject.full_name, Subject.id).limit(limit).offset(offset)
        )).all()]
    else:
        scope = [grid_id] if grid_id is not None else None if staff.all_grids else sorted(staff.grid_ids)
        by_status: dict[Status, int] = dict.fromkeys(GROUPS, 0)
        for grid_counts in (await counts_by_grid(session, now=now, rules=rules, grid_ids=scope,
                                                 per_grid=False)).values():
            for group, n in grid_counts.items():
                by_status[group] += n
        for group, n in by_status.items():
            setattr(counts, group.value, n)
        skip, take = offset, limit
        for group in GROUPS if status is None else (status,):
            if take <= 0:
                break
            if skip >= by_status[group]:
                skip -= by_status[group]
                continue
            rows = (await session.scalars(_group(group, p, filters).limit(take).offset(skip))).all()
            found += [(subject, group.rank) for subject in rows]
            take -= len(rows)
            skip = 0
    counts.total = counts.abnormal + counts.missed + counts.due + counts.ok

    items = []
    why = await _why_flagged(session, [subject.id for subject, _rank in found], now=now, rules=rules)
    for subject, rank_value in found:
        state = subject_state(subject)
        evaluation = evaluate(state, now, rules, video_rules=True)
        peak, kinds = why.get(subject.id, (None, []))
        items.append(
            RosterItem(
                subject_id=subject.id,
                full_name=subject.full_name,
                phone=subject.phone,
                grid_id=subject.grid_id,
                status=STATUS_BY_RANK[rank_value].value,
                flags=[*case_flags(subject.case_flag, subject.test_state), *(f.value for f in evaluation.flags)],
                last_reading=last_reading(subject),
                observation_day=observation_day(subject.start_date, now, rules),
                duration_days=subject.duration_days,
                planned_end_date=subject.planned_end_date,
                open_alerts=subject.open_alerts,
                flag_temperature=peak,
                open_alert_kinds=kinds,
                video_today=video_today(state, now, rules).value,
            )
        )
    return RosterPage(counts=counts, items=items, limit=limit, offset=offset)


async def _why_flagged(session: AsyncSession, subject_ids: list[uuid.UUID], *, now: datetime,
                       rules: Rules) -> dict[uuid.UUID, tuple[LastReading | None, list[str]]]:
    """For one page of the roster: each person's highest fever within the flags' window, and the kinds
    of their open alerts. Every fever reading opens an alert carrying its temperature, so one indexed
    read of the page's alerts (ix_alerts_subject) answers both; the readings table is not touched and
    the cost follows the page size, not the district's."""
    if not subject_ids:
        return {}
    cutoff = now - rules.flag_lookback
    # The flag counts a fever by when it was taken (a reading sent late from an offline phone, or
    # entered afterwards by staff, is backdated), so the time shown is the reading's, not the alert's.
    # An alert is opened on receipt, never before the reading was taken: opened_at > cutoff bounds the
    # read by the index and keeps every fever the flag can still count.
    rows = await session.execute(
        select(Alert.subject_id, Alert.kind, Alert.status, Alert.temperature_c,
               func.coalesce(Reading.taken_at, Alert.opened_at))
        .outerjoin(Reading, Reading.id == Alert.reading_id)
        .where(Alert.subject_id.in_(subject_ids),
               or_(Alert.status == "open", and_(Alert.kind.in_(FEVER_KINDS), Alert.opened_at > cutoff)))
    )
    peaks: dict[uuid.UUID, LastReading] = {}
    kinds: dict[uuid.UUID, list[str]] = {}
    for subject_id, kind, status, temperature, taken_at in rows.all():
        if status == "open" and kind not in kinds.setdefault(subject_id, []):
            kinds[subject_id].append(kind)
        if kind in FEVER_KINDS and temperature is not None and taken_at > cutoff:
            best = peaks.get(subject_id)
            if best is None or (temperature, taken_at) > (best.temperature_c, best.taken_at):
                peaks[subject_id] = LastReading(temperature_c=temperature, taken_at=taken_at)
    return {sid: (peaks.get(sid), sorted(kinds.get(sid, []))) for sid in subject_ids}


def _group(group: Status, p: SweepParameters, filters: list[ColumnElement[bool]]) -> Select[Subject]:
    """One status group of the roster in its order, shaped for its partial index."""
    if group is Status.abnormal:
        return (select(Subject).where(*filters, rules_sql.abnormal())
                .order_by(Subject.severity, Subject.full_name, Subject.id))
    return (select(Subject).where(*filters, rules_sql.calm(), rules_sql.calm_status_rank(p) == group.rank)
            .order_by(Subject.full_name, Subject.id))
