import cv2
import numpy as np

from webrtc.snapshots import FaceDetector, encode_jpeg
from webrtc.testing import moving_pattern

from .conftest import FACE


def test_face_fixture_is_seen_at_check_in_sizes():
    detector = FaceDetector()
    face = cv2.imread(str(FACE))
    assert face.shape[:2] == (240, 320)
    for size in [(320, 240), (640, 480), (1280, 720)]:
        assert detector.detect(cv2.resize(face, size))


def test_moving_pattern_and_blank_frames_have_no_face():
    detector = FaceDetector()
    assert not any(detector.detect(moving_pattern(640, 480, index)) for index in range(0, 120, 10))
    assert not detector.detect(np.zeros((480, 640, 3), np.uint8))


def test_jpeg_decodes_back_to_the_same_size():
    jpeg = encode_jpeg(moving_pattern(320, 240, 0), quality=70)
    assert jpeg[:2] == b"\xff\xd8"
    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (240, 320, 3)
