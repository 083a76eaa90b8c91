from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter

from server.alerts import service
from server.alerts.schemas import AlertAck, AlertRead
from server.areas.service import narrow
from server.deps import Ctx, CurrentStaff, SessionDep
from server.fields import DbId, Limit, Offset

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("", response_model=list[AlertRead])
async def list_alerts(
    staff: CurrentStaff,
    session: SessionDep,
    status: Literal["open", "acknowledged"] | None = None,
    subject_id: uuid.UUID | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
    area_id: DbId | None = None,
) -> list[AlertRead]:
    """Alerts for people in the caller's areas (or below `area_id`), newest first."""
    staff = await narrow(session, staff=staff, area_id=area_id)
    rows = await service.list_alerts(session, staff=staff, status=status, subject_id=subject_id, limit=limit,
                                     offset=offset)
    return [service.to_read(alert, name) for alert, name in rows]


@router.post("/{alert_id}/ack", response_model=AlertRead)
async def acknowledge_alert(alert_id: uuid.UUID, body: AlertAck, staff: CurrentStaff, ctx: Ctx,
                            session: SessionDep) -> AlertRead:
    """Mark an alert as handled, with a note saying what was done."""
    alert, subject = await service.acknowledge(session, staff=staff, alert_id=alert_id, note=body.note,
                                               now=ctx.now(), rules=ctx.settings.rules)
    return service.to_read(alert, subject.full_name)
