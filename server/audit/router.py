from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from server.audit import service
from server.audit.schemas import AuditRead
from server.deps import CurrentAdmin, SessionDep
from server.fields import Limit, Offset, Text

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[AuditRead])
async def list_audit(
    admin: CurrentAdmin,
    session: SessionDep,
    subject_id: uuid.UUID | None = None,
    action: Annotated[Text | None, Query(max_length=100)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AuditRead]:
    """The audit trail, newest first: who did or looked at what, and when (admins only)."""
    entries = await service.list_entries(session, subject_id=subject_id, action=action, limit=limit,
                                         offset=offset)
    return [AuditRead.model_validate(e) for e in entries]
