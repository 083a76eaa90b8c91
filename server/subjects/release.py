"""Release from observation: eligibility by the rules, or an admin's recorded override."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Eligibility, Rules, release_eligibility
from server.audit import service as audit
from server.auth.principal import Staff
from server.domain_events import emit
from server.errors import Conflict, Invalid
from server.models import ACTIVE, RELEASED, Subject
from server.roster.status import subject_state


def eligibility(subject: Subject, *, now: datetime, rules: Rules) -> Eligibility:
    return release_eligibility(subject_state(subject), now, rules)


def reasons_payload(result: Eligibility) -> list[dict[str, str]]:
    return [{"code": r.code, "message": r.message} for r in result.reasons]


async def release(
    session: AsyncSession, *, actor: Staff, subject: Subject, note: str | None, override: bool,
    rules: Rules, now: datetime,
) -> Subject:
    if subject.state != ACTIVE:
        raise Conflict("This person has already been released.")
    result = eligibility(subject, now=now, rules=rules)
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
    audit.record(session, actor, "subject.released", subject_id=subject.id, override=subject.release_override,
                 unmet=[r.code for r in result.reasons], note=note)
    emit(session, "subject.released", subject_id=str(subject.id), grid_id=subject.grid_id, status="released",
         flags=[])
    return subject
