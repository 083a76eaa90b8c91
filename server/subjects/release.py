"""Release from observation: eligibility by the rules, or an admin's recorded override."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Eligibility, Rules, local_date, release_eligibility
from monitoring.course import enrolment_end
from server.audit import service as audit
from server.auth.principal import Staff
from server.domain_events import emit
from server.errors import Conflict, Invalid
from server.models import ACTIVE, RELEASED, Subject
from server.roster.status import reevaluate, subject_state
from server.subjects import certificates, course


async def eligibility(session: AsyncSession, subject: Subject, *, now: datetime, rules: Rules) -> Eligibility:
    """Every unmet release rule, the test rule included (its tests are read here)."""
    tests = await course.lab_results(session, subject, rules)
    return release_eligibility(subject_state(subject), now, rules, tests)


async def eligibilities(session: AsyncSession, subjects: Sequence[Subject], *, now: datetime,
                        rules: Rules) -> list[Eligibility]:
    """:func:`eligibility` of a page of people, their tests read in one query."""
    tests = await course.lab_results_of(session, subjects, rules)
    return [release_eligibility(subject_state(s), now, rules, tests.get(s.id, [])) for s in subjects]


def reasons_payload(result: Eligibility) -> list[dict[str, str]]:
    return [{"code": r.code, "message": r.message} for r in result.reasons]


async def release(
    session: AsyncSession, *, actor: Staff, subject: Subject, note: str | None, override: bool,
    rules: Rules, now: datetime, secret_key: str,
) -> Subject:
    """Release a person; issues their release certificate."""
    if subject.state != ACTIVE:
        raise Conflict("This person has already been released.")
    result = await eligibility(session, subject, now=now, rules=rules)
    if not result.eligible and not override:
        raise Conflict(
            "This person cannot be released yet: " + " ".join(r.message for r in result.reasons),
            extra={"reasons": reasons_payload(result)},
        )
    if override and not result.eligible and not (note and note.strip()):
        raise Invalid("Releasing against the rules needs a note saying why.")
    subject.state = RELEASED
    subject.released_at = now
    subject.released_by = actor.db_user_id
    subject.release_note = note
    subject.release_override = bool(override and not result.eligible)
    certificates.issue(session, subject, secret_key=secret_key, rules=rules, now=now)
    audit.record(session, actor, "subject.released", subject_id=subject.id, override=subject.release_override,
                 unmet=[r.code for r in result.reasons], note=note)
    emit(session, "subject.released", subject_id=str(subject.id), grid_id=subject.grid_id, status="released",
         flags=[])
    return subject


async def readmit(
    session: AsyncSession, *, actor: Staff, subject: Subject, reason: str, last_exposure_date: date | None,
    rules: Rules, now: datetime,
) -> Subject:
    """Put a released (or closed) person back under observation from today, for the full period (or
    counted from a new last exposure); their release certificate is revoked at once."""
    if subject.state == ACTIVE:
        raise Conflict("This person is already under observation.")
    if subject.erased_at is not None:
        raise Conflict("This record has been erased; enrol the person again.")
    today = local_date(now, rules)
    if last_exposure_date is not None and last_exposure_date > today:
        raise Invalid("The last exposure date cannot be in the future.")
    end = enrolment_end(today, rules.observation_days, last_exposure_date, rules)
    if end <= today:
        raise Invalid("Counted from the last exposure the observation would already be over; "
                      "no enrolment is needed.")
    previous = {"state": subject.state, "released_at": subject.released_at.isoformat() if subject.released_at
                else None, "outcome": subject.outcome}
    subject.state = ACTIVE
    subject.released_at = None
    subject.released_by = None
    subject.release_note = None
    subject.release_override = False
    subject.outcome = None
    subject.closed_at = None
    subject.start_date = today
    subject.duration_days = (end - today).days
    subject.planned_end_date = end
    if last_exposure_date is not None:
        subject.last_exposure_date = last_exposure_date
    subject.end_date_reason = reason
    revoked = await certificates.revoke_all(session, subject.id, now=now)
    evaluation = reevaluate(session, subject, now=now, rules=rules)
    audit.record(session, actor, "subject.readmitted", subject_id=subject.id, reason=reason,
                 certificates_revoked=revoked, new_end=end.isoformat(), **previous)
    emit(session, "subject.readmitted", subject_id=str(subject.id), grid_id=subject.grid_id,
         status=evaluation.status.value, flags=[])
    return subject
