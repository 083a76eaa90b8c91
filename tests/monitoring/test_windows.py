from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring import (
    Rules,
    WindowInstance,
    WindowSpec,
    day_start,
    latest_closed_window,
    local_date,
    next_boundary,
    observation_day,
    open_window,
    parse_windows,
    planned_end_date,
    window_for,
    windows_on,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
RULES = Rules()
ONE_US = timedelta(microseconds=1)

# Zones with DST gaps and overlaps at 02:00 (New York), at midnight (Santiago) and of 30 minutes
# (Lord Howe), next to the zones homewatch is really used in.
TIMEZONES = ["Asia/Shanghai", "UTC", "America/New_York", "America/Santiago", "Australia/Lord_Howe"]
DST_TRANSITIONS = [
    datetime(2020, 3, 8, 7, tzinfo=UTC),  # New York springs forward
    datetime(2020, 11, 1, 6, tzinfo=UTC),  # New York falls back
    datetime(2020, 9, 6, 4, tzinfo=UTC),  # Santiago skips midnight
    datetime(2020, 4, 5, 3, tzinfo=UTC),  # Santiago repeats 23:00
    datetime(2020, 10, 3, 15, 30, tzinfo=UTC),  # Lord Howe gains 30 minutes
    datetime(2020, 4, 4, 15, tzinfo=UTC),  # Lord Howe loses 30 minutes
]
# Wall-clock minutes around DST hours and day edges are drawn more often than chance would.
minutes_of_day = st.one_of(st.integers(0, 1439), st.sampled_from([0, 30, 60, 90, 120, 150, 180, 1380, 1439]))


@st.composite
def window_specs(draw: st.DrawFn) -> tuple[WindowSpec, ...]:
    count = draw(st.integers(1, 3))
    points = sorted(draw(st.lists(minutes_of_day, min_size=2 * count, max_size=2 * count)))
    pairs = [(points[i], points[i + 1]) for i in range(0, 2 * count, 2)]
    specs = tuple(WindowSpec(time(a // 60, a % 60), time(b // 60, b % 60)) for a, b in pairs if a < b)
    return specs or (WindowSpec(time(7), time(11)),)


rules_strategy = st.builds(Rules, timezone=st.sampled_from(TIMEZONES), windows=window_specs())
offsets = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])
instants = st.one_of(
    st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)),
    st.builds(
        lambda anchor, shift: anchor + shift,
        st.sampled_from(DST_TRANSITIONS),
        st.timedeltas(timedelta(days=-2), timedelta(days=2)),
    ),
)


def all_boundaries(now: datetime, rules: Rules) -> set[datetime]:
    today = local_date(now, rules)
    found: set[datetime] = set()
    for offset in range(-3, 4):
        day = today + timedelta(days=offset)
        found.add(day_start(day, rules))
        for window in windows_on(day, rules):
            found.update((window.start, window.end))
    return found


def nearby_windows(now: datetime, rules: Rules) -> list[WindowInstance]:
    today = local_date(now, rules)
    return [w for offset in range(-3, 4) for w in windows_on(today + timedelta(days=offset), rules)]


# --- examples -------------------------------------------------------------------------------------


def test_shanghai_windows_are_eight_hours_ahead_of_utc() -> None:
    morning, evening = windows_on(date(2020, 2, 1), RULES)
    assert morning == WindowInstance(
        start=datetime(2020, 1, 31, 23, tzinfo=UTC),
        end=datetime(2020, 2, 1, 3, tzinfo=UTC),
        local_date=date(2020, 2, 1),
        index=0,
    )
    assert (evening.start, evening.end, evening.index) == (
        datetime(2020, 2, 1, 9, tzinfo=UTC),
        datetime(2020, 2, 1, 13, tzinfo=UTC),
        1,
    )


def test_window_includes_its_start_and_excludes_its_end() -> None:
    morning = windows_on(date(2020, 2, 1), RULES)[0]
    assert window_for(morning.start, RULES) == morning
    assert window_for(morning.end - ONE_US, RULES) == morning
    assert window_for(morning.end, RULES) is None
    assert window_for(morning.start - ONE_US, RULES) is None


