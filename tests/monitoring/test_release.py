from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from monitoring import Flag, Reason, Rules, SubjectState, evaluate, release_eligibility
from monitoring.release import LabResult, spaced_negatives

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = Rules()
# The morning of day 15 of an observation that started on 1 February 2020.
NOW = datetime(2020, 2, 15, 9, 0, tzinfo=SHANGHAI)
READY = SubjectState(
    start_date=date(2020, 2, 1),
    planned_end_date=date(2020, 2, 15),
    last_reading_at=NOW - timedelta(hours=1),
)


def codes(state: SubjectState, now: datetime = NOW, rules: Rules = RULES,
          tests: Sequence[LabResult] = ()) -> list[str]:
    return [reason.code for reason in release_eligibility(state, now, rules, tests).reasons]


def test_a_subject_without_unmet_rules_is_eligible() -> None:
    eligibility = release_eligibility(READY, NOW, RULES)
    assert eligibility.eligible
    assert eligibility.reasons == ()
    assert Flag.ready_for_release in evaluate(READY, NOW, RULES).flags


def test_period_not_over_until_the_planned_end_date_names_the_date() -> None:
    the_day_before = datetime(2020, 2, 14, 23, 59, tzinfo=SHANGHAI)
    eligibility = release_eligibility(READY, the_day_before, RULES)
    assert not eligibility.eligible
    (reason,) = eligibility.reasons
    assert reason.code == "period_not_over"
    assert "2020-02-15" in reason.message
    assert reason.params == {"planned_end_date": "2020-02-15"}


def test_period_is_over_at_local_midnight_of_the_planned_end_date() -> None:
    assert codes(READY, datetime(2020, 2, 15, 0, 0, tzinfo=SHANGHAI)) == []


def test_a_fever_within_72_hours_blocks_release() -> None:
    assert codes(replace(READY, last_fever_at=NOW - timedelta(hours=71))) == ["recent_fever"]
    assert codes(replace(READY, last_fever_at=NOW - timedelta(hours=72))) == []


def test_a_high_fever_alone_also_blocks_release() -> None:
    assert codes(replace(READY, last_high_fever_at=NOW - timedelta(hours=2))) == ["recent_fever"]


def test_open_alerts_block_release_and_the_message_counts_them() -> None:
    eligibility = release_eligibility(replace(READY, open_alerts=2), NOW, RULES)
    (reason,) = eligibility.reasons
    assert reason.code == "open_alerts"
    assert reason.message == "2 alerts are still open."
    assert reason.params == {"count": 2}
    assert release_eligibility(replace(READY, open_alerts=1), NOW, RULES).reasons[0].message == (
        "1 alert is still open."
    )


def test_release_needs_a_reading_from_the_last_24_hours() -> None:
    assert codes(replace(READY, last_reading_at=None)) == ["no_recent_reading"]
    assert codes(replace(READY, last_reading_at=NOW - timedelta(hours=24))) == ["no_recent_reading"]
    assert codes(replace(READY, last_reading_at=NOW - timedelta(hours=23, minutes=59))) == []


def test_video_check_in_is_only_required_when_the_rules_say_so() -> None:
    strict = Rules(release_requires_checkin=True)
    assert codes(READY) == []
    assert codes(READY, rules=strict) == ["no_recent_checkin"]
    checked_in = replace(READY, last_checkin_completed_at=NOW - timedelta(hours=3))
    assert codes(checked_in, rules=strict) == []
    stale = replace(READY, last_checkin_completed_at=NOW - timedelta(hours=25))
    assert codes(stale, rules=strict) == ["no_recent_checkin"]


def test_every_unmet_rule_is_listed_in_a_fixed_order() -> None:
    state = replace(
        READY,
        last_reading_at=None,
        last_fever_at=NOW - timedelta(hours=30),
        open_alerts=1,
    )
    assert codes(state, NOW - timedelta(days=3), Rules(release_requires_checkin=True)) == [
        "period_not_over",
        "recent_fever",
        "open_alerts",
        "no_recent_reading",
        "no_recent_checkin",
    ]


def test_a_released_subject_is_not_eligible_again() -> None:
    eligibility = release_eligibility(replace(READY, released=True), NOW, RULES)
    assert not eligibility.eligible
    assert [reason.code for reason in eligibility.reasons] == ["already_released"]


def test_reasons_stay_hashable_despite_their_params() -> None:
    assert hash(Reason("open_alerts", "1 alert is still open.", {"count": 1})) == hash(
        Reason("open_alerts", "1 alert is still open.", {"count": 2})
    )


# The test rule ("released only after repeated testing").
TESTED = replace(RULES, release_negative_tests=2)


def negative(hours_ago: float, kind: str = "nucleic_acid") -> LabResult:
    return LabResult(kind, NOW - timedelta(hours=hours_ago), "negative")


def test_two_negative_tests_a_day_apart_allow_release() -> None:
    assert codes(READY, rules=TESTED, tests=[negative(2), negative(30)]) == []


def test_tests_too_close_together_or_antigen_only_do_not_count() -> None:
    assert codes(READY, rules=TESTED, tests=[negative(2), negative(20)]) == ["tests_missing"]
    assert codes(READY, rules=TESTED, tests=[negative(2, "antigen"), negative(30, "antigen")]) == ["tests_missing"]
    reason = release_eligibility(READY, NOW, TESTED, [negative(2)]).reasons[0]
    assert reason.params == {"needed": 2, "have": 1}


def test_the_latest_negative_must_be_recent_and_no_positive_since_enrolment() -> None:
    assert codes(READY, rules=TESTED, tests=[negative(80), negative(110)]) == ["test_too_old"]
    positive = LabResult("antigen", NOW - timedelta(hours=100), "positive")
    assert codes(READY, rules=TESTED, tests=[negative(2), negative(30), positive]) == ["test_positive"]
    # A positive result blocks release even where no tests are required.
    assert codes(READY, tests=[positive]) == ["test_positive"]
    assert codes(READY, tests=[LabResult("nucleic_acid", NOW, "pending")]) == []


@given(st.lists(st.tuples(st.integers(0, 300), st.sampled_from(["negative", "positive", "pending"]),
                          st.sampled_from(["nucleic_acid", "antigen"])), max_size=8))
def test_the_chain_of_negatives_is_spaced_and_as_long_as_possible(raw: list[tuple[int, str, str]]) -> None:
    tests = [LabResult(kind, NOW - timedelta(hours=h), result) for h, result, kind in raw]
    chain = spaced_negatives(tests, timedelta(hours=24))
    assert all(t.kind == "nucleic_acid" and t.result == "negative" for t in chain)
    assert all(a.sampled_at - b.sampled_at >= timedelta(hours=24) for a, b in zip(chain, chain[1:], strict=False))
    # No spaced chain is longer: brute force over every subset of the negatives.
    negatives = sorted({t.sampled_at for t in tests if t.kind == "nucleic_acid" and t.result == "negative"},
                       reverse=True)
    best = max((n for n in range(len(negatives) + 1) for combo in combinations(negatives, n)
                if all(a - b >= timedelta(hours=24) for a, b in zip(combo, combo[1:], strict=False))), default=0)
    assert len(chain) == best
