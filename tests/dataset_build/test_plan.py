"""The plan: same inputs -> same keys, shards and hash; keys follow the schema."""

from __future__ import annotations

from pathlib import Path

from dalpsr_data import schema
from dalpsr_data.build.plan import file_keys, key_stem, make_plan
from dalpsr_data.sources.base import SourceFile
from tests.dataset_build.conftest import make_good_folder


def _plan(*sources, per_image=2, shard_size=4, limit=None, cfg=None):
    return make_plan(tuple(sources), "unused", limit, per_image, shard_size, cfg or {"v": 1})


def test_plan_is_deterministic_and_order_independent(tmp_path):
    a, b = make_good_folder(tmp_path / "a", n=3), make_good_folder(tmp_path / "b", n=2)
    p1 = _plan(f"folder={a}", "samples")
    p2 = _plan("samples", f"folder={a}")
    assert p1.plan_hash == p2.plan_hash and p1.shards == p2.shards
    keys = [p.key for s in p1.shards for p in s.patches]
    assert keys == sorted(keys) and len(set(keys)) == len(keys) == (3 + 11) * 2
    assert all(schema.KEY_PATTERN.match(k) and "." not in k for k in keys)
    assert [len(s.patches) for s in p1.shards] == [4] * 7
    assert [s.name for s in p1.shards][:2] == ["shard-000000.tar", "shard-000001.tar"]
    assert keys[:3] == ["folder_img_000_p00", "folder_img_000_p01", "folder_img_001_p00"]
    # Anything that changes the output changes the hash; moving the data does not.
    assert _plan(f"folder={a}", "samples", cfg={"v": 2}).plan_hash != p1.plan_hash
    assert _plan(f"folder={a}", "samples", per_image=3).plan_hash != p1.plan_hash
    assert _plan(f"folder={a}", "samples", limit=2).plan_hash != p1.plan_hash
    assert _plan(f"folder={b}").plan_hash != _plan(f"folder={a}").plan_hash
    (tmp_path / "a").rename(tmp_path / "moved")
    assert _plan(f"folder={tmp_path / 'moved'}", "samples").plan_hash == p1.plan_hash


def test_plan_hash_is_stored(tmp_path):
    folder = make_good_folder(tmp_path / "p", n=2, size=(520, 530))
    sizes = [f.stat().st_size for f in sorted(folder.iterdir())]
    p = _plan(f"folder={folder}", per_image=1, shard_size=8)
    files = [f"folder_img_{i:03d}_p00" for i in range(2)]
    assert [x.key for x in p.shards[0].patches] == files
    # The hash covers (key, source, relative path, size, patch index) and the config.
    from dalpsr_data.config_io import config_hash
    expect = config_hash({"output_config": {"v": 1}, "patches": [
        [k, "folder", f"img_{i:03d}.png", sizes[i], 0] for i, k in enumerate(files)]})
    assert p.plan_hash == expect


def test_keys_are_sanitised_and_unique():
    assert key_stem("animal/animal_0001.png") == "animal-animal_0001"
    assert key_stem("a b.c/d.e.JPG") == "a_b_c-d_e"
    assert len(key_stem("x" * 300 + ".png")) == 120 + 9
    files = [SourceFile("f", "/r", rp, 1) for rp in ["a.png", "a.jpg", "b.png"]]
    keys = file_keys("f", files)
    assert len(set(keys)) == 3 and keys[2] == "f_b"
    assert keys[0].startswith("f_a-") and keys[1].startswith("f_a-")
    assert all(schema.KEY_PATTERN.match(k) for k in keys)


def test_limit_takes_the_first_files_of_each_source(tmp_path: Path):
    a = make_good_folder(tmp_path / "a", n=3)
    p = _plan(f"folder={a}", "samples", per_image=1, shard_size=100, limit=2)
    keys = [x.key for x in p.shards[0].patches]
    assert keys == ["folder_img_000_p00", "folder_img_001_p00", "samples_astronaut_p00", "samples_brick_p00"]
