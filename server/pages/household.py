"""The household page: one member reports everyone's temperature on one page, from the household link."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from monitoring import SYMPTOM_CODES, ReadingRejected, normalise_symptoms, normalise_temperature
from server import labels
from server.auth.callers import HOUSEHOLD_COOKIE
from server.auth.principal import HouseholdPrincipal
from server.auth.service import sign_out
from server.deps import client_address
from server.errors import AppError, Conflict, Invalid, NotFound
from server.households import service as households
from server.households.schemas import HouseholdReadingCreate
from server.models import Subject
from server.pages.rendering import AnyPage, HouseholdPage, Page, SignInPage, link_page, link_signed_in, parse_uuid
from server.pages.subject import clean_temperature
from server.readings.service import list_readings

router = APIRouter(include_in_schema=False)


@router.get("/h/{code}")
async def open_household_link(code: str, page: SignInPage, request: Request) -> Response:
    """The household link: signs the household in and lands on its page."""
    ctx = page.ctx
    try:
        signed_in = await ctx.sign_ins.household(access_code=code, address=client_address(request), now=ctx.now())
    except AppError as error:
        return link_page(page, "subject/bad_link.html", status_code=error.status_code, detail=page.error_text(error))
    return link_signed_in(page, cookie=HOUSEHOLD_COOKIE, token=signed_in.token, to="/household")


async def _members(page: Page[HouseholdPrincipal]) -> list[Subject]:
    return (await households.members(page.session, [page.caller.household_id], active_only=True))[
        page.caller.household_id]


async def _render(page: Page[HouseholdPrincipal], *, status_code: int = 200, **extra: Any) -> Response:
    people = await _members(page)
    context: dict[str, Any] = {
        "household": page.caller.household,
        "people": people,
        "symptom_codes": [c for c in SYMPTOM_CODES if c != "other"],
        "fever_c": page.ctx.settings.rules.fever_c,
        # One id per person per form: a form sent twice (a double tap, a retry) stores each reading once.
        "reading_ids": {p.id: uuid.uuid4() for p in people},
        "form": {},
        "errors": [],
        "saved": [],
    }
    context.update(extra)
    return page.render("household/report.html", status_code=status_code, **context)


@router.get("/household")
async def household_page(page: HouseholdPage, saved: str | None = None) -> Response:
    saved_readings = []
    if saved:
        wanted = {parsed for part in saved.split(",")[:30] if (parsed := parse_uuid(part))}
        names = {p.id: p for p in await _members(page)}
        for person in names.values():
            for reading in await list_readings(page.session, subject_id=person.id, limit=5):
                if reading.id in wanted:
                    saved_readings.append((person, reading))
    return await _render(page, saved=saved_readings)


@router.post("/household/readings")
async def report_for_household(page: HouseholdPage) -> Response:
    form = await page.form()
    _ = page._
    rules = page.ctx.settings.rules
    people = await _members(page)
    entries: list[HouseholdReadingCreate] = []
    values: dict[str, dict[str, Any]] = {}
    reading_ids: dict[uuid.UUID, uuid.UUID] = {}
    errors: list[str] = []
    for person in people:
        key = str(person.id)
        raw = str(form.get(f"temperature_c:{key}", ""))
        symptoms = [str(s) for s in form.getlist(f"symptoms:{key}")]
        reading_ids[person.id] = parse_uuid(str(form.get(f"reading_id:{key}", ""))) or uuid.uuid4()
        values[key] = {"temperature": raw, "symptoms": symptoms}
        temperature = clean_temperature(raw)
        if not temperature:
            if symptoms:
                errors.append(_("{name}: please type the temperature too.", name=person.full_name))
            continue  # not at home, or reported on their own phone
        try:
            normalise_temperature(temperature, rules)
            normalise_symptoms([s for s in symptoms if s != "other"], None)
        except ReadingRejected as rejected:
            message = labels.rejection(page.locale, rejected.code, rejected.params, rejected.message)
            errors.append(_("{name}: {problem}", name=person.full_name, problem=message))
            continue
        try:
            entries.append(HouseholdReadingCreate(subject_id=person.id, id=reading_ids[person.id],
                                                  temperature_c=temperature,
                                                  symptoms=[s for s in symptoms if s != "other"]))
        except ValidationError:
            errors.append(_("{name}: please check the form.", name=person.full_name))
    if not entries and not errors:
        errors.append(_("Please type at least one temperature."))
    if errors:
        return await _render(page, status_code=422, form=values, errors=errors, reading_ids=reading_ids)
    try:
        stored = await households.report_for_household(
            page.session, caller=page.caller, household_id=page.caller.household_id, readings=entries, rules=rules,
            now=page.ctx.now(), staff_channels=page.ctx.settings.staff_channels)
    except (Invalid, NotFound, Conflict) as error:
        # Someone was released or moved out while the page was open: nothing was stored; show it again.
        return await _render(page, status_code=error.status_code, form=values, errors=[page.error_text(error)])
    return page.redirect("/household?saved=" + ",".join(str(r.id) for r, _created in stored) + "#saved")


@router.post("/household/logout")
async def household_logout(page: AnyPage, request: Request) -> Response:
    await page.form()
    await sign_out(page.session, page.ctx.authenticator, request.cookies.get(HOUSEHOLD_COOKIE), now=page.ctx.now())
    page.delete_cookie(HOUSEHOLD_COOKIE)
    page.caller = None
    return page.render("subject/signed_out.html")
