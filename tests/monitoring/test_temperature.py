from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from monitoring import ReadingRejected, Rules, TemperatureClass, check_taken_at, classify, normalise_temperature

RULES = Rules()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (37.25, 37.3),
        (37.24, 37.2),
        (37.15, 37.2),  # the float is 37.1499..., but the person typed 37.15
        ("37.25", 37.3),
        (" 36.5 ", 36.5),
        (Decimal("36.45"), 36.5),
        (37, 37.0),
        (34.0, 34.0),
        (43.0, 43.0),
        (33.95, 34.0),
        (43.04, 43.0),
    ],
)
def test_normalise_temperature_rounds_half_up_to_one_decimal(
    value: float | int | str | Decimal, expected: float
) -> None:
    assert normalise_temperature(value, RULES) == expected


@pytest.mark.parametrize(
    "value",
    [33.9, 43.1, 43.05, -1, 0, 370, "abc", "", "37,5", float("nan"), float("inf"), "-inf", "NaN", "1e30", True],
)
def test_normalise_temperature_refuses_implausible_values(value: float | int | str) -> None:
    with pytest.raises(ReadingRejected) as caught:
        normalise_temperature(value, RULES)
    assert caught.value.code == "implausible_temperature"
    assert caught.value.params["min"] == 34.0
    assert caught.value.params["max"] == 43.0


def test_implausible_temperature_message_tells_the_person_what_to_do() -> None:
    with pytest.raises(ReadingRejected) as caught:
        normalise_temperature(33.9, RULES)
    assert str(caught.value) == caught.value.message
    assert caught.value.message == ("33.9 is not a plausible body temperature (34.0–43.0 °C). Please measure again.")


def test_reading_rejected_is_a_value_error() -> None:
    assert issubclass(ReadingRejected, ValueError)


@pytest.mark.parametrize(
    ("temperature", "expected"),
    [
        (36.5, TemperatureClass.normal),
        (37.2, TemperatureClass.normal),
        (37.3, TemperatureClass.fever),
        (38.4, TemperatureClass.fever),
        (38.5, TemperatureClass.high_fever),
        (40.1, TemperatureClass.high_fever),
    ],
)
def test_classify_uses_the_chinese_clinical_thresholds(temperature: float, expected: TemperatureClass) -> None:
    assert classify(temperature, RULES) is expected


def test_classify_agrees_with_normalise_at_the_threshold() -> None:
    assert classify(normalise_temperature("37.25", RULES), RULES) is TemperatureClass.fever
    assert classify(normalise_temperature("37.24", RULES), RULES) is TemperatureClass.normal


NOW = datetime(2020, 2, 3, 8, 0, tzinfo=UTC)


def test_check_taken_at_returns_utc() -> None:
    shanghai_time = datetime(2020, 2, 3, 15, 30, tzinfo=timezone(timedelta(hours=8)))
    result = check_taken_at(shanghai_time, NOW, RULES)
    assert result == datetime(2020, 2, 3, 7, 30, tzinfo=UTC)
    assert result.tzinfo is UTC


def test_check_taken_at_tolerates_a_few_minutes_of_clock_skew() -> None:
    assert check_taken_at(NOW + timedelta(minutes=5), NOW, RULES) == NOW + timedelta(minutes=5)


def test_check_taken_at_refuses_future_times() -> None:
    with pytest.raises(ReadingRejected) as caught:
        check_taken_at(NOW + timedelta(minutes=5, seconds=1), NOW, RULES)
    assert caught.value.code == "future_taken_at"


def test_check_taken_at_refuses_naive_times() -> None:
    with pytest.raises(ReadingRejected) as caught:
        check_taken_at(datetime(2020, 2, 3, 7, 0), NOW, RULES)
    assert caught.value.code == "naive_taken_at"


def test_check_taken_at_refuses_a_naive_now_as_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_taken_at(NOW, datetime(2020, 2, 3, 8, 0), RULES)
