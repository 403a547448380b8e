"""Patch placement: seeded and stored, padding as Real-ESRGAN does, small-image policy."""

from __future__ import annotations

import numpy as np
import pytest

from dalpsr_data.patches import CropBox, PatchConfig, extract, place_crop, small_image_reason
from dalpsr_data.seeding import rng_for


def test_crop_is_seeded_by_key_and_stored():
    a = place_crop(700, 600, 512, rng_for(0, "folder_img_000_p00", "crop"))
    b = place_crop(700, 600, 512, rng_for(0, "folder_img_000_p00", "crop"))
    assert a == b
    # Stored values: a change here reshuffles every dataset built so far.
    assert (a.x, a.y) == (121, 13)
    assert 0 <= a.x <= 700 - 512 and 0 <= a.y <= 600 - 512 and a.pad_bottom == a.pad_right == 0


def test_extract_is_a_plain_slice_inside_the_image():
    img = np.arange(600 * 700 * 3, dtype=np.uint32).reshape(600, 700, 3).astype(np.uint8)
    box = CropBox(x=100, y=50, size=512, image_w=700, image_h=600, pad_bottom=0, pad_right=0)
    np.testing.assert_array_equal(extract(img, box), img[50:562, 100:612])


def test_small_images_are_reflect_padded_bottom_right():
    img = np.random.default_rng(0).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    box = place_crop(300, 200, 512, rng_for(0, "k", "crop"))
    assert (box.x, box.y, box.pad_bottom, box.pad_right) == (0, 0, 312, 212)
    out = extract(img, box)
    assert out.shape == (512, 512, 3)
    np.testing.assert_array_equal(out[:200, :300], img)
    np.testing.assert_array_equal(out[200, :300], img[198])  # reflect-101: edge row not repeated
    np.testing.assert_array_equal(out[:200, 300], img[:, 298])


def test_small_image_policy():
    pad, skip = PatchConfig(), PatchConfig(small_policy="skip")
    assert small_image_reason(700, 600, 512, pad) is None
    assert small_image_reason(300, 600, 512, pad) is None
    assert small_image_reason(300, 600, 512, skip) == "smaller_than_patch"
    assert small_image_reason(100, 900, 512, pad) == "too_small"
    with pytest.raises(ValueError, match="small_policy"):
        PatchConfig(small_policy="crop")
    with pytest.raises(ValueError, match="per_image"):
        PatchConfig(per_image=0)
