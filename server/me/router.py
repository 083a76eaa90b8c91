"""What a person under observation sees of themselves."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from monitoring import Rules, observation_day, todays_windows
from server.deps import Ctx, CurrentSubject
from server.me.schemas import MeRead, WindowToday
from server.models import ACTIVE, CLOSED, Subject
from server.roster.status import subject_state
from server.subjects.service import last_reading

router = APIRouter(prefix="/me", tags=["me"])


def windows_today(subject: Subject, *, now: datetime, rules: Rules) -> list[WindowToday]:
    return [WindowToday(start=w.start, end=w.end, state=w.state)
            for w in todays_windows(subject_state(subject), now, rules)]


@router.get("", response_model=MeRead)
async def who_am_i(me: CurrentSubject, ctx: Ctx) -> MeRead:
    """The signed-in person's observation: day N of M, today's reading windows, last reading."""
    subject, rules, now = me.subject, ctx.settings.rules, ctx.now()
    return MeRead(
        id=subject.id,
        full_name=subject.full_name,
        status="closed" if subject.state == CLOSED else "active" if subject.state == ACTIVE else "released",
        outcome=subject.outcome,
        start_date=subject.start_date,
        planned_end_date=subject.planned_end_date,
        end_date_reason=subject.end_date_reason,
        observation_day=observation_day(subject.start_date, now, rules),
        duration_days=subject.duration_days,
        language=subject.language,
        last_reading=last_reading(subject),
        released_at=subject.released_at,
        windows_today=windows_today(subject, now=now, rules=rules),
        hotline=ctx.settings.hotline,
    )
