"""decode.py: every awkward input becomes 8-bit RGB with the conversion named, or a typed error."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from dalpsr_data.decode import DecodeError, decode_bytes, decode_file
from tests.dataset_build.conftest import exif_rotated_jpeg, smooth_image

BIG = 10**9


def _png(arr) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_plain_rgb_is_unchanged():
    arr = smooth_image(40, 50, 0)
    img = decode_bytes(_png(arr), BIG)
    assert img.conversions == () and img.size == (50, 40) and img.format == "PNG"
    np.testing.assert_array_equal(img.rgb, arr)


@pytest.mark.parametrize("data,reason", [
    (b"", "empty_file"),
    (b"GIF89a but not really" * 3, "not_an_image"),
    (b"plain text, no image here\n" * 20, "not_an_image"),
])
def test_unusable_bytes_raise_typed_error(data, reason):
    with pytest.raises(DecodeError) as e:
        decode_bytes(data, BIG)
    assert e.value.reason == reason


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_is_an_error_not_a_grey_image(fmt):
    buf = io.BytesIO()
    Image.fromarray(smooth_image(300, 300, 1)).save(buf, format=fmt)
    half = buf.getvalue()[: len(buf.getvalue()) // 2]
    with pytest.raises(DecodeError) as e:
        decode_bytes(half, BIG)
    assert e.value.reason == "truncated"


def test_sixteen_bit_rgb_and_gray_round_to_8_bit():
    rgb8 = smooth_image(20, 30, 2)
    rgb16 = rgb8.astype(np.uint16) * 257 + 100  # +100/257 rounds back down to rgb8
    ok, buf = cv2.imencode(".png", rgb16[..., ::-1])
    img = decode_bytes(buf.tobytes(), BIG)
    assert img.conversions == ("16bit->8bit",)
    np.testing.assert_array_equal(img.rgb, rgb8)
    gray16 = rgb16[..., 0]
    img = decode_bytes(_png(gray16), BIG)
    assert img.conversions == ("16bit->8bit", "gray->rgb")
    np.testing.assert_array_equal(img.rgb, np.repeat(rgb8[..., :1], 3, axis=2))


@pytest.mark.parametrize("mode,expected", [
    ("L", ("gray->rgb",)), ("RGBA", ("alpha_dropped",)), ("P", ("palette->rgb",)),
    ("CMYK", ("cmyk->rgb",)), ("LA", ("gray->rgb", "alpha_dropped")),
])
def test_colour_modes_are_converted_and_recorded(mode, expected):
    arr = smooth_image(24, 32, 3)
    im = Image.fromarray(arr).convert(mode)
    buf = io.BytesIO()
    im.save(buf, format="JPEG" if mode == "CMYK" else "PNG", **({"quality": 95} if mode == "CMYK" else {}))
    img = decode_bytes(buf.getvalue(), BIG)
    assert img.conversions == expected
    assert img.rgb.shape == (24, 32, 3) and img.rgb.dtype == np.uint8
    if mode in ("L", "P", "RGBA", "LA"):
        np.testing.assert_array_equal(img.rgb, np.asarray(im.convert("RGB")))


def test_exif_orientation_is_applied(tmp_path):
    exif_rotated_jpeg(tmp_path / "r.jpg", 40, 60, orientation=6)
    img = decode_file(tmp_path / "r.jpg", BIG)
    assert img.size == (40, 60)  # 90 degrees clockwise: width and height swap
    assert img.conversions == ("exif_orientation=6",)
    stored = np.asarray(Image.open(tmp_path / "r.jpg").convert("RGB"))  # pixels as stored
    assert stored.shape == (40, 60, 3)
    np.testing.assert_array_equal(img.rgb, np.rot90(stored, -1))


def test_pixel_limits_and_read_errors(tmp_path):
    data = _png(smooth_image(100, 100, 4))
    with pytest.raises(DecodeError) as e:
        decode_bytes(data, max_pixels=100 * 100 - 1)
    assert e.value.reason == "too_large"
    assert Image.MAX_IMAGE_PIXELS == 89478485  # Pillow's own bomb guard stays on
    with pytest.raises(DecodeError) as e:
        decode_file(tmp_path / "missing.png", BIG)
    assert e.value.reason == "read_error"
