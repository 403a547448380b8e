"""`dalpsr-sr` end to end on the tiny stack (CPU): outputs, resume, kill + rerun, batching, bad inputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from dalpsr_model.cli.sr import app
from dalpsr_model.sr.runner import run_sr
from tests.sr.conftest import smooth_image, write_lr_folder

ROOT = Path(__file__).resolve().parents[2]


def _args(models, out, *inputs, extra=()):
    no_captions = () if "--captions" in extra else ("--no-captions",)
    return [*map(str, inputs), "--out", str(out), "--base", str(models["base"]),
            "--controlnet", str(models["controlnet"]), "--irpad", str(models["irpad"]),
            *no_captions, "--steps", "2", "--device", "cpu", "--no-progress", *extra]


def _pngs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.png"))}


def test_cli_outputs_run_json_report_resume_and_refusals(sr_models, tmp_path):
    src = write_lr_folder(tmp_path / "in", [(100, 75)])
    (src / "sub").mkdir()
    Image.fromarray(smooth_image(7, 33, 31)).convert("CMYK").save(src / "sub" / "c.jpg", quality=95)
    (src / "bad.png").write_bytes((src / "img0.png").read_bytes()[:300])   # truncated
    out = tmp_path / "out"
    result = CliRunner().invoke(app, _args(sr_models, out, src))
    assert result.exit_code == 0, result.output
    assert Image.open(out / "img0.png").size == (400, 300)       # exactly 4x the LR
    assert Image.open(out / "sub" / "c.png").size == (132, 124)  # odd sizes, nested key
    report = json.loads((out / "report.json").read_text())
    assert report["written"] == 2 and report["failed"] == 1
    assert report["reasons"]["bad"].startswith("decode: truncated")
    assert report["conversions"]["sub/c"] == ["cmyk->rgb"]
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["guidance"] == 5.5 and run["seed"] == 0 and run["dtype"] == "float32"
    assert set(run["models"]["sha256"]) == {"base", "controlnet", "irpad"}
    assert run["models"]["sha256"]["controlnet"]["diffusion_pytorch_model.safetensors"]
    assert {"torch", "diffusers"} <= set(run["versions"])
    records = [json.loads(line) for line in (out / "prompts.jsonl").read_text().splitlines()]
    assert sorted(r["key"] for r in records) == ["bad", "img0", "sub/c"]
    assert all(r["restoration"].startswith("Deblur with sigma") for r in records if r["status"] == "ok")

    before = _pngs(out)
    again = CliRunner().invoke(app, _args(sr_models, out, src))       # resume: nothing to do
    assert again.exit_code == 0 and "0 written, 2 already done" in again.output
    assert _pngs(out) == before

    other = CliRunner().invoke(app, _args(sr_models, out, src, extra=("--guidance", "3")))
    assert other.exit_code == 2 and "other settings" in other.output
    strict = CliRunner().invoke(app, _args(sr_models, tmp_path / "strict", src, extra=("--strict",)))
    assert strict.exit_code == 1 and "bad.png" in strict.output


def test_bad_options_fail_before_work(sr_models, tmp_path):
    src = write_lr_folder(tmp_path / "in", [(40, 40)])
    cases = [(("--tile-overlap", "96"), "--tile-overlap"), (("--color-fix", "x"), "--color-fix"),
             (("--captions", str(tmp_path / "none.jsonl")), "--captions")]
    for extra, word in cases:
        r = CliRunner().invoke(app, _args(sr_models, tmp_path / "o", src, extra=extra))
        assert r.exit_code == 2 and word in r.output, r.output
    r = CliRunner().invoke(app, _args(sr_models, tmp_path / "o", tmp_path / "missing"))
    assert r.exit_code == 2 and "does not exist" in r.output
    assert not (tmp_path / "o").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.png").write_bytes(b"x")
    r = CliRunner().invoke(app, _args(sr_models, busy, src))
    assert r.exit_code == 2 and "not written by dalpsr-sr" in r.output
    assert (busy / "mine.png").read_bytes() == b"x"


def _arrays(out: Path) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(Image.open(p)).astype(np.int16) for p in sorted(out.glob("*.png"))}


def test_batch_of_one_and_of_four_give_identical_images(sr_models, sr_config, tmp_path, monkeypatch):
    """Each image's noise is its own: the start latents are bit-identical in any batch.

    The images agree to within one 8-bit level: a CPU GEMM sums a 1-row and a 4-row batch in
    different orders (~1e-7 relative in the UNet's first Linear, measured), which can move a
    pixel across a rounding boundary; a different seed moves pixels by tens of levels.
    """
    import dalpsr_model.diffusion.sampler as sampler

    starts: dict[str, list] = {"b1": [], "b4": [], "seed1": []}
    real = sampler.start_point
    src = write_lr_folder(tmp_path / "in", [(32, 32)] * 4)
    one = write_lr_folder(tmp_path / "in1", [(32, 32)])   # img0 again, alone
    for name, batch, seed, folder in (("b1", 1, 0, src), ("b4", 4, 0, src), ("seed1", 1, 1, one)):
        monkeypatch.setattr(sampler, "start_point", lambda *a, n=name: starts[n].append(real(*a)) or starts[n][-1])
        run_sr(sr_config([folder], out=str(tmp_path / name), batch_size=batch, seed=seed))
    import torch

    assert torch.equal(torch.cat(starts["b1"]), torch.cat(starts["b4"]))
    a, b, c = _arrays(tmp_path / "b1"), _arrays(tmp_path / "b4"), _arrays(tmp_path / "seed1")
    assert a.keys() == b.keys() and len(a) == 4
    for k in a:
        diff = np.abs(a[k] - b[k])
        assert diff.max() <= 1 and (diff > 0).mean() < 0.01, (k, diff.max(), (diff > 0).mean())
    assert np.abs(a["img0.png"] - c["img0.png"]).mean() > 1.0   # the seed does change the image
    assert len({v.tobytes() for v in a.values()}) == 4   # each key gets its own SR


def test_kill_and_rerun_gives_the_same_files(sr_models, sr_config, tmp_path):
    src = write_lr_folder(tmp_path / "in", [(32, 32)] * 3)
    run_sr(sr_config([src], out=str(tmp_path / "ref"), batch_size=1))
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "dalpsr_model.cli.sr", *_args(sr_models, out, src, extra=("--batch-size", "1"))]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list(out.glob("img*.png")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 1 <= len(list(out.glob("img*.png"))) < 3, "the kill must land between two images"
    assert subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True).returncode == 0
    assert _pngs(out) == _pngs(tmp_path / "ref")
    assert not list(out.glob(".tmp-*"))


def test_build_folder_input_reads_lr_members(tmp_path):
    from dalpsr_data.schema import iter_tar_samples
    from dalpsr_model.sr.inputs import collect_inputs
    from tests.support.fake_build import write_fake_build

    root = write_fake_build(tmp_path / "build", [2, 3])
    items = collect_inputs((str(root),))
    members = {k: m["lr.png"] for tar in sorted(root.glob("shard-*.tar")) for k, m in iter_tar_samples(tar)}
    assert [it.key for it in items] == sorted(members)
    assert all(it.read() == members[it.key] for it in items)


def test_two_inputs_with_one_output_name_are_refused(tmp_path):
    from dalpsr_data.config_io import ConfigError
    from dalpsr_model.sr.inputs import collect_inputs

    src = write_lr_folder(tmp_path / "in", [(8, 8)])
    with pytest.raises(ConfigError, match="img0.png"):
        collect_inputs((str(src), str(src / "img0.png")))


def test_partial_last_prompt_line_is_cut_off(tmp_path):
    from dalpsr_model.sr.records import PROMPTS_JSONL, PromptRecord, append_records, read_records

    append_records(tmp_path, [PromptRecord("a"), PromptRecord("b")])
    with open(tmp_path / PROMPTS_JSONL, "a") as f:
        f.write('{"key": "c", "sta')                 # a writer killed mid-line
    assert sorted(read_records(tmp_path)) == ["a", "b"]
    append_records(tmp_path, [PromptRecord("c")])
    assert sorted(read_records(tmp_path)) == ["a", "b", "c"]
    assert np.all([json.loads(x) for x in (tmp_path / PROMPTS_JSONL).read_text().splitlines()])


@pytest.mark.slow
def test_gpus_2_ray_actors_give_the_local_files(sr_models, sr_config, tmp_path):
    """--gpus 2 with --device cpu: two Ray actors (no GPU each) share the batches."""
    src = write_lr_folder(tmp_path / "in", [(32, 32), (32, 32), (40, 36)])
    local = run_sr(sr_config([src], out=str(tmp_path / "local"), batch_size=1, steps=1))
    ray = run_sr(sr_config([src], out=str(tmp_path / "ray"), batch_size=1, steps=1, gpus=2))
    assert local["written"] == ray["written"] == 3 and ray["failed"] == 0
    assert _pngs(tmp_path / "ray") == _pngs(tmp_path / "local")


def test_controlnet_option_takes_the_run_folder_or_the_controlnet_folder(sr_models, tmp_path):
    from dalpsr_data.config_io import ConfigError
    from dalpsr_model.sr.pipeline import resolve_controlnet_dir

    run = sr_models["controlnet"]
    assert resolve_controlnet_dir(run) == run / "controlnet"
    assert resolve_controlnet_dir(run / "controlnet") == run / "controlnet"
    with pytest.raises(ConfigError, match="dalpsr-train controlnet"):
        resolve_controlnet_dir(tmp_path)


def test_the_no_captions_option_reads_as_one_flag():
    # A `no_x` bool field is the flag --no-x alone, not --no-x/--no-no-x.
    out = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert "--no-captions" in out and "--no-no-captions" not in out
