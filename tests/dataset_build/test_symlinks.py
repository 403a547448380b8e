"""Broken symlinks and symlink loops in a source folder are bad input like any other.

They are listed in report.json with their reason and the build goes on; --strict fails;
a symlink to a valid image is followed (same bytes as the image itself); no message
tells the user that a rerun would help when it would not.
"""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from dalpsr_data.build.config import BuildConfig, PatchConfig
from dalpsr_data.build.runner import run_build
from dalpsr_data.cli import app
from tests.dataset_build.conftest import make_good_folder, tree_bytes

runner = CliRunner()


def _linked_folder(tmp_path):
    """Two photos, a link to a photo outside the folder, a broken link and two loops."""
    folder = make_good_folder(tmp_path / "photos", n=2, size=(520, 530))
    outside = make_good_folder(tmp_path / "elsewhere", n=1, size=(520, 530))
    os.symlink(outside / "img_000.png", folder / "linked.png")
    os.symlink(tmp_path / "gone.jpg", folder / "broken_link.jpg")
    os.symlink(folder / "loop.jpg", folder / "loop.jpg")  # a link to itself
    os.symlink(folder / "b.png", folder / "a.png")  # a -> b -> a
    os.symlink(folder / "a.png", folder / "b.png")
    return folder, outside


def _cfg(folder, out, **kw):
    return BuildConfig(sources=(f"folder={folder}",), out=str(out), executor="local",
                       shard_size=4, **kw)


def test_bad_links_are_reported_and_a_good_link_is_followed(tmp_path, deg_cfg):
    folder, _ = _linked_folder(tmp_path)
    out = tmp_path / "out"
    rep = run_build(_cfg(folder, out), PatchConfig(per_image=1), deg_cfg).report
    assert {s["path"]: s["reason"] for s in rep["skipped_files"]} == {
        "broken_link.jpg": "broken_symlink", "loop.jpg": "symlink_loop",
        "a.png": "symlink_loop", "b.png": "symlink_loop"}
    assert rep["files"] == {"listed": 7, "built": 3, "skipped": 4, "padded": 0}
    assert rep["skip_reasons"] == {"broken_symlink": 1, "symlink_loop": 3}


def test_a_link_to_an_image_builds_the_bytes_of_the_image(tmp_path, deg_cfg):
    photos = make_good_folder(tmp_path / "photos", n=2, size=(520, 530))
    links = tmp_path / "links"
    links.mkdir()
    for p in sorted(photos.iterdir()):
        os.symlink(p, links / p.name)
    built = []
    for folder in (photos, links):
        out = tmp_path / f"out-{folder.name}"
        run_build(_cfg(folder, out), PatchConfig(per_image=2), deg_cfg)
        built.append(tree_bytes(out))
    assert built[0] == built[1] and len(built[0]) == 2


def test_official_layout_lists_a_broken_link_too(tmp_path, deg_cfg):
    image_dir = make_good_folder(tmp_path / "DIV2K" / "DIV2K_train_HR", n=1, size=(520, 530))
    os.symlink(tmp_path / "nowhere.png", image_dir / "0002.png")
    rep = run_build(BuildConfig(sources=(f"div2k={tmp_path / 'DIV2K'}",), out=str(tmp_path / "o"),
                                executor="local"), PatchConfig(per_image=1), deg_cfg).report
    assert rep["skipped_files"][0]["path"] == "0002.png"
    assert rep["skip_reasons"] == {"broken_symlink": 1}


def test_cli_goes_on_strict_fails_and_never_suggests_a_useless_rerun(tmp_path, deg_cfg):
    folder, _ = _linked_folder(tmp_path)
    args = ["build", "--sources", f"folder={folder}", "--out", str(tmp_path / "out"),
            "--executor", "local", "--no-progress", "--patches-per-image", "1"]
    if deg_cfg.calibration_path:
        pytest.skip("the CLI uses the packaged calibration table, which is stale here")
    res = runner.invoke(app, args + ["--strict"])
    assert res.exit_code == 1, res.output
    assert "--strict: 4 file(s) skipped" in res.stderr and "rerun" not in res.output
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "broken_symlink=1" in res.output and "symlink_loop=3" in res.output
    assert "rerun" not in res.output


def test_only_output_folder_errors_suggest_a_rerun(tmp_path):
    from dalpsr_data.commands.build import os_error_message

    out = str(tmp_path / "out")
    source = os_error_message(FileNotFoundError(2, "No such file or directory", "/photos/a.jpg"), out)
    assert "rerun" not in source and "/photos/a.jpg" in source
    inside = os_error_message(OSError(28, "No space left on device", f"{out}/shard-000001.tar"), out)
    assert "rerun the same command to resume" in inside
    unnamed = os_error_message(OSError(28, "No space left on device"), out)  # a write() error
    assert "rerun the same command to resume" in unnamed
