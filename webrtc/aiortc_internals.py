"""Every use of aiortc's private internals, in one place.

aiortc decodes each received frame in a thread per receiver and offers no way to look at the encoded
frames, to hold them back from that decoder, or to ask the sender for a keyframe. Check-ins need all
three to count frames without decoding them. The attributes used here are not aiortc's API: pin its
version (pyproject.toml) and run tests/webrtc/test_aiortc_internals.py after any upgrade; it fails
if one of them is gone or behaves differently.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import queue
from collections.abc import Callable
from typing import Any

from aiortc import MediaStreamTrack, RTCRtpReceiver

logger = logging.getLogger(__name__)

# The version these internals were read from; the test compares it with the installed one.
AIORTC_VERSION = "1.16.0"

# The receiver's queue between its jitter buffer (on the event loop) and its decoder thread, and the
# thread itself (None until `receive()` starts it). Double underscores: Python mangles the names.
_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_DECODER_THREAD = "_RTCRtpReceiver__decoder_thread"
# Retransmission SSRC -> the media SSRC it repairs; a keyframe request names the media SSRC.
_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"
# The video receiver's bandwidth estimator (REMB); its `incoming_bitrate` is an aiortc.rate.RateCounter.
_BITRATE_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"

# (codec name such as "VP8", "H264" or "opus"; the frame's bitstream; its RTP timestamp) -> decode it?
EncodedFrameSink = Callable[[str, bytes, int], bool]


class _TappedDecoderQueue(queue.Queue[Any]):
    """Stands in for the receiver's decoder queue: every reassembled frame passes `sink` first and
    reaches the decoder thread only when the sink says so. aiortc puts `(codec, JitterFrame)` from
    the event loop (`_handle_rtp_packet`) and `None` when the receiver stops (its thread then ends
    the track)."""

    def __init__(self, sink: EncodedFrameSink, on_end: Callable[[], None]) -> None:
        super().__init__()
        self._sink = sink
        self._on_end: Callable[[], None] | None = on_end

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            on_end, self._on_end = self._on_end, None
            super().put(None, block, timeout)
            if on_end is not None:
                on_end()
            return
        codec, encoded = item
        try:
            wanted = self._sink(codec.name, encoded.data, encoded.timestamp)
        except Exception:
            # Raised into aiortc's packet handling it would cost the whole connection.
            logger.exception("encoded frame sink failed")
            wanted = False
        if wanted:
            super().put(item, block, timeout)


def tap_encoded_frames(receiver: RTCRtpReceiver, sink: EncodedFrameSink, on_end: Callable[[], None]) -> None:
    """Route `receiver`'s reassembled frames through `sink` before its decoder; `on_end` runs once
    when the receiver stops. Both are called on the event loop. Must run before the receiver starts
    (between setting the remote description and the connection coming up).

    Also gives the receiver's bandwidth estimator a rate counter that does the same sums without a
    Python loop over every millisecond between two packets (aiortc's did ~40 steps per packet, a
    tenth of what receiving cost once frames were no longer decoded)."""
    if getattr(receiver, _DECODER_THREAD) is not None:
        raise RuntimeError("the receiver's decoder already runs; tap it before the connection starts")
    if not isinstance(getattr(receiver, _DECODER_QUEUE), queue.Queue):
        raise RuntimeError("aiortc's receiver has no decoder queue where expected")
    setattr(receiver, _DECODER_QUEUE, _TappedDecoderQueue(sink, on_end))
    estimator = getattr(receiver, _BITRATE_ESTIMATOR)
    if estimator is not None:  # audio receivers have none
        counter = estimator.incoming_bitrate
        estimator.incoming_bitrate = SparseRateCounter(counter._window_size, counter._scale)


class SparseRateCounter:
    """aiortc.rate.RateCounter's results (bytes in a sliding window of 1 ms buckets), keeping only
    the milliseconds that saw a packet, so moving the window costs nothing per empty millisecond.
    tests/webrtc/test_aiortc_internals.py checks it against aiortc's own on random traffic."""

    def __init__(self, window_size: int, scale: int = 8000) -> None:
        self._window_size = window_size
        self._scale = scale
        self.reset()

    def reset(self) -> None:
        self._origin_ms: int | None = None
        self._buckets: dict[int, list[int]] = {}  # millisecond -> [count, value]
        self._order: list[int] = []  # heap of the milliseconds in _buckets
        self._count = 0
        self._value = 0

    def add(self, value: int, now_ms: int) -> None:
        if self._origin_ms is None:
            self._origin_ms = now_ms
        else:
            self._erase_old(now_ms)
        # Where aiortc's ring puts it: a time before the window wraps to its far end.
        at = self._origin_ms + (now_ms - self._origin_ms) % self._window_size
        bucket = self._buckets.get(at)
        if bucket is None:
            self._buckets[at] = bucket = [0, 0]
            heapq.heappush(self._order, at)
        bucket[0] += 1
        bucket[1] += value
        self._count += 1
        self._value += value

    def rate(self, now_ms: int) -> int | None:
        if self._origin_ms is not None:
            self._erase_old(now_ms)
            active_window_size = now_ms - self._origin_ms + 1
            if self._count > 0 and active_window_size > 1:
                return round(self._scale * self._value / active_window_size)
        return None

    def _erase_old(self, now_ms: int) -> None:
        assert self._origin_ms is not None
        new_origin_ms = now_ms - self._window_size + 1
        if self._origin_ms >= new_origin_ms:
            return
        while self._order and self._order[0] < new_origin_ms:
            count, value = self._buckets.pop(heapq.heappop(self._order))
            self._count -= count
            self._value -= value
        self._origin_ms = new_origin_ms


async def request_keyframe(receiver: RTCRtpReceiver) -> None:
    """Ask the sender for a keyframe (RTCP PLI, RFC 4585) on every media stream it sends us."""
    rtx: dict[int, int] = getattr(receiver, _RTX_SSRC)
    for source in receiver.getSynchronizationSources():
        if source.source not in rtx:
            await receiver._send_rtcp_pli(source.source)


def end_remote_track(track: MediaStreamTrack) -> None:
    """Make a received track's pending `recv()` raise, even if its peer never connected.

    aiortc only ends a remote track from its receiver's decoder thread, which starts once DTLS is up:
    a peer closed before connecting leaves the track's `recv()` waiting forever, and with it the
    MediaRelay task that reads it. The queue is aiortc's; an extra end marker is harmless.
    """
    track_queue = getattr(track, "_queue", None)
    if track.readyState == "live" and isinstance(track_queue, asyncio.Queue):
        track_queue.put_nowait(None)
