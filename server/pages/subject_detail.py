"""One person's record for staff: profile, readings, alerts, note and release."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from monitoring import observation_day
from server import i18n, labels
from server.alerts import service as alerts
from server.auth.principal import Staff
from server.errors import AppError, Conflict, NotFound
from server.fields import checked_text
from server.models import ACTIVE, Grid
from server.pages import charts, checkins
from server.pages.rendering import AdminPage, Page, StaffPage, parse_uuid
from server.readings.service import list_readings
from server.subjects import release as release_service
from server.subjects.schemas import NOTE_MAX_LENGTH
from server.subjects.service import get_in_scope, look_at, mask_id_number, update_note

router = APIRouter(include_in_schema=False)

NOTICES = ("acknowledged", "note_saved", "released", "already_acknowledged")


def _subject_id(raw: str) -> uuid.UUID:
    subject_id = parse_uuid(raw)
    if subject_id is None:
        raise NotFound("No such person in your grids.")
    return subject_id


async def _render(page: Page[Staff], subject_id: uuid.UUID, *, status_code: int = 200, **extra: Any) -> Response:
    staff = page.caller
    ctx, _ = page.ctx, page._
    rules, now = ctx.settings.rules, ctx.now()
    subject = await look_at(page.session, staff=staff, subject_id=subject_id)
    grid = await page.session.get(Grid, subject.grid_id)
    readings = list(await list_readings(page.session, subject_id=subject.id, limit=200))
    alert_rows = await alerts.list_alerts(page.session, staff=staff, status=None, subject_id=subject.id, limit=100,
                                          offset=0)
    chart = None
    if readings:
        start = min(r.taken_at for r in readings)
        end = max(readings[0].taken_at, now if subject.state == ACTIVE else readings[0].taken_at)
        chart = charts.temperature_chart(
            [charts.Point(r.taken_at, r.temperature_c) for r in readings], rules=rules,
            start=min(start, end - timedelta(days=1)), end=end,
            title=_("Temperature of {name}", name=subject.full_name),
            description=_("{count} readings; the highest was {max}.", count=len(readings),
                          max=page.fmt.temperature(max(r.temperature_c for r in readings))),
            fever_label=_("fever {value}", value=page.fmt.temperature(rules.fever_c)),
            day_label=page.fmt.short_date,
        )
    eligibility = release_service.eligibility(subject, now=now, rules=rules)
    reasons = [labels.release_reason(_, r.code, r.params, r.message, page.fmt.date) for r in eligibility.reasons]
    context: dict[str, Any] = {
        "s": subject,
        "grid": grid,
        "id_masked": mask_id_number(subject.id_number),
        "day": observation_day(subject.start_date, now, rules),
        "readings": readings,
        "chart": chart,
        "alerts": [alert for alert, _name in alert_rows],
        "eligible": eligibility.eligible,
        "reasons": reasons,
        "notice": None,
        "error": None,
        "release_form": {"note": "", "override": False},
        "is_active": subject.state == ACTIVE,
    }
    context.update(await checkins.detail_context(page, subject))
    context.update(extra)
    return page.render("staff/subject.html", status_code=status_code, **context)


@router.get("/subjects/{subject_id}")
async def subject_page(subject_id: str, page: StaffPage, done: str | None = None) -> Response:
    return await _render(page, _subject_id(subject_id), notice=done if done in NOTICES else None)


@router.post("/subjects/{subject_id}/alerts/{alert_id}/ack")
async def acknowledge(subject_id: str, alert_id: str, page: StaffPage) -> Response:
    form = await page.form()
    staff = page.caller
    sid = _subject_id(subject_id)
    aid = parse_uuid(alert_id)
    if aid is None:
        raise NotFound("No such alert in your grids.")
    try:
        note = checked_text(str(form.get("note", ""))[:2000], multiline=True)
        await alerts.acknowledge(page.session, staff=staff, alert_id=aid, note=note,
                                 now=page.ctx.now(), rules=page.ctx.settings.rules)
    except Conflict:
        return page.redirect(f"/subjects/{sid}?done=already_acknowledged#alerts")
    return page.redirect(f"/subjects/{sid}?done=acknowledged#alerts")


@router.post("/subjects/{subject_id}/note")
async def save_note(subject_id: str, page: StaffPage) -> Response:
    form = await page.form()
    staff = page.caller
    note = checked_text(str(form.get("clinician_note", ""))[:NOTE_MAX_LENGTH], multiline=True)
    subject = await update_note(page.session, staff=staff, subject_id=_subject_id(subject_id), note=note)
    return page.redirect(f"/subjects/{subject.id}?done=note_saved#note")


@router.post("/subjects/{subject_id}/release")
async def release(subject_id: str, page: AdminPage) -> Response:
    form = await page.form()
    staff = page.caller
    sid = _subject_id(subject_id)
    note = checked_text(str(form.get("note", ""))[:2000], multiline=True).strip() or None
    override = form.get("override") == "1"
    subject = await get_in_scope(page.session, staff=staff, subject_id=sid, for_update=True)
    try:
        await release_service.release(page.session, actor=staff, subject=subject, note=note, override=override,
                                      rules=page.ctx.settings.rules, now=page.ctx.now())
    except AppError as error:
        if not error.extra.get("reasons"):
            message = i18n.error_detail(page.locale, error.message, error.params, error.extra, error.detail)
        else:
            message = page._("Not released: the rules below are not met. Tick “release anyway” and say why "
                             "to release against them.")
        await page.session.rollback()
        return await _render(page, sid, status_code=error.status_code, error=message,
                             release_form={"note": note or "", "override": override})
    return page.redirect(f"/subjects/{sid}?done=released")
