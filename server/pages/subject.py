"""The pages of a person under observation: sign in by link, report, history, call-back, release."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from monitoring import SYMPTOM_CODES, VideoToday, day_start, local_date, observation_day, todays_windows, video_today
from server import labels
from server.alerts.service import CALLBACK, open_alert_of_kind, request_callback
from server.auth.principal import SubjectPrincipal
from server.auth.service import LinkClosed, sign_out
from server.checkins import service as checkins
from server.deps import SUBJECT_COOKIE, client_address
from server.errors import AppError, Conflict, Invalid
from server.models import ACTIVE, CLOSED
from server.models.checkins import ABANDONED, FAILED
from server.pages import charts
from server.pages.rendering import AnyPage, Page, SignInPage, SubjectPage, link_page, link_signed_in, parse_uuid
from server.readings.schemas import ReadingCreate
from server.readings.service import add_reading, get_reading, list_readings
from server.roster.status import subject_state
from server.subjects import certificates

router = APIRouter(include_in_schema=False)

METHODS = ("forehead", "armpit", "ear", "oral")


@router.get("/s/{code}")
async def open_personal_link(code: str, page: SignInPage, request: Request) -> Response:
    """The personal link: signs the person in and lands them on their page."""
    ctx = page.ctx
    try:
        signed_in = await ctx.sign_ins.subject(access_code=code, address=client_address(request), now=ctx.now())
    except LinkClosed as closed:
        return link_page(page, "subject/link_closed.html", status_code=closed.status_code,
                         released_at=closed.released_at)
    except AppError as error:
        return link_page(page, "subject/bad_link.html", status_code=error.status_code, detail=page.error_text(error))
    return link_signed_in(page, cookie=SUBJECT_COOKIE, token=signed_in.token, to="/me")



async def _me_context(page: Page[SubjectPrincipal], **extra: Any) -> dict[str, Any]:
    subject = page.caller.subject
    ctx, _ = page.ctx, page._
    rules, now = ctx.settings.rules, ctx.now()
    readings = list(await list_readings(page.session, subject_id=subject.id, limit=200))
    start = min([ctx.now() - timedelta(days=1), *(r.taken_at for r in readings)])
    points = [charts.Point(r.taken_at, r.temperature_c) for r in readings]
    chart = None
    if readings:
        highest = max(r.temperature_c for r in readings)
        chart = charts.temperature_chart(
            points, rules=rules, start=start, end=max(now, readings[0].taken_at),
            title=_("Your temperature"),
            description=_("{count} readings; the highest was {max}.", count=len(readings),
                          max=page.fmt.temperature(highest)),
            fever_label=_("fever {value}", value=page.fmt.temperature(rules.fever_c)),
            day_label=page.fmt.short_date,
        )
    callback = await open_alert_of_kind(page.session, subject_id=subject.id, kind=CALLBACK)
    video = video_today(subject_state(subject), now, rules)
    # A check-in that failed today is worth telling about only while none has completed since.
    latest = await checkins.latest_since(page.session, subject_id=subject.id,
                                         since=day_start(local_date(now, rules), rules))
    missed = await checkins.missed_calls(page.session, subject_id=subject.id,
                                         since=day_start(local_date(now, rules), rules), now=now)
    video_failed_at = latest.created_at if latest is not None and latest.status in (FAILED, ABANDONED) \
        and video is VideoToday.none else None
    last_method = next((r.method for r in readings if r.method), None)
    context: dict[str, Any] = {
        "day": observation_day(subject.start_date, now, rules),
        "windows": todays_windows(subject_state(subject), now, rules),
        "readings": readings,
        "chart": chart,
        "callback": callback,
        "methods": METHODS,
        "symptom_codes": SYMPTOM_CODES,
        "form": {"temperature": "", "method": last_method or "forehead", "symptoms": [], "note": ""},
        "reading_id": uuid.uuid4(),
        "saved": None,
        "error": None,
        "fever_c": rules.fever_c,
        "video": video.value,
        "video_at": subject.last_checkin_completed_at,
        "video_failed_at": video_failed_at,
        "missed_calls": missed,
    }
    context.update(extra)
    return context


@router.get("/me")
async def me(page: SubjectPage, saved: str | None = None, callback: str | None = None) -> Response:
    subject = page.caller.subject
    if subject.state == CLOSED:
        return page.render("subject/closed.html")
    if subject.state != ACTIVE:
        return page.render("subject/released.html",
                           has_certificate=await certificates.current(page.session, subject.id) is not None)
    saved_id = parse_uuid(saved) if saved else None
    saved_reading = await get_reading(page.session, subject_id=subject.id, reading_id=saved_id) if saved_id else None
    context = await _me_context(page, saved=saved_reading, callback_sent=callback == "1")
    return page.render("subject/me.html", **context)


def clean_temperature(raw: str) -> str:
    # Phones with a Chinese keyboard may send full-width digits or a full-width point; some
    # thermometers and keyboards use a decimal comma. All mean the same number.
    text = unicodedata.normalize("NFKC", raw).strip().replace(",", ".").replace("。", ".")
    return text.removesuffix("°C").removesuffix("℃").removesuffix("°").strip()


@router.post("/me/readings")
async def report(page: SubjectPage) -> Response:
    form = await page.form()
    subject = page.caller.subject
    _ = page._
    raw = str(form.get("temperature_c", ""))
    symptoms = [str(s) for s in form.getlist("symptoms")]
    method = str(form.get("method") or "") or None
    note = str(form.get("note") or "").strip() or None
    reading_id = parse_uuid(str(form.get("reading_id", ""))) or uuid.uuid4()
    values = {"temperature": raw, "method": method, "symptoms": symptoms, "note": note or ""}

    async def refused(message: str) -> Response:
        context = await _me_context(page, form=values, error=message, reading_id=reading_id)
        return page.render("subject/me.html", status_code=422, **context)

    if subject.state != ACTIVE:
        return page.redirect("/me")
    temperature = clean_temperature(raw)
    if not temperature:
        return await refused(_("Please type the number your thermometer shows, for example 36.5."))
    try:
        body = ReadingCreate(id=reading_id, temperature_c=temperature,
                             method=method if method in METHODS else None, symptoms=symptoms, note=note)
    except ValidationError:
        return await refused(_("Please check the form: the note may be at most 500 characters."))
    try:
        reading, _created = await add_reading(
            page.session, subject=subject, actor=page.caller, body=body,
            rules=page.ctx.settings.rules, now=page.ctx.now(), subject_locked=False,
            staff_channels=page.ctx.settings.staff_channels,
        )
    except Invalid as error:
        code = error.extra.get("code")
        message = labels.rejection(page.locale, code, error.extra.get("params"), error.detail)
        return await refused(message)
    except Conflict:
        return page.redirect("/me")
    return page.redirect(f"/me?saved={reading.id}#saved")


@router.post("/me/callback")
async def ask_for_callback(page: SubjectPage) -> Response:
    """'Please call me back': opens an alert the clinicians of the person's grid see at once."""
    await page.form()
    subject = page.caller.subject
    await request_callback(page.session, subject_id=subject.id, now=page.ctx.now(), rules=page.ctx.settings.rules,
                           staff_channels=page.ctx.settings.staff_channels)
    return page.redirect("/me?callback=1#callback")


@router.post("/me/logout")
async def subject_logout(page: AnyPage, request: Request) -> Response:
    await page.form()
    await sign_out(page.session, page.ctx.authenticator, request.cookies.get(SUBJECT_COOKIE), now=page.ctx.now())
    page.delete_cookie(SUBJECT_COOKIE)
    page.caller = None
    return page.render("subject/signed_out.html")
