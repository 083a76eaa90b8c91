"""Synthetic peers for tests and benchmarks: real aiortc clients sending generated video."""

from __future__ import annotations

import asyncio
import fractions
import functools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError

_VIDEO_CLOCK = 90_000
_VIDEO_TIME_BASE = fractions.Fraction(1, _VIDEO_CLOCK)


def moving_pattern(width: int, height: int, index: int) -> np.ndarray:
    """A BGR test card with a bar sweeping across it: changes every frame, never looks like a face."""
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = x[None, :]
    image[..., 1] = y[:, None]
    image[..., 2] = (index * 4) % 256
    bar = (index * 8) % width
    image[:, bar : bar + max(4, width // 40)] = 255
    return image


class _Pacer:
    """Wall-clock pacing: each frame is due at start + n/fps, whatever the encoder took."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self.index = 0
        self._start: float | None = None

    async def next(self) -> int:
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            self.index += 1
            delay = self._start + self.index / self.fps - now
            if delay > 0:
                await asyncio.sleep(delay)
        return round(self.index * _VIDEO_CLOCK / self.fps)


class SyntheticVideoTrack(VideoStreamTrack):
    """Raw frames from a still BGR image (or a moving pattern when none is given)."""

    def __init__(
        self, image: np.ndarray | None = None, *, width: int = 320, height: int = 240, fps: float = 15
    ) -> None:
        super().__init__()
        self.width, self.height = width, height
        if image is not None and image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        self._image = image
        self._pacer = _Pacer(fps)

    @classmethod
    def from_file(cls, path: str | Path, *, width: int = 320, height: int = 240,
                  fps: float = 15) -> SyntheticVideoTrack:
        image = cv2.imread(str(path))
        if image is None:
            raise FileNotFoundError(path)
        return cls(image, width=width, height=height, fps=fps)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        pts = await self._pacer.next()
        image = self._image if self._image is not None else moving_pattern(self.width, self.height, pts)
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = pts
        frame.time_base = _VIDEO_TIME_BASE
        return frame


class PreEncodedVideoTrack(MediaStreamTrack):
    """Loops VP8 packets encoded once up front, so a benchmark client costs almost no CPU.

    Sending raw frames would make every synthetic client run a VP8 encoder; on a small machine the
    clients would then starve the server being measured. Only works when VP8 is negotiated, which
    `connect_client` arranges. It cannot answer keyframe requests (nothing is encoded any more), so
    it sends one every `keyframe_seconds`, which bounds how long a server waits for one.
    """

    kind = "video"

    def __init__(self, *, width: int = 320, height: int = 240, fps: float = 15, seconds: float = 4.0,
                 keyframe_seconds: float = 2.0) -> None:
        super().__init__()
        self._pacer = _Pacer(fps)
        self._payloads = _encode_vp8_loop(width, height, fps, max(1, round(seconds * fps)),
                                          max(1, round(keyframe_seconds * fps)))

    @property
    def fps(self) -> float:
        return self._pacer.fps

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        pts = await self._pacer.next()
        packet = av.Packet(self._payloads[self._pacer.index % len(self._payloads)])
        packet.pts = pts
        packet.time_base = _VIDEO_TIME_BASE
        return packet


@functools.cache
def _encode_vp8_loop(width: int, height: int, fps: float, count: int, keyframe_every: int = 0) -> tuple[bytes, ...]:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, round(fps))
    codec.bit_rate = width * height * 3
    # Keyframes every 2 s (unless asked otherwise), and the loop starts on one, so the receiver's
    # decoder can join at any lap.
    codec.gop_size = keyframe_every or round(fps * 2)
    codec.options = {"deadline": "realtime", "lag-in-frames": "0", "cpu-used": "8"}
    payloads: list[bytes] = []
    for index in range(count):
        frame = av.VideoFrame.from_ndarray(moving_pattern(width, height, index), format="bgr24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = index
        if index == 0:
            frame.pict_type = av.video.frame.PictureType.I
        payloads.extend(bytes(packet) for packet in codec.encode(frame))
    payloads.extend(bytes(packet) for packet in codec.encode(None))
    return tuple(payloads)


OfferTo = Callable[[str, str], Awaitable[tuple[str, str]]]


async def connect_client(
    offer_to: OfferTo, track: MediaStreamTrack | None, *, audio: bool = False,
    configuration: RTCConfiguration | None = None,
) -> RTCPeerConnection:
    """Offer `track` (or receive only, when None) to a server and apply its answer.

    Transceivers are send-receive so the server may send media back (viewer or call); what it sends
    is in `pc.getReceivers()` once this returns. With `audio`, a silent microphone is added too.
    `configuration` (ICE servers, a relay-only policy) defaults to no ICE servers at all.
    """
    pc = RTCPeerConnection(configuration or RTCConfiguration(iceServers=[]))
    try:
        if track is None:
            pc.addTransceiver("video", direction="recvonly")
        else:
            transceiver = pc.addTransceiver(track, direction="sendrecv")
            if isinstance(track, PreEncodedVideoTrack):
                capabilities = RTCRtpSender.getCapabilities("video")
                transceiver.setCodecPreferences(
                    [c for c in capabilities.codecs if c.mimeType in ("video/VP8", "video/rtx")]
                )
        if audio:
            pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
        # aiortc gathers every candidate inside setLocalDescription: the offer is complete afterwards.
        await pc.setLocalDescription(await pc.createOffer())
        sdp, kind = await offer_to(pc.localDescription.sdp, pc.localDescription.type)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
    except BaseException:
        await pc.close()
        raise
    return pc


def received_track(pc: RTCPeerConnection, kind: str) -> MediaStreamTrack:
    """The track the server sends to this client for `kind`."""
    for transceiver in pc.getTransceivers():
        if transceiver.kind == kind and transceiver.currentDirection in ("sendrecv", "recvonly"):
            return transceiver.receiver.track
    raise LookupError(f"the server sends no {kind}")


async def receive_frames(track: MediaStreamTrack, *, count: int, timeout: float = 10.0) -> list[object]:
    """Read `count` frames from `track`, failing with TimeoutError if they don't arrive in time."""
    frames: list[object] = []

    async def read() -> None:
        while len(frames) < count:
            frames.append(await track.recv())

    await asyncio.wait_for(read(), timeout)
    return frames
