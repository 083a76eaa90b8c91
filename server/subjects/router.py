from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response, UploadFile, status
from fastapi.responses import JSONResponse

from server import i18n
from server.body_limit import describe_size
from server.context import AppContext
from server.deps import Ctx, CurrentAdmin, CurrentFieldStaff, CurrentStaff, SessionDep
from server.errors import Invalid, NotFound
from server.models import CensusImport
from server.subjects import census, census_jobs, certificates, course, service
from server.subjects import release as release_service
from server.subjects.schemas import (
    AccessCodeRead,
    ActionCreate,
    ActionRead,
    CensusEnrolled,
    CensusImportRead,
    CensusProblemRead,
    CensusResult,
    CertificateRead,
    EligibilityRead,
    ExtendCreate,
    LabTestCreate,
    LabTestRead,
    LabTestUpdate,
    NoteUpdate,
    ReadmitCreate,
    ReasonRead,
    ReleaseCreate,
    SubjectCreate,
    SubjectCreated,
    SubjectRead,
    SubjectUpdate,
    TransferCreate,
    VerificationRead,
)

router = APIRouter(prefix="/subjects", tags=["subjects"])
# Public: what a checkpoint's phone asks after scanning a release certificate's QR code.
verify_router = APIRouter(prefix="/verify", tags=["certificates"])


_DUPLICATE: dict[int | str, dict[str, Any]] = {409: {"description": (
    'Already under observation: `{"error": "duplicate", "detail", "existing_subject_id"}` (the id only when '
    "the caller may see that record).")}}


@router.post("", response_model=SubjectCreated, status_code=status.HTTP_201_CREATED, responses=_DUPLICATE)
async def enrol_subject(body: SubjectCreate, admin: CurrentAdmin, ctx: Ctx, session: SessionDep) -> SubjectCreated:
    """Enrol a person under observation. The answer carries their personal link (`access_url`) and
    access code: shown this once, stored only hashed. Someone already under observation with the same
    ID number, or the same name and phone, is refused (409) unless `allow_duplicate` is set. With
    `last_exposure_date`, observation ends OBSERVATION_DAYS after that exposure."""
    now = ctx.now()
    subject, code = await service.enrol(session, actor=admin, body=body, rules=ctx.settings.rules, now=now)
    read = service.to_read(subject, now=now, rules=ctx.settings.rules)
    return SubjectCreated(**read.model_dump(), access_code=code,
                          access_url=service.access_url(ctx.settings.public_url, code))


@router.post("/import", response_model=CensusResult, status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "A dry run of a short list: every line can be enrolled; nothing was."},
                        202: {"model": CensusImportRead,
                              "description": "A list longer than 5,000 people: checked and enrolled in the "
                                             "background; follow `status_url`."},
                        422: {"description": "Nothing was enrolled; `errors` lists each line's problem."}})
async def import_census(file: UploadFile, admin: CurrentAdmin, ctx: Ctx, session: SessionDep, response: Response,
                        allow_duplicates: bool = False, dry_run: bool = False) -> CensusResult | JSONResponse:
    """Enrol everyone on a census list (CSV in UTF-8 or GB18030, or XLSX; headers in Chinese or
    English: 姓名, 手机号, 网格 (name or id), 原因, optional 观察方式, 开始日期, 观察天数, 末次暴露日期, 地址,
    身份证号, 出生日期, 语言, 户号 (a household's id)), up to 200,000 people. All or nothing: with any
    bad line nothing is enrolled and every problem is listed by line. A person already under
    observation, or listed twice, is a line error unless `allow_duplicates=true`. `dry_run=true` checks
    the same way and writes nothing.

    Up to 5,000 people are enrolled within the request, with each personal link in the answer. A longer
    list answers 202 at once with a job (`GET /subjects/imports/{id}` for its progress and report); its
    people's links are issued when their cards are printed per grid on the admin pages."""
    limit = ctx.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise Invalid("The file is larger than {size}; please split the list.", size=describe_size(limit))
    rows = await asyncio.to_thread(census.read_rows, data)
    if len(rows) > ctx.settings.census_sync_rows:
        job = await census_jobs.start(session, ctx, actor=admin, rows=rows, filename=file.filename or "",
                                      dry_run=dry_run, allow_duplicates=allow_duplicates)
        return JSONResponse(_job_read(job, ctx).model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)
    created = await census.import_census(session, actor=admin, rows=rows, rules=ctx.settings.rules, now=ctx.now(),
                                         allow_duplicates=allow_duplicates, dry_run=dry_run)
    if dry_run:
        response.status_code = status.HTTP_200_OK
        return CensusResult(created=0, subjects=[], dry_run=True, checked=len(rows))
    return CensusResult(created=len(created), checked=len(rows), subjects=[
        CensusEnrolled(line=line, id=s.id, full_name=s.full_name, grid_id=s.grid_id, access_code=code,
                       access_url=service.access_url(ctx.settings.public_url, code))
        for line, s, code in created
    ])


