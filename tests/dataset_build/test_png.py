"""The shards' PNG encoder: lossless for any reader, byte-stable, and the same as a PNG built
from the specification by hand (Pillow/OpenCV decode it; zlib inflates it to the Sub rows)."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from dalpsr_data.build.png import encode_png


def _images() -> list[np.ndarray]:
    from skimage import data

    rng = np.random.default_rng(4)
    return [np.ascontiguousarray(data.astronaut()[:512, :512]),
            rng.integers(0, 256, (37, 53, 3), dtype=np.uint8),  # odd sizes, every byte value
            np.full((1, 1, 3), 255, np.uint8),
            np.ascontiguousarray(data.chelsea()[:, ::-1])]  # a strided view in


@pytest.mark.parametrize("level", [-1, 0, 6])
def test_pixels_survive_pillow_and_opencv(level):
    for img in _images():
        data = encode_png(img, level)
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), img)
        np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1], img)
        assert encode_png(img.copy(), level) == data


def test_fast_png_is_the_specified_sub_filter():
    """IDAT inflates to rows of [1, Sub(x)], Sub(x)[i] = x[i] - x[i - 3] mod 256, written here
    per pixel from the PNG specification; the chunk CRCs check out."""
    img = np.random.default_rng(5).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    data = encode_png(img, -1)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + body)
        chunks[kind] = body
        pos += 12 + n
    assert chunks[b"IHDR"] == struct.pack(">IIBBBBB", 9, 6, 8, 2, 0, 0, 0) and chunks[b"IEND"] == b""
    expected = bytearray()
    for row in img.astype(int):
        expected.append(1)
        flat = row.reshape(-1)
        expected.extend((flat[i] - (flat[i - 3] if i >= 3 else 0)) % 256 for i in range(flat.size))
    assert zlib.decompress(chunks[b"IDAT"]) == bytes(expected)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((4, 4, 3), np.float32), -1)
