from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from server.deps import Ctx, CurrentAdmin, CurrentStaff, CurrentSubject, SessionDep
from server.errors import NotFound
from server.fields import Limit, Offset, Text
from server.notifications import service
from server.notifications.endpoints import check_endpoint
from server.notifications.schemas import (
    OutboxPage,
    OutboxRead,
    PushKeyRead,
    PushSubscriptionCreate,
    ReleaseCandidate,
    ReleaseCandidatePage,
)
from server.subjects import release as release_service

router = APIRouter(tags=["notifications"])


@router.get("/outbox", response_model=OutboxPage)
async def list_outbox(
    admin: CurrentAdmin, session: SessionDep,
    status: Literal["pending", "sending", "sent", "failed"] | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> OutboxPage:
    """Reminders and staff alerts waiting, sent or failed (with the reason), newest first; counts by status."""
    counts, rows = await service.outbox_page(session, status=status, limit=limit, offset=offset)
    return OutboxPage(counts=counts, items=[OutboxRead.model_validate(r) for r in rows])


@router.post("/outbox/{message_id}/retry", response_model=OutboxRead)
async def retry_outbox(message_id: uuid.UUID, admin: CurrentAdmin, ctx: Ctx, session: SessionDep) -> OutboxRead:
    """Send a failed notification again (from a fresh count of attempts)."""
    message = await service.retry(session, actor=admin, message_id=message_id, now=ctx.now())
    return OutboxRead.model_validate(message)


@router.get("/push/key", response_model=PushKeyRead, responses={404: {"description": "Web Push is not set up."}})
async def push_key(ctx: Ctx) -> PushKeyRead:
    """The VAPID public key browsers subscribe with."""
    if not ctx.settings.webpush_configured or not ctx.settings.vapid_public_key:
        raise NotFound("Push notifications are not set up here.")
    return PushKeyRead(public_key=ctx.settings.vapid_public_key)


@router.post("/me/push-subscriptions", status_code=status.HTTP_201_CREATED, response_class=Response,
             responses={409: {"description": "Another person's browser holds this endpoint."}})
async def add_push_subscription(body: PushSubscriptionCreate, me: CurrentSubject, ctx: Ctx,
                                session: SessionDep) -> Response:
    """Remember this browser for reminders (Web Push). The endpoint must be a public push service's
    https address (422 otherwise); 409 when another person's browser holds it with other keys."""
    await check_endpoint(body.endpoint, ctx.resolve_host)
    await service.save_push_subscription(
        session, actor=me, subject_id=me.subject_id, endpoint=body.endpoint,
        subscription={"endpoint": body.endpoint, "keys": body.keys.model_dump()}, now=ctx.now())
    return Response(status_code=status.HTTP_201_CREATED)


@router.delete("/me/push-subscriptions", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def remove_push_subscription(endpoint: Annotated[Text, Query(max_length=1000)], me: CurrentSubject,
                                   session: SessionDep) -> Response:
    """Stop reminders to this browser."""
    await service.delete_push_subscription(session, actor=me, subject_id=me.subject_id, endpoint=endpoint)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/release-candidates", response_model=ReleaseCandidatePage)
async def release_candidates(
    staff: CurrentStaff, ctx: Ctx, session: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ReleaseCandidatePage:
    """People (in the caller's grids) whose observation period is over, with whether the rules allow release."""
    now = ctx.now()
    rules = ctx.settings.rules
    total, subjects = await service.release_candidates(session, staff=staff, now=now, rules=rules,
                                                       limit=limit, offset=offset)
    items = []
    results = await release_service.eligibilities(session, subjects, now=now, rules=rules)
    for subject, result in zip(subjects, results, strict=True):
        items.append(ReleaseCandidate(
            subject_id=subject.id, full_name=subject.full_name, grid_id=subject.grid_id,
            start_date=subject.start_date, planned_end_date=subject.planned_end_date, eligible=result.eligible,
            reasons=release_service.reasons_payload(result)))
    return ReleaseCandidatePage(total=total, items=items)
