from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitoring import Rules, WindowSpec, parse_windows


def test_parse_windows_reads_the_default_schedule() -> None:
    assert parse_windows("07:00-11:00,17:00-21:00") == (
        WindowSpec(time(7), time(11)),
        WindowSpec(time(17), time(21)),
    )


def test_parse_windows_tolerates_whitespace_and_sorts_by_start() -> None:
    assert parse_windows("  17:00 - 21:00 ,\t7:30-11:00 ") == (
        WindowSpec(time(7, 30), time(11)),
        WindowSpec(time(17), time(21)),
    )


def test_parse_windows_allows_windows_that_touch() -> None:
    assert len(parse_windows("07:00-12:00,12:00-13:00")) == 2


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "No reading windows"),
        (" , ", "No reading windows"),
        ("07:00", "HH:MM-HH:MM"),
        ("7-11", "HH:MM-HH:MM"),
        ("07:00-11:00,", "HH:MM-HH:MM"),
        ("07:00-11:00;17:00-21:00", "HH:MM-HH:MM"),
        ("25:00-26:00", "impossible time"),
        ("07:00-24:00", "impossible time"),
        ("07:60-08:00", "impossible time"),
        ("11:00-07:00", "must end after it starts"),
        ("07:00-07:00", "must end after it starts"),
        ("07:00-11:00,10:00-12:00", "overlap"),
        ("10:00-12:00,07:00-11:00", "overlap"),
    ],
)
def test_parse_windows_refuses_bad_text_with_a_readable_message(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_windows(text)


def test_window_spec_refuses_end_before_start() -> None:
    with pytest.raises(ValueError, match="must end after it starts"):
        WindowSpec(time(11), time(7))


def test_default_rules_are_the_2020_practice() -> None:
    rules = Rules()
    assert rules.tz == ZoneInfo("Asia/Shanghai")
    assert (rules.fever_c, rules.high_fever_c, rules.observation_days) == (37.3, 38.5, 14)
    assert rules.flag_lookback == timedelta(hours=24)
    assert rules.release_fever_free == timedelta(hours=72)
    assert rules.max_future_skew == timedelta(minutes=5)
    assert [str(w) for w in rules.windows] == ["07:00-11:00", "17:00-21:00"]


def test_rules_are_hashable_so_they_can_key_caches() -> None:
    assert hash(Rules()) == hash(Rules())


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"fever_c": 38.5}, "below high fever"),
        ({"fever_c": 39.0}, "below high fever"),
        ({"observation_days": 0}, "at least one day"),
        ({"timezone": "Mars/Olympus_Mons"}, "Unknown timezone"),
        ({"timezone": "../etc/passwd"}, "Unknown timezone"),
        ({"timezone": ""}, "Unknown timezone"),
        ({"flag_lookback": timedelta(0)}, "positive"),
        ({"min_plausible_c": 43.0}, "plausible"),
        ({"max_future_skew": timedelta(minutes=-1)}, "negative"),
        (
            {"windows": (WindowSpec(time(17), time(21)), WindowSpec(time(7), time(11)))},
            "sorted",
        ),
        (
            {"windows": (WindowSpec(time(7), time(12)), WindowSpec(time(11), time(13)))},
            "overlap",
        ),
    ],
)
def test_rules_refuse_inconsistent_settings(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        Rules(**kwargs)  # type: ignore[arg-type]
