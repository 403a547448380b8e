"""`--out`: the user's files are never overwritten or deleted.

A non-empty folder that is not a build is refused (exit 2, naming files found), with or
without --overwrite; --overwrite of a build removes only what a build writes; an --out
inside a source folder, or a source inside --out, is refused before anything is created.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dalpsr_data import schema
from dalpsr_data.build.config import BuildConfig, PatchConfig
from dalpsr_data.build.runner import run_build
from dalpsr_data.cli import app
from dalpsr_data.config_io import ConfigError
from tests.dataset_build.conftest import make_good_folder

runner = CliRunner()


def _cfg(folder, out, **kw):
    return BuildConfig(sources=(f"folder={folder}",), out=str(out), executor="local",
                       shard_size=2, **kw)


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_non_build_folder_is_refused_even_with_overwrite(tmp_path, deg_cfg):
    photos = make_good_folder(tmp_path / "photos", n=1, size=(520, 530))
    out = tmp_path / "mine"
    out.mkdir()
    (out / "index.json").write_text('{"my": "own index"}')
    (out / "report.json").write_text("quarterly report")
    (out / "notes.txt").write_text("notes")
    (out / "drafts").mkdir()
    before = _snapshot(out)
    for overwrite in (False, True):
        args = ["build", "--sources", f"folder={photos}", "--out", str(out), "--executor", "local",
                "--no-progress"] + (["--overwrite"] if overwrite else [])
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "not a build folder" in lines[0], res.stderr
        for name in ("drafts/", "index.json", "notes.txt", "report.json"):
            assert name in lines[0]
        assert _snapshot(out) == before and not (out / schema.BUILD_JSON).exists()


def test_overwrite_removes_only_what_a_build_writes(tmp_path, deg_cfg):
    photos = make_good_folder(tmp_path / "photos", n=2, size=(520, 530))
    out = tmp_path / "out"
    first = run_build(_cfg(photos, out), PatchConfig(per_image=1), deg_cfg)
    (out / "preview.png").write_bytes(b"the user's preview")
    (out / "notes.txt").write_text("keep me")
    (out / "captions").mkdir()
    (out / "captions" / "shard-000000.jsonl").write_text("{}\n")
    (out / "captions" / "mine.txt").write_text("keep me too")
    rebuilt = run_build(_cfg(photos, out, seed=3, overwrite=True), PatchConfig(per_image=1), deg_cfg)
    assert rebuilt.plan_hash != first.plan_hash and rebuilt.built == ["shard-000000.tar"]
    assert (out / "preview.png").read_bytes() == b"the user's preview"
    assert (out / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in (out / "captions").iterdir()) == ["mine.txt"]
    assert json.loads((out / schema.BUILD_JSON).read_text())["plan_hash"] == rebuilt.plan_hash
    # a resumed build beside the user's files is still a build: no refusal
    assert run_build(_cfg(photos, out, seed=3), PatchConfig(per_image=1), deg_cfg).built == []


def test_stray_build_files_without_build_json(tmp_path, deg_cfg):
    photos = make_good_folder(tmp_path / "photos", n=1, size=(520, 530))
    out = tmp_path / "out"
    run_build(_cfg(photos, out), PatchConfig(per_image=1), deg_cfg)
    (out / schema.BUILD_JSON).unlink()
    with pytest.raises(ConfigError, match="holds shards .* --overwrite"):
        run_build(_cfg(photos, out), PatchConfig(per_image=1), deg_cfg)
    result = run_build(_cfg(photos, out, overwrite=True), PatchConfig(per_image=1), deg_cfg)
    assert result.built == ["shard-000000.tar"]
    empty = tmp_path / "litter"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"\0")  # OS litter does not make a folder "the user's"
    assert run_build(_cfg(photos, empty), PatchConfig(per_image=1), deg_cfg).built


def test_out_and_sources_must_not_nest(tmp_path, deg_cfg):
    photos = make_good_folder(tmp_path / "photos", n=1, size=(520, 530))
    with pytest.raises(ConfigError, match="inside the folder of source 'folder'"):
        run_build(_cfg(photos, photos / "shards"), PatchConfig(per_image=1), deg_cfg)
    assert not (photos / "shards").exists()
    with pytest.raises(ConfigError, match="inside the folder of source"):
        run_build(_cfg(photos, photos), PatchConfig(per_image=1), deg_cfg)
    with pytest.raises(ConfigError, match=r"source 'folder' .* is inside --out"):
        run_build(_cfg(photos, tmp_path), PatchConfig(per_image=1), deg_cfg)
    assert sorted(p.name for p in photos.iterdir()) == ["img_000.png"]