def _job_read(job: CensusImport, ctx: AppContext, locale: str = "en") -> CensusImportRead:
    return CensusImportRead(
        id=job.id, status=census_jobs.shown_status(job, ctx.now()), filename=job.filename,
        dry_run=job.dry_run, allow_duplicates=job.allow_duplicates, total_rows=job.total_rows,
        checked_rows=job.checked_rows, written_rows=job.written_rows, problem_lines=job.problem_lines,
        errors=[CensusProblemRead(**census_jobs.problem_of(p).as_json(locale)) for p in job.problems],
        error=job.error, created_at=job.created_at, finished_at=job.finished_at,
        status_url=f"/api/v1/subjects/imports/{job.id}")


@router.get("/imports/{import_id}", response_model=CensusImportRead)
async def census_import_status(import_id: uuid.UUID, admin: CurrentAdmin, ctx: Ctx, session: SessionDep,
                               request: Request) -> CensusImportRead:
    """A background census import: its status (`queued`, `checking`, `writing`, then `done`; `rejected`
    when lines need fixing, `checked` for a dry run, `failed`, or `interrupted` when its process
    stopped), lines checked and people enrolled so far, and the line-by-line report (the first 2,000
    problems; `problem_lines` counts them all)."""
    job = await session.get(CensusImport, import_id)
    if job is None:
        raise NotFound("No such census import.")
    locale = i18n.from_accept_language(request.headers.get("accept-language")) or "en"
    return _job_read(job, ctx, locale)


@router.get("/{subject_id}", response_model=SubjectRead)
async def get_subject(subject_id: uuid.UUID, staff: CurrentFieldStaff, ctx: Ctx, session: SessionDep) -> SubjectRead:
    """A person's record (staff in scope; every look is audited)."""
    subject = await service.look_at(session, staff=staff, subject_id=subject_id)
    return service.to_read(subject, now=ctx.now(), rules=ctx.settings.rules)


@router.patch("/{subject_id}", response_model=SubjectRead,
              responses={403: {"description": "A clinician may correct only phone, address, language and household."}})
async def correct_subject(subject_id: uuid.UUID, body: SubjectUpdate, staff: CurrentStaff, ctx: Ctx,
                          session: SessionDep) -> SubjectRead:
    """Correct a person's record. Only the fields sent change; every change is audited with its old and
    new value (ID numbers masked). Administrators may correct any field; clinicians of the person's grid
    their phone, address, language and household."""
    subject = await service.correct(session, staff=staff, subject_id=subject_id, body=body, now=ctx.now())
    return service.to_read(subject, now=ctx.now(), rules=ctx.settings.rules)


@router.post("/{subject_id}/extend", response_model=SubjectRead,
             responses={409: {"description": "The person is no longer under observation."},
                        422: {"description": "The new end would not be later than the planned end."}})
async def extend_observation(subject_id: uuid.UUID, body: ExtendCreate, staff: CurrentStaff, ctx: Ctx,
                             session: SessionDep) -> SubjectRead:
    """Extend a person's observation by `days`, or restart it from a later `last_exposure_date` (give one
    of them). The planned end only ever moves later; the reason is shown to the person beside the new
    end date. Staff of the person's grid and administrators; audited; a `subject.extended` event."""
    now = ctx.now()
    subject = await service.extend_observation(session, staff=staff, subject_id=subject_id, body=body,
                                               rules=ctx.settings.rules, now=now)
    return service.to_read(subject, now=now, rules=ctx.settings.rules)


