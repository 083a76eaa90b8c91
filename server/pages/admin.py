"""The admin pages: daily summary, grids, staff, enrolment with a printable card, audit log."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from functools import partial
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import func, select
from starlette.datastructures import UploadFile as StarletteUploadFile

from monitoring import local_date
from server import labels, validation
from server.areas import service as areas
from server.audit import service as audit
from server.auth.principal import Admin
from server.body_limit import describe_size
from server.declarations.service import progress as census_progress
from server.errors import AppError, Invalid, NotFound
from server.fields import DbId, db_id, page_number
from server.grids.service import list_grids
from server.models import ACTIVE, CensusImport, Grid, Subject
from server.notifications.service import release_candidates
from server.pages import charts, queries
from server.pages.rendering import AdminPage, AnyCallerPage, Page, parse_uuid
from server.sites.schemas import SiteCreate
from server.sites.service import create_site, site_occupancy
from server.subjects import census, census_jobs
from server.subjects import service as subjects
from server.subjects.schemas import SubjectCreate
from server.users.schemas import UserCreate
from server.users.service import create_user, list_users, update_user

router = APIRouter(include_in_schema=False)

AUDIT_PAGE = 50
REVIEW_LIST = 20
LANGUAGES = ("zh_Hans", "zh_Hant", "en")



def _form_problems(page: AnyCallerPage, error: ValidationError) -> dict[str, Any]:
    """What a form's notice shows: one line per field that breaks a rule, in the page's language."""
    return {"error": page._("Please correct the form:"),
            "problems": [p.describe(page.locale) for p in validation.problems(error.errors())]}


@router.get("/admin")
async def summary(page: AdminPage) -> Response:
    return await _summary(page)


async def _summary(page: Page[Admin], *, status_code: int = 200, **extra: Any) -> Response:
    _ = page._
    now, rules = page.ctx.now(), page.ctx.settings.rules
    data = await queries.daily_summary(page.session, staff=page.caller, now=now, rules=rules,
                                       sweep=not page.ctx.settings.scheduler_enabled)
    total_readings = sum(d.readings for d in data.days)
    chart = charts.daily_chart(
        data.days,
        title=_("Readings in the last 14 days"),
        description=_("{readings} readings in 14 days, {fever} of them with fever.", readings=total_readings,
                      fever=sum(d.abnormal for d in data.days)),
        readings_label=_("Readings"), abnormal_label=_("With fever"), day_label=page.fmt.short_date,
    )
    _total, review = await release_candidates(page.session, staff=page.caller, now=now, rules=rules,
                                              limit=REVIEW_LIST, offset=0)
    today = local_date(now, rules)
    context = {"site_error": None, "site_problems": [], "site_form": {"name": "", "address": ""},
               "export_from": (today - timedelta(days=6)).isoformat(), "export_to": today.isoformat()} | extra
    return page.render("admin/summary.html", status_code=status_code, data=data, chart=chart, review=review,
                       section="summary", sites=await site_occupancy(page.session),
                       progress=await census_progress(page.session, staff=page.caller), **context)


@router.post("/admin/sites")
async def add_site(page: AdminPage) -> Response:
    """A centralised observation site, added from the summary (where its occupancy shows)."""
    form = await page.form()
    name, address = str(form.get("name", "")).strip(), str(form.get("address", "")).strip()
    values = {"name": name, "address": address}
    try:
        body = SiteCreate(name=name, address=address or None)
        await create_site(page.session, actor=page.caller, name=body.name, address=body.address)
    except ValidationError as error:
        problems = _form_problems(page, error)
        return await _summary(page, status_code=422, site_error=problems["error"],
                              site_problems=problems["problems"], site_form=values)
    except AppError as error:
        await page.session.rollback()
        return await _summary(page, status_code=error.status_code, site_error=page.error_text(error),
                              site_form=values)
    return page.redirect("/admin#sites")


@router.get("/admin/grids")
async def grids_page(page: AdminPage) -> Response:
    return await _grids(page)


async def _grids(page: Page[Admin], *, status_code: int = 200, **extra: Any) -> Response:
    """The area tree: every area with its kind and the people under observation below it; a form for a
    new area (a grid is one kind of area) and one to place an area in another."""
    context = {"tree": await areas.flat_tree(page.session, staff=page.caller), "kinds": list(areas.LEVELS),
               "error": None, "created": None, "created_grid": False, "moved": None, "name": "", "kind": "grid",
               "parent_id": None, "section": "grids"}
    return page.render("admin/grids.html", status_code=status_code, **(context | extra))


@router.post("/admin/grids")
async def add_grid(page: AdminPage) -> Response:
    form = await page.form()
    name = str(form.get("name", ""))[:100]
    kind = str(form.get("kind", "grid"))
    parent_id = db_id(str(form.get("parent_id", "")))
    try:
        area = await areas.create_area(page.session, actor=page.caller, name=name,
                                       kind=kind if kind in areas.LEVELS else "grid", parent_id=parent_id)
    except AppError as error:
        return await _grids(page, status_code=error.status_code, error=page.error_text(error), name=name,
                            kind=kind, parent_id=parent_id)
    return await _grids(page, created=area.name, created_grid=area.kind == "grid")


@router.post("/admin/areas/move")
async def move_area(page: AdminPage) -> Response:
    form = await page.form()
    area_id = db_id(str(form.get("area_id", "")))
    parent_id = db_id(str(form.get("parent_id", "")))
    try:
        if area_id is None:
            raise NotFound("No such area.")
        area = await areas.move_area(page.session, actor=page.caller, area_id=area_id, parent_id=parent_id)
    except AppError as error:
        return await _grids(page, status_code=error.status_code, error=page.error_text(error))
    return await _grids(page, moved=area.name)


@router.get("/admin/staff")
async def staff_page(page: AdminPage) -> Response:
    return await _staff(page)


async def _staff(page: Page[Admin], *, status_code: int = 200, **extra: Any) -> Response:
    context = {
        "users": list(await list_users(page.session)),
        "tree": await areas.flat_tree(page.session, staff=page.caller),
        "languages": LANGUAGES, "error": None, "problems": [], "created": None, "updated": None,
        "account_error": None,
        "me_id": page.caller.user_id,
        "form": {"username": "", "full_name": "", "role": "clinician", "area_ids": [], "language": ""},
        "section": "staff",
    }
    return page.render("admin/staff.html", status_code=status_code, **(context | extra))


@router.post("/admin/staff")
async def add_staff(page: AdminPage) -> Response:
    form = await page.form()
    values = {
        "username": str(form.get("username", "")).strip(),
        "full_name": str(form.get("full_name", "")).strip(),
        "role": str(form.get("role", "clinician")),
        # "grid_ids" is what the form sent before the tree; both are areas now.
        "area_ids": [g for g in (db_id(g) for g in [*form.getlist("area_ids"), *form.getlist("grid_ids")]
                                 if isinstance(g, str)) if g],
        "language": str(form.get("language", "")),
    }
    try:
        body = UserCreate(username=values["username"], password=str(form.get("password", "")),
                          role=values["role"], area_ids=values["area_ids"],
                          full_name=values["full_name"] or None, language=values["language"] or None)
        user = await create_user(page.session, actor=page.caller, **body.model_dump())
    except ValidationError as error:
        return await _staff(page, status_code=422, form=values, **_form_problems(page, error))
    except AppError as error:
        return await _staff(page, status_code=error.status_code, error=page.error_text(error), form=values)
    return await _staff(page, created=user.username)


@router.post("/admin/staff/{user_id}")
async def change_staff(user_id: DbId, page: AdminPage) -> Response:
    """Deactivate, reactivate or reset the password of a staff account."""
    form = await page.form()
    action = str(form.get("action", ""))
    changes: dict[str, Any] = {}
    if action in ("deactivate", "reactivate"):
        changes["is_active"] = action == "reactivate"
    elif action == "password":
        changes["password"] = str(form.get("password", ""))
    try:
        user = await update_user(page.session, actor=page.caller, user_id=user_id, **changes)
    except AppError as error:
        return await _staff(page, status_code=error.status_code, account_error=page.error_text(error))
    return await _staff(page, updated=user.username)


@router.get("/admin/enrol")
async def enrol_form(page: AdminPage) -> Response:
    return await _enrol(page)


async def _enrol(page: Page[Admin], *, status_code: int = 200, **extra: Any) -> Response:
    now = page.ctx.now()
    context = {
        "grids": list(await list_grids(page.session, staff=page.caller)),
        "languages": LANGUAGES, "error": None, "problems": [], "form": {"observation_type": "home", "language": ""},
        "census_error": None, "census_errors": [], "duplicate_of": None, "census_checked": None,
        "imports": [(job, census_jobs.shown_status(job, now)) for job in await census_jobs.recent(page.session)],
        "import_status": partial(labels.census_import_status, page._),
        "default_days": page.ctx.settings.observation_days, "section": "enrol",
    }
    return page.render("admin/enrol.html", status_code=status_code, **(context | extra))


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.post("/admin/enrol")
async def enrol(page: AdminPage) -> Response:
    form = await page.form()
    values = {key: str(form.get(key, "")).strip() for key in (
        "full_name", "phone", "grid_id", "observation_type", "reason", "start_date", "duration_days", "address",
        "id_number", "date_of_birth", "language", "last_exposure_date", "allow_duplicate")}
    grid_id = db_id(values["grid_id"])
    try:
        body = SubjectCreate(
            full_name=values["full_name"], phone=values["phone"],
            # A placeholder while the other fields are checked; no grid chosen is refused just below.
            grid_id=grid_id or 1,
            observation_type=values["observation_type"] or "home",
            reason=values["reason"], start_date=_date(values["start_date"]),
            # Past int()'s digit limit a number is still "too large", not a crash.
            duration_days=int(values["duration_days"][:10]) if values["duration_days"].isdigit() else None,
            address=values["address"] or None, id_number=values["id_number"] or None,
            date_of_birth=_date(values["date_of_birth"]), language=values["language"] or None,
            last_exposure_date=_date(values["last_exposure_date"]), allow_duplicate=values["allow_duplicate"] == "1",
        )
        if grid_id is None:
            raise Invalid("No grid with id {grid_id}.", grid_id=0)
        now = page.ctx.now()
        subject, code = await subjects.enrol(page.session, actor=page.caller, body=body,
                                             rules=page.ctx.settings.rules, now=now)
    except ValidationError as error:
        return await _enrol(page, status_code=422, form=values, **_form_problems(page, error))
    except subjects.Duplicate as error:
        return await _enrol(page, status_code=error.status_code, error=page.error_text(error), form=values,
                            duplicate_of=error.extra.get("existing_subject_id", ""))
    except AppError as error:
        return await _enrol(page, status_code=error.status_code, error=page.error_text(error), form=values)
    return await _card(page, subject, code, new=True)


def _problem_lines(page: AnyCallerPage, problems: list[validation.Problem]) -> list[str]:
    return [page._("Line {line}: {detail}", line=p.line, detail=p.describe(page.locale)) if p.line
            else p.describe(page.locale) for p in problems]


@router.post("/admin/enrol/census")
async def enrol_census(page: AdminPage) -> Response:
    """A census list (CSV or XLSX): a short one enrolled at once with every person's card ready to print;
    a long one as a background job, whose page shows its progress."""
    form = await page.form()
    upload = form.get("file")
    limit = page.ctx.settings.max_upload_bytes
    data = await upload.read(limit + 1) if isinstance(upload, StarletteUploadFile) else b""
    dry_run = form.get("dry_run") == "1"
    allow_duplicates = form.get("allow_duplicates") == "1"
    try:
        if len(data) > limit:
            raise Invalid("The file is larger than {size}; please split the list.", size=describe_size(limit))
        rows = await asyncio.to_thread(census.read_rows, data)
        if len(rows) > page.ctx.settings.census_sync_rows:
            filename = upload.filename or "" if isinstance(upload, StarletteUploadFile) else ""
            job = await census_jobs.start(page.session, page.ctx, actor=page.caller, rows=rows, filename=filename,
                                          dry_run=dry_run, allow_duplicates=allow_duplicates)
            return page.redirect(f"/admin/imports/{job.id}")
        created = await census.import_census(page.session, actor=page.caller, rows=rows,
                                             rules=page.ctx.settings.rules, now=page.ctx.now(),
                                             allow_duplicates=allow_duplicates, dry_run=dry_run)
    except AppError as error:
        problems = error.problems if isinstance(error, validation.InvalidInput) else []
        return await _enrol(page, status_code=error.status_code, census_error=page.error_text(error),
                            census_errors=_problem_lines(page, problems))
    if dry_run:
        return await _enrol(page, census_checked=len(rows))
    return await _cards(page, [(subject, code) for _line, subject, code in created])


async def _cards(page: Page[Admin], enrolled: list[tuple[Subject, str]]) -> Response:
    grids = {g.id: g for g in await list_grids(page.session, staff=page.caller)}
    people = []
    for subject, code in enrolled:
        url = subjects.access_url(page.ctx.settings.public_url, code)
        people.append({"subject": subject, "grid": grids.get(subject.grid_id), "url": url,
                       "qr": charts.qr_svg(url, title=page._("QR code of the personal link"))})
    return page.render("admin/census.html", people=people, section="enrol")


CARD_PAGE = 200


async def _census_import(page: Page[Admin], import_id: str) -> CensusImport:
    job_id = parse_uuid(import_id)
    job = await page.session.get(CensusImport, job_id) if job_id is not None else None
    if job is None:
        raise NotFound("No such census import.")
    return job


@router.get("/admin/imports/{import_id}")
async def census_import_page(import_id: str, page: AdminPage) -> Response:
    """A background census import: progress (the page reloads itself while it runs), the lines to fix,
    and once people are enrolled, their cards to print grid by grid."""
    job = await _census_import(page, import_id)
    shown = census_jobs.shown_status(job, page.ctx.now())
    grids: list[tuple[int, str, int]] = []
    if job.written_rows:
        grids = [(grid_id, name, int(n)) for grid_id, name, n in (await page.session.execute(
            select(Subject.grid_id, Grid.name, func.count()).join(Grid, Grid.id == Subject.grid_id)
            .where(Subject.census_import_id == job.id, Subject.state == ACTIVE)
            .group_by(Subject.grid_id, Grid.name).order_by(Grid.name))).all()]
    problems = _problem_lines(page, [census_jobs.problem_of(p) for p in job.problems])
    return page.render("admin/census_import.html", job=job, shown=shown, running=shown in census_jobs.RUNNING,
                       problems=problems, grids=grids, card_page=CARD_PAGE, section="enrol",
                       import_status=partial(labels.census_import_status, page._))


@router.post("/admin/imports/{import_id}/cards")
async def census_import_cards(import_id: str, page: AdminPage) -> Response:
    """The enrolment cards of one grid's people from a census import, a page of them at a time: each
    person's personal link is issued now (links are shown only once, and a long import showed none)."""
    form = await page.form()
    job = await _census_import(page, import_id)
    grid_id = db_id(str(form.get("grid_id", "")))
    number = page_number(str(form.get("page_no", "")), page_size=CARD_PAGE)
    people = (await page.session.scalars(
        select(Subject).where(Subject.census_import_id == job.id, Subject.grid_id == grid_id,
                              Subject.state == ACTIVE)
        .order_by(Subject.full_name, Subject.id).limit(CARD_PAGE).offset((number - 1) * CARD_PAGE)
        .with_for_update())).all()
    now = page.ctx.now()
    enrolled = [(subject, await subjects.reissue_access_code(page.session, actor=page.caller, subject=subject,
                                                             now=now)) for subject in people]
    audit.record(page.session, page.caller, "subjects.census_cards_printed", census_import=str(job.id),
                 grid_id=grid_id, count=len(enrolled))
    return await _cards(page, enrolled)