def test_open_window_accepts_any_offset() -> None:
    now = datetime(2020, 2, 1, 18, 30, tzinfo=SHANGHAI).astimezone(timezone(timedelta(hours=-3)))
    window = open_window(now, RULES)
    assert window is not None
    assert (window.local_date, window.index) == (date(2020, 2, 1), 1)


def test_latest_closed_window_before_the_first_window_is_yesterday_evening() -> None:
    window = latest_closed_window(datetime(2020, 2, 2, 6, 0, tzinfo=SHANGHAI), RULES)
    assert window is not None
    assert (window.local_date, window.index) == (date(2020, 2, 1), 1)


def test_latest_closed_window_counts_a_window_closed_at_exactly_now() -> None:
    window = latest_closed_window(datetime(2020, 2, 2, 11, 0, tzinfo=SHANGHAI), RULES)
    assert window is not None
    assert (window.local_date, window.index) == (date(2020, 2, 2), 0)


def test_latest_closed_window_is_none_without_windows() -> None:
    assert latest_closed_window(datetime(2020, 2, 2, tzinfo=UTC), Rules(windows=())) is None


def test_next_boundary_walks_through_a_shanghai_day() -> None:
    steps = [datetime(2020, 2, 1, 12, 0, tzinfo=SHANGHAI)]
    for _ in range(4):
        steps.append(next_boundary(steps[-1], RULES))
    assert [s.astimezone(SHANGHAI).strftime("%d %H:%M") for s in steps[1:]] == [
        "01 17:00",
        "01 21:00",
        "02 00:00",
        "02 07:00",
    ]
    assert all(s.tzinfo is UTC for s in steps[1:])


def test_new_york_spring_forward_moves_a_window_end_inside_the_gap_to_the_jump() -> None:
    rules = Rules(timezone="America/New_York", windows=parse_windows("01:00-02:30,03:00-04:00"))
    first, second = windows_on(date(2020, 3, 8), rules)
    assert (first.start, first.end) == (
        datetime(2020, 3, 8, 6, tzinfo=UTC),
        datetime(2020, 3, 8, 7, tzinfo=UTC),  # 03:00 EDT, the moment 02:00 EST jumps
    )
    assert first.end <= second.start


def test_new_york_spring_forward_skips_a_window_that_lies_in_the_gap() -> None:
    rules = Rules(timezone="America/New_York", windows=parse_windows("02:00-02:30,07:00-11:00"))
    assert [w.index for w in windows_on(date(2020, 3, 8), rules)] == [1]
    assert [w.index for w in windows_on(date(2020, 3, 9), rules)] == [0, 1]


def test_new_york_fall_back_makes_a_window_over_the_repeated_hour_two_hours_long() -> None:
    rules = Rules(timezone="America/New_York", windows=parse_windows("01:00-02:00"))
    (window,) = windows_on(date(2020, 11, 1), rules)
    assert window.end - window.start == timedelta(hours=2)


def test_new_york_default_windows_keep_their_local_times_across_dst() -> None:
    rules = Rules(timezone="America/New_York")
    winter = windows_on(date(2020, 3, 7), rules)[0].start
    summer = windows_on(date(2020, 3, 8), rules)[0].start
    assert winter.astimezone(NEW_YORK).time() == summer.astimezone(NEW_YORK).time() == time(7)
    assert summer - winter == timedelta(hours=23)


def test_day_lengths_follow_dst() -> None:
    rules = Rules(timezone="America/New_York")
    assert day_start(date(2020, 3, 9), rules) - day_start(date(2020, 3, 8), rules) == timedelta(hours=23)
    assert day_start(date(2020, 11, 2), rules) - day_start(date(2020, 11, 1), rules) == timedelta(hours=25)


def test_a_day_whose_midnight_does_not_exist_starts_at_the_jump() -> None:
    rules = Rules(timezone="America/Santiago")
    start = day_start(date(2020, 9, 6), rules)
    assert start == datetime(2020, 9, 6, 4, tzinfo=UTC)
    assert local_date(start, rules) == date(2020, 9, 6)
    assert local_date(start - ONE_US, rules) == date(2020, 9, 5)


