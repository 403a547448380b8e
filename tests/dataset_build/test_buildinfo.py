"""BuildInfo: one opened build (issue 13): errors that say what to run, geometry from
build.json with the defaults for builds that do not record it, and the caption join."""

from __future__ import annotations

import json

import pytest

from dalpsr_data.buildinfo import BuildInfo, MissingBuildError
from dalpsr_data.caption.sidecar import iter_captioned_samples
from dalpsr_data.config_io import ConfigError
from dalpsr_data.schema import BUILD_JSON, ShardFormatError, iter_tar_samples
from dalpsr_model.data import EpochLoader
from tests.support.fake_build import sample_key, write_fake_build


@pytest.mark.parametrize("state", ["missing", "not a build folder", "unfinished"])
def test_no_finished_build_names_what_to_run(tmp_path, state):
    root = tmp_path / "b"
    if state != "missing":
        root.mkdir()
    if state == "unfinished":
        (root / BUILD_JSON).write_text(json.dumps({"plan_hash": "x", "output_config": {}}))
    with pytest.raises(MissingBuildError) as e:
        BuildInfo.open(root)
    assert isinstance(e.value, ConfigError) and isinstance(e.value, ShardFormatError)
    # no config recorded in build.json here: a template naming the --sources to fill in
    assert f"{root} is {state}" in str(e.value)
    assert f"dalpsr-data build --sources <your sources> --out {root}" in str(e.value)
    with pytest.raises(MissingBuildError, match=f"^--shards {root}: {root}/index.json not found"):
        BuildInfo.open(root, "--shards")


def test_geometry_defaults_without_build_json_and_read_from_it(tmp_path):
    root = write_fake_build(tmp_path / "b", [2, 3])
    old = BuildInfo.open(root)
    assert (old.patch_size, old.scale, old.lr_size, old.plan_hash) == (512, 4, 128, "")
    assert old.urls == ["shard-000000.tar", "shard-000001.tar"] and old.sizes == [2, 3]
    # A build.json of a build made before it recorded the geometry: still the defaults.
    (root / BUILD_JSON).write_text(json.dumps({"plan_hash": "abc", "output_config": {}}))
    assert BuildInfo.open(root).geometry == old.geometry
    (root / BUILD_JSON).write_text(json.dumps({"plan_hash": "abc", "output_config": {},
                                               "config": {"degradation": {"patch_size": 192, "scale": 3}}}))
    new = BuildInfo.open(root)
    assert (new.patch_size, new.scale, new.lr_size, new.plan_hash) == (192, 3, 64, "abc")
    (root / BUILD_JSON).write_text(json.dumps({"config": {"degradation": {"patch_size": 100, "scale": 3}}}))
    with pytest.raises(ShardFormatError, match="not a multiple of scale 3"):
        BuildInfo.open(root)


def test_loader_reads_images_of_the_recorded_size(tmp_path):
    root = write_fake_build(tmp_path / "b", [3], hr_size=192, lr_size=64)
    with pytest.raises(Exception, match="expected 512x512"):  # no build.json: read as 512 px
        list(EpochLoader(root, batch_size=3, fields=("hr", "key"), max_epochs=1))
    (root / BUILD_JSON).write_text(json.dumps({"config": {"degradation": {"patch_size": 192, "scale": 3}}}))
    batch = next(iter(EpochLoader(BuildInfo.open(root), batch_size=3, fields=("lr", "hr"), max_epochs=1)))
    assert batch["hr"].shape == (3, 3, 192, 192) and batch["lr"].shape == (3, 3, 64, 64)
    assert batch["n_corrupt"] == 0


def test_loader_from_buildinfo_equals_loader_from_path(fake_build_captioned):
    kw = dict(batch_size=2, seed=4, fields=("key", "caption", "bins"), max_epochs=2)
    a = [b["key"] + b["caption"] for b in EpochLoader(fake_build_captioned, **kw)]
    b = [b["key"] + b["caption"] for b in EpochLoader(BuildInfo.open(fake_build_captioned), **kw)]
    assert a == b and len(a) == 2 * 4  # 7 samples, batches of 2, two epochs


def _uncaption(root, url, drop_key=None):
    """Remove a shard's sidecar, or one record of it."""
    side = root / "captions" / url.replace(".tar", ".jsonl")
    if drop_key is None:
        side.unlink()
        return
    lines = [ln for ln in side.read_text().splitlines() if json.loads(ln)["key"] != drop_key]
    side.write_text("".join(ln + "\n" for ln in lines))


def test_iter_samples_joins_captions_by_key(tmp_path):
    root = write_fake_build(tmp_path / "b", [3, 4], captions=True)
    build = BuildInfo.open(root)
    tar_keys = [k for url in build.urls for k, _ in iter_tar_samples(root / url)]
    joined = list(build.iter_samples(captions="required"))
    assert [k for k, _, _ in joined] == tar_keys
    assert all(rec["caption"] == f"caption of {k}" for k, _, rec in joined)
    assert [(k, r) for k, _, r in iter_captioned_samples(root)] == [(k, r) for k, _, r in joined]
    assert [k for k, _, _ in build.iter_samples([1])] == tar_keys[3:]

    _uncaption(root, "shard-000001.tar", drop_key=sample_key(1, 2))
    with pytest.raises(ShardFormatError, match=f"sample '{sample_key(1, 2)}' has no caption record"):
        list(build.iter_samples(captions="required"))
    assert [k for k, _, _ in build.iter_samples(captions="captioned_only")] == \
        [k for k in tar_keys if k != sample_key(1, 2)]
    optional = {k: r for k, _, r in build.iter_samples(captions="optional")}
    assert list(optional) == tar_keys and optional[sample_key(1, 2)] == {}

    _uncaption(root, "shard-000000.tar")
    with pytest.raises(ShardFormatError, match=f"run `dalpsr-data caption {root}`"):
        list(iter_captioned_samples(root))
    with pytest.raises(ValueError, match="captions must be one of"):
        list(build.iter_samples(captions="all"))


@pytest.fixture
def fake_build_captioned(tmp_path):
    return write_fake_build(tmp_path / "cap", [3, 4], captions=True)


def test_controlnet_crop_is_checked_against_the_build(tmp_path):
    from dalpsr_model.controlnet.config import ControlNetConfig

    root = write_fake_build(tmp_path / "b", [1], hr_size=192, lr_size=64)
    (root / BUILD_JSON).write_text(json.dumps({"config": {"degradation": {"patch_size": 192, "scale": 3}}}))
    build = BuildInfo.open(root)
    cfg = lambda crop: ControlNetConfig(shards=str(root), base="sd", crop=crop)  # noqa: E731
    for ok in (0, 96, 192):
        cfg(ok).check_build(build)
    for bad, why in ((224, "at most the patch size"), (64, "multiple of its scale")):
        with pytest.raises(ConfigError, match=why):
            cfg(bad).check_build(build)
    (root / BUILD_JSON).write_text(json.dumps({"config": {"degradation": {"patch_size": 120, "scale": 4}}}))
    with pytest.raises(ConfigError, match="120 px patches, not a multiple of 32: give --crop"):
        cfg(0).check_build(BuildInfo.open(root))
    cfg(96).check_build(BuildInfo.open(root))
