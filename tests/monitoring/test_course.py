from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitoring import Reason, Rules
from monitoring.course import (
    Extension,
    Identity,
    duplicate_of,
    end_after_exposure,
    enrolment_end,
    extend,
)

RULES = Rules()
TODAY = date(2020, 2, 10)
START = date(2020, 2, 1)
END = date(2020, 2, 15)
dates = st.dates(min_value=date(2019, 12, 1), max_value=date(2020, 3, 31))


def test_enrolment_counts_from_the_last_exposure_when_it_is_known() -> None:
    assert enrolment_end(START, 14, None, RULES) == date(2020, 2, 15)
    assert enrolment_end(START, 21, date(2020, 1, 30), RULES) == date(2020, 2, 13)
    assert end_after_exposure(date(2020, 1, 30), Rules(observation_days=7)) == date(2020, 2, 6)


def test_extension_by_days_moves_the_end_and_the_duration() -> None:
    result = extend(start_date=START, current_end=END, days=7, last_exposure_date=None, today=TODAY, rules=RULES)
    assert result == Extension(new_end=date(2020, 2, 22), duration_days=21)


def test_a_new_exposure_restarts_the_count() -> None:
    result = extend(start_date=START, current_end=END, days=None, last_exposure_date=date(2020, 2, 9),
                    today=TODAY, rules=RULES)
    assert result == Extension(new_end=date(2020, 2, 23), duration_days=22)


def test_an_extension_needs_exactly_one_of_days_and_exposure() -> None:
    for days, exposure in ((None, None), (3, date(2020, 2, 9))):
        result = extend(start_date=START, current_end=END, days=days, last_exposure_date=exposure, today=TODAY,
                        rules=RULES)
        assert isinstance(result, Reason) and result.code == "extension_needs_one"


def test_an_exposure_in_the_future_or_one_that_ends_sooner_is_refused() -> None:
    future = extend(start_date=START, current_end=END, days=None, last_exposure_date=TODAY + timedelta(days=1),
                    today=TODAY, rules=RULES)
    assert isinstance(future, Reason) and future.code == "exposure_in_future"
    earlier = extend(start_date=START, current_end=END, days=None, last_exposure_date=date(2020, 1, 31),
                     today=TODAY, rules=RULES)
    assert isinstance(earlier, Reason) and earlier.code == "extension_not_later"
    assert earlier.params == {"new_end": "2020-02-14", "current_end": "2020-02-15"}


@given(current_end=dates, days=st.one_of(st.none(), st.integers(-5, 90)), exposure=st.one_of(st.none(), dates),
       today=dates)
def test_an_extension_never_moves_the_end_earlier(current_end: date, days: int | None, exposure: date | None,
                                                  today: date) -> None:
    start = min(current_end, today) - timedelta(days=3)
    result = extend(start_date=start, current_end=current_end, days=days, last_exposure_date=exposure, today=today,
                    rules=RULES)
    if isinstance(result, Extension):
        assert result.new_end > current_end
        assert start + timedelta(days=result.duration_days) == result.new_end
        assert exposure is None or exposure <= today


NAME = "王小明"
people = st.builds(Identity, full_name=st.sampled_from([NAME, "王 小明", "李华", "Wang Xiaoming", "wang xiaoming"]),
                   phone=st.sampled_from(["13800138000", "13900139000"]),
                   id_number=st.sampled_from([None, "510107199001011234", "110101198001010010"]))


def test_an_id_number_alone_identifies_a_person() -> None:
    a = Identity(NAME, "13800138000", "510107199001011234")
    b = Identity("李华", "13900139000", "510107199001011234")
    assert duplicate_of(a, b) == "id_number"


def test_a_name_needs_the_same_phone_and_spaces_do_not_matter() -> None:
    assert duplicate_of(Identity(NAME, "13800138000", None), Identity("王 小明", "13800138000", None)) \
        == "name_and_phone"
    assert duplicate_of(Identity(NAME, "13800138000", None), Identity(NAME, "13900139000", None)) is None
    # Two different ID numbers are two people, even with the same name and phone (twins sharing a phone).
    assert duplicate_of(Identity(NAME, "13800138000", "A1"), Identity(NAME, "13800138000", "B2")) \
        == "name_and_phone"


@given(people, people)
def test_being_the_same_person_is_symmetric(a: Identity, b: Identity) -> None:
    assert duplicate_of(a, b) == duplicate_of(b, a)
    assert duplicate_of(a, a) is not None
