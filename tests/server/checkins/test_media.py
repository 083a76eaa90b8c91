"""The media plane's refusals become answers in one place: each kind has its status and error."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.checkins.lifecycle import media
from server.checkins.media import media_refusal
from server.models.checkins import Checkin
from webrtc import AlreadyConnected, CapacityExceeded, InvalidOffer, ManagerClosed, MediaError, NotLive, SnapshotFailed


@pytest.mark.parametrize(
    ("refusal", "status_code", "error"),
    [
        (CapacityExceeded(7), 503, "busy"),
        (ManagerClosed(), 503, "busy"),
        (InvalidOffer("the offer has no video"), 422, "invalid"),
        (NotLive("c-1"), 404, "not_found"),
        (AlreadyConnected("c-1"), 409, "conflict"),
    ],
)
def test_each_refusal_of_the_media_plane_maps_to_one_answer(refusal: MediaError, status_code: int, error: str):
    answer = media_refusal(refusal)
    assert (answer.status_code, answer.error) == (status_code, error)


def test_busy_answers_say_when_to_retry():
    assert media_refusal(CapacityExceeded(7)).headers == {"Retry-After": "7"}
    assert "no video" in media_refusal(InvalidOffer("the offer has no video")).detail


def test_a_refusal_without_an_answer_stays_an_error():
    with pytest.raises(SnapshotFailed):
        media_refusal(SnapshotFailed("JPEG encoding failed"))


async def test_an_offer_while_the_media_plane_shuts_down_gets_503_and_leaves_no_checkin(client, world, app_ctx):
    await media(app_ctx).close()
    response = await client.post("/api/v1/checkins", headers=world.subj_a, json={"sdp": "v=0", "type": "offer"})
    assert response.status_code == 503
    assert response.json()["error"] == "busy" and response.headers["Retry-After"] == "60"
    async with app_ctx.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Checkin)) == 0
