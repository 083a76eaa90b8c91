from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring import (
    STATUS_RANK,
    Flag,
    HeldWindow,
    Rules,
    Status,
    SubjectState,
    SweepParameters,
    VideoToday,
    WindowSpec,
    apply_reading,
    evaluate,
    local_date,
    missed_twice,
    record_filled_window,
    severity,
    sweep_parameters,
    video_today,
    windows_on,
)
from monitoring.flags import (
    SEVERITY_CALLBACK,
    SEVERITY_FEVER,
    SEVERITY_HIGH_FEVER,
    SEVERITY_NONE,
    SEVERITY_SYMPTOMS,
    SEVERITY_TEST_POSITIVE,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = Rules()
ONE_US = timedelta(microseconds=1)
START = date(2020, 2, 1)


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2020, 2, day, hour, minute, tzinfo=SHANGHAI)


def window_start(day: int, index: int) -> datetime:
    return windows_on(date(2020, 2, day), RULES)[index].start


def state(**changes: object) -> SubjectState:
    base = SubjectState(start_date=START, planned_end_date=date(2020, 2, 15))
    return replace(base, **changes)  # type: ignore[arg-type]


# Day 3 at 12:00: the morning window (07-11) has closed, the evening one (17-21) has not opened.
MIDDAY = sh(3, 12)
MORNING_DONE = state(filled_windows=(window_start(3, 0),), last_reading_at=sh(3, 8))


# --- examples: one per flag -----------------------------------------------------------------------


def test_a_subject_who_reported_in_the_last_window_is_ok() -> None:
    evaluation = evaluate(MORNING_DONE, MIDDAY, RULES)
    assert evaluation.status is Status.ok
    assert evaluation.flags == ()
    assert evaluation.status_valid_until == sh(3, 17)


def test_an_unfilled_closed_window_is_missed() -> None:
    evaluation = evaluate(state(filled_windows=(window_start(2, 1),)), MIDDAY, RULES)
    assert evaluation.status is Status.missed
    assert evaluation.flags == (Flag.missed_reading,)


def test_an_unfilled_open_window_is_due() -> None:
    evaluation = evaluate(state(filled_windows=(window_start(3, 0),)), sh(3, 18), RULES)
    assert evaluation.status is Status.due
    assert evaluation.flags == (Flag.due,)
    assert evaluation.status_valid_until == sh(3, 21)


def test_missed_outranks_due() -> None:
    evaluation = evaluate(state(), sh(3, 18), RULES)
    assert evaluation.status is Status.missed
    assert evaluation.flags == (Flag.missed_reading, Flag.due)


def test_windows_before_the_start_date_are_neither_missed_nor_due() -> None:
    starting_today = state(start_date=date(2020, 2, 3))
    assert evaluate(starting_today, sh(3, 6), RULES).status is Status.ok
    assert evaluate(starting_today, sh(3, 8), RULES).flags == (Flag.due,)
    assert evaluate(state(start_date=date(2020, 2, 4)), sh(3, 8), RULES).status is Status.ok


def test_fever_within_24_hours_is_abnormal() -> None:
    evaluation = evaluate(replace(MORNING_DONE, last_fever_at=sh(3, 8)), MIDDAY, RULES)
    assert evaluation.status is Status.abnormal
    assert evaluation.flags == (Flag.fever,)


def test_high_fever_replaces_the_fever_flag() -> None:
    feverish = replace(MORNING_DONE, last_fever_at=sh(3, 8), last_high_fever_at=sh(3, 8))
    assert evaluate(feverish, MIDDAY, RULES).flags == (Flag.high_fever,)


def test_an_older_high_fever_still_shows_as_high_fever() -> None:
    feverish = replace(MORNING_DONE, last_fever_at=sh(3, 8), last_high_fever_at=sh(2, 18))
    assert evaluate(feverish, MIDDAY, RULES).flags == (Flag.high_fever,)


def test_symptoms_within_24_hours_are_abnormal() -> None:
    evaluation = evaluate(replace(MORNING_DONE, last_symptoms_at=sh(2, 18)), MIDDAY, RULES)
    assert evaluation.status is Status.abnormal
    assert evaluation.flags == (Flag.symptoms,)
    assert evaluation.status_valid_until == sh(3, 17)