async def _card(page: AnyCallerPage, subject: Subject, code: str, *, new: bool) -> Response:
    url = subjects.access_url(page.ctx.settings.public_url, code)
    grid = await page.session.get(Grid, subject.grid_id)
    qr = charts.qr_svg(url, title=page._("QR code of the personal link"))
    return page.render("admin/card.html", s=subject, grid=grid, url=url, qr=qr, new=new, section="enrol")


@router.post("/admin/subjects/{subject_id}/access-code")
async def reissue(subject_id: str, page: AdminPage) -> Response:
    await page.form()
    sid = parse_uuid(subject_id)
    if sid is None:
        raise NotFound("No such person in your grids.")
    subject = await subjects.get_in_scope(page.session, staff=page.caller, subject_id=sid,
                                          for_update=True)
    code = await subjects.reissue_access_code(page.session, actor=page.caller, subject=subject,
                                              now=page.ctx.now())
    return await _card(page, subject, code, new=False)


@router.get("/admin/audit")
async def audit_log(page: AdminPage, subject: str | None = None, page_no: str | None = None) -> Response:
    subject_id = parse_uuid(subject) if subject else None
    number = page_number(page_no, page_size=AUDIT_PAGE)
    entries = list(await audit.list_entries(page.session, subject_id=subject_id, limit=AUDIT_PAGE + 1,
                                            offset=(number - 1) * AUDIT_PAGE))
    has_more = len(entries) > AUDIT_PAGE
    names = await subjects.full_names(page.session, {e.subject_id for e in entries if e.subject_id is not None})
    return page.render("admin/audit.html", entries=entries[:AUDIT_PAGE], names=names, has_more=has_more,
                       page_no=number, subject_id=subject_id, section="audit")
