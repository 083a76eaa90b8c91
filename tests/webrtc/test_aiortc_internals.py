"""The aiortc internals webrtc/aiortc_internals.py relies on still exist and behave: run after any
aiortc upgrade. Real peers, one sending generated video (aiortc's encoder makes keyframes only when
asked), the other receiving through a tapped receiver."""

from __future__ import annotations

import asyncio
import importlib.metadata
import queue
from collections.abc import AsyncIterator

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver
from aiortc import rate as aiortc_rate
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from av import VideoFrame
from hypothesis import given
from hypothesis import strategies as st

from webrtc import aiortc_internals
from webrtc.aiortc_internals import (
    AIORTC_VERSION,
    SparseRateCounter,
    end_remote_track,
    request_keyframe,
    tap_encoded_frames,
)
from webrtc.encoded import is_keyframe
from webrtc.testing import SyntheticVideoTrack

from .conftest import eventually

pytestmark = pytest.mark.webrtc


class Sink:
    def __init__(self) -> None:
        self.frames: list[tuple[str, bytes, int]] = []
        self.decode = False
        self.ended = 0

    def __call__(self, codec: str, data: bytes, timestamp: int) -> bool:
        self.frames.append((codec, data, timestamp))
        return self.decode

    def on_end(self) -> None:
        self.ended += 1

    def keyframes(self) -> int:
        return sum(is_keyframe(codec, data) for codec, data, _ in self.frames)


@pytest.fixture
async def tapped() -> AsyncIterator[tuple[RTCPeerConnection, RTCRtpReceiver, Sink]]:
    sender = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    receiver_pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    sink = Sink()
    try:
        sender.addTransceiver(SyntheticVideoTrack(), direction="sendonly")
        await sender.setLocalDescription(await sender.createOffer())
        await receiver_pc.setRemoteDescription(sender.localDescription)
        (transceiver,) = receiver_pc.getTransceivers()
        tap_encoded_frames(transceiver.receiver, sink, sink.on_end)
        await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
        await sender.setRemoteDescription(receiver_pc.localDescription)
        yield receiver_pc, transceiver.receiver, sink
    finally:
        await sender.close()
        await receiver_pc.close()


def test_the_installed_aiortc_is_the_one_whose_internals_were_read():
    assert importlib.metadata.version("aiortc") == AIORTC_VERSION


def test_the_private_methods_used_exist():
    assert asyncio.iscoroutinefunction(RTCRtpReceiver._send_rtcp_pli)
    assert isinstance(RemoteStreamTrack("video")._queue, asyncio.Queue)


# (milliseconds since the previous call, "add" with a size or "rate"): packets in bursts, long gaps,
# and now and then a clock that steps back.
_traffic = st.lists(
    st.tuples(st.one_of(st.integers(0, 50), st.integers(-30, 0), st.integers(900, 2500)),
              st.one_of(st.integers(1, 1500), st.none())),
    max_size=300,
)


@given(_traffic)
def test_the_sparse_rate_counter_gives_aiortcs_rates(traffic):
    theirs, ours = aiortc_rate.RateCounter(1000, 8000), SparseRateCounter(1000, 8000)
    now = 10_000
    for step, size in traffic:
        now += step
        if size is None:
            assert ours.rate(now) == theirs.rate(now)
        else:
            ours.add(size, now)
            theirs.add(size, now)
    assert ours.rate(now + 1) == theirs.rate(now + 1)
    ours.reset()
    theirs.reset()
    assert ours.rate(now) == theirs.rate(now) is None


async def test_tapped_frames_reach_the_sink_encoded_and_the_decoder_only_when_wanted(tapped):
    pc, receiver, sink = tapped
    assert isinstance(getattr(receiver, aiortc_internals._DECODER_QUEUE), queue.Queue)
    assert isinstance(getattr(receiver, aiortc_internals._RTX_SSRC), dict)
    estimator = getattr(receiver, aiortc_internals._BITRATE_ESTIMATOR)
    assert isinstance(estimator, aiortc_rate.RemoteBitrateEstimator)
    assert isinstance(estimator.incoming_bitrate, SparseRateCounter)
    await eventually(lambda: len(sink.frames) >= 10)
    codec, data, _ = sink.frames[0]
    assert codec == "VP8" and is_keyframe(codec, data)
    timestamps = [timestamp for _, _, timestamp in sink.frames]
    assert timestamps == sorted(timestamps)
    # Nothing was let through, so nothing was decoded.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(receiver.track.recv(), 0.5)

    # Asked for, a keyframe comes (aiortc's encoder makes none unless asked), and decoding from it works.
    assert sink.keyframes() == 1
    sink.decode = True
    await request_keyframe(receiver)
    await eventually(lambda: sink.keyframes() >= 2)
    frame = await asyncio.wait_for(receiver.track.recv(), 5)
    assert isinstance(frame, VideoFrame) and (frame.width, frame.height) == (320, 240)

    await pc.close()
    assert sink.ended == 1
    with pytest.raises(MediaStreamError):
        while True:
            await asyncio.wait_for(receiver.track.recv(), 5)


async def test_a_started_receiver_cannot_be_tapped(tapped):
    _, receiver, sink = tapped
    await eventually(lambda: len(sink.frames) >= 1)
    with pytest.raises(RuntimeError, match="already runs"):
        tap_encoded_frames(receiver, sink, sink.on_end)


async def test_ending_a_remote_track_that_never_started_releases_its_reader():
    track = RemoteStreamTrack("video")
    reader = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    end_remote_track(track)
    with pytest.raises(MediaStreamError):
        await asyncio.wait_for(reader, 1)
