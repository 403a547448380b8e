"""Pieces of `dalpsr-app` that need no server: the job gate used at shutdown, the request's
`dalpsr-sr` configuration, deg.json as table rows."""

from __future__ import annotations

import threading
import time

import pytest
from PIL import Image

from dalpsr_data.config_io import ConfigError
from dalpsr_model.app.config import AppConfig, request_config
from dalpsr_model.app.dataset import deg_rows
from dalpsr_model.app.models import JobGate, JobStopped, check_app_models, load_models
from dalpsr_model.app.superres import command_line, safe_stem
from dalpsr_model.app.tab_superres import SuperResolveTab
from dalpsr_model.irpad.predictor import IrpadPredictor
from dalpsr_model.irpad.prompts import bins_to_prompt
from tests.sr.conftest import smooth_image


def test_job_gate_stops_running_jobs_at_their_next_step_and_waits_for_them():
    gate, steps, left = JobGate(), [], threading.Event()

    def job():
        try:
            with gate.job():
                for i in range(1000):
                    gate.check()
                    steps.append(i)
                    time.sleep(0.01)
        except JobStopped:
            left.set()

    t = threading.Thread(target=job)
    t.start()
    while not steps:
        time.sleep(0.01)
    assert gate.stop_and_wait(timeout=10)
    assert left.is_set() and len(steps) < 1000
    with pytest.raises(JobStopped), gate.job():      # no new job once stopping
        pass
    t.join()


def test_job_gate_wait_times_out_while_a_job_stays():
    gate, inside, release = JobGate(), threading.Event(), threading.Event()

    def job():
        with gate.job():
            inside.set()
            release.wait()

    t = threading.Thread(target=job)
    t.start()
    inside.wait()
    assert gate.stop_and_wait(timeout=0.2) is False
    release.set()
    t.join()
    assert gate.stop_and_wait(timeout=1)


def test_request_config_is_the_dalpsr_sr_config_of_the_request():
    cfg = AppConfig(base="b", controlnet="c", irpad="i", max_pixels=1000)
    sr = request_config(cfg, "my photo.jpg", "Deblur with sigma 0~0.25", "a cat", steps=7, tile=64,
                        tile_overlap=16, seed=5, color_fix="none", guidance=2.0, scheduler="unipc",
                        negative_prompt="")
    assert sr.inputs == ("my photo.jpg",) and sr.captions == "my photo.captions.jsonl" and not sr.no_captions
    assert (sr.steps, sr.tile, sr.tile_overlap, sr.seed, sr.max_pixels) == (7, 64, 16, 5, 1000)
    assert sr.restoration_prompt == "Deblur with sigma 0~0.25" and sr.negative_prompt == ""
    args = command_line(sr)
    assert args[:4] == ["dalpsr-sr", "my photo.jpg", "--out", "OUT"]
    pairs = dict(zip(args[4::2], args[5::2]))
    assert pairs["--steps"] == "7" and pairs["--scheduler"] == "unipc" and pairs["--max-pixels"] == "1000"
    assert pairs["--negative-prompt"] == "" and "--no-captions" not in args
    assert pairs["--batch-size"] == "1"       # batched images agree only within one 8-bit level
    none = request_config(cfg, "x.png", "Denoise with sigma 0~0.25", "")
    assert none.no_captions and not none.captions and "--no-captions" in command_line(none)
    with pytest.raises(ConfigError, match="--tile-overlap"):
        request_config(cfg, "x.png", "r", "", tile=8, tile_overlap=8)
    with pytest.raises(ValueError, match="not page settings"):
        request_config(cfg, "x.png", "r", "", out="/etc")


def test_deg_rows_and_safe_stems():
    assert deg_rows({"bins": {"blur": 3}, "params": {"stage1": {"sigma": 0.123456}}, "usm": True}) == [
        ["bins.blur", "3"], ["params.stage1.sigma", "0.1235"], ["usm", "True"]]
    assert safe_stem("../../etc/passwd") == "etc_passwd"
    assert safe_stem("été photo") == "t_photo" and safe_stem("...") == "image"


def test_without_llava_analyse_gives_irpads_prompt_and_keeps_the_typed_caption(app_models, tmp_path):
    cfg = AppConfig(base=str(app_models["base"]), controlnet=str(app_models["controlnet"]),
                    irpad=str(app_models["irpad"]), device="cpu")
    models = load_models(check_app_models(cfg), offload=True)   # offload is a no-op on the CPU
    assert models.captioner is None and not models.offload
    rgb = smooth_image(6, 48, 40)
    Image.fromarray(rgb).save(tmp_path / "lr.png")
    restoration, probs, tags, caption = SuperResolveTab(cfg, models, tmp_path).analyse(str(tmp_path / "lr.png"))
    predictor = IrpadPredictor.load(app_models["irpad"])
    bins = predictor.predict_bins([rgb])[0].tolist()            # IRPAD's own API on the whole 48x40 LR
    assert restoration == bins_to_prompt(bins) and tags == ""
    assert caption == {"__type__": "update"}                     # gradio's "leave it as it is"
    assert [row[0] for row in probs] == ["blur", "noise", "jpeg"]
