"""`dalpsr-app` through gradio_client: analyse + super-resolve an LR, byte-identical to `dalpsr-sr`.

The reference is the `dalpsr-sr` command line itself, run with the same settings and a
--captions file the test writes; the page's settings JSON must also be a complete recipe:
its command line, run as given, writes the same PNG and the same output hash.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from dalpsr_model.cli.sr import app as sr_app
from tests.sr.conftest import smooth_image

gradio_client = pytest.importorskip("gradio_client")  # the `test` extra installs it; CI never skips



def _sr_args(models, *inputs, out, extra=()):
    return [*map(str, inputs), "--out", str(out), "--base", str(models["base"]), "--controlnet",
            str(models["controlnet"]), "--irpad", str(models["irpad"]), "--device", "cpu", "--no-progress",
            "--steps", "2", "--guidance", "3.0", "--seed", "1234", "--scheduler", "ddim",
            "--color-fix", "wavelet", "--negative-prompt", "blurry, noisy", *extra]


@pytest.fixture(scope="module")
def client(app_server, tmp_path_factory):
    from gradio_client import Client

    return Client(app_server.url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def test_page_png_is_dalpsr_sr_png_and_its_json_reruns_it(client, app_models, tmp_path, monkeypatch):
    from gradio_client import handle_file

    lr = tmp_path / "kite.png"
    Image.fromarray(smooth_image(5, 40, 32)).save(lr)
    restoration, probs, tags, caption = client.predict(handle_file(str(lr)), api_name="/analyse")
    assert restoration.startswith("Deblur with sigma") and caption and tags
    rows = [[float(c.rstrip("%")) for c in row[1:]] for row in probs["data"]]
    assert [row[0] for row in probs["data"]] == ["blur", "noise", "jpeg"]
    assert all(abs(sum(r) - 100) < 0.5 for r in rows)                     # each type sums to 1
    edited = caption + " over a green field"
    slider, png, settings = client.predict(handle_file(str(lr)), restoration, edited, "blurry, noisy",
                                           2, 3.0, 1234, "ddim", 96, 32, "wavelet", api_name="/super_resolve")
    png_path, json_path = png["value"], settings["value"]
    assert png_path.endswith("kite_x4.png") and json_path.endswith("kite_x4.json")
    assert Image.open(png_path).size == (160, 128)                          # 4x the LR
    before, after = (np.asarray(Image.open(p)) for p in slider)
    assert before.shape == after.shape == (128, 160, 3)
    np.testing.assert_array_equal(after, np.asarray(Image.open(png_path)))

    # dalpsr-sr with the same LR, settings and seed, IRPAD's prompt and --captions holding the caption
    caps = tmp_path / "caps.jsonl"
    caps.write_text(json.dumps({"key": "kite", "caption": edited}) + "\n")
    ref = CliRunner().invoke(sr_app, _sr_args(app_models, lr, out=tmp_path / "ref",
                                              extra=("--captions", str(caps))))
    assert ref.exit_code == 0, ref.output
    assert (tmp_path / "ref" / "kite.png").read_bytes() == Path(png_path).read_bytes()

    # the settings JSON: run.json's fields + prompts, and a command line that redoes the PNG
    record = json.loads(Path(json_path).read_text(encoding="utf-8"))
    assert {"config", "output_hash", "models", "seed", "device", "dtype", "versions"} <= set(record)
    assert record["prompts"] == {"key": "kite", "restoration": restoration, "caption": edited,
                                 "negative": "blurry, noisy", "added": record["config"]["added_prompt"]}
    work = tmp_path / "rerun"
    work.mkdir()
    shutil.copy(lr, work / "kite.png")
    (work / "kite.captions.jsonl").write_text(record["captions_jsonl"], encoding="utf-8")
    monkeypatch.chdir(work)
    command = record["command"]
    assert command[:4] == ["dalpsr-sr", "kite.png", "--out", "OUT"]
    rerun = CliRunner().invoke(sr_app, command[1:])
    assert rerun.exit_code == 0, rerun.output
    assert (work / "OUT" / "kite.png").read_bytes() == Path(png_path).read_bytes()
    run = json.loads((work / "OUT" / "run.json").read_text())
    assert run["output_hash"] == record["output_hash"]
    runtime = ("progress",)
    assert {k: v for k, v in run["config"].items() if k not in runtime} == \
        {k: v for k, v in record["config"].items() if k not in runtime}


def test_bad_uploads_and_settings_give_messages_and_the_server_goes_on(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    text = tmp_path / "notes.png"
    text.write_text("these are notes, not pixels\n")
    big = tmp_path / "big.png"
    Image.fromarray(smooth_image(1, 256, 256)).save(big)                   # 65,536 px > --max-pixels 40,000
    cut = tmp_path / "cut.png"
    Image.fromarray(smooth_image(3, 64, 64)).save(cut)
    cut.write_bytes(cut.read_bytes()[:300])
    for path, words in ((text, "not an image"), (big, "--max-pixels 40000"), (cut, "truncated")):
        with pytest.raises(AppError, match=words):
            client.predict(handle_file(str(path)), api_name="/load_lr")
    good = tmp_path / "good.png"
    Image.fromarray(smooth_image(2, 24, 20)).save(good)
    image, info = client.predict(handle_file(str(good)), api_name="/load_lr")
    assert Image.open(image).size == (24, 20) and "24 x 20" in info
    with pytest.raises(AppError, match="restoration prompt is empty"):
        client.predict(handle_file(str(good)), "  ", "", "", 2, 5.5, 0, "ddpm", 96, 32, "adain",
                       api_name="/super_resolve")
    with pytest.raises(AppError, match="--tile-overlap"):
        client.predict(handle_file(str(good)), "Deblur with sigma 0~0.25", "", "", 2, 5.5, 0, "ddpm", 8, 8,
                       "adain", api_name="/super_resolve")
    seed = client.predict(api_name="/random_seed")
    assert isinstance(seed, (int, float)) and 0 <= seed < 2 ** 31


def test_one_diffusion_job_at_a_time_and_the_second_visitor_waits_in_line(client, app_server, tmp_path):
    """Two visitors click Super-resolve: the second is queued (rank shown) until the first is done."""
    import time

    from gradio_client import Client, handle_file
    from gradio_client.utils import Status

    running = (Status.PROCESSING, Status.PROGRESS, Status.ITERATING)
    other = Client(app_server.url, verbose=False, download_files=str(tmp_path / "other"))
    lr = tmp_path / "queue.png"
    Image.fromarray(smooth_image(4, 32, 32)).save(lr)
    args = (handle_file(str(lr)), "Denoise with sigma 0~0.25", "", "", 30, 5.5, 3, "ddpm", 96, 32, "adain")
    first = client.submit(*args, api_name="/super_resolve")
    deadline = time.monotonic() + 60
    while first.status().code not in running and time.monotonic() < deadline:
        time.sleep(0.05)
    second = other.submit(*args, api_name="/super_resolve")
    seen = []
    while not first.done():
        status = second.status()
        seen.append((status.code, status.rank))
        time.sleep(0.05)
    assert (Status.IN_QUEUE, 0) in seen, seen[-5:]                         # first in line, told so
    a, b = first.result(timeout=120), second.result(timeout=120)
    ta, tb = (json.loads(Path(r[2]["value"]).read_text())["timing"] for r in (a, b))
    assert tb["start"] >= ta["end"] or ta["start"] >= tb["end"], "two diffusion jobs ran at once"
    assert Path(a[1]["value"]).read_bytes() == Path(b[1]["value"]).read_bytes()


def test_the_progress_bar_moves_at_every_denoising_step(client, tmp_path):
    """gr.Progress gets (done, total) from the sampler's on_step: total = steps x tiles (1 tile here)."""
    import time

    from gradio_client import handle_file

    lr = tmp_path / "steps.png"
    Image.fromarray(smooth_image(8, 32, 32)).save(lr)
    job = client.submit(handle_file(str(lr)), "Deblur with sigma 0~0.25", "", "", 8, 5.5, 0, "ddpm", 96, 32,
                        "adain", api_name="/super_resolve")
    seen = []
    while not job.done():
        for unit in job.status().progress_data or []:
            if unit.length and (unit.index, unit.length) not in seen:
                seen.append((unit.index, unit.length))
        time.sleep(0.01)
    job.result(timeout=60)
    assert {length for _, length in seen} == {8}, seen
    done = [index for index, _ in seen]
    assert done == sorted(done) and len(set(done)) >= 4, seen     # moved step by step, never back