def test_local_date_is_the_date_on_the_rules_clock() -> None:
    late_utc_evening = datetime(2020, 2, 1, 16, 0, tzinfo=UTC)
    assert local_date(late_utc_evening, RULES) == date(2020, 2, 2)
    assert local_date(late_utc_evening, Rules(timezone="UTC")) == date(2020, 2, 1)


def test_planned_end_date_is_start_plus_duration() -> None:
    assert planned_end_date(date(2020, 2, 1), 14) == date(2020, 2, 15)


def test_observation_day_one_is_the_start_date_and_counts_local_days() -> None:
    start = date(2020, 2, 1)
    assert observation_day(start, datetime(2020, 2, 1, 0, 0, tzinfo=SHANGHAI), RULES) == 1
    assert observation_day(start, datetime(2020, 2, 1, 16, 0, tzinfo=UTC), RULES) == 2
    assert observation_day(start, datetime(2020, 2, 14, 23, 59, tzinfo=SHANGHAI), RULES) == 14
    assert observation_day(start, datetime(2020, 1, 30, 12, 0, tzinfo=SHANGHAI), RULES) == -1


# --- properties -----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(rules=rules_strategy, now=instants, offset=offsets)
def test_every_instant_is_in_at_most_one_window_and_window_for_finds_it(
    rules: Rules, now: datetime, offset: timezone
) -> None:
    containing = [w for w in nearby_windows(now, rules) if w.start <= now < w.end]
    assert len(containing) <= 1
    expected = containing[0] if containing else None
    assert window_for(now, rules) == expected
    assert open_window(now.astimezone(offset), rules) == expected


@settings(max_examples=300, deadline=None)
@given(rules=rules_strategy, now=instants, on_boundary=st.booleans())
def test_next_boundary_is_the_nearest_boundary_after_now(rules: Rules, now: datetime, on_boundary: bool) -> None:
    if on_boundary:
        now = next_boundary(now, rules)
    boundary = next_boundary(now, rules)
    assert boundary > now
    assert boundary.tzinfo is UTC
    boundaries = all_boundaries(now, rules)
    assert boundary in boundaries
    assert not [b for b in boundaries if now < b < boundary]
    # Nothing observable changes before the boundary, and something does at it.
    just_before = boundary - ONE_US

    def observed(moment: datetime) -> tuple[object, ...]:
        return (open_window(moment, rules), latest_closed_window(moment, rules), local_date(moment, rules))

    assert observed(now) == observed(just_before)
    assert observed(just_before) != observed(boundary)


@settings(max_examples=200, deadline=None)
@given(rules=rules_strategy, now=instants)
def test_latest_closed_window_is_the_last_one_to_have_ended(rules: Rules, now: datetime) -> None:
    window = latest_closed_window(now, rules)
    assert window is not None
    assert window.end <= now
    assert not [w for w in nearby_windows(now, rules) if window.end < w.end <= now]


@settings(max_examples=200, deadline=None)
@given(
    rules=rules_strategy,
    day=st.one_of(
        st.dates(date(2019, 1, 1), date(2026, 12, 31)),
        st.sampled_from(DST_TRANSITIONS).map(lambda t: t.date()),
    ),
)
def test_a_local_day_contains_exactly_its_own_windows(rules: Rules, day: date) -> None:
    start, next_start = day_start(day, rules), day_start(day + timedelta(days=1), rules)
    assert local_date(start, rules) == day
    assert local_date(start - ONE_US, rules) == day - timedelta(days=1)
    assert local_date(next_start - ONE_US, rules) == day
    assert observation_day(day, start, rules) == 1
    assert observation_day(day, start - ONE_US, rules) == 0
    windows = windows_on(day, rules)
    assert list(windows) == sorted(windows)
    for earlier, later in zip(windows, windows[1:], strict=False):
        assert earlier.end <= later.start
    for window in windows:
        assert start <= window.start < window.end <= next_start
        assert window.local_date == day
        assert window.start.tzinfo is UTC and window.end.tzinfo is UTC
        assert window_for(window.start, rules) == window
        assert window_for(window.end - ONE_US, rules) == window
