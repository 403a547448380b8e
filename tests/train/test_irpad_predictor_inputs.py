"""IrpadPredictor on what users hand it: images of several sizes, grayscale (H,W) and
(H,W,1), RGBA, PIL modes; anything else fails with a message naming the image (issue 11 item 11)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dalpsr_model.irpad.model import Irpad, IrpadArch
from dalpsr_model.irpad.predictor import IrpadPredictor, predict_log_probs


@pytest.fixture(scope="module")
def predictor():
    torch.manual_seed(0)
    return IrpadPredictor(Irpad(IrpadArch(trunk="conv", width=4, stats=True, dim=16, heads=2, blocks=1)))


def _reference(pred, rgb_uint8: np.ndarray) -> list[int]:
    """The bins of one HxWx3 uint8 image, batch of one, converted by hand."""
    x = torch.from_numpy(rgb_uint8.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    with torch.no_grad():
        return predict_log_probs(pred.model, x, pred.tta).argmax(-1)[0].tolist()


def _img(h, w, c, seed):
    shape = (h, w) if c == 0 else (h, w, c)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_mixed_sizes_grayscale_and_rgba_are_converted_and_predicted_each(predictor):
    rgb, wide, gray, gray1, rgba = (_img(128, 128, 3, 0), _img(96, 160, 3, 1), _img(64, 80, 0, 2),
                                    _img(128, 128, 1, 3), _img(128, 128, 4, 4))
    palette = Image.fromarray(_img(72, 72, 3, 5)).convert("P")
    images = [rgb, wide, gray, gray1, rgba, Image.fromarray(gray), palette, Image.fromarray(rgba, "RGBA")]
    got = predictor.predict_bins(images).tolist()
    # PIL's own RGB conversion is the reference for grayscale (replicated) and RGBA (alpha dropped)
    as_rgb = [rgb, wide, np.asarray(Image.fromarray(gray).convert("RGB")),
              np.asarray(Image.fromarray(gray1[..., 0]).convert("RGB")),
              np.asarray(Image.fromarray(rgba, "RGBA").convert("RGB")),
              np.asarray(Image.fromarray(gray).convert("RGB")), np.asarray(palette.convert("RGB")),
              np.asarray(Image.fromarray(rgba, "RGBA").convert("RGB"))]
    assert got == [_reference(predictor, a) for a in as_rgb]
    assert len(predictor(images)) == len(images)

    # what reached the model: each image exactly as its reference, batched by size
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, x):
            seen.extend(x)
            return predictor.model(x)

    IrpadPredictor(Spy()).predict_bins(images)
    refs = [torch.from_numpy(a.astype(np.float32) / 255.0).permute(2, 0, 1) for a in as_rgb]
    assert len(seen) == len(refs)
    for ref in refs:
        assert sum(t.shape == ref.shape and torch.equal(t, ref) for t in seen) >= 1


def test_float_uint16_and_channels_first_inputs(predictor):
    rgb = _img(64, 64, 3, 7)
    expected = _reference(predictor, rgb)
    as_float = rgb.astype(np.float32) / 255.0
    as_u16 = rgb.astype(np.uint16) * 257  # 255 * 257 == 65535
    chw = torch.from_numpy(as_float).permute(2, 0, 1)
    got = predictor.predict_bins([as_float, as_u16, chw]).tolist()
    assert got == [expected] * 3
    assert predictor.predict_bins(chw[None]).tolist() == [expected]  # the (B,3,H,W) tensor path


@pytest.mark.parametrize("bad, message", [
    (np.zeros((64, 64, 2), np.uint8), "image 1: shape (64, 64, 2) is not an image"),
    (np.zeros((64, 64, 3, 1), np.uint8), "image 1: shape (64, 64, 3, 1)"),
    (np.zeros((8, 64, 3), np.uint8), "image 1 is 64x8 px: IRPAD needs at least 16 px"),
    (np.full((64, 64, 3), 200.0, np.float32), "image 1: float values must be finite and in [0, 1]"),
    (np.zeros((64, 64, 3), np.int64), "image 1: dtype int64 is not supported"),
])
def test_what_is_not_an_image_fails_with_a_message(predictor, bad, message):
    with pytest.raises(ValueError) as e:
        predictor([_img(64, 64, 3, 0), bad])
    assert message in str(e.value)


def test_a_single_image_instead_of_a_list_is_named(predictor):
    with pytest.raises(ValueError, match="give a list of images"):
        predictor(_img(64, 64, 3, 0))
