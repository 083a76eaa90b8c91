"""A check-in counts its frames without decoding them and decodes a requested keyframe per snapshot;
frames are decoded only while a viewer, a call or a recording takes them."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from av import VideoFrame

from webrtc import CheckinOutcome
from webrtc.testing import SyntheticVideoTrack, connect_client, receive_frames, received_track

from .conftest import FACE, CheckinProbe, eventually

pytestmark = pytest.mark.webrtc


async def test_frames_are_counted_without_a_decoder_and_snapshots_come_from_requested_keyframes(
    make_manager, clients
):
    manager = make_manager(max_checkin_seconds=3)
    probe = CheckinProbe(manager, "c-counted")
    # aiortc's encoder sends a keyframe first and then only when asked (its keyframe interval is 3000).
    clients.append(await probe.connect(SyntheticVideoTrack.from_file(FACE)))

    result = await probe.result()

    assert result.outcome is CheckinOutcome.completed, result.error
    assert result.frames_received >= 30 and result.frames_decoded == 0
    assert 2.0 <= result.duration_s <= 3.5
    assert (result.width, result.height) == (320, 240)
    assert result.snapshots_taken == len(probe.snapshots) >= 4
    assert result.keyframes_requested >= result.snapshots_taken
    assert all(s.face_detected and (s.width, s.height) == (320, 240) for s in probe.snapshots)
    gaps = [(b.taken_at - a.taken_at).total_seconds() for a, b in itertools.pairwise(probe.snapshots)]
    assert all(0.2 <= gap <= 1.2 for gap in gaps), gaps


async def test_a_viewer_gets_decoded_frames_and_decoding_stops_when_it_leaves(make_manager, clients):
    manager = make_manager(max_checkin_seconds=4)
    probe = CheckinProbe(manager, "c-viewed")
    clients.append(await probe.connect(SyntheticVideoTrack.from_file(FACE)))
    await asyncio.wait_for(probe.live.wait(), 5)

    viewer = await connect_client(
        lambda sdp, type: manager.watch(checkin_id="c-viewed", sdp=sdp, type=type, viewer_id="v"), None
    )
    clients.append(viewer)
    video = await receive_frames(received_track(viewer, "video"), count=10)
    assert all(isinstance(f, VideoFrame) and (f.width, f.height) == (320, 240) for f in video)
    await viewer.close()
    await eventually(lambda: manager.active_count() == 1)

    result = await probe.result()
    assert result.outcome is CheckinOutcome.completed
    assert 10 <= result.frames_decoded <= result.frames_received - 15
    assert result.snapshots_taken >= 4


async def test_a_recording_decodes_every_frame_from_the_first(make_manager, clients, tmp_path):
    manager = make_manager(max_checkin_seconds=2.5, record=True, media_dir=tmp_path)
    probe = CheckinProbe(manager, "c-recorded")
    clients.append(await probe.connect())

    result = await probe.result()
    assert result.recording_path is not None and result.recording_path.stat().st_size > 10_000
    # The recorder subscribes at the first frame, so decoding starts from the keyframe it asks for.
    assert result.frames_decoded >= result.frames_received - 10
