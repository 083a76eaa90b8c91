"""Self-declaration (自我申报) on a public page, and the same form for a grid worker at the door (/census),
who also records households visited and people counted."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from monitoring import SYMPTOM_CODES
from server import validation
from server.auth.principal import Staff
from server.auth.service import Anonymous
from server.declarations import service
from server.declarations.schemas import DeclarationCreate
from server.deps import client_address
from server.errors import AppError
from server.fields import db_id
from server.grids.service import list_grids
from server.models import Grid
from server.pages.rendering import AnyCallerPage, AnyPage, FieldStaffPage, Page
from server.rate_limit import RateLimit

router = APIRouter(include_in_schema=False)

FIELDS = ("full_name", "phone", "address", "area_id", "id_number", "arrival_date", "arrived_from",
          "contact_with_case", "gatherings")


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {key: str(form.get(key, "")).strip() for key in FIELDS}
    values["symptoms"] = [str(s) for s in form.getlist("symptoms") if str(s) in SYMPTOM_CODES]
    return values


def _body(values: dict[str, Any]) -> DeclarationCreate:
    return DeclarationCreate(
        full_name=values["full_name"], phone=values["phone"], address=values["address"],
        # No area (or not a number) fails the schema's bound with the field named; an unknown one the service.
        area_id=db_id(values["area_id"]) or 0,
        id_number=values["id_number"] or None, arrival_date=_date(values["arrival_date"]),
        arrived_from=values["arrived_from"] or None, contact_with_case=_yes_no(values["contact_with_case"]),
        symptoms=values["symptoms"], gatherings=_yes_no(values["gatherings"]))


def _problems(page: AnyCallerPage, error: ValidationError) -> dict[str, Any]:
    return {"error": page._("Please correct the form:"),
            "problems": [p.describe(page.locale) for p in validation.problems(error.errors())]}


async def _grids(page: AnyCallerPage) -> list[Grid]:
    if isinstance(page.caller, Staff):
        return list(await list_grids(page.session, staff=page.caller))
    return list((await page.session.scalars(select(Grid).order_by(Grid.name))).all())


def _empty() -> dict[str, Any]:
    return {key: "" for key in FIELDS} | {"symptoms": []}


async def _declare_page(page: AnyCallerPage, *, status_code: int = 200, **extra: Any) -> Response:
    context: dict[str, Any] = {"grids": await _grids(page), "form": _empty(), "error": None, "problems": [],
                               "symptom_codes": [c for c in SYMPTOM_CODES if c != "other"], "done": None}
    return page.render("declare/declare.html", status_code=status_code, **(context | extra))


@router.get("/declare")
async def declare_form(page: AnyPage) -> Response:
    return await _declare_page(page)


@router.post("/declare")
async def declare(page: AnyPage, request: Request) -> Response:
    form = await page.form()
    values = _values(form)
    settings = page.ctx.settings
    try:
        body = _body(values)
        await service.check_rate(page.session, address=client_address(request), now=page.ctx.now(),
                                 rate=RateLimit(settings.declaration_rate_limit,
                                                settings.declaration_rate_window_seconds))
        declaration = await service.declare(page.session, actor=Anonymous(client_address(request)), body=body,
                                            now=page.ctx.now())
    except ValidationError as error:
        return await _declare_page(page, status_code=422, form=values, **_problems(page, error))
    except AppError as error:
        return await _declare_page(page, status_code=error.status_code, form=values, error=page.error_text(error))
    return await _declare_page(page, done=declaration)


async def _census_page(page: Page[Staff], *, status_code: int = 200, **extra: Any) -> Response:
    context: dict[str, Any] = {
        "grids": await _grids(page), "form": _empty(), "error": None, "problems": [],
        "symptom_codes": [c for c in SYMPTOM_CODES if c != "other"], "done": None, "tally": {},
        "tally_error": None, "tallied": False,
        "progress": await service.progress(page.session, staff=page.caller),
    }
    return page.render("declare/census.html", status_code=status_code, **(context | extra))


@router.get("/census")
async def census_form(page: FieldStaffPage) -> Response:
    return await _census_page(page)


@router.post("/census/declarations")
async def census_declare(page: FieldStaffPage) -> Response:
    form = await page.form()
    values = _values(form)
    try:
        declaration = await service.declare(page.session, actor=page.caller, body=_body(values), now=page.ctx.now(),
                                            recorded_by=page.caller)
    except ValidationError as error:
        return await _census_page(page, status_code=422, form=values, **_problems(page, error))
    except AppError as error:
        return await _census_page(page, status_code=error.status_code, form=values, error=page.error_text(error))
    return await _census_page(page, done=declaration, form=_empty() | {"area_id": values["area_id"]})


def _count(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) <= 6 else None


@router.post("/census/tally")
async def census_tally(page: FieldStaffPage) -> Response:
    form = await page.form()
    tally = {key: str(form.get(key, "")).strip() for key in ("area_id", "households_visited", "people_counted")}
    households, people, area_id = _count(tally["households_visited"]), _count(tally["people_counted"]), \
        db_id(tally["area_id"])
    if households is None or people is None or area_id is None:
        return await _census_page(page, status_code=422, tally=tally,
                                  tally_error=page._("Please choose the grid and type two whole numbers."))
    try:
        await service.record_tally(page.session, staff=page.caller, area_id=area_id, households_visited=households,
                                   people_counted=people, now=page.ctx.now())
    except AppError as error:
        return await _census_page(page, status_code=error.status_code, tally=tally, tally_error=page.error_text(error))
    return await _census_page(page, tallied=True, tally={"area_id": tally["area_id"]})
