from __future__ import annotations

import uuid

from fastapi import APIRouter, UploadFile, status

from server.body_limit import describe_size
from server.deps import Ctx, CurrentAdmin, CurrentStaff, SessionDep
from server.errors import Invalid
from server.subjects import census, service
from server.subjects import release as release_service
from server.subjects.schemas import (
    AccessCodeRead,
    CensusEnrolled,
    CensusResult,
    EligibilityRead,
    NoteUpdate,
    ReasonRead,
    ReleaseCreate,
    SubjectCreate,
    SubjectCreated,
    SubjectRead,
)

router = APIRouter(prefix="/subjects", tags=["subjects"])


@router.post("", response_model=SubjectCreated, status_code=status.HTTP_201_CREATED)
async def enrol_subject(body: SubjectCreate, admin: CurrentAdmin, ctx: Ctx, session: SessionDep) -> SubjectCreated:
    """Enrol a person under observation. The answer carries their personal link (`access_url`) and
    access code: shown this once, stored only hashed."""
    now = ctx.now()
    subject, code = await service.enrol(session, actor=admin, body=body, rules=ctx.settings.rules, now=now)
    read = service.to_read(subject, now=now, rules=ctx.settings.rules)
    return SubjectCreated(**read.model_dump(), access_code=code,
                          access_url=service.access_url(ctx.settings.public_url, code))


@router.post("/import", response_model=CensusResult, status_code=status.HTTP_201_CREATED,
             responses={422: {"description": "Nothing was enrolled; `errors` lists each line's problem."}})
async def import_census(file: UploadFile, admin: CurrentAdmin, ctx: Ctx, session: SessionDep) -> CensusResult:
    """Enrol everyone on a census list (CSV, UTF-8 or GB18030; headers in Chinese or English: 姓名, 手机号,
    网格 (name or id), 原因, optional 观察方式, 开始日期, 观察天数, 地址, 身份证号, 出生日期, 语言). All or nothing:
    with any bad line nothing is enrolled and every problem is listed by line."""
    limit = ctx.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise Invalid("The file is larger than {size}; please split the list.", size=describe_size(limit))
    created = await census.import_census(session, actor=admin, data=data, rules=ctx.settings.rules, now=ctx.now())
    return CensusResult(created=len(created), subjects=[
        CensusEnrolled(line=line, id=s.id, full_name=s.full_name, grid_id=s.grid_id, access_code=code,
                       access_url=service.access_url(ctx.settings.public_url, code))
        for line, s, code in created
    ])


@router.get("/{subject_id}", response_model=SubjectRead)
async def get_subject(subject_id: uuid.UUID, staff: CurrentStaff, ctx: Ctx, session: SessionDep) -> SubjectRead:
    """A person's record (staff in scope; every look is audited)."""
    subject = await service.look_at(session, staff=staff, subject_id=subject_id)
    return service.to_read(subject, now=ctx.now(), rules=ctx.settings.rules)


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
    result = release_service.eligibility(subject, now=ctx.now(), rules=ctx.settings.rules)
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
                                  rules=ctx.settings.rules, now=now)
    return service.to_read(subject, now=now, rules=ctx.settings.rules)