@router.post("/{subject_id}/access-code", response_model=AccessCodeRead)
async def reissue_access_code(subject_id: uuid.UUID, admin: CurrentAdmin, ctx: Ctx,
                              session: SessionDep) -> AccessCodeRead:
    """Issue a new personal link; the old link and its sign-ins stop working at once."""
    subject = await service.get_in_scope(session, staff=admin, subject_id=subject_id, for_update=True)
    code = await service.reissue_access_code(session, actor=admin, subject=subject, now=ctx.now())
    return AccessCodeRead(subject_id=subject.id, access_code=code,
                          access_url=service.access_url(ctx.settings.public_url, code))


@router.put("/{subject_id}/note", response_model=SubjectRead)
async def update_note(subject_id: uuid.UUID, body: NoteUpdate, staff: CurrentStaff, ctx: Ctx,
                      session: SessionDep) -> SubjectRead:
    """Replace the clinicians' free-text note on a person."""
    subject = await service.update_note(session, staff=staff, subject_id=subject_id, note=body.clinician_note)
    return service.to_read(subject, now=ctx.now(), rules=ctx.settings.rules)


@router.get("/{subject_id}/release-eligibility", response_model=EligibilityRead)
async def release_eligibility(subject_id: uuid.UUID, staff: CurrentStaff, ctx: Ctx,
                              session: SessionDep) -> EligibilityRead:
    """Whether the rules allow release now, and each unmet rule as a code and a message."""
    subject = await service.get_in_scope(session, staff=staff, subject_id=subject_id)
    result = await release_service.eligibility(session, subject, now=ctx.now(), rules=ctx.settings.rules)
    return EligibilityRead(eligible=result.eligible,
                           reasons=[ReasonRead(**r) for r in release_service.reasons_payload(result)])


@router.post("/{subject_id}/release", response_model=SubjectRead,
             responses={409: {"description": "Not eligible (the reasons are listed) or already released."}})
async def release_subject(subject_id: uuid.UUID, body: ReleaseCreate, admin: CurrentAdmin, ctx: Ctx,
                          session: SessionDep) -> SubjectRead:
    """Release a person from observation. Refused with the unmet rules unless `override` is set with a
    note; an override is recorded as such in the audit log."""
    now = ctx.now()
    subject = await service.get_in_scope(session, staff=admin, subject_id=subject_id, for_update=True)
    await release_service.release(session, actor=admin, subject=subject, note=body.note, override=body.override,
                                  rules=ctx.settings.rules, now=now, secret_key=ctx.settings.secret_key)
    return service.to_read(subject, now=now, rules=ctx.settings.rules)


@router.post("/{subject_id}/readmit", response_model=SubjectRead,
             responses={409: {"description": "Under observation already, or the record has been erased."}})
async def readmit_subject(subject_id: uuid.UUID, body: ReadmitCreate, admin: CurrentAdmin, ctx: Ctx,
                          session: SessionDep) -> SubjectRead:
    """Put a released or closed person back under observation from today (for the full period, or counted
    from a new `last_exposure_date`); their release certificate is revoked at once."""
    now = ctx.now()
    subject = await service.get_in_scope(session, staff=admin, subject_id=subject_id, for_update=True)
    await release_service.readmit(session, actor=admin, subject=subject, reason=body.reason,
                                  last_exposure_date=body.last_exposure_date, rules=ctx.settings.rules, now=now)
    return service.to_read(subject, now=now, rules=ctx.settings.rules)


@router.get("/{subject_id}/certificate", response_model=CertificateRead,
            responses={404: {"description": "No such person in the caller's grids, or no certificate in force."}})
async def get_certificate(subject_id: uuid.UUID, staff: CurrentStaff, ctx: Ctx,
                          session: SessionDep) -> CertificateRead:
    """The person's release certificate in force: its dates and the verification link its QR code holds.
    The printable page is `/subjects/{id}/certificate`."""
    subject = await service.look_at(session, staff=staff, subject_id=subject_id, action="certificate.viewed")
    certificate = await certificates.current(session, subject.id)
    if certificate is None or subject.erased_at is not None:
        raise NotFound("This person has no release certificate.")
    token = certificates.token_for(certificate.id, ctx.settings.secret_key)
    return CertificateRead(id=certificate.id, subject_id=subject.id, start_date=certificate.start_date,
                           end_date=certificate.end_date, released_on=certificate.released_on,
                           issued_at=certificate.issued_at, issuer=ctx.settings.district_name,
                           verify_url=certificates.verify_url(ctx.settings.public_url, token),
                           page_url=f"/subjects/{subject.id}/certificate")



