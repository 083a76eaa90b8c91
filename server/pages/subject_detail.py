"""One person's record for staff: profile, readings, alerts, note and release."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from monitoring import observation_day
from monitoring.course import ACTION_KINDS, TEST_KINDS, TEST_RESULTS, case_flags
from server import i18n, labels, validation
from server.alerts import service as alerts
from server.auth.principal import GridWorker, Staff
from server.errors import AppError, Conflict, Invalid, NotFound
from server.fields import checked_text
from server.grids.service import list_grids
from server.models import ACTIVE, Grid
from server.models.case import CaseAction, LabTest, Site
from server.pages import charts, checkins, timeline
from server.pages import round as round_pages
from server.pages.rendering import AdminPage, FieldStaffPage, Page, StaffPage, parse_uuid
from server.readings.service import list_readings
from server.subjects import certificates, course
from server.subjects import release as release_service
from server.subjects.schemas import (
    CLINICIAN_EDITABLE,
    NOTE_MAX_LENGTH,
    ActionCreate,
    ExtendCreate,
    LabTestCreate,
    LabTestUpdate,
    ReadmitCreate,
    SubjectUpdate,
    TransferCreate,
)
from server.subjects.service import correct, extend_observation, get_in_scope, look_at, mask_id_number, update_note

router = APIRouter(include_in_schema=False)

NOTICES = ("acknowledged", "note_saved", "released", "already_acknowledged", "corrected", "extended",
           "action_recorded", "test_recorded", "transferred", "readmitted", "reading_saved", "attempt_saved")

EDIT_FIELDS = ("full_name", "phone", "address", "id_number", "date_of_birth", "language", "observation_type",
               "site_id", "room")


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
    entry = await round_pages.entry_context(page, subject)
    if isinstance(staff, GridWorker):
        # A grid worker's view of the record: who, where, the readings and the entry; no alerts, video,
        # ID number, note or release.
        return page.render("staff/subject_field.html", status_code=status_code, s=subject, grid=grid,
                           readings=readings, day=observation_day(subject.start_date, now, rules),
                           is_active=subject.state == ACTIVE, **({"notice": None} | entry | extra))
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
    eligibility = await release_service.eligibility(page.session, subject, now=now, rules=rules)
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
        "edit_fields": EDIT_FIELDS if staff.is_admin else tuple(f for f in EDIT_FIELDS if f in CLINICIAN_EDITABLE),
        "edit_error": None, "edit_problems": [], "edit_form": None,
        "extend_error": None, "extend_problems": [], "extend_form": {},
        "languages": i18n.LOCALES,
        "is_active": subject.state == ACTIVE,
    } | entry
    context.update(await checkins.detail_context(page, subject))
    actions = list(await page.session.scalars(select(CaseAction).where(CaseAction.subject_id == subject.id)
                                              .order_by(CaseAction.at.desc())))
    tests = list(await page.session.scalars(select(LabTest).where(LabTest.subject_id == subject.id)
                                            .order_by(LabTest.sampled_at.desc())))
    grids = await list_grids(page.session, staff=staff)
    sites = list(await page.session.scalars(select(Site).order_by(Site.name)))
    context.update({
        "course_flags": case_flags(subject.case_flag, subject.test_state),
        "actions": actions, "tests": tests, "action_kinds": ACTION_KINDS, "test_kinds": TEST_KINDS,
        "test_results": TEST_RESULTS,
        "transfer_grids": [g for g in grids if g.id != subject.grid_id],
        "sites": sites, "site": next((x for x in sites if x.id == subject.site_id), None),
        "certificate": None if subject.state == ACTIVE or subject.erased_at else
        await certificates.current(page.session, subject.id),
        "course_error": None, "course_problems": [], "course_anchor": None,
        "timeline": timeline.build(_, page.fmt.temperature, readings=readings,
                                   alerts=[alert for alert, _name in alert_rows], actions=actions, tests=tests,
                                   checkins=context["checkins"],
                                   record=await timeline.course_entries(page.session, subject.id)),
        "now_local": now.astimezone(rules.tz).strftime("%Y-%m-%dT%H:%M"),
    })
    context.update(extra)
    return page.render("staff/subject.html", status_code=status_code, **context)


@router.get("/subjects/{subject_id}")
async def subject_page(subject_id: str, page: FieldStaffPage, done: str | None = None) -> Response:
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
                                      rules=page.ctx.settings.rules, now=page.ctx.now(),
                                      secret_key=page.ctx.settings.secret_key)
    except AppError as error:
        if not error.extra.get("reasons"):
            message = page.error_text(error)
        else:
            message = page._("Not released: the rules below are not met. Tick “release anyway” and say why "
                             "to release against them.")
        await page.session.rollback()
        return await _render(page, sid, status_code=error.status_code, error=message,
                             release_form={"note": note or "", "override": override})
    return page.redirect(f"/subjects/{sid}?done=released")


def _form_date(value: str) -> str | None:
    return value.replace("/", "-") if value else None


def _problems(page: Page[Staff], error: ValidationError) -> list[str]:
    return [p.describe(page.locale) for p in validation.problems(error.errors())]


async def _submit(page: Page[Staff], sid: uuid.UUID, run: Callable[[], Awaitable[object]], *, done: str,
                  anchor: str, form: str, **kept: Any) -> Response:
    """Runs one of the record page's forms and goes back to its place with a notice; a refusal renders
    the record again with the reason (``<form>_error``, ``<form>_problems``) and ``kept`` (what was typed)."""
    try:
        await run()
    except ValidationError as error:
        return await _render(page, sid, status_code=422, **{f"{form}_error": page._("Please correct the form:"),
                                                            f"{form}_problems": _problems(page, error)}, **kept)
    except AppError as error:
        if isinstance(error, NotFound):
            raise
        await page.session.rollback()
        return await _render(page, sid, status_code=error.status_code, **{f"{form}_error": page.error_text(error)},
                             **kept)
    return page.redirect(f"/subjects/{sid}?done={done}#{anchor}")


@router.post("/subjects/{subject_id}/edit")
async def correct_record(subject_id: str, page: StaffPage) -> Response:
    """The record's correction form: fields left as they were do not change (nor appear in the audit);
    an empty ID number keeps the stored one, which the form never shows."""
    form = await page.form()
    sid = _subject_id(subject_id)
    staff = page.caller
    allowed = EDIT_FIELDS if staff.is_admin else tuple(f for f in EDIT_FIELDS if f in CLINICIAN_EDITABLE)
    values = {f: str(form.get(f, "")).strip() for f in allowed if f in form}
    sent: dict[str, Any] = {f: (v or None) for f, v in values.items()}
    if not sent.get("id_number"):
        sent.pop("id_number", None)
    if "date_of_birth" in sent:
        sent["date_of_birth"] = _form_date(values["date_of_birth"])
    if "site_id" in sent:
        sent["site_id"] = int(values["site_id"]) if values["site_id"].isdigit() else None

    async def run() -> None:
        await correct(page.session, staff=staff, subject_id=sid, body=SubjectUpdate(**sent), now=page.ctx.now())

    return await _submit(page, sid, run, done="corrected", anchor="profile", form="edit", edit_form=values)


@router.post("/subjects/{subject_id}/extend")
async def extend(subject_id: str, page: StaffPage) -> Response:
    form = await page.form()
    sid = _subject_id(subject_id)
    values = {f: str(form.get(f, "")).strip() for f in ("days", "last_exposure_date", "reason")}

    async def run() -> None:
        body = ExtendCreate(days=values["days"] or None, reason=values["reason"],
                            last_exposure_date=_form_date(values["last_exposure_date"]))
        await extend_observation(page.session, staff=page.caller, subject_id=sid, body=body,
                                 rules=page.ctx.settings.rules, now=page.ctx.now())

    return await _submit(page, sid, run, done="extended", anchor="course", form="extend", extend_form=values)


def _form_datetime(value: str, page: Page[Staff]) -> datetime | None:
    """A datetime-local input (the page's time zone, no offset) as an aware instant; None if empty."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("Please give a date and time such as 2026-03-09 08:30.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=page.ctx.settings.rules.tz)


async def _course_form(page: Page[Staff], sid: uuid.UUID, anchor: str, run: Callable[[], Awaitable[object]],
                       done: str) -> Response:
    """A form of the course panels; its refusal shows beside the panel named by ``anchor``."""
    return await _submit(page, sid, run, done=done, anchor=anchor, form="course", course_anchor=anchor)


@router.post("/subjects/{subject_id}/actions")
async def add_action(subject_id: str, page: StaffPage) -> Response:
    form = await page.form()
    sid = _subject_id(subject_id)

    async def run() -> None:
        body = ActionCreate(kind=str(form.get("kind", "")), note=str(form.get("note", "")).strip() or None,
                            at=_form_datetime(str(form.get("at", "")).strip(), page))
        await course.record_action(page.session, staff=page.caller, subject_id=sid, body=body,
                                   rules=page.ctx.settings.rules, now=page.ctx.now())

    return await _course_form(page, sid, "course", run, "action_recorded")


@router.post("/subjects/{subject_id}/tests")
async def add_test(subject_id: str, page: StaffPage) -> Response:
    form = await page.form()
    sid = _subject_id(subject_id)

    async def run() -> None:
        body = LabTestCreate(kind=str(form.get("kind", "")), result=str(form.get("result", "pending")),
                             sampled_at=_form_datetime(str(form.get("sampled_at", "")).strip(), page) or page.ctx.now(),
                             lab=str(form.get("lab", "")).strip() or None)
        await course.record_test(page.session, staff=page.caller, subject_id=sid, body=body,
                                 rules=page.ctx.settings.rules, now=page.ctx.now())

    return await _course_form(page, sid, "tests", run, "test_recorded")


@router.post("/subjects/{subject_id}/tests/{test_id}")
async def set_test_result(subject_id: str, test_id: str, page: StaffPage) -> Response:
    form = await page.form()
    sid = _subject_id(subject_id)
    tid = parse_uuid(test_id)
    if tid is None:
        raise NotFound("No such test for this person.")

    async def run() -> None:
        body = LabTestUpdate(result=str(form.get("result", "")))
        await course.update_test(page.session, staff=page.caller, subject_id=sid, test_id=tid, body=body,
                                 rules=page.ctx.settings.rules, now=page.ctx.now())

    return await _course_form(page, sid, "tests", run, "test_recorded")


@router.post("/subjects/{subject_id}/transfer")
async def transfer(subject_id: str, page: StaffPage) -> Response:
    form = await page.form()
    sid = _subject_id(subject_id)
    raw = str(form.get("grid_id", ""))

    async def run() -> None:
        body = TransferCreate(grid_id=int(raw) if raw.isdigit() else 0, reason=str(form.get("reason", "")))
        await course.transfer(page.session, staff=page.caller, subject_id=sid, body=body, now=page.ctx.now())

    try:
        return await _course_form(page, sid, "course", run, "transferred")
    except NotFound:
        # Moved out of the caller's grids: the record is out of their sight now, which is the point.
        return page.redirect("/roster")


@router.post("/subjects/{subject_id}/readmit")
async def readmit(subject_id: str, page: AdminPage) -> Response:
    form = await page.form()
    sid = _subject_id(subject_id)

    async def run() -> None:
        body = ReadmitCreate(reason=str(form.get("reason", "")),
                             last_exposure_date=_form_date(str(form.get("last_exposure_date", "")).strip()))
        subject = await get_in_scope(page.session, staff=page.caller, subject_id=sid, for_update=True)
        await release_service.readmit(page.session, actor=page.caller, subject=subject, reason=body.reason,
                                      last_exposure_date=body.last_exposure_date, rules=page.ctx.settings.rules,
                                      now=page.ctx.now())

    return await _course_form(page, sid, "release", run, "readmitted")
