"""RAM / RAM++ loading from the official layout, preprocessing, tag decoding, convert-ram."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from dalpsr_data.caption.config import CaptionConfig
from dalpsr_data.caption.ram_tagger import RamTagger
from dalpsr_data.cli import app
from dalpsr_data.config_io import ConfigError
from dalpsr_data.caption.ram import RamCheckpointError, decode_tags, load_ram, preprocess_images, read_tag_files
from dalpsr_data.caption.ram.model import DEFAULT_REWEIGHT_SCALE
from tests.caption.tiny_ram import DESCRIPTIONS_PER_TAG, TINY_IMAGE_SIZE, TINY_LABEL_WIDTH, TINY_TAGS, build_tiny_ram


def _images(n: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (40 + 8 * i, 56, 3), dtype=np.uint8)) for i in range(n)]


def _tags(folder):
    return read_tag_files(folder / "ram_tag_list.txt", folder / "ram_tag_list_threshold.txt")


def test_decode_tags_uses_each_threshold_and_list_order():
    tags = ["a", "b", "c", "d"]
    thresholds = np.array([0.5, 0.9, 0.2, 0.7], dtype=np.float32)
    probs = torch.tensor([[0.6, 0.8, 0.25, 0.7], [0.5, 0.95, 0.1, 0.71]])
    out = decode_tags(torch.logit(probs), tags, thresholds)
    # strict ">": 0.7 at threshold 0.7 and 0.5 at 0.5 are not kept
    assert [[t for t, _ in row] for row in out] == [["a", "c"], ["b", "d"]]
    assert out[0][0][1] == pytest.approx(0.6, abs=1e-6)


def test_preprocessing_matches_the_official_torchvision_transform():
    from torchvision import transforms as T

    official = T.Compose([T.Resize((64, 64)), T.ToTensor(),
                          T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    images = _images(2)
    ours = preprocess_images(images, 64)
    ref = torch.stack([official(im.convert("RGB")) for im in images])
    assert ours.shape == (2, 3, 64, 64)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("variant", ["ram", "ram_plus"])
def test_official_layout_loads_strictly_and_maps_keys(tmp_path, variant):
    path = build_tiny_ram(tmp_path, variant)
    official = torch.load(path, weights_only=True)["model"]  # optimizer entry is weights-only safe
    tags, _ = _tags(tmp_path)
    model, info = load_ram(path, variant, len(tags), TINY_IMAGE_SIZE)
    state = model.state_dict()
    # Swin downsampling moves from the end of stage 0 (official) to the start of stage 1 (timm)
    torch.testing.assert_close(state["visual_encoder.layers.1.downsample.reduction.weight"],
                               official["visual_encoder.layers.0.downsample.reduction.weight"])
    torch.testing.assert_close(state["tagging_head.encoder.layer.1.crossattention.self.key.weight"],
                               official["vision_multi.encoder.layer.1.crossattention.self.key.weight"])
    # the BLIP branches of the official RAM (none in RAM++) are the only keys left out
    blip = sum(k.startswith(("tag_encoder.", "text_decoder.")) for k in official)
    assert info["skipped_keys"] == blip and (blip > 0) == (variant == "ram")
    assert not info["reweight_scale_default"]
    assert info["arch"].depths == (2, 2, 18, 2) and info["arch"].num_heads == (6, 12, 24, 48)
    assert info["arch"].descriptions_per_tag == (1 if variant == "ram" else DESCRIPTIONS_PER_TAG)


def test_tags_do_not_depend_on_batch_size(tiny_ram_path):
    cfg = CaptionConfig(ram_checkpoint=str(tiny_ram_path), ram_image_size=TINY_IMAGE_SIZE, device="cpu",
                        tag_batch_size=4)
    tagger = RamTagger(cfg, "cpu")
    images = _images(5, seed=3)
    batched = tagger.tag(images)
    single = [tagger.tag([im])[0] for im in images]
    assert [[t for t, _ in r] for r in batched] == [[t for t, _ in r] for r in single]
    assert any(batched) and not all(len(r) == len(TINY_TAGS) for r in batched)  # some tags, not all
    for a, b in zip(batched, single):
        assert [p for _, p in a] == pytest.approx([p for _, p in b], abs=1e-5)


def test_weights_only_refusal_names_the_option(tmp_path):
    path = build_tiny_ram(tmp_path, "ram", config_object=True)
    with pytest.raises(RamCheckpointError, match="--ram-allow-unsafe-load"):
        load_ram(path, "ram", len(TINY_TAGS), TINY_IMAGE_SIZE)
    model, _ = load_ram(path, "ram", len(TINY_TAGS), TINY_IMAGE_SIZE, allow_unsafe_load=True)
    assert model.label_embed.shape == (len(TINY_TAGS), TINY_LABEL_WIDTH)


def test_ram_plus_without_reweight_scale_falls_back(tmp_path):
    path = build_tiny_ram(tmp_path, "ram_plus", drop_reweight_scale=True)
    model, info = load_ram(path, "ram_plus", len(TINY_TAGS), TINY_IMAGE_SIZE)
    assert info["reweight_scale_default"]
    assert model.reweight_scale.item() == pytest.approx(math.log(1 / 0.07)) == DEFAULT_REWEIGHT_SCALE


def test_mismatched_checkpoints_fail_before_work(tmp_path):
    path = build_tiny_ram(tmp_path, "ram_plus")
    with pytest.raises(RamCheckpointError, match="ram_plus"):  # 51 label rows per tag: not RAM
        load_ram(path, "ram", len(TINY_TAGS), TINY_IMAGE_SIZE)
    ckpt = torch.load(path, weights_only=True)
    del ckpt["model"]["vision_multi.encoder.layer.0.output.dense.bias"]  # official layout name
    torch.save(ckpt, tmp_path / "broken.pth")
    with pytest.raises(RamCheckpointError, match=r"missing \['tagging_head.encoder.layer.0.output.dense.bias'\]"):
        load_ram(tmp_path / "broken.pth", "ram_plus", len(TINY_TAGS), TINY_IMAGE_SIZE)


def test_missing_tag_list_is_a_clear_error(tmp_path):
    path = build_tiny_ram(tmp_path, "ram")
    (tmp_path / "ram_tag_list.txt").unlink()
    cfg = CaptionConfig(ram_checkpoint=str(path), ram_image_size=TINY_IMAGE_SIZE, device="cpu")
    with pytest.raises(ConfigError, match="ram_tag_list.txt not found.*--ram-tag-list"):
        RamTagger(cfg, "cpu")
    (tmp_path / "ram_tag_list.txt").write_text("only\ntwo\n")
    with pytest.raises(ConfigError, match="has 2 tags but"):
        RamTagger(cfg, "cpu")


@pytest.mark.parametrize("variant", ["ram", "ram_plus"])
def test_convert_ram_round_trip(tmp_path, variant):
    path = build_tiny_ram(tmp_path, variant)
    out = tmp_path / "conv" / f"{variant}.safetensors"
    result = CliRunner().invoke(app, ["convert-ram", str(path), str(out), "--variant", variant,
                                      "--image-size", str(TINY_IMAGE_SIZE)])
    assert result.exit_code == 0, result.output
    blip = sum(k.startswith(("tag_encoder.", "text_decoder.")) for k in torch.load(path, weights_only=True)["model"])
    assert f"{blip} keys skipped" in result.output
    a, _ = load_ram(path, variant, len(TINY_TAGS), TINY_IMAGE_SIZE)
    b, info = load_ram(out, variant, len(TINY_TAGS), TINY_IMAGE_SIZE, allow_unsafe_load=False)
    x = preprocess_images(_images(2), TINY_IMAGE_SIZE)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
    assert info["skipped_keys"] == 0