def test_abnormal_ends_exactly_one_lookback_after_the_fever() -> None:
    fever_at = MIDDAY - timedelta(hours=24)
    assert evaluate(replace(MORNING_DONE, last_fever_at=fever_at), MIDDAY, RULES).status is Status.ok
    still = replace(MORNING_DONE, last_fever_at=fever_at + ONE_US)
    evaluation = evaluate(still, MIDDAY, RULES)
    assert evaluation.status is Status.abnormal
    assert evaluation.status_valid_until == MIDDAY + ONE_US


def test_a_fever_stamped_slightly_after_now_counts() -> None:
    feverish = replace(MORNING_DONE, last_fever_at=MIDDAY + timedelta(minutes=10))
    assert evaluate(feverish, MIDDAY, RULES).status is Status.abnormal


def test_abnormal_outranks_missed_and_flags_follow_the_enum_order() -> None:
    evaluation = evaluate(
        state(last_symptoms_at=sh(3, 17, 30), last_fever_at=sh(3, 17, 30), last_high_fever_at=sh(3, 17, 30)),
        sh(3, 18),
        RULES,
    )
    assert evaluation.status is Status.abnormal
    assert evaluation.flags == (Flag.high_fever, Flag.symptoms, Flag.missed_reading, Flag.due)


def test_ready_for_release_is_a_flag_not_a_status() -> None:
    done = state(
        filled_windows=(window_start(15, 0), window_start(14, 1)),
        last_reading_at=sh(15, 8),
    )
    evaluation = evaluate(done, sh(15, 12), RULES)
    assert evaluation.status is Status.ok
    assert evaluation.flags == (Flag.ready_for_release,)


def test_no_video_today_after_the_last_window_of_the_day_has_closed() -> None:
    evening_done = replace(MORNING_DONE, filled_windows=(window_start(3, 1), window_start(3, 0)))
    assert evaluate(evening_done, sh(3, 22), RULES, video_rules=True).flags == (Flag.no_video_today,)
    assert evaluate(evening_done, sh(3, 22), RULES).flags == ()
    assert evaluate(evening_done, sh(3, 20, 59), RULES, video_rules=True).flags == ()
    yesterday = replace(evening_done, last_checkin_completed_at=sh(2, 19))
    assert Flag.no_video_today in evaluate(yesterday, sh(3, 22), RULES, video_rules=True).flags
    today = replace(evening_done, last_checkin_completed_at=sh(3, 19), last_checkin_face_seen=True)
    assert evaluate(today, sh(3, 22), RULES, video_rules=True).flags == ()


def test_no_video_today_is_not_asked_before_the_start_date() -> None:
    not_started = state(start_date=date(2020, 2, 4))
    assert evaluate(not_started, sh(3, 22), RULES, video_rules=True).flags == ()


def test_video_unclear_when_todays_check_in_did_not_see_a_face() -> None:
    unclear = replace(MORNING_DONE, last_checkin_completed_at=sh(3, 9), last_checkin_face_seen=False)
    assert evaluate(unclear, MIDDAY, RULES, video_rules=True).flags == (Flag.video_unclear,)
    assert evaluate(unclear, MIDDAY, RULES).flags == ()
    unknown = replace(unclear, last_checkin_face_seen=None)
    assert evaluate(unknown, MIDDAY, RULES, video_rules=True).flags == ()
    assert Flag.video_unclear not in evaluate(unclear, sh(4, 6), RULES, video_rules=True).flags


def test_todays_video_check_in_is_done_unclear_or_none_by_the_local_date() -> None:
    assert video_today(MORNING_DONE, MIDDAY, RULES) is VideoToday.none
    done = replace(MORNING_DONE, last_checkin_completed_at=sh(3, 0, 5), last_checkin_face_seen=True)
    assert video_today(done, sh(3, 23, 59), RULES) is VideoToday.done
    assert video_today(done, sh(4, 0, 0), RULES) is VideoToday.none  # a new local day, not 24 hours later
    unclear = replace(done, last_checkin_face_seen=False)
    assert video_today(unclear, MIDDAY, RULES) is VideoToday.unclear
    # No snapshot judged (face unknown) is not called unclear, as the video_unclear flag agrees.
    assert video_today(replace(done, last_checkin_face_seen=None), MIDDAY, RULES) is VideoToday.done


