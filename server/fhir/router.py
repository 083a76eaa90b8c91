"""The FHIR R4 read API under ``/fhir``: Patient and Observation read and search, and a grid's bulk export.

The same staff sign-in and the same scope as the JSON API (``Staff.subject_filter``): a clinician reads
the people of their grids only, and someone else's person is not found rather than forbidden. Errors are
``OperationOutcome`` resources, as FHIR clients expect, never homewatch's own error shape."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime, time, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from sqlalchemy import ColumnElement, Select, func, or_, select

from server.audit import service as audit
from server.context import AppContext
from server.deps import Ctx, CurrentStaff, SessionDep
from server.errors import AppError, Invalid, NotFound
from server.fhir import resources as fhir
from server.models import Reading, Subject

PAGE = 50
MAX_PAGE = 500
_ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict", 422: "invalid",
                429: "throttled", 503: "transient"}


class FhirResponse(JSONResponse):
    media_type = fhir.JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def outcome(status_code: int, diagnostics: str, *, headers: dict[str, str] | None = None) -> FhirResponse:
    return FhirResponse(fhir.operation_outcome(_ISSUE_CODES.get(status_code, "processing"), diagnostics),
                        status_code=status_code, headers=headers)


class FhirRoute(APIRoute):
    """Every refusal of a ``/fhir`` route (sign-in, scope, bad parameters) as an ``OperationOutcome``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except AppError as exc:
                # FHIR answers a search it cannot understand with 400, not 422.
                return outcome(400 if exc.status_code == 422 else exc.status_code, exc.detail, headers=exc.headers)
            except RequestValidationError as exc:
                problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}"
                                     for e in exc.errors())
                return outcome(400, problems or "Invalid request.")

        return answer


router = APIRouter(prefix="/fhir", route_class=FhirRoute, tags=["fhir"])

Count = Annotated[int, Query(alias="_count", ge=1, le=MAX_PAGE, description="Entries per page.")]
Offset = Annotated[int, Query(alias="_offset", ge=0, le=10_000_000, description="Where the page starts.")]


def systems(ctx: AppContext) -> fhir.Systems:
    return fhir.Systems(ctx.settings.public_url, ctx.settings.fhir_id_number_system)


def _software_version() -> str:
    try:
        return version("homewatch")
    except PackageNotFoundError:
        return "0"


@router.get("/metadata", response_class=FhirResponse)
async def metadata(ctx: Ctx) -> FhirResponse:
    """The CapabilityStatement: what this server answers (no sign-in, as FHIR clients expect)."""
    return FhirResponse(fhir.capability_statement(systems(ctx), software_version=_software_version(),
                                                  published=ctx.now()))


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("No {resource} with id {value}.", resource=what, value=value) from None


@router.get("/Patient/{patient_id}", response_class=FhirResponse)
async def read_patient(patient_id: str, staff: CurrentStaff, ctx: Ctx, session: SessionDep) -> FhirResponse:
    subject = await session.scalar(select(Subject).where(Subject.id == _uuid(patient_id, "Patient"),
                                                         staff.subject_filter()))
    if subject is None or subject.erased_at is not None:
        raise NotFound("No {resource} with id {value}.", resource="Patient", value=patient_id)
    audit.record(session, staff, "fhir.patient_read", subject_id=subject.id)
    return FhirResponse(fhir.patient(subject, systems(ctx), with_id_number=staff.is_admin))


def _page_links(request: Request, *, offset: int, count: int, more: bool) -> list[tuple[str, str]]:
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("_offset", "_count")]

    def url(at: int) -> str:
        return f"{str(request.url).split('?')[0]}?{urlencode([*params, ('_count', str(count)), ('_offset', str(at))])}"

    links = [("self", url(offset))]
    if more:
        links.append(("next", url(offset + count)))
    if offset > 0:
        links.append(("previous", url(max(0, offset - count))))
    return links


def _identifier_match(identifier: str, s: fhir.Systems) -> ColumnElement[bool]:
    system, _, value = identifier.rpartition("|")
    value = value.strip()
    by_id: ColumnElement[bool] | None = None
    try:
        by_id = Subject.id == uuid.UUID(value)
    except ValueError:
        pass
    by_number = Subject.id_number == value.upper()
    if system == s.subject:
        return by_id if by_id is not None else Subject.id.is_(None)
    if system == s.id_number:
        return by_number
    if system:
        return Subject.id.is_(None)  # a system this server does not know: nothing matches
    return or_(by_number, by_id) if by_id is not None else by_number


