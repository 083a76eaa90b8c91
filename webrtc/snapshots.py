"""Still images taken from a check-in: JPEG encoding and a face-presence check."""

from __future__ import annotations

import threading

import av
import cv2
import cv2.data
import numpy as np
from av.video.codeccontext import VideoCodecContext

from .errors import SnapshotFailed

# FFmpeg's own decoders by RTP codec name: a picture decoded on its own, away from any stream's state.
_DECODERS = {"VP8": "vp8", "H264": "h264"}

# Haar cascades find faces down to ~24 px; a quarter-VGA image keeps a face at arm's length well above
# that while costing a few milliseconds instead of tens.
_DETECT_MAX_WIDTH = 320


class FaceDetector:
    """Tells whether a frontal face is visible; it does not identify anyone.

    Safe to share between threads: OpenCV's cascade keeps scratch state per call, so calls are
    serialised by a lock. Call `detect` through `asyncio.to_thread` or an executor, never on the
    event loop.
    """

    def __init__(self, *, min_face_px: int = 24) -> None:
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"could not load the face cascade from {path}")
        self._min_face_px = min_face_px
        self._lock = threading.Lock()

    def detect(self, frame_bgr: np.ndarray) -> bool:
        gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        height, width = gray.shape
        if width > _DETECT_MAX_WIDTH:
            scale = _DETECT_MAX_WIDTH / width
            gray = cv2.resize(gray, (_DETECT_MAX_WIDTH, round(height * scale)), interpolation=cv2.INTER_AREA)
        # Phone cameras in dim rooms give flat histograms that hide the eye/cheek contrast Haar needs.
        gray = cv2.equalizeHist(gray)
        with self._lock:
            faces = self._cascade.detectMultiScale(
                gray, scaleFactor=1.1, minNeighbors=5, minSize=(self._min_face_px, self._min_face_px)
            )
        return len(faces) > 0


def encode_jpeg(frame_bgr: np.ndarray, quality: int = 80) -> bytes:
    ok, buffer = cv2.imencode(".jpg", frame_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise SnapshotFailed("JPEG encoding failed")
    return buffer.tobytes()


def decode_keyframe(codec: str, data: bytes) -> np.ndarray:
    """The BGR picture of one keyframe, decoded by a decoder of its own (a few milliseconds at VGA).

    A fresh decoder per picture keeps streams apart: nothing one sender sent can affect the next
    picture of another.
    """
    name = _DECODERS.get(codec.upper())
    if name is None:
        raise SnapshotFailed(f"cannot decode {codec} pictures")
    decoder = av.CodecContext.create(name, "r")
    assert isinstance(decoder, VideoCodecContext)
    try:
        frames = decoder.decode(av.Packet(data))
        if not frames:
            frames = decoder.decode(None)  # a decoder that holds pictures back gives them up when flushed
    except av.FFmpegError as exc:
        raise SnapshotFailed(f"the {codec} keyframe did not decode: {exc}") from exc
    if not frames:
        raise SnapshotFailed(f"the {codec} keyframe gave no picture")
    image: np.ndarray = frames[-1].to_ndarray(format="bgr24")
    return image