def test_a_released_subject_is_ok_without_flags() -> None:
    released = state(released=True, last_fever_at=sh(3, 8), last_symptoms_at=sh(3, 8))
    evaluation = evaluate(released, MIDDAY, RULES, video_rules=True)
    assert (evaluation.status, evaluation.flags) == (Status.ok, ())
    assert evaluation.status_valid_until > MIDDAY


def test_status_rank_puts_the_most_severe_first() -> None:
    assert sorted(Status, key=lambda s: s.rank) == [Status.abnormal, Status.missed, Status.due, Status.ok]
    assert STATUS_RANK[Status.missed] == Status.missed.rank == 1


def test_sweep_parameters_name_the_windows_the_status_depends_on() -> None:
    parameters = sweep_parameters(sh(3, 18), RULES)
    assert parameters == SweepParameters(
        now=sh(3, 18),
        # 11:00 close minus an hour's grace
        closed=HeldWindow(window_start(3, 0), date(2020, 2, 3), window_start(3, 0) + timedelta(hours=3)),
        closed_before=HeldWindow(window_start(2, 1), date(2020, 2, 2), window_start(2, 1) + timedelta(hours=3)),
        opened=HeldWindow(window_start(3, 1), date(2020, 2, 3), None),
        next_boundary=sh(3, 21),
        flag_cutoff=sh(2, 18),
    )
    assert sweep_parameters(MIDDAY, RULES).opened is None


def test_missed_twice_needs_both_closed_windows_to_count_and_be_empty() -> None:
    evening_over = sh(3, 21, 1)
    assert missed_twice(state(), evening_over, RULES)
    assert not missed_twice(MORNING_DONE, evening_over, RULES)
    assert not missed_twice(state(released=True), evening_over, RULES)
    # Enrolled at 20:30: the evening window closes within the grace, the morning one before enrolment.
    assert not missed_twice(state(start_date=date(2020, 2, 3), enrolled_at=sh(3, 20, 30)), evening_over, RULES)
    # Enrolled at 09:00 on the first day: both of that day's windows count.
    assert missed_twice(state(start_date=date(2020, 2, 3), enrolled_at=sh(3, 9)), evening_over, RULES)
    # Observation starting today: yesterday evening does not count, so this morning alone is not twice.
    assert not missed_twice(state(start_date=date(2020, 2, 3)), sh(3, 11, 1), RULES)


