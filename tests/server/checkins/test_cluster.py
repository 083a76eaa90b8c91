"""Which process holds a call's media: the first half to arrive claims it, and everyone reads the winner."""

from __future__ import annotations

import uuid

import pytest

from server.checkins import service
from server.checkins.cluster import MediaElsewhere, check_here

A, B = "http://10.0.0.5:8001", "http://10.0.0.6:8001"


async def test_the_first_claim_wins_and_later_ones_read_it(app_ctx, world, client):
    created = await client.post(f"/api/v1/subjects/{world.subject_a.id}/call", headers=world.clin_a)
    call_id = uuid.UUID(created.json()["call_id"])
    async with app_ctx.db.session() as session:
        # Another person's claim claims nothing.
        assert await service.claim_call_media(session, call_id=call_id, owner=B,
                                              subject_id=world.subject_b.id) is None
    async with app_ctx.db.session() as session:
        assert await service.claim_call_media(session, call_id=call_id, owner=A) == A
    async with app_ctx.db.session() as session:
        assert await service.claim_call_media(session, call_id=call_id, owner=B,
                                              subject_id=world.subject_a.id) == A


def test_media_is_elsewhere_only_when_both_processes_are_known_and_differ():
    check_here(None, A)  # one process: everything is here
    check_here(A, None)  # recorded by no process in particular
    check_here(A, A)
    with pytest.raises(MediaElsewhere) as raised:
        check_here(B, A)
    assert raised.value.owner == A
