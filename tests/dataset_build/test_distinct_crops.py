"""A photo yields at most as many patches as it has distinct crop positions.

Reference: the number of positions written out ((W' - P + 1) * (H' - P + 1) with W', H' the
padded size), and the old behaviour (every patch its own first draw, ``repeat_crops``),
which must stay byte-identical for photos with many positions.
"""

from __future__ import annotations

import hashlib

from PIL import Image
from typer.testing import CliRunner

from dalpsr_data import schema
from dalpsr_data.build.config import BuildConfig, PatchConfig
from dalpsr_data.build.runner import run_build
from dalpsr_data.cli import app
from dalpsr_data.patches import crop_positions, place_crop, place_patch_crop
from dalpsr_data.seeding import rng_for
from tests.dataset_build.conftest import make_good_folder, save, smooth_image

runner = CliRunner()


def _rng_of(prefix):
    return lambda j: rng_for(0, f"{prefix}_p{j:02d}", "crop")


def test_positions_and_draws():
    assert crop_positions(300, 200, 512) == 1  # padded both ways
    assert crop_positions(512, 512, 512) == 1
    assert crop_positions(513, 520, 512) == 2 * 9
    assert crop_positions(300, 600, 512) == 89  # padded on the right only: y still moves
    for w, h in ((300, 200), (512, 512)):
        assert place_patch_crop(w, h, 512, 0, _rng_of("a")) is not None
        assert all(place_patch_crop(w, h, 512, j, _rng_of("a")) is None for j in (1, 2, 7))
    boxes = [place_patch_crop(513, 512, 512, j, _rng_of("b")) for j in range(3)]
    assert {(b.x, b.y) for b in boxes[:2]} == {(0, 0), (1, 0)} and boxes[2] is None
    # 18 positions, 18 patches: every position exactly once, whatever the draws
    got = {(b.x, b.y) for b in (place_patch_crop(513, 520, 512, j, _rng_of("c")) for j in range(18))}
    assert got == {(x, y) for x in range(2) for y in range(9)}
    # a large photo keeps each patch's own first draw: the crops of every earlier build
    for j in range(8):
        assert place_patch_crop(700, 600, 512, j, _rng_of("d")) == place_crop(700, 600, 512, _rng_of("d")(j))
    # repeat_crops: the old behaviour, every patch its first draw even when they coincide
    assert place_patch_crop(300, 200, 512, 3, _rng_of("a"), repeat=True) == place_crop(300, 200, 512, _rng_of("a")(3))


def _folder(tmp_path):
    root = make_good_folder(tmp_path / "photos", n=1, size=(600, 700))  # img_000: many positions
    save(root / "padded.png", Image.fromarray(smooth_image(400, 300, 1)))  # 300x400: padded
    save(root / "exact.png", Image.fromarray(smooth_image(512, 512, 2)))  # one position
    save(root / "two.png", Image.fromarray(smooth_image(512, 513, 3)))  # two positions
    return root


def _hr_by_file(out):
    """{source path: [sha1 of each HR patch]} over the finished build."""
    import json

    got: dict[str, list[str]] = {}
    for entry in schema.read_index(out)["shardlist"]:
        for _, m in schema.iter_tar_samples(out / entry["url"]):
            path = json.loads(m["src.json"])["path"]
            got.setdefault(path, []).append(hashlib.sha1(m["hr.png"]).hexdigest())
    return got


def test_build_makes_no_repeated_crop(tmp_path, deg_cfg):
    folder = _folder(tmp_path)
    cfg = BuildConfig(sources=(f"folder={folder}",), out=str(tmp_path / "out"), executor="local",
                      shard_size=3)
    rep = run_build(cfg, PatchConfig(per_image=4), deg_cfg).report
    hr = _hr_by_file(tmp_path / "out")
    assert {k: len(v) for k, v in hr.items()} == {"img_000.png": 4, "padded.png": 1, "exact.png": 1,
                                                  "two.png": 2}
    assert all(len(set(v)) == len(v) for v in hr.values())  # no two HR crops of a photo alike
    assert rep["patches"] == {"planned": 16, "built": 8, "skipped": 0, "not_distinct": 8, "padded": 1}
    assert rep["files"] == {"listed": 4, "built": 4, "skipped": 0, "padded": 1}
    assert rep["skipped_files"] == [] and rep["skipped_patches"] == []

    # the old behaviour on request; the large photo's shard bytes are the same either way
    big = make_good_folder(tmp_path / "big", n=2, size=(600, 700))
    tars = []
    for repeat in (False, True):
        out = tmp_path / f"big-{repeat}"
        run_build(BuildConfig(sources=(f"folder={big}",), out=str(out), executor="local", shard_size=3),
                  PatchConfig(per_image=4, repeat_crops=repeat), deg_cfg)
        tars.append({p.name: p.read_bytes() for p in sorted(out.glob("shard-*.tar"))})
    assert tars[0] == tars[1] and len(tars[0]) == 3
    old = run_build(BuildConfig(sources=(f"folder={folder}",), out=str(tmp_path / "old"),
                                executor="local", shard_size=3),
                    PatchConfig(per_image=4, repeat_crops=True), deg_cfg).report
    assert old["patches"]["built"] == 16 and old["files"]["padded"] == 1


def test_summary_counts_padded_photos(tmp_path, deg_cfg):
    import pytest

    if deg_cfg.calibration_path:
        pytest.skip("the CLI uses the packaged calibration table, which is stale here")
    folder = _folder(tmp_path)
    res = runner.invoke(app, ["build", "--sources", f"folder={folder}", "--out", str(tmp_path / "o"),
                              "--executor", "local", "--no-progress", "--patches-per-image", "4"])
    assert res.exit_code == 0, res.output
    total = next(ln for ln in res.output.splitlines() if "total" in ln)
    assert [c.strip() for c in total.split("│")[2:-1]] == ["4", "4", "0", "1", "8", "0", "8"]
    assert "padded" in res.output and "not made: 8 patch(es)" in res.output