@verify_router.get("/{token}", response_model=VerificationRead,
                   responses={404: {"description": "No certificate has this token."}})
async def verify_certificate(token: str, ctx: Ctx, session: SessionDep) -> VerificationRead:
    """Check a release certificate (no sign-in): `valid`, `revoked` (the person was put back under
    observation) or `expired` (the record was erased after the retention period), with the masked name
    and release date only. Tokens are 128-bit and unguessable."""
    result = await certificates.verify(session, token, issuer=ctx.settings.district_name)
    if result is None:
        raise NotFound("This code does not belong to any release notice.")
    return VerificationRead(status=result.status, masked_name=result.masked_name, released_on=result.released_on,
                            issuer=result.issuer)


@router.post("/{subject_id}/actions", response_model=ActionRead, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "The person is no longer under observation."}})
async def record_action(subject_id: uuid.UUID, body: ActionCreate, staff: CurrentStaff, ctx: Ctx,
                        session: SessionDep) -> ActionRead:
    """Record a public-health action (staff of the person's grid and administrators). `hospitalized` and
    `confirmed_case` close the observation with that outcome; the person leaves the active roster."""
    action = await course.record_action(session, staff=staff, subject_id=subject_id, body=body,
                                        rules=ctx.settings.rules, now=ctx.now())
    return ActionRead.model_validate(action, from_attributes=True)


@router.get("/{subject_id}/actions", response_model=list[ActionRead])
async def list_actions(subject_id: uuid.UUID, staff: CurrentStaff, session: SessionDep) -> list[ActionRead]:
    """The person's public-health actions, newest first."""
    return [ActionRead.model_validate(a, from_attributes=True)
            for a in await course.list_actions(session, staff=staff, subject_id=subject_id)]


@router.post("/{subject_id}/tests", response_model=LabTestRead, status_code=status.HTTP_201_CREATED)
async def record_test(subject_id: uuid.UUID, body: LabTestCreate, staff: CurrentStaff, ctx: Ctx,
                      session: SessionDep) -> LabTestRead:
    """Record a nucleic-acid or antigen test (its result now or later). A positive result opens a
    `test_positive` alert; pending and positive tests show on the roster."""
    test = await course.record_test(session, staff=staff, subject_id=subject_id, body=body,
                                    rules=ctx.settings.rules, now=ctx.now())
    return LabTestRead.model_validate(test, from_attributes=True)


@router.patch("/{subject_id}/tests/{test_id}", response_model=LabTestRead)
async def update_test(subject_id: uuid.UUID, test_id: uuid.UUID, body: LabTestUpdate, staff: CurrentStaff,
                      ctx: Ctx, session: SessionDep) -> LabTestRead:
    """Record a test's result when it comes back (or correct it)."""
    test = await course.update_test(session, staff=staff, subject_id=subject_id, test_id=test_id, body=body,
                                    rules=ctx.settings.rules, now=ctx.now())
    return LabTestRead.model_validate(test, from_attributes=True)


@router.get("/{subject_id}/tests", response_model=list[LabTestRead])
async def list_tests(subject_id: uuid.UUID, staff: CurrentStaff, session: SessionDep) -> list[LabTestRead]:
    """The person's tests, newest sample first."""
    return [LabTestRead.model_validate(t, from_attributes=True)
            for t in await course.list_tests(session, staff=staff, subject_id=subject_id)]


@router.post("/{subject_id}/transfer", response_model=SubjectRead,
             responses={403: {"description": "A clinician may move people only between grids they work in."}})
async def transfer_subject(subject_id: uuid.UUID, body: TransferCreate, staff: CurrentStaff, ctx: Ctx,
                           session: SessionDep) -> SubjectRead:
    """Move a person to another grid with their open alerts and history (administrators, or a clinician
    who works in both grids). Staff of the old grid lose access at once."""
    subject = await course.transfer(session, staff=staff, subject_id=subject_id, body=body, now=ctx.now())
    return service.to_read(subject, now=ctx.now(), rules=ctx.settings.rules)
