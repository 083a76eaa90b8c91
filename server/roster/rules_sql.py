"""The SQL twins of the rules in ``monitoring/``: every SQL expression that decides something about a person.

Each expression here is built from the parameters ``monitoring`` computes (:class:`SweepParameters`,
:class:`WindowInstance`, a local date) and mirrors one Python rule, named beside it;
``tests/server/roster/test_rules_sql.py`` runs both on SQLite and PostgreSQL over generated people,
clocks, windows and time zones and asserts they agree. Nothing outside this module writes a rule in SQL:
a copy without such a twin is how the missed-twice alert once came to ignore the enrolment grace.

No expression does time-zone arithmetic in SQL: windows, local dates and cut-offs arrive as parameters,
so both databases compare plain UTC instants and dates.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import SmallInteger, SQLColumnExpression, and_, case, false, literal, literal_column, or_
from sqlalchemy.sql.elements import ColumnElement

from monitoring import HeldWindow, Rules, Status, SweepParameters, WindowInstance, local_date
from monitoring.flags import (
    SEVERITY_CALLBACK,
    SEVERITY_FEVER,
    SEVERITY_HIGH_FEVER,
    SEVERITY_NONE,
    SEVERITY_SYMPTOMS,
    SEVERITY_TEST_POSITIVE,
)
from server.models import ACTIVE, Subject


def under_observation() -> ColumnElement[bool]:
    """``not SubjectState.released``."""
    return Subject.state == ACTIVE


def window_missing(window: HeldWindow) -> ColumnElement[bool]:
    """``monitoring.window_missing``: the window counts against the person and holds no reading of theirs.

    ``created_at`` is never NULL in the database, so the rule's "no enrolment time" case cannot occur."""
    f1, f2 = Subject.filled_window_1, Subject.filled_window_2
    conditions = [
        Subject.start_date <= window.local_date,
        or_(f1.is_(None), f1 != window.start),
        or_(f2.is_(None), f2 != window.start),
    ]
    if window.enrolled_by is not None:
        conditions.append(Subject.created_at <= window.enrolled_by)
    return and_(*conditions)


def _flagged(column: SQLColumnExpression[datetime | None], p: SweepParameters) -> ColumnElement[bool]:
    # NULL compares as unknown, which CASE and WHERE treat as false: "never" is not within the lookback.
    return column > p.flag_cutoff


# Written into the statement, not bound: the roster's partial indexes carry these very predicates.
_NOTHING_ABNORMAL = literal_column(str(SEVERITY_NONE), SmallInteger)


def abnormal() -> ColumnElement[bool]:
    """``monitoring.roster_status(...) is Status.abnormal``, from the stored severity (which the sweep
    keeps at the rules' value between boundaries: fevers and symptoms age out)."""
    return Subject.severity < _NOTHING_ABNORMAL


def calm() -> ColumnElement[bool]:
    """Nothing abnormal: the people whose status :func:`calm_status_rank` derives from their windows."""
    return Subject.severity == _NOTHING_ABNORMAL


def status_rank(p: SweepParameters) -> ColumnElement[int]:
    """The rank of ``monitoring.roster_status`` (and so of ``monitoring.evaluate(...).status``) for a
    person under observation whose stored severity is the rules' at ``p.now``.

    Only the severity is stored; missed and due are derived here from the filled windows, so a window
    opening or closing writes nothing."""
    whens: list[tuple[ColumnElement[bool], int]] = [(abnormal(), Status.abnormal.rank)]
    whens += calm_whens(p)
    return case(*whens, else_=Status.ok.rank)


def calm_whens(p: SweepParameters) -> list[tuple[ColumnElement[bool], int]]:
    """The missed and due branches of :func:`status_rank`, for people with nothing abnormal."""
    whens: list[tuple[ColumnElement[bool], int]] = []
    if p.closed is not None:
        whens.append((window_missing(p.closed), Status.missed.rank))
    if p.opened is not None:
        whens.append((window_missing(p.opened), Status.due.rank))
    return whens


def calm_status_rank(p: SweepParameters) -> ColumnElement[int]:
    """:func:`status_rank` for the people with nothing abnormal (``severity = 3``): what the roster
    filters its missed, due and ok groups by, while the index on names gives their order."""
    return case(*whens, else_=Status.ok.rank) if (whens := calm_whens(p)) else literal(Status.ok.rank)


def counted_one_by_one(p: SweepParameters) -> ColumnElement[bool]:
    """The people the roster counters cannot stand for: not yet held to the latest closed or the open
    window (enrolled since the closed one's grace began, or starting observation later).

    Everyone else counts as held to both windows, as if enrolled long before them, and for them
    ``monitoring.roster_status`` depends only on severity and filled windows, the counters' key; the
    twin test checks that implication. The roster reads them as two disjoint parts, each through its
    own index: :func:`enrolled_since` and :func:`starts_later` without the first."""
    return or_(enrolled_since(p), starts_later(p))


def enrolled_since(p: SweepParameters) -> ColumnElement[bool]:
    """Enrolled too late to be held to the latest closed window (``HeldWindow.enrolled_by``)."""
    if p.closed is None or p.closed.enrolled_by is None:
        return false()
    return Subject.created_at > p.closed.enrolled_by


def starts_later(p: SweepParameters) -> ColumnElement[bool]:
    """Observation starts after the day of the latest closed or the open window."""
    days = [window.local_date for window in (p.closed, p.opened) if window is not None]
    return Subject.start_date > min(days) if days else false()


def severity(p: SweepParameters) -> ColumnElement[int]:
    """``monitoring.severity``: a positive test, high fever, fever, symptoms, a call-back request,
    nothing abnormal (``SEVERITY_*``, most severe lowest)."""
    return case(
        (Subject.test_state == "positive", SEVERITY_TEST_POSITIVE),
        (_flagged(Subject.last_high_fever_at, p), SEVERITY_HIGH_FEVER),
        (_flagged(Subject.last_fever_at, p), SEVERITY_FEVER),
        (_flagged(Subject.last_symptoms_at, p), SEVERITY_SYMPTOMS),
        (Subject.callback_requested_at.is_not(None), SEVERITY_CALLBACK),
        else_=SEVERITY_NONE,
    )


def missed_twice(p: SweepParameters) -> ColumnElement[bool]:
    """``monitoring.missed_twice``: the last two closed windows both count and both went unreported."""
    if p.closed is None or p.closed_before is None:
        return false()
    return and_(under_observation(), window_missing(p.closed), window_missing(p.closed_before))


def awaits_reading(window: WindowInstance) -> ColumnElement[bool]:
    """``monitoring.awaits_reading``: who is reminded to report in the open ``window``."""
    return and_(under_observation(), window_missing(HeldWindow.open(window)))


def period_over(now: datetime, rules: Rules) -> ColumnElement[bool]:
    """``monitoring.period_over``: release candidates, whose observation period has ended."""
    return and_(under_observation(), Subject.planned_end_date <= local_date(now, rules))
