"""A subject's roster status and flags at a given instant.

The server also computes the status in SQL for its periodic sweep (``server/roster/rules_sql.py``), from
:func:`sweep_parameters`; every decision there has its Python twin
here or in :mod:`monitoring.attendance`, and a property test pins each pair on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from monitoring.attendance import HeldWindow, window_missing
from monitoring.release import release_eligibility
from monitoring.rules import Rules
from monitoring.state import SubjectState, apply_reading, record_filled_window
from monitoring.temperature import require_aware
from monitoring.windows import (
    latest_closed_window,
    local_date,
    next_boundary,
    open_window,
    windows_on,
)

__all__ = [
    "STATUS_RANK",
    "Evaluation",
    "Flag",
    "Status",
    "SubjectState",
    "VideoToday",
    "SweepParameters",
    "apply_reading",
    "evaluate",
    "missed_twice",
    "record_filled_window",
    "sweep_parameters",
    "video_today",
]


class Status(StrEnum):
    abnormal = "abnormal"
    missed = "missed"
    due = "due"
    ok = "ok"

    @property
    def rank(self) -> int:
        """Lower is more severe, so a roster sorts the people who need attention first."""
        return STATUS_RANK[self]


STATUS_RANK: dict[Status, int] = {Status.abnormal: 0, Status.missed: 1, Status.due: 2, Status.ok: 3}


class Flag(StrEnum):
    test_positive = "test_positive"
    high_fever = "high_fever"
    fever = "fever"
    symptoms = "symptoms"
    callback_requested = "callback_requested"
    missed_reading = "missed_reading"
    due = "due"
    ready_for_release = "ready_for_release"
    no_video_today = "no_video_today"
    video_unclear = "video_unclear"


@dataclass(frozen=True, slots=True)
class Evaluation:
    status: Status
    flags: tuple[Flag, ...]
    status_valid_until: datetime


@dataclass(frozen=True, slots=True)
class SweepParameters:
    """The per-instant inputs of every rule, shared by every subject; bind them into the SQL twins."""

    now: datetime
    # The latest closed window (missed), the one before it (missed twice), and the open one (due).
    closed: HeldWindow | None
    closed_before: HeldWindow | None
    opened: HeldWindow | None
    next_boundary: datetime
    # Fevers and symptoms taken after this instant still count (``now - rules.flag_lookback``).
    flag_cutoff: datetime


def sweep_parameters(now: datetime, rules: Rules) -> SweepParameters:
    require_aware(now, "now")
    closed = latest_closed_window(now, rules)
    before = latest_closed_window(closed.start, rules) if closed is not None else None
    opened = open_window(now, rules)
    return SweepParameters(
        now=now,
        closed=HeldWindow.closed(closed, rules) if closed else None,
        closed_before=HeldWindow.closed(before, rules) if before else None,
        opened=HeldWindow.open(opened) if opened else None,
        next_boundary=next_boundary(now, rules),
        flag_cutoff=now - rules.flag_lookback,
    )


def _within(moment: datetime | None, now: datetime, lookback: timedelta) -> bool:
    # No upper bound: a reading stamped a little after `now` (clock skew, or a sweep whose `now` was
    # taken before the reading committed) must still count, exactly as the SQL's `> flag_cutoff` does.
    return moment is not None and moment > now - lookback


# The stored severity orders the roster's first group (everyone below SEVERITY_NONE needs attention);
# the database's partial indexes and counters carry "< 3" and "= 3", so nothing-abnormal stays 3 and new
# levels go below it.
SEVERITY_TEST_POSITIVE = -2
SEVERITY_HIGH_FEVER = -1
SEVERITY_FEVER = 0
SEVERITY_SYMPTOMS = 1
SEVERITY_CALLBACK = 2
SEVERITY_NONE = 3


def severity(state: SubjectState, now: datetime, rules: Rules) -> int:
    """Order within the roster's first group, the people who need attention: a positive test (whatever
    the thermometer says), high fever, fever, symptoms, a call-back request nobody has handled yet;
    then SEVERITY_NONE, nothing abnormal (their status follows from their windows: missed, due, ok).

    The SQL sweep mirrors it with the same cut-off, ``now - rules.flag_lookback``."""
    if state.test_positive:
        return SEVERITY_TEST_POSITIVE
    lookback = rules.flag_lookback
    if _within(state.last_high_fever_at, now, lookback):
        return SEVERITY_HIGH_FEVER
    if _within(state.last_fever_at, now, lookback):
        return SEVERITY_FEVER
    if _within(state.last_symptoms_at, now, lookback):
        return SEVERITY_SYMPTOMS
    if state.callback_requested:
        return SEVERITY_CALLBACK
    return SEVERITY_NONE


def _missing(window: HeldWindow | None, state: SubjectState) -> bool:
    return window is not None and window_missing(state, window)


def roster_status(state: SubjectState, sweep: SweepParameters, *, severity_now: int) -> Status:
    """The status of someone under observation from their severity at ``sweep.now`` and their windows.

    Only the severity is stored (it changes with readings, and with fevers ageing out); missed and due
    change whenever a window opens or closes, so the server derives them from the filled windows at read
    time, with this rule (SQL twin: ``server.roster.rules_sql.status_rank``). The roster counts apply it
    to a group of people who share their filled windows and are held to every window."""
    if severity_now < SEVERITY_NONE:
        return Status.abnormal
    if _missing(sweep.closed, state):
        return Status.missed
    if _missing(sweep.opened, state):
        return Status.due
    return Status.ok


def missed_twice(state: SubjectState, now: datetime, rules: Rules, *, sweep: SweepParameters | None = None) -> bool:
    """Whether the last two closed windows both count against the person and both went unreported."""
    if sweep is None:
        sweep = sweep_parameters(now, rules)
    return not state.released and _missing(sweep.closed, state) and _missing(sweep.closed_before, state)


def evaluate(
    state: SubjectState,
    now: datetime,
    rules: Rules,
    *,
    video_rules: bool = False,
    sweep: SweepParameters | None = None,
) -> Evaluation:
    """Status and flags of one subject at ``now``, and until when the status holds without new data.

    Pass ``sweep=sweep_parameters(now, rules)`` when evaluating a whole roster: it is the same for
    everyone and costs more than the rest of the evaluation.
    """
    if sweep is None:
        sweep = sweep_parameters(now, rules)
    elif sweep.now != now:
        raise ValueError("The sweep parameters were computed for another instant than now.")
    if state.released:
        return Evaluation(Status.ok, (), sweep.next_boundary)

    raised: set[Flag] = set()
    if state.test_positive:
        raised.add(Flag.test_positive)
    lookback = rules.flag_lookback
    if _within(state.last_high_fever_at, now, lookback):
        raised.add(Flag.high_fever)
    elif _within(state.last_fever_at, now, lookback):
        raised.add(Flag.fever)
    if _within(state.last_symptoms_at, now, lookback):
        raised.add(Flag.symptoms)
    if state.callback_requested:
        raised.add(Flag.callback_requested)
    # A window counts as missed only if the person was enrolled in good time before it closed: someone
    # enrolled at 15:00 has not missed the morning window and must not land on the roster as "missed".
    if _missing(sweep.closed, state):
        raised.add(Flag.missed_reading)
    if _missing(sweep.opened, state):
        raised.add(Flag.due)
    if release_eligibility(state, now, rules).eligible:
        raised.add(Flag.ready_for_release)
    if video_rules:
        raised.update(_video_flags(state, now, rules))

    status = roster_status(state, sweep, severity_now=severity(state, now, rules))

    expiries = [
        t + lookback
        for t in (state.last_fever_at, state.last_high_fever_at, state.last_symptoms_at)
        if t is not None and t + lookback > now
    ]
    return Evaluation(
        status=status,
        flags=tuple(flag for flag in Flag if flag in raised),
        status_valid_until=min([sweep.next_boundary, *expiries]),
    )


class VideoToday(StrEnum):
    """Today's video check-in as the person and the roster are told it."""

    done = "done"
    unclear = "unclear"  # completed, but no snapshot showed a face: worth doing again
    none = "none"


def video_today(state: SubjectState, now: datetime, rules: Rules) -> VideoToday:
    """Whether a check-in completed on today's local date, and whether a face was seen in it."""
    completed = state.last_checkin_completed_at
    if completed is None or local_date(completed, rules) != local_date(now, rules):
        return VideoToday.none
    return VideoToday.unclear if state.last_checkin_face_seen is False else VideoToday.done


def _video_flags(state: SubjectState, now: datetime, rules: Rules) -> set[Flag]:
    today = local_date(now, rules)
    checked_in_today = video_today(state, now, rules) is not VideoToday.none
    flags: set[Flag] = set()
    todays_windows = windows_on(today, rules)
    if today >= state.start_date and todays_windows and todays_windows[-1].end <= now and not checked_in_today:
        flags.add(Flag.no_video_today)
    if checked_in_today and state.last_checkin_face_seen is False:
        flags.add(Flag.video_unclear)
    return flags
