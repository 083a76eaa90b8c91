"""A case's course as one timeline on the record page: readings, alerts, actions, tests, check-ins,
corrections and releases, newest first."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import labels
from server.checkins.schemas import CheckinRead
from server.i18n import Translator
from server.models import Alert, AuditEntry, Reading
from server.models.case import CaseAction, LabTest

# Audit entries that belong on the timeline (the rest are looks at the record, logins and the like).
COURSE_ACTIONS = ("subject.enrolled", "subject.corrected", "subject.extended", "subject.released",
                  "subject.readmitted", "subject.transferred")
LIMIT = 300


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    kind: str  # reading, alert, action, test, checkin, record
    title: str
    detail: str = ""
    tone: str = "neutral"  # ok, warn, danger, neutral: the badge colour


async def course_entries(session: AsyncSession, subject_id: uuid.UUID) -> Sequence[AuditEntry]:
    return (await session.scalars(
        select(AuditEntry).where(AuditEntry.subject_id == subject_id, AuditEntry.action.in_(COURSE_ACTIONS))
        .order_by(AuditEntry.at.desc()).limit(LIMIT))).all()


def build(_: Translator, fmt_temperature: object, *, readings: Iterable[Reading], alerts: Iterable[Alert],
          actions: Iterable[CaseAction], tests: Iterable[LabTest], checkins: Iterable[CheckinRead],
          record: Iterable[AuditEntry]) -> list[Entry]:
    temperature = fmt_temperature if callable(fmt_temperature) else str
    entries: list[Entry] = []
    for r in readings:
        tone = {"high_fever": "danger", "fever": "danger"}.get(r.classification, "ok")
        symptoms = ", ".join(labels.symptom(_, s) for s in r.symptoms or [])
        entries.append(Entry(r.taken_at, "reading", _("Reading {value}", value=temperature(r.temperature_c)),
                             " · ".join(x for x in (labels.source(_, r.source), symptoms) if x), tone))
    for a in alerts:
        entries.append(Entry(a.opened_at, "alert", _("Alert: {kind}", kind=labels.alert_kind(_, a.kind)),
                             a.note or "", "warn"))
        if a.acknowledged_at is not None:
            entries.append(Entry(a.acknowledged_at, "alert", _("Alert handled: {kind}",
                                                               kind=labels.alert_kind(_, a.kind)), a.note or "", "ok"))
    for action in actions:
        tone = "danger" if action.kind in ("confirmed_case", "suspected_case", "hospitalized") else "neutral"
        entries.append(Entry(action.at, "action", labels.action_kind(_, action.kind), action.note or "", tone))
    for t in tests:
        tone = {"positive": "danger", "negative": "ok"}.get(t.result, "warn")
        entries.append(Entry(t.sampled_at, "test", _("{test}: {result}", test=labels.test_kind(_, t.kind),
                                                      result=labels.test_result(_, t.result)), t.lab or "", tone))
    for c in checkins:
        entries.append(Entry(c.started_at or c.created_at, "checkin",
                             _("Video check-in: {status}", status=labels.checkin_status(_, c.status)), "",
                             "ok" if c.status == "completed" else "neutral"))
    for e in record:
        details = _("; ").join(_("{label}: {value}", label=label, value=value) for label, value in
                            (labels.audit_detail(_, key, value) for key, value in (e.detail or {}).items()
                             if key in ("changes", "new_end", "reason", "note", "to_grid", "override")))
        entries.append(Entry(e.at, "record", labels.audit_action(_, e.action), details,
                             "ok" if e.action == "subject.released" else "neutral"))
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:LIMIT]