def test_subject_state_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        state(last_reading_at=datetime(2020, 2, 3, 8, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        state(filled_windows=(datetime(2020, 2, 3, 8, 0),))


def test_evaluate_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(state(), datetime(2020, 2, 3, 8, 0), RULES)


# --- record_filled_window and apply_reading -------------------------------------------------------

T = [datetime(2020, 2, 1, tzinfo=UTC) + timedelta(hours=12 * i) for i in range(5)]


def test_record_filled_window_keeps_the_two_newest_starts_newest_first() -> None:
    assert record_filled_window((), T[1]) == (T[1],)
    assert record_filled_window((T[1],), T[2]) == (T[2], T[1])
    assert record_filled_window((T[2], T[1]), T[3]) == (T[3], T[2])
    assert record_filled_window((T[3], T[2]), T[3]) == (T[3], T[2])


def test_a_late_reading_for_an_old_window_does_not_displace_newer_ones() -> None:
    assert record_filled_window((T[3], T[2]), T[0]) == (T[3], T[2])
    assert record_filled_window((T[3], T[1]), T[2]) == (T[3], T[2])


@settings(max_examples=200, deadline=None)
@given(
    previous=st.lists(st.sampled_from(T), max_size=2, unique=True).map(lambda ts: tuple(sorted(ts, reverse=True))),
    added=st.sampled_from(T),
)
def test_record_filled_window_is_the_top_two_of_the_union(previous: tuple[datetime, ...], added: datetime) -> None:
    result = record_filled_window(previous, added)
    assert result == tuple(sorted({*previous, added}, reverse=True))[:2]
    assert len(set(result)) == len(result) <= 2
    assert list(result) == sorted(result, reverse=True)
    assert (added in result) == (len(previous) < 2 or added >= min(previous))
    assert record_filled_window(result, added) == result


def test_apply_reading_keeps_the_summary_columns_consistent() -> None:
    after = apply_reading(state(), taken_at=sh(3, 8), temperature_c=38.6, has_symptoms=True, rules=RULES)
    assert after.last_reading_at == after.last_fever_at == after.last_high_fever_at == sh(3, 8)
    assert after.last_symptoms_at == sh(3, 8)
    assert after.filled_windows == (window_start(3, 0),)
    late = apply_reading(after, taken_at=sh(2, 18), temperature_c=37.5, has_symptoms=False, rules=RULES)
    assert late.last_reading_at == late.last_fever_at == sh(3, 8)
    assert late.filled_windows == (window_start(3, 0), window_start(2, 1))
    outside = apply_reading(late, taken_at=sh(3, 12), temperature_c=36.6, has_symptoms=False, rules=RULES)
    assert outside.filled_windows == late.filled_windows
    assert outside.last_reading_at == sh(3, 12)
    assert outside.last_fever_at == sh(3, 8)


# --- properties: evaluate agrees with the SQL sweep and with its own validity ---------------------

TIMEZONES = ["Asia/Shanghai", "UTC", "America/New_York"]
DST_TRANSITIONS = [datetime(2020, 3, 8, 7, tzinfo=UTC), datetime(2020, 11, 1, 6, tzinfo=UTC)]
rules_strategy = st.builds(
    Rules,
    timezone=st.sampled_from(TIMEZONES),
    windows=st.sampled_from(
        [
            RULES.windows,
            (WindowSpec(time(1), time(2, 30)), WindowSpec(time(2, 30), time(23, 59))),
            (WindowSpec(time(9), time(10)),),
        ]
    ),
    flag_lookback=st.sampled_from([timedelta(hours=24), timedelta(hours=12)]),
)
instants = st.one_of(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2021, 1, 1), timezones=st.just(UTC)),
    st.builds(
        lambda anchor, shift: anchor + shift,
        st.sampled_from(DST_TRANSITIONS),
        st.timedeltas(timedelta(days=-2), timedelta(days=2)),
    ),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Rules, datetime, SubjectState]:
    rules = draw(rules_strategy)
    now = draw(instants)
    if draw(st.booleans()):
        # Land exactly on a window edge or a day start, where off-by-one mistakes live.
        now = sweep_parameters(now, rules).next_boundary
    lookback = rules.flag_lookback
    moment = st.one_of(
        st.none(),
        st.timedeltas(-3 * lookback, timedelta(minutes=10)).map(lambda d: now + d),
        st.sampled_from([now - lookback, now - lookback + ONE_US, now]),
    )
    fever = draw(moment)
    high = draw(st.none() | st.timedeltas(timedelta(0), lookback).map(lambda d: fever - d)) if fever else None
    today = local_date(now, rules)
    nearby = [w.start for offset in (-2, -1, 0, 1) for w in windows_on(today + timedelta(days=offset), rules)]
    filled: tuple[datetime, ...] = ()
    for start in draw(st.lists(st.sampled_from(nearby), max_size=4)):
        filled = record_filled_window(filled, start)
    start_date = today + timedelta(days=draw(st.integers(-15, 2)))
    subject = SubjectState(
        start_date=start_date,
        planned_end_date=start_date + timedelta(days=14),
        last_reading_at=draw(moment),
        last_fever_at=fever,
        last_high_fever_at=high,
        last_symptoms_at=draw(moment),
        filled_windows=filled,
        open_alerts=draw(st.integers(0, 2)),
        enrolled_at=draw(st.none() | st.builds(lambda m: now - timedelta(minutes=m), st.integers(-120, 60 * 48))),
    )
    return rules, now, subject


def sql_case(subject: SubjectState, p: SweepParameters, rules: Rules) -> Status:
    """The sweep's CASE expression, transcribed as the server writes it."""
    if any(t is not None and t > p.flag_cutoff
           for t in (subject.last_high_fever_at, subject.last_fever_at, subject.last_symptoms_at)):
        return Status.abnormal
    for window, status in ((p.closed, Status.missed), (p.opened, Status.due)):
        if window is None or window.local_date < subject.start_date or window.start in subject.filled_windows:
            continue
        if window.enrolled_by is None or subject.enrolled_at is None or subject.enrolled_at <= window.enrolled_by:
            return status
    return Status.ok


