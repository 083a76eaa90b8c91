"""Still images taken from a check-in: JPEG encoding and a face-presence check."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import av
import cv2
import cv2.data
import numpy as np
from av.video.codeccontext import VideoCodecContext

from .errors import SnapshotFailed

# FFmpeg's own decoders by RTP codec name: a picture decoded on its own, away from any stream's state.
_DECODERS = {"VP8": "vp8", "H264": "h264"}

# Haar cascades find faces down to ~24 px. Searched with its shorter side at 120 px, a face must span at
# least a fifth of the picture's shorter side: a phone's front camera at arm's length shows one at a third
# or more. Searching for smaller faces (320 px wide) made face detection most of a check-in's cost: 5 ms
# per picture without a face and 40 ms with one, against 1 and 10 ms here (and ~3 ms for a face found
# again near where it was).
_DETECT_SHORT_SIDE = 120
# Around a face found before, sizes within this factor of it are tried first.
_NEAR_SIZE_FACTOR = 1.4


@dataclass(frozen=True, slots=True)
class FaceBox:
    """Where a face was seen, in fractions of the picture's width and height."""

    x: float
    y: float
    width: float
    height: float


class FaceDetector:
    """Tells whether a frontal face is visible (and where); it does not identify anyone.

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

    def detect(self, frame_bgr: np.ndarray, near: FaceBox | None = None) -> FaceBox | None:
        """A face in the picture, or None. With `near` (where the last picture of the same camera
        showed one), that place is searched first: a person facing their phone barely moves between
        two snapshots, and the whole picture is searched only when the face is not found there."""
        gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        height, width = gray.shape
        scale = _DETECT_SHORT_SIDE / min(height, width)
        if scale < 1:
            gray = cv2.resize(gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        # Phone cameras in dim rooms give flat histograms that hide the eye/cheek contrast Haar needs.
        gray = cv2.equalizeHist(gray)
        if near is not None and (found := self._search_near(gray, near)) is not None:
            return found
        return self._search(gray, 0, 0, self._min_face_px, None)

    def _search_near(self, gray: np.ndarray, near: FaceBox) -> FaceBox | None:
        height, width = gray.shape
        size = near.width * width
        smallest = max(self._min_face_px, int(size / _NEAR_SIZE_FACTOR))
        largest = int(size * _NEAR_SIZE_FACTOR) + 1
        # The box grown by half the largest size on every side: room for the face to move a little.
        margin = largest // 2
        x0 = max(0, int(near.x * width) - margin)
        y0 = max(0, int(near.y * height) - margin)
        x1 = min(width, int((near.x + near.width) * width) + margin)
        y1 = min(height, int((near.y + near.height) * height) + margin)
        if x1 - x0 < smallest or y1 - y0 < smallest:
            return None
        return self._search(gray[y0:y1, x0:x1], x0, y0, smallest, largest, full=(width, height))

    def _search(self, gray: np.ndarray, x0: int, y0: int, smallest: int, largest: int | None,
                full: tuple[int, int] | None = None) -> FaceBox | None:
        with self._lock:
            faces = self._cascade.detectMultiScale(
                gray, scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest),
                maxSize=(largest, largest) if largest is not None else (0, 0),
            )
        if len(faces) == 0:
            return None
        width, height = full or (gray.shape[1], gray.shape[0])
        x, y, w, h = max(faces, key=lambda face: int(face[2]))
        return FaceBox(float(x0 + x) / width, float(y0 + y) / height, float(w) / width, float(h) / height)


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
    decoder.thread_count = 1  # FFmpeg's default starts threads for one picture: more work, not less
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
