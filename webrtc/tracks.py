"""Track plumbing shared by check-ins, viewers and calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame
from av.frame import Frame

logger = logging.getLogger(__name__)

# RTP clock steps used to keep a forwarded stream's timestamps moving forward across a source swap.
_VIDEO_GAP = 3000  # 1/30 s at 90 kHz


async def drain(track: MediaStreamTrack) -> None:
    """Read and drop frames: aiortc queues decoded frames without bound until someone reads them."""
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


class SwitchableTrack(MediaStreamTrack):
    """An outgoing track whose source can be attached, swapped or removed without renegotiation.

    Until a source is attached it sends nothing. It keeps only the newest frame, so a slow encoder
    skips frames instead of building a backlog. Timestamps are shifted after a swap so the receiver
    sees one continuous stream; the shift needs a copy because relayed frames are shared with other
    consumers (and encoded in other threads).
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._frame: Frame | None = None
        self._ready = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._source: MediaStreamTrack | None = None
        self._next_pts: int | None = None

    def set_source(self, source: MediaStreamTrack | None) -> None:
        """Forward `source` from now on (None: go quiet). The previous source is stopped."""
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None
        if self._source is not None:
            # Stopped here too: a pump cancelled before it ever ran cannot stop it, and a source
            # left live keeps its sender's video being decoded for nobody.
            self._source.stop()
        self._source = None
        if source is not None:
            if self.readyState == "live":
                self._source = source
                self._pump = asyncio.ensure_future(self._forward(source))
            else:
                source.stop()

    async def detach(self) -> None:
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        if self._source is not None:
            self._source.stop()
            self._source = None

    async def _forward(self, source: MediaStreamTrack) -> None:
        offset: int | None = None
        try:
            while True:
                frame = await source.recv()
                if not isinstance(frame, Frame):
                    raise TypeError(f"cannot forward {type(frame).__name__}: only decoded frames are relayed")
                if offset is None:
                    offset = 0 if self._next_pts is None or frame.pts is None else self._next_pts - frame.pts
                if offset and frame.pts is not None:
                    frame = _copy_with_pts(frame, frame.pts + offset)
                if frame.pts is not None:
                    step = frame.samples if isinstance(frame, AudioFrame) else _VIDEO_GAP
                    self._next_pts = frame.pts + step
                self._frame = frame
                self._ready.set()
        except MediaStreamError:
            pass
        finally:
            source.stop()

    async def recv(self) -> Frame:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            await self._ready.wait()
            self._ready.clear()
            frame, self._frame = self._frame, None
            if frame is not None and self.readyState == "live":
                return frame

    def stop(self) -> None:
        super().stop()
        self.set_source(None)
        self._ready.set()


def _copy_with_pts(frame: Frame, pts: int) -> Frame:
    copy: Frame
    if isinstance(frame, VideoFrame):
        copy = VideoFrame.from_ndarray(frame.to_ndarray(format="yuv420p"), format="yuv420p")
    elif isinstance(frame, AudioFrame):
        copy = AudioFrame.from_ndarray(frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name)
        copy.sample_rate = frame.sample_rate
    else:
        raise TypeError(f"cannot forward {type(frame).__name__}")
    copy.pts = pts
    copy.time_base = frame.time_base
    return copy