@router.get("/Patient", response_class=FhirResponse)
async def search_patients(request: Request, staff: CurrentStaff, ctx: Ctx, session: SessionDep,
                          identifier: str | None = Query(None, max_length=200),
                          count: Count = PAGE, offset: Offset = 0) -> FhirResponse:
    """People in the caller's scope, by identifier (homewatch's id, or the national ID number), in
    pages. Someone outside the caller's grids is simply not in the result."""
    s = systems(ctx)
    where = [staff.subject_filter(), Subject.erased_at.is_(None)]
    if identifier is not None:
        where.append(_identifier_match(identifier, s))
    total = int(await session.scalar(select(func.count()).select_from(Subject).where(*where)) or 0)
    found = (await session.scalars(select(Subject).where(*where).order_by(Subject.id).limit(count)
                                   .offset(offset))).all()
    audit.record(session, staff, "fhir.patients_searched", matches=len(found),
                 by_identifier=identifier is not None)
    return FhirResponse(fhir.searchset(
        [fhir.patient(subject, s, with_id_number=staff.is_admin) for subject in found], s, total=total,
        links=_page_links(request, offset=offset, count=count, more=offset + len(found) < total)))


_OBSERVATION_ID = re.compile(r"^(?P<reading>[0-9a-fA-F-]{36})(?:-s(?P<symptom>\d{1,2}))?$")


@router.get("/Observation/{observation_id}", response_class=FhirResponse)
async def read_observation(observation_id: str, staff: CurrentStaff, ctx: Ctx, session: SessionDep) -> FhirResponse:
    match = _OBSERVATION_ID.match(observation_id)
    reading = None
    if match:
        reading = await session.scalar(
            select(Reading).join(Subject, Subject.id == Reading.subject_id)
            .where(Reading.id == _uuid(match["reading"], "Observation"), staff.subject_filter()))
    if reading is None or match is None:
        raise NotFound("No {resource} with id {value}.", resource="Observation", value=observation_id)
    audit.record(session, staff, "fhir.observation_read", subject_id=reading.subject_id)
    s = systems(ctx)
    for resource in fhir.observations(reading, s):
        if resource["id"] == observation_id:
            return FhirResponse(resource)
    raise NotFound("No {resource} with id {value}.", resource="Observation", value=observation_id)


_DATE = re.compile(r"^(?P<prefix>eq|ge|gt|le|lt)?(?P<value>\d{4}-\d{2}-\d{2}(?:T.+)?)$")


def date_bounds(values: list[str], zone: ZoneInfo) -> list[ColumnElement[bool]]:
    """FHIR ``date`` search on when a reading was taken. A date without a time is the local day of the
    district's time zone; a dateTime without an offset is read in that zone too."""
    bounds: list[ColumnElement[bool]] = []
    for raw in values:
        match = _DATE.match(raw.strip())
        if match is None:
            raise Invalid("date must look like ge2026-11-30 or lt2026-11-30T08:00:00+08:00 (got {value}).",
                               value=raw)
        prefix, value = match["prefix"] or "eq", match["value"]
        try:
            if "T" in value:
                start = datetime.fromisoformat(value)
                start = start if start.tzinfo else start.replace(tzinfo=zone)
                end = start + timedelta(seconds=1)
            else:
                start = datetime.combine(datetime.fromisoformat(value).date(), time(), tzinfo=zone)
                end = start + timedelta(days=1)
        except ValueError:
            raise Invalid("date must look like ge2026-11-30 or lt2026-11-30T08:00:00+08:00 (got {value}).",
                               value=raw) from None
        column = Reading.taken_at
        bounds += {
            "eq": [column >= start, column < end], "ge": [column >= start], "gt": [column >= end],
            "le": [column < end], "lt": [column < start],
        }[prefix]
    return bounds


def wanted_codes(code: str | None, category: str | None) -> frozenset[str] | None:
    """The LOINC codes a search asks for (None: every kind), from ``code`` and ``category``."""
    kinds: set[str] | None = None
    if code:
        kinds = set()
        for token in code.split(","):
            system, _, value = token.strip().rpartition("|")
            if system in ("", fhir.LOINC) and value in (fhir.BODY_TEMPERATURE, fhir.SYMPTOM):
                kinds.add(value)
    if category:
        by_category = set()
        for token in category.split(","):
            value = token.strip().rpartition("|")[2]
            by_category |= {"vital-signs": {fhir.BODY_TEMPERATURE}, "survey": {fhir.SYMPTOM}}.get(value, set())
        kinds = by_category if kinds is None else kinds & by_category
    return frozenset(kinds) if kinds is not None else None


