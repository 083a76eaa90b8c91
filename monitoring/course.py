"""The course of a case: when observation ends, how it is extended, and duplicates at enrolment.

A person's observation runs ``OBSERVATION_DAYS`` from their last exposure when that date is known (the
rule districts apply: a new contact restarts the count), otherwise for the enrolment's duration from its
start. Extensions only ever move the end later: shortening an observation is a release decision, taken
with the release rules, never by editing a date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from monitoring.days import planned_end_date
from monitoring.release import Reason
from monitoring.rules import Rules

MAX_EXTENSION_DAYS = 60


def end_after_exposure(last_exposure_date: date, rules: Rules) -> date:
    """The first local date on which an observation counted from this exposure is over."""
    return last_exposure_date + timedelta(days=rules.observation_days)


def enrolment_end(start_date: date, duration_days: int, last_exposure_date: date | None, rules: Rules) -> date:
    """The planned end of a new enrolment: from the last exposure when it is given, else from the start."""
    if last_exposure_date is not None:
        return end_after_exposure(last_exposure_date, rules)
    return planned_end_date(start_date, duration_days)


@dataclass(frozen=True, slots=True)
class Extension:
    new_end: date
    duration_days: int


def extend(
    *, start_date: date, current_end: date, days: int | None, last_exposure_date: date | None, today: date,
    rules: Rules,
) -> Extension | Reason:
    """The new end of an observation extended by ``days`` or restarted by a later ``last_exposure_date``
    (exactly one of them). Refused when it would not move the end later, or names an exposure in the
    future."""
    if (days is None) == (last_exposure_date is None):
        return Reason("extension_needs_one", "Give either a number of days or a new last exposure date.")
    if days is not None:
        if not 1 <= days <= MAX_EXTENSION_DAYS:
            return Reason("extension_days", f"An extension is 1 to {MAX_EXTENSION_DAYS} days.",
                                    {"max": MAX_EXTENSION_DAYS})
        new_end = current_end + timedelta(days=days)
    else:
        assert last_exposure_date is not None
        if last_exposure_date > today:
            return Reason("exposure_in_future", "The last exposure date cannot be in the future.")
        new_end = end_after_exposure(last_exposure_date, rules)
        if new_end <= current_end:
            return Reason(
                "extension_not_later",
                f"Counted from that exposure the observation would end on {new_end.isoformat()}, "
                f"not after the planned end {current_end.isoformat()}.",
                {"new_end": new_end.isoformat(), "current_end": current_end.isoformat()},
            )
    return Extension(new_end=new_end, duration_days=(new_end - start_date).days)


def normalised_name(name: str) -> str:
    """A name as duplicates are compared: without spaces (Chinese names are often typed with one between
    surname and given name, or none) and case-folded for Latin names."""
    return "".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class Identity:
    """What tells two enrolments of one person apart (ID number already upper-cased, phone normalised)."""

    full_name: str
    phone: str
    id_number: str | None


def duplicate_of(new: Identity, existing: Identity) -> str | None:
    """Why ``existing`` is the same person as ``new`` (``"id_number"`` or ``"name_and_phone"``), or None.
    An ID number identifies a person on its own; a name alone does not (namesakes are common), but a name
    with the same phone does."""
    if new.id_number and existing.id_number and new.id_number == existing.id_number:
        return "id_number"
    if new.phone == existing.phone and normalised_name(new.full_name) == normalised_name(existing.full_name):
        return "name_and_phone"
    return None


def erasure_due(ended_at: datetime | None, now: datetime, retention_days: int) -> bool:
    """Whether a closed case's personal data must go now: ``retention_days`` after release or closing
    (0: at the next run). A case still under observation (no end) is never due."""
    return ended_at is not None and now - ended_at >= timedelta(days=retention_days)


def erasure_cutoff(now: datetime, retention_days: int) -> datetime:
    """Cases ended at or before this moment are due for erasure (the same rule as :func:`erasure_due`)."""
    return now - timedelta(days=retention_days)


CertificateStatus = Literal["valid", "revoked", "expired"]


def certificate_status(*, revoked: bool, erased: bool) -> CertificateStatus:
    """What a checkpoint is told: a certificate is revoked when the person was put back under
    observation, and expired once their record has been erased (nothing is left to vouch for)."""
    if erased:
        return "expired"
    return "revoked" if revoked else "valid"


def masked_name(name: str) -> str:
    """A name as a checkpoint may see it: enough to match the person in front of them with their ID card,
    too little to identify them from the page alone. 王小明 → 王*明, 李华 → 李*, Wang Xiaoming → W*** X***."""
    name = name.strip()
    if not name:
        return ""
    if " " in name:
        return " ".join(part[0] + "*" * 3 for part in name.split())
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# Public-health actions staff record on a person's case.
ACTION_KINDS = ("referred_fever_clinic", "sample_taken", "moved_to_centralized", "moved_home", "hospitalized",
                "suspected_case", "confirmed_case", "ruled_out", "other")
# Outcomes that end home observation without a release: the person leaves the active roster as "closed".
CLOSING_ACTIONS = frozenset({"hospitalized", "confirmed_case"})
# Roster flags from actions, most serious last: a suspected case outranks a referral.
CASE_FLAGS = ("referred", "suspected")


@dataclass(frozen=True, slots=True)
class ActionEffect:
    """What an action changes on the person's record."""

    closes_with: str | None  # the outcome, when the action ends the observation
    case_flag: str | None  # the roster flag afterwards
    observation_type: str | None  # "home" or "centralized" when the action moves the person


def action_effect(kind: str, case_flag: str | None) -> ActionEffect:
    """The effect of recording ``kind`` on a person whose roster flag is ``case_flag``. A referral does not
    hide a suspicion already raised; ruling out clears both."""
    if kind not in ACTION_KINDS:
        raise ValueError(f"Unknown action {kind!r}.")
    if kind in CLOSING_ACTIONS:
        return ActionEffect(closes_with=kind, case_flag=case_flag, observation_type=None)
    flag = case_flag
    if kind == "referred_fever_clinic" and case_flag != "suspected":
        flag = "referred"
    elif kind == "suspected_case":
        flag = "suspected"
    elif kind == "ruled_out":
        flag = None
    moved = {"moved_to_centralized": "centralized", "moved_home": "home"}.get(kind)
    return ActionEffect(closes_with=None, case_flag=flag, observation_type=moved)


TEST_KINDS = ("nucleic_acid", "antigen")
TEST_RESULTS = ("pending", "negative", "positive")


def lab_state(results: Sequence[str]) -> str | None:
    """The roster's test flag from the results of this observation's tests: any positive outranks
    everything; otherwise a result still awaited shows as pending."""
    if "positive" in results:
        return "positive"
    if "pending" in results:
        return "pending"
    return None


def case_flags(case_flag: str | None, test_state: str | None) -> tuple[str, ...]:
    """The roster flags of a case's course beside the rules' own (a positive test is one of those: it
    makes the person abnormal): a suspected case, a referral, a test result awaited."""
    flags = []
    if case_flag in CASE_FLAGS:
        flags.append(case_flag)
    if test_state == "pending":
        flags.append("test_pending")
    return tuple(flags)
