"""Real aiortc peers negotiating with a MediaManager in-process, over the machine's own interface."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import AudioStreamTrack
from av import AudioFrame, VideoFrame

from webrtc import CapacityExceeded, CheckinOutcome, InvalidOffer, ManagerClosed, MediaManager, NotLive
from webrtc.testing import SyntheticVideoTrack, connect_client, receive_frames, received_track

from .conftest import FACE, CheckinProbe, eventually

pytestmark = pytest.mark.webrtc


async def test_face_checkin_completes_at_time_limit_with_face_snapshots(make_manager, clients):
    manager = make_manager(max_checkin_seconds=3)
    probe = CheckinProbe(manager, "c-face")
    clients.append(await probe.connect(SyntheticVideoTrack.from_file(FACE)))

    await asyncio.wait_for(probe.live.wait(), 5)
    assert manager.live_checkins() == {"c-face"}
    result = await probe.result()

    assert result.outcome is CheckinOutcome.completed, result.error
    assert result.error is None
    assert 2.0 <= result.duration_s <= 3.5
    assert result.frames_received >= 30
    assert (result.width, result.height) == (320, 240)
    assert result.started_at is not None and result.ended_at > result.started_at
    assert result.snapshots_taken == len(probe.snapshots) >= 4
    assert result.faces_seen == result.snapshots_taken
    assert [s.index for s in probe.snapshots] == list(range(len(probe.snapshots)))
    assert all(s.face_detected and s.jpeg[:2] == b"\xff\xd8" for s in probe.snapshots)
    await eventually(lambda: manager.active_count() == 0)


async def test_moving_pattern_completes_when_client_leaves_after_minimum_without_faces(make_manager, clients):
    manager = make_manager(max_snapshots=3)
    probe = CheckinProbe(manager, "c-pattern")
    pc = await probe.connect(SyntheticVideoTrack(width=640, height=480))
    clients.append(pc)

    await asyncio.sleep(2.6)
    await pc.close()
    result = await probe.result()

    assert result.outcome is CheckinOutcome.completed, result.error
    assert (result.width, result.height) == (640, 480)
    assert result.snapshots_taken == 3
    assert result.faces_seen == 0
    assert not any(s.face_detected for s in probe.snapshots)
    assert {(s.width, s.height) for s in probe.snapshots} == {(640, 480)}


async def test_client_leaving_early_is_abandoned_and_frees_its_slot(make_manager, clients):
    manager = make_manager(min_completed_seconds=5)
    probe = CheckinProbe(manager, "c-early")
    pc = await probe.connect()
    clients.append(pc)
    await asyncio.wait_for(probe.live.wait(), 5)
    assert manager.active_count() == 1

    await asyncio.sleep(0.5)
    await pc.close()
    result = await probe.result(timeout=5)

    assert result.outcome is CheckinOutcome.abandoned
    assert result.frames_received > 0
    assert "closed" in result.error
    await eventually(lambda: manager.active_count() == 0, timeout=2)
    assert manager.live_checkins() == set()


async def test_peer_that_never_connects_fails_without_leaking_tasks(make_manager):
    manager = make_manager(connect_timeout_seconds=1)
    probe = CheckinProbe(manager, "c-silent")
    before = asyncio.all_tasks()
    # The client makes an offer but never applies the answer, like a browser closed mid-negotiation.
    answered = []

    async def offer_then_vanish(sdp, type):
        answered.append(await probe.offer_to(sdp, type))
        raise ConnectionAbortedError

    with pytest.raises(ConnectionAbortedError):
        await connect_client(offer_then_vanish, SyntheticVideoTrack())
    result = await probe.result(timeout=5)

    assert answered
    assert result.outcome is CheckinOutcome.failed
    assert "not established" in result.error
    assert result.started_at is None and result.frames_received == 0
    await eventually(lambda: manager.active_count() == 0 and asyncio.all_tasks() <= before | {asyncio.current_task()})


async def test_offers_without_video_or_not_sdp_are_rejected(make_manager, clients):
    manager = make_manager()
    probe = CheckinProbe(manager, "c-bad")

    with pytest.raises(InvalidOffer, match="no video"):
        await connect_client(probe.offer_to, AudioStreamTrack())
    with pytest.raises(InvalidOffer, match="invalid SDP"):
        await probe.offer_to("hello", "offer")
    with pytest.raises(InvalidOffer, match="offer"):
        await probe.offer_to("v=0", "answer")
    assert manager.active_count() == 0
    assert probe.results == []


async def test_sessions_beyond_max_sessions_are_refused_with_retry_after(make_manager, clients):
    manager = make_manager(max_sessions=2, max_checkin_seconds=20)
    first, second = CheckinProbe(manager, "c-1"), CheckinProbe(manager, "c-2")
    clients.append(await first.connect())
    clients.append(await second.connect())

    with pytest.raises(CapacityExceeded) as refused:
        await CheckinProbe(manager, "c-3").connect()
    assert 1 <= refused.value.retry_after <= 20
    with pytest.raises(CapacityExceeded):
        await connect_client(lambda sdp, type: manager.watch(checkin_id="c-1", sdp=sdp, type=type, viewer_id="v"), None)

    await asyncio.wait_for(first.live.wait(), 5)
    await manager.end("c-1")
    assert first.results[0].outcome is CheckinOutcome.abandoned
    assert manager.active_count() == 1
    clients.append(await CheckinProbe(manager, "c-3").connect())


async def test_viewer_receives_live_video_and_is_closed_when_the_checkin_ends(make_manager, clients):
    manager = make_manager(max_checkin_seconds=4)
    probe = CheckinProbe(manager, "c-watched")
    with pytest.raises(NotLive):
        await manager.watch(checkin_id="c-watched", sdp="", type="offer", viewer_id="v")
    clients.append(await probe.connect(SyntheticVideoTrack.from_file(FACE), audio=True))
    ended = asyncio.Event()

    async def offer_to(sdp, type):
        return await manager.watch(
            checkin_id="c-watched", sdp=sdp, type=type, viewer_id="nurse-1", on_ended=_setter(ended)
        )

    viewer = await connect_client(offer_to, None, audio=True)
    clients.append(viewer)
    assert manager.active_count() == 2

    video = await receive_frames(received_track(viewer, "video"), count=10)
    audio = await receive_frames(received_track(viewer, "audio"), count=10)
    assert all(isinstance(f, VideoFrame) and (f.width, f.height) == (320, 240) for f in video)
    assert all(isinstance(f, AudioFrame) for f in audio)

    result = await probe.result()
    assert result.outcome is CheckinOutcome.completed
    await asyncio.wait_for(ended.wait(), 5)
    await eventually(lambda: manager.active_count() == 0)


async def test_live_call_relays_media_both_ways(make_manager, clients):
    manager = make_manager(max_checkin_seconds=30)

    async def host_offer(sdp, type):
        return await manager.start_call_host(call_id="call-1", sdp=sdp, type=type)

    host = await connect_client(host_offer, SyntheticVideoTrack(width=160, height=120), audio=True)
    clients.append(host)
    # Nobody to relay yet: the host's tracks are in the answer but quiet.
    with pytest.raises(TimeoutError):
        await receive_frames(received_track(host, "video"), count=1, timeout=0.5)

    probe = CheckinProbe(manager, "c-call", call_id="call-1")
    subject = await probe.connect(SyntheticVideoTrack.from_file(FACE), audio=True)
    clients.append(subject)

    to_host = await receive_frames(received_track(host, "video"), count=5)
    to_subject = await receive_frames(received_track(subject, "video"), count=5)
    assert {(f.width, f.height) for f in to_host} == {(320, 240)}
    assert {(f.width, f.height) for f in to_subject} == {(160, 120)}
    assert await receive_frames(received_track(host, "audio"), count=5)
    assert await receive_frames(received_track(subject, "audio"), count=5)
    assert manager.active_count() == 2

    await subject.close()
    assert (await probe.result()).frames_received > 0
    # The host stays, waiting for the subject to come back.
    await eventually(lambda: manager.active_count() == 1)
    await manager.end_call("call-1")
    assert manager.active_count() == 0


async def test_call_host_sees_a_rejoining_subject_as_one_continuous_stream(make_manager, clients):
    manager = make_manager(max_checkin_seconds=30)
    host = await connect_client(
        lambda sdp, type: manager.start_call_host(call_id="call-2", sdp=sdp, type=type), SyntheticVideoTrack()
    )
    clients.append(host)
    seen: list[tuple[int, int]] = []

    async def record_host_video() -> None:
        track = received_track(host, "video")
        while True:
            frame = await track.recv()
            seen.append((frame.width, frame.pts))

    recorder = asyncio.create_task(record_host_video())
    try:
        first = CheckinProbe(manager, "c-first", call_id="call-2")
        first_pc = await first.connect(SyntheticVideoTrack(width=320, height=240))
        clients.append(first_pc)
        await eventually(lambda: len(seen) >= 5)
        await first_pc.close()
        await first.result()

        second = CheckinProbe(manager, "c-second", call_id="call-2")
        clients.append(await second.connect(SyntheticVideoTrack(width=640, height=480)))
        await eventually(lambda: sum(width == 640 for width, _ in seen) >= 5)
    finally:
        recorder.cancel()

    pts = [p for _, p in seen]
    assert pts == sorted(pts) and len(set(pts)) == len(pts)
    assert [w for w, _ in seen] == sorted(w for w, _ in seen)


async def test_callback_failures_are_logged_and_the_checkin_goes_on(make_manager, clients, caplog):
    manager = make_manager(max_checkin_seconds=2.5)
    probe = CheckinProbe(manager, "c-broken")

    async def broken(*_):
        raise RuntimeError("database down")

    probe.on_live = broken  # type: ignore[method-assign]
    probe.on_snapshot = broken  # type: ignore[method-assign]
    clients.append(await probe.connect())

    result = await probe.result()
    assert result.outcome is CheckinOutcome.completed
    assert result.snapshots_taken >= 3
    assert "on_snapshot callback failed" in caplog.text


async def test_recording_writes_a_webm_file(make_manager, clients, tmp_path):
    manager = make_manager(max_checkin_seconds=2.5, record=True, media_dir=tmp_path, max_snapshots=0)
    probe = CheckinProbe(manager, "../c-rec")
    clients.append(await probe.connect())

    result = await probe.result()
    assert result.recording_path is not None
    assert result.recording_path.parent == tmp_path
    data = result.recording_path.read_bytes()
    assert data[:4] == b"\x1a\x45\xdf\xa3" and len(data) > 10_000


async def test_close_ends_every_session_and_leaves_no_tasks(clients):
    from webrtc import MediaConfig

    before = asyncio.all_tasks()
    manager = MediaManager(MediaConfig(max_checkin_seconds=30))
    probe = CheckinProbe(manager, "c-shutdown", call_id="call-shutdown")
    await connect_client(
        lambda sdp, type: manager.start_call_host(call_id="call-shutdown", sdp=sdp, type=type),
        SyntheticVideoTrack(),
        audio=True,
    )
    clients.append(await probe.connect(audio=True))
    clients.append(
        await connect_client(
            lambda sdp, type: manager.watch(checkin_id="c-shutdown", sdp=sdp, type=type, viewer_id="v"), None
        )
    )
    await asyncio.wait_for(probe.live.wait(), 5)
    assert manager.active_count() == 3

    await manager.close()

    assert manager.active_count() == 0
    result = await probe.result(timeout=1)
    assert result.outcome is CheckinOutcome.abandoned and "shut down" in result.error
    for pc in clients:
        await pc.close()
    await eventually(lambda: asyncio.all_tasks() <= before | {asyncio.current_task()}, timeout=3)
    with pytest.raises(ManagerClosed):
        await probe.offer_to("v=0", "offer")


def _setter(event: asyncio.Event):
    async def set_event() -> None:
        event.set()

    return set_event
