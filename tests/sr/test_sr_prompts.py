"""Pass 1: IRPAD over a 128 px crop grid, the caption stage's captions, the Table III ablations."""

from __future__ import annotations

import gc
import json
import weakref

import numpy as np
import torch
from PIL import Image

from dalpsr_data.caption.stage import caption_batch
from dalpsr_model.irpad.predictor import IrpadPredictor, predict_log_probs
from dalpsr_model.sr.inputs import collect_inputs
from dalpsr_model.sr.prompts import caption_config, run_prompts
from dalpsr_model.sr.records import read_records
from tests.caption.tiny_ram import TINY_IMAGE_SIZE, build_tiny_ram
from tests.sr.conftest import smooth_image, write_lr_folder
from dalpsr_model.models.tiny_llava import build_tiny_llava


def test_irpad_log_probs_average_a_grid_of_128px_crops(sr_models):
    pred = IrpadPredictor.load(sr_models["irpad"])
    rgb = smooth_image(3, 300, 200)                      # W 300, H 200
    x = torch.from_numpy(rgb).permute(2, 0, 1).float()[None] / 255.0
    # the grid written out: x starts 0, 128, 172 (last anchored at 300); y starts 0, 72
    crops = [x[..., y:y + 128, x0:x0 + 128] for y in (0, 72) for x0 in (0, 128, 172)]
    with torch.no_grad():
        want = torch.stack([predict_log_probs(pred.model, c, pred.tta)[0] for c in crops]).mean(0)
    torch.testing.assert_close(pred.image_log_probs(rgb), want, rtol=1e-5, atol=1e-6)
    small = smooth_image(4, 100, 75)                     # smaller than a crop: the whole image
    xs = torch.from_numpy(small).permute(2, 0, 1).float()[None] / 255.0
    with torch.no_grad():
        torch.testing.assert_close(pred.image_log_probs(small), predict_log_probs(pred.model, xs, pred.tta)[0])


def test_captions_through_the_caption_stage_and_models_freed(sr_config, tmp_path):
    from dalpsr_data.caption.llava_captioner import build_models

    llava = build_tiny_llava(tmp_path / "llava")
    ram = build_tiny_ram(tmp_path / "ram", "ram")
    src = write_lr_folder(tmp_path / "in", [(40, 40), (48, 36)])
    cfg = sr_config([src], no_captions=False, llava=str(llava), ram_checkpoint=str(ram),
                    ram_image_size=TINY_IMAGE_SIZE, caption_max_new_tokens=6, restoration_prompt="Deblur")
    held = []

    def load(ccfg):
        models = build_models(ccfg)
        held.append(weakref.ref(models.captioner.model))
        return models

    records = []
    run_prompts(cfg, collect_inputs(cfg.inputs), "cpu", load, None, records.extend)
    gc.collect()
    assert held and held[0]() is None, "the LLaVA model must be freed when pass 1 returns"
    assert [r.key for r in records] == ["img0", "img1"]
    assert all(r.status == "ok" and r.restoration == "Deblur" for r in records)
    assert all(r.caption and r.instruction.startswith("Describe this image") for r in records)
    # the caption stage's own code with the same models gives the same captions
    c = caption_config(cfg, "cpu")
    direct, _ = caption_batch([(f"img{i}", Image.fromarray(smooth_image(i, *wh)), "")
                               for i, wh in enumerate([(40, 40), (48, 36)])], c, build_models(c),
                              {"tag": 4, "caption": 4})
    assert [d.caption for d in direct] == [r.caption for r in records]


def test_captions_file_and_no_captions(sr_models, sr_config, tmp_path):
    from dalpsr_model.sr.runner import run_sr

    src = write_lr_folder(tmp_path / "in", [(32, 32)])
    capfile = tmp_path / "caps.jsonl"
    capfile.write_text(json.dumps({"key": "img0", "caption": "a red kite"}) + "\n")
    run_sr(sr_config([src], out=str(tmp_path / "a"), no_captions=False, captions=str(capfile), steps=1))
    rec = read_records(tmp_path / "a")["img0"]
    assert rec.caption == "a red kite" and rec.restoration.startswith("Deblur with sigma")
    run_sr(sr_config([src], out=str(tmp_path / "b"), restoration_prompt="Denoise with sigma 0~0.25",
                     irpad="", steps=1))
    rec = read_records(tmp_path / "b")["img0"]
    assert rec.caption == "" and rec.restoration == "Denoise with sigma 0~0.25"
    a = np.asarray(Image.open(tmp_path / "a" / "img0.png"))
    b = np.asarray(Image.open(tmp_path / "b" / "img0.png"))
    assert a.shape == b.shape == (128, 128, 3) and not np.array_equal(a, b)   # the prompt is used
