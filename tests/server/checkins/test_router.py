"""Real aiortc peers against the real app: the offer goes through HTTP, media over the loopback host."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.audit.service import list_entries
from server.checkins import service
from server.models.checkins import Call, Checkin
from tests.factories import enrol, subject_headers
from webrtc.testing import SyntheticVideoTrack, connect_client, receive_frames, received_track

from .conftest import FACE, Offerer, eventually, manager, start_checkin, wait_status

pytestmark = pytest.mark.webrtc


async def test_face_checkin_completes_with_snapshots_served_as_jpeg(client, world, app_ctx, peers):
    pc, checkin_id = await start_checkin(client, world.subj_a, peers, SyntheticVideoTrack.from_file(FACE))

    live = await wait_status(client, checkin_id, world.subj_a, {"live"})
    assert live["subject_id"] == str(world.subject_a.id)
    listed = (await client.get(f"/api/v1/checkins?subject_id={world.subject_a.id}", headers=world.clin_a)).json()
    assert [c["id"] for c in listed] == [checkin_id]

    body = await wait_status(client, checkin_id, world.subj_a, {"completed", "failed", "abandoned"})
    assert body["status"] == "completed", body["error"]
    assert body["frames_received"] >= 30
    assert (body["width"], body["height"]) == (320, 240)
    assert body["face_seen_ratio"] == 1.0
    snapshots = body["snapshots"]
    assert [s["index"] for s in snapshots] == list(range(len(snapshots))) and len(snapshots) >= 3
    assert all(s["face_detected"] for s in snapshots)
    for viewer in (world.subj_a, world.clin_a):
        image = await client.get(snapshots[0]["url"], headers=viewer)
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/jpeg"
        assert image.content[:2] == b"\xff\xd8"

    me = (await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a)).json()
    assert "no_video_today" not in me["flags"] and "video_unclear" not in me["flags"]
    await eventually(lambda: manager(app_ctx).active_count() == 0)


async def test_moving_pattern_completes_without_a_face_and_flags_video_unclear(client, world, app_ctx, peers):
    pc, checkin_id = await start_checkin(client, world.subj_a, peers, SyntheticVideoTrack())
    await wait_status(client, checkin_id, world.subj_a, {"live"})
    await asyncio.sleep(2.0)
    await pc.close()

    body = await wait_status(client, checkin_id, world.subj_a, {"completed", "failed", "abandoned"})
    assert body["status"] == "completed", body["error"]
    assert body["snapshots"] and not any(s["face_detected"] for s in body["snapshots"])
    assert body["face_seen_ratio"] == 0.0
    subject = (await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a)).json()
    assert "video_unclear" in subject["flags"]


async def test_client_vanishing_early_leaves_abandoned_record_and_no_live_peer(client, world, app_ctx, peers):
    pc, checkin_id = await start_checkin(client, world.subj_a, peers)
    await wait_status(client, checkin_id, world.subj_a, {"live"})
    await pc.close()

    body = await wait_status(client, checkin_id, world.subj_a, {"completed", "failed", "abandoned"})
    assert body["status"] in ("abandoned", "failed")
    assert body["frames_received"] > 0 and body["error"]
    await eventually(lambda: manager(app_ctx).active_count() == 0, timeout=3)
    async with app_ctx.db.session() as session:
        row = await session.scalar(select(Checkin).where(Checkin.id == uuid.UUID(checkin_id)))
        assert row is not None and row.ended_at is not None


async def test_beyond_the_session_limit_offers_get_503_with_retry_after(client, world, app_ctx, peers):
    # One check-in per person at a time: three people fill the lines (checkin_max_sessions in these tests).
    third = await enrol(app_ctx, world.grid_a, name="张三", phone="13700137001")
    fourth = await enrol(app_ctx, world.grid_a, name="赵六", phone="13700137002")
    for headers in (world.subj_a, world.subj_b, subject_headers(app_ctx, third)):
        await start_checkin(client, headers, peers)
    offerer = Offerer(client, "/api/v1/checkins", {**subject_headers(app_ctx, fourth), "Accept-Language": "zh-TW"})
    with pytest.raises(RuntimeError):
        await connect_client(offerer, SyntheticVideoTrack())
    assert offerer.response is not None and offerer.response.status_code == 503
    seconds = int(offerer.response.headers["Retry-After"])
    assert seconds >= 1
    assert offerer.response.json()["error"] == "busy"
    assert offerer.response.json()["detail"] == f"視訊線路全部佔用，請在 {seconds} 秒後重試。"
    async with app_ctx.db.session() as session:
        assert len((await session.scalars(select(Checkin))).all()) == 3


async def test_offer_without_a_sign_in_gets_401_and_garbage_sdp_a_readable_422(client, world):
    assert (await client.post("/api/v1/checkins", json={"sdp": "v=0", "type": "offer"})).status_code == 401
    response = await client.post("/api/v1/checkins", headers=world.subj_a, json={"sdp": "hello", "type": "offer"})
    assert response.status_code == 422
    assert "offer" in response.json()["detail"]


async def test_released_person_cannot_start_a_checkin(client, world):
    released = await client.post(f"/api/v1/subjects/{world.subject_a.id}/release", headers=world.admin_h,
                                 json={"override": True, "note": "test"})
    assert released.status_code == 200, released.text
    response = await client.post("/api/v1/checkins", headers=world.subj_a,
                                 json={"sdp": "v=0\r\nm=video", "type": "offer"})
    assert response.status_code == 409


async def test_out_of_scope_staff_and_other_people_see_nothing(client, world, app_ctx, peers):
    pc, checkin_id = await start_checkin(client, world.subj_a, peers)
    body = await wait_status(client, checkin_id, world.subj_a, {"live"})
    await eventually(lambda: manager(app_ctx).live_checkins() == {checkin_id})
    await asyncio.sleep(0.8)  # a first snapshot
    snapshot_url = f"/api/v1/checkins/{checkin_id}/snapshots/0.jpg"

    for outsider in (world.clin_b, world.subj_b):
        assert (await client.get(f"/api/v1/checkins/{checkin_id}", headers=outsider)).status_code == 404
        assert (await client.get(snapshot_url, headers=outsider)).status_code == 404
    assert (await client.get(f"/api/v1/checkins?subject_id={world.subject_a.id}",
                             headers=world.clin_b)).status_code == 404
    watcher = Offerer(client, f"/api/v1/checkins/{checkin_id}/watch", world.clin_b)
    with pytest.raises(RuntimeError):
        await connect_client(watcher, None)
    assert watcher.response is not None and watcher.response.status_code == 404
    assert (await client.get(snapshot_url)).status_code == 401

    # In scope, watching works and shows the subject's video.
    viewer = await connect_client(Offerer(client, f"/api/v1/checkins/{checkin_id}/watch", world.clin_a), None)
    peers.append(viewer)
    frames = await receive_frames(received_track(viewer, "video"), count=3)
    assert len(frames) == 3
    assert body["status"] == "live"


async def test_clinician_calls_and_both_sides_get_media(client, world, app_ctx, peers):
    assert (await client.get("/api/v1/me/call", headers=world.subj_a)).status_code == 204
    assert (await client.post(f"/api/v1/subjects/{world.subject_b.id}/call", headers=world.clin_a)).status_code == 404
    created = await client.post(f"/api/v1/subjects/{world.subject_a.id}/call", headers=world.clin_a)
    assert created.status_code == 201
    call_id = created.json()["call_id"]

    ringing = await client.get("/api/v1/me/call", headers=world.subj_a)
    assert ringing.status_code == 200 and ringing.json()["call_id"] == call_id
    assert ringing.json()["clinician"]

    other_host = Offerer(client, f"/api/v1/calls/{call_id}/host", world.clin_b)
    with pytest.raises(RuntimeError):
        await connect_client(other_host, SyntheticVideoTrack(), audio=True)
    host = await connect_client(Offerer(client, f"/api/v1/calls/{call_id}/host", world.clin_a),
                                SyntheticVideoTrack(width=160, height=120), audio=True)
    peers.append(host)
    subject_pc, checkin_id = await start_checkin(client, world.subj_a, peers, audio=True, call_id=call_id)

    host_sees = await receive_frames(received_track(host, "video"), count=3)
    subject_sees = await receive_frames(received_track(subject_pc, "video"), count=3)
    subject_hears = await receive_frames(received_track(subject_pc, "audio"), count=3)
    assert host_sees and subject_sees and subject_hears
    record = await wait_status(client, checkin_id, world.clin_a, {"live"})
    assert record["call_id"] == call_id
    assert (await client.get("/api/v1/me/call", headers=world.subj_a)).status_code == 204
    async with app_ctx.db.session() as session:
        hosted = await list_entries(session, action="call.hosted")
    assert [(e.actor_id, e.subject_id, e.detail) for e in hosted] == [
        (str(world.clinician_a.id), world.subject_a.id, {"call_id": call_id})]


async def test_no_video_today_after_the_last_window_closes_without_a_checkin(client, world, clock):
    flags = (await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a)).json()["flags"]
    assert "no_video_today" not in flags
    clock.now = datetime(2026, 3, 10, 13, 5, tzinfo=UTC)  # 21:05 in Shanghai: the evening window closed
    flags = (await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a)).json()["flags"]
    assert "no_video_today" in flags
    roster = (await client.get("/api/v1/roster", headers=world.clin_a)).json()
    assert "no_video_today" in roster["items"][0]["flags"]


async def test_clinician_stores_a_temperature_seen_on_video(client, world, app_ctx, peers):
    pc, checkin_id = await start_checkin(client, world.subj_a, peers)
    await wait_status(client, checkin_id, world.subj_a, {"live"})

    assert (await client.post(f"/api/v1/checkins/{checkin_id}/reading", headers=world.clin_b,
                              json={"temperature_c": 36.8})).status_code == 404
    stored = await client.post(f"/api/v1/checkins/{checkin_id}/reading", headers=world.clin_a,
                               json={"temperature_c": 36.8, "method": "forehead"})
    assert stored.status_code == 201, stored.text
    assert stored.json()["source"] == "video" and stored.json()["checkin_id"] == checkin_id


async def test_a_call_hung_up_before_anyone_joined_is_missed_for_both_sides(client, world, app_ctx):
    created = await client.post(f"/api/v1/subjects/{world.subject_a.id}/call", headers=world.clin_a)
    call_id = created.json()["call_id"]
    ringing = (await client.get("/api/v1/me/call", headers=world.subj_a)).json()
    assert ringing["unit"] and ringing["clinician"]
    # Another person cannot end it; another clinician cannot either (out of scope looks like missing).
    assert (await client.post(f"/api/v1/me/call/{call_id}/end", headers=world.subj_b)).status_code == 404
    assert (await client.post(f"/api/v1/calls/{call_id}/end", headers=world.clin_b)).status_code == 404
    assert (await client.post(f"/api/v1/calls/{call_id}/end", headers=world.clin_a)).status_code == 204
    assert (await client.get("/api/v1/me/call", headers=world.subj_a)).status_code == 204
    async with app_ctx.db.session() as session:
        call = await session.get(Call, uuid.UUID(call_id))
        assert call is not None and call.status == "missed"
        missed = await service.missed_calls(session, subject_id=world.subject_a.id,
                                            since=app_ctx.now() - timedelta(hours=1), now=app_ctx.now())
    assert [c.id for c, _name in missed] == [uuid.UUID(call_id)]
    # Ending again is harmless: the person declining after the clinician gave up changes nothing.
    assert (await client.post(f"/api/v1/me/call/{call_id}/end", headers=world.subj_a)).status_code == 204


async def test_a_ringing_call_is_pushed_to_a_subscribed_phone_when_web_push_is_set_up(
        client, world, app_ctx, monkeypatch):
    from server.models.notifications import OutboxMessage, PushSubscription

    # Without Web Push set up, or without a subscribed phone, nothing is queued.
    await client.post(f"/api/v1/subjects/{world.subject_a.id}/call", headers=world.clin_a)
    monkeypatch.setattr(app_ctx.settings, "vapid_private_key", "private")
    monkeypatch.setattr(app_ctx.settings, "vapid_public_key", "public")
    monkeypatch.setattr(app_ctx.settings, "vapid_subject", "mailto:ops@example.org")
    await client.post(f"/api/v1/subjects/{world.subject_a.id}/call", headers=world.clin_a)
    async with app_ctx.db.session() as session:
        assert (await session.scalars(select(OutboxMessage))).all() == []
        session.add(PushSubscription(subject_id=world.subject_a.id, endpoint="https://push.example/1",
                                     subscription={"endpoint": "https://push.example/1", "keys": {}}))
    created = await client.post(f"/api/v1/subjects/{world.subject_a.id}/call", headers=world.clin_a)
    call_id = created.json()["call_id"]
    async with app_ctx.db.session() as session:
        [message] = (await session.scalars(select(OutboxMessage))).all()
    assert (message.channel, message.subject_id, message.dedupe_key) == ("webpush", world.subject_a.id,
                                                                         f"call:{call_id}")
    assert message.title == "医生正在呼叫您" and message.data["url"] == f"/me/checkin?call={call_id}"