@settings(max_examples=400, deadline=None)
@given(scenario=scenarios(), video_rules=st.booleans())
def test_evaluate_status_equals_the_sql_sweep(
    scenario: tuple[Rules, datetime, SubjectState], video_rules: bool
) -> None:
    rules, now, subject = scenario
    evaluation = evaluate(subject, now, rules, video_rules=video_rules)
    parameters = sweep_parameters(now, rules)
    assert evaluation.status is sql_case(subject, parameters, rules)
    # The offset `now` is written in changes nothing.
    assert evaluate(subject, now.astimezone(timezone(timedelta(hours=8))), rules, video_rules=video_rules) == (
        evaluation
    )


@settings(max_examples=300, deadline=None)
@given(scenario=scenarios(), fractions=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=3))
def test_status_holds_until_status_valid_until(
    scenario: tuple[Rules, datetime, SubjectState], fractions: list[float]
) -> None:
    rules, now, subject = scenario
    evaluation = evaluate(subject, now, rules)
    valid_until = evaluation.status_valid_until
    assert valid_until > now
    assert valid_until <= sweep_parameters(now, rules).next_boundary
    steps = (valid_until - now) // ONE_US
    for moment in [valid_until - ONE_US, *(now + ONE_US * int(steps * f) for f in fractions)]:
        assert evaluate(subject, moment, rules).status is evaluation.status


def test_a_roster_can_share_one_sweep_between_subjects() -> None:
    parameters = sweep_parameters(MIDDAY, RULES)
    for subject in (MORNING_DONE, state(), state(last_fever_at=sh(3, 8))):
        assert evaluate(subject, MIDDAY, RULES, sweep=parameters) == evaluate(subject, MIDDAY, RULES)
    with pytest.raises(ValueError, match="another instant"):
        evaluate(MORNING_DONE, MIDDAY + ONE_US, RULES, sweep=parameters)


def test_severity_orders_high_fever_then_fever_then_symptoms_then_a_callback_request() -> None:
    now = sh(3, 12)
    high = severity(state(last_fever_at=sh(3, 8), last_high_fever_at=sh(3, 8)), now, RULES)
    fever = severity(state(last_fever_at=sh(3, 8), last_symptoms_at=sh(3, 9)), now, RULES)
    symptoms = severity(state(last_symptoms_at=sh(3, 9)), now, RULES)
    callback = severity(state(callback_requested=True), now, RULES)
    assert (high, fever, symptoms, callback) == (SEVERITY_HIGH_FEVER, SEVERITY_FEVER, SEVERITY_SYMPTOMS,
                                                 SEVERITY_CALLBACK)
    assert SEVERITY_TEST_POSITIVE < high < fever < symptoms < callback < SEVERITY_NONE
    assert severity(state(last_fever_at=sh(2, 11), last_high_fever_at=sh(2, 11)), now, RULES) == SEVERITY_NONE
    assert severity(state(last_fever_at=sh(2, 11), last_high_fever_at=sh(2, 11), last_symptoms_at=sh(3, 9)),
                    now, RULES) == SEVERITY_SYMPTOMS
    # A fever outranks the request it came with; the request keeps the person up once the fever ages out.
    assert severity(state(last_fever_at=sh(3, 8), callback_requested=True), now, RULES) == SEVERITY_FEVER
    assert severity(state(last_fever_at=sh(2, 11), callback_requested=True), now, RULES) == SEVERITY_CALLBACK


def test_a_callback_request_needs_attention_before_a_missed_reading_and_never_ages_out() -> None:
    # Nothing reported all day, and asked to be called: first group, flagged both ways.
    asked = state(callback_requested=True)
    for moment in (sh(3, 12), sh(5, 12)):
        evaluation = evaluate(asked, moment, RULES)
        assert evaluation.status is Status.abnormal
        assert Flag.callback_requested in evaluation.flags and Flag.missed_reading in evaluation.flags
        assert evaluation.flags.index(Flag.callback_requested) < evaluation.flags.index(Flag.missed_reading)
    assert evaluate(state(), sh(3, 12), RULES).status is Status.missed
    assert evaluate(replace(asked, released=True), sh(3, 12), RULES).flags == ()
