from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring import (
    HeldWindow,
    Rules,
    SubjectState,
    WindowState,
    awaits_reading,
    evaluate,
    open_window,
    period_over,
    todays_windows,
    window_missing,
    windows_on,
)
from monitoring.flags import Flag

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = Rules()
DAY = date(2020, 2, 3)
MORNING, EVENING = windows_on(DAY, RULES)


def sh(hour: int, minute: int = 0, *, day: int = 3) -> datetime:
    return datetime(2020, 2, day, hour, minute, tzinfo=SHANGHAI)


def person(**changes: object) -> SubjectState:
    values: dict[str, object] = {"start_date": date(2020, 2, 1), "planned_end_date": date(2020, 2, 15),
                                 "enrolled_at": sh(9, day=1)}
    return SubjectState(**(values | changes))  # type: ignore[arg-type]


def states(subject: SubjectState, now: datetime) -> list[WindowState]:
    return [w.state for w in todays_windows(subject, now, RULES)]


def test_todays_windows_show_done_open_missed_and_upcoming() -> None:
    assert states(person(), sh(8)) == [WindowState.open, WindowState.upcoming]
    assert states(person(filled_windows=(MORNING.start,)), sh(12)) == [WindowState.done, WindowState.upcoming]
    assert states(person(), sh(12)) == [WindowState.missed, WindowState.upcoming]
    assert states(person(), sh(22)) == [WindowState.missed, WindowState.missed]
    assert [(w.start, w.end) for w in todays_windows(person(), sh(8), RULES)] == [
        (MORNING.start, MORNING.end), (EVENING.start, EVENING.end)]


def test_todays_windows_do_not_hold_a_late_enrolment_or_a_future_start_against_anyone() -> None:
    enrolled_at_half_past_ten = person(start_date=DAY, enrolled_at=sh(10, 30))
    assert states(enrolled_at_half_past_ten, sh(12)) == [WindowState.before_start, WindowState.upcoming]
    assert states(person(start_date=DAY + timedelta(days=1)), sh(18)) == [
        WindowState.before_start, WindowState.before_start]
    # A reading is shown as done even before observation formally starts.
    assert states(person(start_date=DAY + timedelta(days=1), filled_windows=(MORNING.start,)), sh(12))[0] == (
        WindowState.done)


def test_a_reminder_awaits_whoever_has_not_reported_in_the_open_window() -> None:
    assert awaits_reading(person(), MORNING)
    assert not awaits_reading(person(filled_windows=(MORNING.start,)), MORNING)
    assert not awaits_reading(person(released=True), MORNING)
    assert not awaits_reading(person(start_date=DAY + timedelta(days=1)), MORNING)
    # No grace for an open window: someone enrolled during it can still report in it.
    assert awaits_reading(person(start_date=DAY, enrolled_at=sh(10, 50)), MORNING)


def test_the_period_is_over_on_the_planned_end_date_in_local_time() -> None:
    ends = person(planned_end_date=DAY)
    assert not period_over(ends, sh(23, 59, day=2), RULES)
    assert period_over(ends, sh(0, 0), RULES)
    assert not period_over(person(planned_end_date=DAY, released=True), sh(12), RULES)


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.integers(0, 3 * 24 * 60),
    enrolled=st.integers(-2 * 24 * 60, 24 * 60),
    start_offset=st.integers(-2, 2),
    filled=st.lists(st.sampled_from([MORNING.start, EVENING.start]), max_size=2),
)
def test_the_open_window_awaits_a_reading_exactly_when_the_roster_says_due_or_worse(
    minutes: int, enrolled: int, start_offset: int, filled: list[datetime],
) -> None:
    now = sh(0, day=2) + timedelta(minutes=minutes)
    subject = person(start_date=DAY + timedelta(days=start_offset), enrolled_at=now - timedelta(minutes=enrolled),
                     filled_windows=tuple(sorted(set(filled), reverse=True)))
    window = open_window(now, RULES)
    flags = evaluate(subject, now, RULES).flags
    assert (window is not None and awaits_reading(subject, window)) == (Flag.due in flags)
    shown = {w.start: w.state for w in todays_windows(subject, now, RULES)}
    if window is not None and window.start in shown:
        assert (shown[window.start] is WindowState.open) == awaits_reading(subject, window)
    for w in windows_on(now.astimezone(SHANGHAI).date(), RULES):
        if w.end <= now:
            assert (shown[w.start] is WindowState.missed) == window_missing(subject, HeldWindow.closed(w, RULES))
