"""Whether a subject may be released from observation, and if not, why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitoring.rules import Rules
from monitoring.state import SubjectState
from monitoring.windows import local_date

_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Reason:
    """One unmet release rule; the server translates by ``code`` using ``params``."""

    code: str
    message: str
    params: Mapping[str, object] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class LabResult:
    """A test of this observation (since the person's current enrolment)."""

    kind: str  # "nucleic_acid" or "antigen"
    sampled_at: datetime
    result: str  # "pending", "negative" or "positive"


def spaced_negatives(tests: Sequence[LabResult], spacing: timedelta) -> list[LabResult]:
    """The longest run of negative nucleic-acid results, newest first, each sampled at least ``spacing``
    before the one after it (taking the newest first is optimal: it leaves the most room behind it)."""
    negatives = sorted((t for t in tests if t.kind == "nucleic_acid" and t.result == "negative"),
                       key=lambda t: t.sampled_at, reverse=True)
    chain: list[LabResult] = []
    for test in negatives:
        if not chain or chain[-1].sampled_at - test.sampled_at >= spacing:
            chain.append(test)
    return chain


def lab_reasons(tests: Sequence[LabResult], now: datetime, rules: Rules, *,
                known_positive: bool = False) -> list[Reason]:
    """The unmet parts of the test rule. A positive result always blocks release; the negative results
    are asked for only when the district requires them (``rules.release_negative_tests``)."""
    reasons: list[Reason] = []
    if known_positive or any(t.result == "positive" for t in tests):
        reasons.append(Reason("test_positive", "A test since enrolment was positive."))
    needed = rules.release_negative_tests
    if needed <= 0:
        return reasons
    chain = spaced_negatives(tests, rules.release_test_spacing)
    if len(chain) < needed:
        reasons.append(Reason(
            "tests_missing",
            f"{needed} negative nucleic-acid tests at least {_span(rules.release_test_spacing)} apart are needed; "
            f"there are {len(chain)}.", {"needed": needed, "have": len(chain)}))
    if chain and now - chain[0].sampled_at > rules.release_test_max_age:
        reasons.append(Reason(
            "test_too_old",
            f"The latest negative test was sampled more than {_span(rules.release_test_max_age)} ago.",
            {"hours": rules.release_test_max_age / _HOUR, "sampled_at": chain[0].sampled_at.isoformat()}))
    return reasons


@dataclass(frozen=True, slots=True)
class Eligibility:
    eligible: bool
    reasons: tuple[Reason, ...]


def _span(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60} hours" if minutes % 60 == 0 else f"{minutes} minutes"


def _within(moment: datetime | None, now: datetime, span: timedelta) -> bool:
    return moment is not None and moment > now - span


def period_over(state: SubjectState, now: datetime, rules: Rules) -> bool:
    """Whether the observation period has ended: a release candidate, if still under observation."""
    return not state.released and local_date(now, rules) >= state.planned_end_date


def release_eligibility(state: SubjectState, now: datetime, rules: Rules,
                        tests: Sequence[LabResult] = ()) -> Eligibility:
    """Every unmet release rule, in a fixed order, so staff see all of them at once."""
    if state.released:
        # The other rules say nothing useful about someone who has already gone home.
        return Eligibility(False, (Reason("already_released", "This person has already been released."),))

    reasons: list[Reason] = []
    if not period_over(state, now, rules):
        end = state.planned_end_date.isoformat()
        reasons.append(
            Reason("period_not_over", f"The observation period runs until {end}.", {"planned_end_date": end})
        )
    fevers = [t for t in (state.last_fever_at, state.last_high_fever_at) if t is not None]
    last_fever = max(fevers, default=None)
    if _within(last_fever, now, rules.release_fever_free):
        span = rules.release_fever_free
        reasons.append(
            Reason(
                "recent_fever",
                f"There was a fever in the last {_span(span)}.",
                {"hours": span / _HOUR, "last_fever_at": last_fever.isoformat() if last_fever else None},
            )
        )
    if state.open_alerts > 0:
        count = state.open_alerts
        noun = "alert is" if count == 1 else "alerts are"
        reasons.append(Reason("open_alerts", f"{count} {noun} still open.", {"count": count}))
    if not _within(state.last_reading_at, now, rules.release_recent_reading):
        span = rules.release_recent_reading
        reasons.append(
            Reason(
                "no_recent_reading",
                f"There is no temperature reading from the last {_span(span)}.",
                {"hours": span / _HOUR},
            )
        )
    if rules.release_requires_checkin and not _within(
        state.last_checkin_completed_at, now, rules.release_recent_checkin
    ):
        span = rules.release_recent_checkin
        reasons.append(
            Reason(
                "no_recent_checkin",
                f"There is no completed video check-in from the last {_span(span)}.",
                {"hours": span / _HOUR},
            )
        )
    reasons += lab_reasons(tests, now, rules, known_positive=state.test_positive)
    return Eligibility(not reasons, tuple(reasons))
