"""Received media before decoding: frames are counted as they arrive and decoded only when needed.

A check-in keeps one JPEG every few seconds, yet decoding every frame is most of what receiving
video costs. Each received track gets a `ReceiveGate` between aiortc's jitter buffer and its decoder:
it reports every reassembled frame (that is how check-ins count and time their video), and lets
frames on to the decoder only while someone consumes decoded frames (a viewer, a call, a
recording). Decoding then resumes at a keyframe, which the gate asks the sender for.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiortc import RTCRtpReceiver

from .aiortc_internals import request_keyframe, tap_encoded_frames

logger = logging.getLogger(__name__)

# A sender that ignores keyframe requests (or loses them) is asked again after this long.
_KEYFRAME_RETRY_SECONDS = 1.0

_H264_IDR, _H264_NON_IDR, _H264_SEI, _H264_SPS, _H264_PPS, _H264_AUD = 5, 1, 6, 7, 8, 9


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    codec: str  # "VP8", "H264", "opus", …: the RTP codec name
    data: bytes  # the depacketised bitstream (VP8 frame; H.264 Annex B access unit)
    timestamp: int  # RTP clock
    keyframe: bool  # decodable on its own


def is_keyframe(codec: str, data: bytes) -> bool:
    """Whether a video frame can be decoded without the frames before it (audio frames always can)."""
    name = codec.upper()
    if name == "VP8":
        # RFC 6386 9.1: bit 0 of the frame tag is 0 for a key frame.
        return len(data) >= 10 and not data[0] & 1 and data[3:6] == b"\x9d\x01\x2a"
    if name == "H264":
        return _h264_starts_with_idr(data)
    return True


def _h264_starts_with_idr(data: bytes) -> bool:
    # The first slice of the access unit decides; parameter sets, SEI and delimiters come before it.
    # Emulation prevention keeps 00 00 01 out of NAL payloads, so every match starts a unit.
    position = data.find(b"\x00\x00\x01")
    while position >= 0 and position + 3 < len(data):
        nal_type = data[position + 3] & 0x1F
        if nal_type == _H264_IDR:
            return True
        if nal_type not in (_H264_SEI, _H264_SPS, _H264_PPS, _H264_AUD):
            return False
        position = data.find(b"\x00\x00\x01", position + 3)
    return False


def keyframe_size(frame: EncodedFrame) -> tuple[int, int] | None:
    """Width and height a VP8 keyframe announces (None when the codec's header is not read here)."""
    if frame.codec.upper() != "VP8" or not frame.keyframe:
        return None
    width, height = struct.unpack_from("<HH", frame.data, 6)
    return width & 0x3FFF, height & 0x3FFF


class ReceiveGate:
    """Sits between one received track's reassembled frames and aiortc's decoder thread.

    `on_frame` sees every frame (on the event loop, so it must be quick); the decoder gets frames
    only while `consumers` is above zero, starting at a keyframe so that it never decodes a frame
    whose references it has not seen. `on_end` runs once when the receiver stops.
    """

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        kind: str,
        *,
        spawn: Callable[[Coroutine[Any, Any, Any]], object],
        on_frame: Callable[[EncodedFrame], None] | None = None,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        self.kind = kind
        self._receiver = receiver
        self._spawn = spawn
        self._loop = asyncio.get_running_loop()
        self.on_frame = on_frame
        self.on_end = on_end
        self.consumers = 0
        self.decoding = False
        self.frames = 0
        self.frames_decoded = 0
        self._keyframe_wanted = False
        self._keyframe_asked_at: float | None = None
        self.keyframes_requested = 0
        tap_encoded_frames(receiver, self._arrived, self._ended)

    def add_consumer(self) -> None:
        self.consumers += 1
        if self.consumers == 1 and not self.decoding and self.kind == "video":
            self.want_keyframe()

    def remove_consumer(self) -> None:
        self.consumers = max(0, self.consumers - 1)

    def want_keyframe(self) -> None:
        """Ask the sender for a keyframe unless one was asked for recently; the wish holds until one
        arrives (and is repeated if the sender is slow to answer)."""
        self._keyframe_wanted = True
        now = self._loop.time()
        if self._keyframe_asked_at is None or now - self._keyframe_asked_at >= _KEYFRAME_RETRY_SECONDS:
            self._keyframe_asked_at = now
            self.keyframes_requested += 1
            self._spawn(request_keyframe(self._receiver))

    def _arrived(self, codec: str, data: bytes, timestamp: int) -> bool:
        keyframe = self.kind != "video" or is_keyframe(codec, data)
        self.frames += 1
        if keyframe:
            self._keyframe_wanted = False
            self._keyframe_asked_at = None
        elif self._keyframe_wanted:
            self.want_keyframe()
        if self.on_frame is not None:
            self.on_frame(EncodedFrame(codec, data, timestamp, keyframe))
        if self.consumers == 0:
            self.decoding = False
        elif not self.decoding:
            if keyframe:
                self.decoding = True
            else:
                self.want_keyframe()
        if self.decoding:
            self.frames_decoded += 1
        return self.decoding

    def _ended(self) -> None:
        if self.on_end is not None:
            self.on_end()
