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


def test_a_face_is_found_again_near_where_it_was_and_anywhere_else_too():
    detector = FaceDetector()
    face = cv2.imread(str(FACE))
    box = detector.detect(face)
    assert box is not None and 0.2 < box.width < 0.4
    moved = np.roll(face, 20, axis=1)
    again = detector.detect(moved, box)
    assert again is not None and again.x > box.x
    # A hint pointing elsewhere costs a look there, never the face.
    elsewhere = type(box)(x=0.0, y=0.0, width=0.1, height=0.1)
    assert detector.detect(face, elsewhere) is not None
    assert detector.detect(moving_pattern(320, 240, 0), box) is None


def test_a_portrait_camera_face_is_seen():
    face = cv2.imread(str(FACE))
    assert FaceDetector().detect(cv2.resize(face, (480, 640))) is not None