@router.get("/Observation", response_class=FhirResponse)
async def search_observations(
    request: Request, staff: CurrentStaff, ctx: Ctx, session: SessionDep,
    patient: str = Query(..., max_length=100, description="Patient/<id> or <id>; required."),
    code: str | None = Query(None, max_length=200), category: str | None = Query(None, max_length=100),
    date: list[str] = Query(default=[], max_length=4), count: Count = PAGE, offset: Offset = 0,
) -> FhirResponse:
    """A person's temperatures and symptoms, oldest first, paged by reading (a page may hold fewer
    entries than ``_count`` when only symptoms are asked for)."""
    s = systems(ctx)
    subject_id = _uuid(patient.removeprefix("Patient/"), "Patient")
    codes = wanted_codes(code, category)
    visible = await session.scalar(select(Subject.id).where(Subject.id == subject_id, staff.subject_filter()))
    where = [Reading.subject_id == subject_id, *date_bounds(date, ZoneInfo(ctx.settings.timezone))]
    if visible is None or codes == frozenset():
        return FhirResponse(fhir.searchset([], s, total=0, links=_page_links(request, offset=offset, count=count,
                                                                                  more=False)))
    query: Select[Reading] = select(Reading).where(*where).order_by(Reading.taken_at, Reading.id)
    readings = (await session.scalars(query.limit(count + 1).offset(offset))).all()
    more = len(readings) > count
    entries = [resource for reading in readings[:count] for resource in fhir.observations(reading, s, codes=codes)]
    total = None
    if codes == frozenset({fhir.BODY_TEMPERATURE}):
        total = int(await session.scalar(select(func.count()).select_from(Reading).where(*where)) or 0)
    audit.record(session, staff, "fhir.observations_searched", subject_id=subject_id, matches=len(entries))
    return FhirResponse(fhir.searchset(entries, s, total=total,
                                       links=_page_links(request, offset=offset, count=count, more=more)))


EXPORT_BATCH = 1000


@router.get("/Group/{grid_id}/$export")
async def export_grid(grid_id: int, staff: CurrentStaff, ctx: Ctx, session: SessionDep,
                      type_: str = Query("Patient,Observation", alias="_type", max_length=50)) -> StreamingResponse:
    """A grid's people and their readings as FHIR NDJSON, streamed as it is read: Patients first, then
    Observations, each resource on a line. Nothing is held in memory beyond one batch of rows."""
    if not staff.sees_grid(grid_id):
        raise NotFound("No grid with id {grid_id} in your areas.", grid_id=grid_id)
    types = {t.strip() for t in type_.split(",") if t.strip()}
    if not types or types - {"Patient", "Observation"}:
        raise Invalid("_type may name Patient and Observation only.")
    audit.record(session, staff, "fhir.exported", grid_id=grid_id, types=sorted(types))
    s = systems(ctx)
    with_id_number = staff.is_admin

    async def lines() -> AsyncIterator[bytes]:
        # Its own unit of work: the request's has committed (the audit entry) before the body streams.
        async with ctx.db.session() as export:
            people = (select(Subject).where(Subject.grid_id == grid_id, Subject.erased_at.is_(None))
                      .order_by(Subject.id).execution_options(yield_per=EXPORT_BATCH))
            if "Patient" in types:
                async for subject in await export.stream_scalars(people):
                    yield _line(fhir.patient(subject, s, with_id_number=with_id_number))
                    export.expunge(subject)
            if "Observation" in types:
                readings = (select(Reading).join(Subject, Subject.id == Reading.subject_id)
                            .where(Subject.grid_id == grid_id, Subject.erased_at.is_(None))
                            .order_by(Reading.subject_id, Reading.taken_at, Reading.id)
                            .execution_options(yield_per=EXPORT_BATCH))
                async for reading in await export.stream_scalars(readings):
                    for resource in fhir.observations(reading, s):
                        yield _line(resource)
                    export.expunge(reading)

    return StreamingResponse(lines(), media_type=fhir.NDJSON,
                             headers={"Content-Disposition": f'attachment; filename="grid-{grid_id}.ndjson"'})


def _line(resource: dict[str, Any]) -> bytes:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


@router.get("/{rest:path}", include_in_schema=False)
async def unsupported(rest: str) -> FhirResponse:
    return outcome(404, f"This server does not support {rest or 'that'}; see /fhir/metadata.")
