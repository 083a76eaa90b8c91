"""Frames are told apart and measured while still encoded; a keyframe decodes on its own."""

from __future__ import annotations

import fractions

import av
import numpy as np
import pytest

from webrtc.encoded import EncodedFrame, is_keyframe, keyframe_size
from webrtc.errors import SnapshotFailed
from webrtc.snapshots import decode_keyframe
from webrtc.testing import _encode_vp8_loop, moving_pattern


def _h264_access_units(width: int, height: int, count: int) -> list[bytes]:
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = fractions.Fraction(1, 15)
    codec.gop_size = 10
    codec.options = {"tune": "zerolatency", "preset": "ultrafast", "profile": "baseline"}
    units: list[bytes] = []
    for index in range(count):
        frame = av.VideoFrame.from_ndarray(moving_pattern(width, height, index), format="bgr24").reformat(
            format="yuv420p")
        frame.pts = index
        units.extend(bytes(packet) for packet in codec.encode(frame))
    units.extend(bytes(packet) for packet in codec.encode(None))
    return units


def test_vp8_keyframes_are_found_and_give_their_size():
    payloads = _encode_vp8_loop(320, 240, 15, 45)
    keyframes = [index for index, data in enumerate(payloads) if is_keyframe("VP8", data)]
    assert keyframes == [0, 30]  # the loop's keyframe every 2 s
    assert keyframe_size(EncodedFrame("VP8", payloads[0], 0, True)) == (320, 240)
    assert keyframe_size(EncodedFrame("VP8", payloads[1], 0, False)) is None


def test_h264_keyframes_are_the_access_units_with_an_idr_slice():
    units = _h264_access_units(160, 120, 12)
    assert [is_keyframe("H264", unit) for unit in units] == [True, *[False] * 9, True, False]
    assert not is_keyframe("H264", b"")
    assert is_keyframe("opus", b"\x00")


@pytest.mark.parametrize("codec", ["VP8", "H264"])
def test_a_keyframe_decodes_alone_to_the_sent_picture(codec):
    data = _encode_vp8_loop(320, 240, 15, 1)[0] if codec == "VP8" else _h264_access_units(320, 240, 1)[0]
    image = decode_keyframe(codec, data)
    assert image.shape == (240, 320, 3)
    expected = moving_pattern(320, 240, 0).astype(np.int16)
    assert np.abs(image.astype(np.int16) - expected).mean() < 12


def test_a_picture_that_does_not_decode_is_a_failed_snapshot():
    with pytest.raises(SnapshotFailed):
        decode_keyframe("VP8", b"\x00" * 20)
    with pytest.raises(SnapshotFailed, match="cannot decode"):
        decode_keyframe("AV1", b"")
