"""The per-shard caption stage run locally: sidecars, join, batch independence, faults, resume."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile

import pytest
from PIL import Image

from dalpsr_data import schema
from dalpsr_data.caption.run import run_caption
from dalpsr_data.caption.sidecar import iter_captioned_samples
from dalpsr_data.config_io import ConfigError
from tests.caption.faults import WrappingFactory
from tests.caption.tiny_ram import TINY_IMAGE_SIZE, TINY_TAGS

FIELDS = {"key": str, "status": str, "reason": str, "image": str, "tags": list, "tag_probs": list,
          "instruction": str, "caption": str, "batch_size": int, "tag_batch_size": int}
BATCH_FIELDS = ("batch_size", "tag_batch_size")


def _without_batch_sizes(root) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in BATCH_FIELDS} for r in _records(root)]


def _sidecars(root) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "captions").glob("*.jsonl"))}


def _records(root) -> list[dict]:
    return [json.loads(line) for data in _sidecars(root).values() for line in data.decode().splitlines()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_llava_dir, tiny_ram_path):
    """Sidecars of a clean run with batch size 4 (compared against by the other tests)."""
    from dalpsr_data.caption.config import CaptionConfig
    from tests.caption.conftest import write_tiny_build

    cfg = CaptionConfig(llava=str(tiny_llava_dir), ram_checkpoint=str(tiny_ram_path), ram_image_size=TINY_IMAGE_SIZE,
                        device="cpu", batch_size=4, tag_batch_size=4, max_new_tokens=6)
    root = write_tiny_build(tmp_path_factory.mktemp("ref") / "build", [5, 3], hr_size=128)
    summary = run_caption(root, cfg, executor="local")
    return root, summary


def test_sidecars_follow_the_schema_and_join_by_key(reference):
    root, summary = reference
    assert summary["done"] == 2 and summary["ok"] == 8 and summary["errors"] == 0 and not summary["failed_shards"]
    records = _records(root)
    assert [r["key"] for r in records] == [f"img0_{i:03d}" for i in range(5)] + [f"img1_{i:03d}" for i in range(3)]
    for rec in records:
        assert {k: type(v) for k, v in rec.items()} == FIELDS
        assert rec["status"] == "ok" and rec["caption"] and len(rec["tags"]) == len(rec["tag_probs"])
        clause = "around the following tags: " + ", ".join(rec["tags"]) + "." if rec["tags"] else ""
        assert rec["instruction"].endswith(clause)
    assert len({r["caption"] for r in records}) > 1 and any(r["tags"] for r in records)
    # batch 4 over shards of 5 and 3 samples: calls of 4 + 1, then 3
    assert [(r["batch_size"], r["tag_batch_size"]) for r in records] == [(4, 4)] * 4 + [(1, 1)] + [(3, 3)] * 3
    assert schema.read_caption_sidecar(root, "shard-000001.tar")["img1_002"]["caption"] == records[-1]["caption"]
    joined = list(iter_captioned_samples(root))
    assert [k for k, _, _ in joined] == [r["key"] for r in records]
    assert all(set(m) == set(schema.SAMPLE_MEMBERS) and rec["key"] == k for k, m, rec in joined)
    saved = json.loads((root / "captions" / "caption.json").read_text())
    assert saved["config"]["batch_size"] == 4 and saved["models"]["ram"]["checkpoint"] == "ram_tiny.pth"
    marker = json.loads((root / "captions" / "shard-000000.done.json").read_text())
    assert marker["nsamples"] == 5 and marker["models"]["tagger"]["num_tags"] == len(TINY_TAGS)


def test_results_do_not_depend_on_batch_size(tmp_path, caption_cfg, reference):
    from tests.caption.conftest import write_tiny_build

    root = write_tiny_build(tmp_path / "b", [5, 3], hr_size=128)
    run_caption(root, dataclasses.replace(caption_cfg, batch_size=1, tag_batch_size=3), executor="local")
    assert _without_batch_sizes(root) == _without_batch_sizes(reference[0])
    assert {(r["batch_size"], r["tag_batch_size"]) for r in _records(root)} == {(1, 1)}


def test_simulated_oom_halves_the_batch(tmp_path, caption_cfg, reference, capfd):
    from tests.caption.conftest import write_tiny_build

    root = write_tiny_build(tmp_path / "b", [5, 3], hr_size=128)
    capfd.readouterr()
    summary = run_caption(root, caption_cfg, executor="local", factory=WrappingFactory("oom", 1))
    assert summary["ok"] == 8
    marker = json.loads((root / "captions" / "shard-000000.done.json").read_text())
    assert marker["oom_halvings"] == 2 and marker["final_batch_size"] == 1  # 4 -> 2 -> 1
    assert _without_batch_sizes(root) == _without_batch_sizes(reference[0])
    assert {r["batch_size"] for r in _records(root)} == {1}  # every caption came from a call of 1
    warnings = [ln for ln in capfd.readouterr().err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 2  # one line per halving batch: the first batch of each shard
    assert warnings[0].startswith("warning: shard-000000.tar: CUDA out of memory, batch halved to 1")
    assert "may change a few greedy tokens" in warnings[0]


def test_bad_samples_are_recorded_and_the_run_goes_on(tmp_path, caption_cfg, reference):
    from tests.caption.conftest import write_tiny_build

    root = write_tiny_build(tmp_path / "b", [5, 3], hr_size=128)
    # corrupt one LR png (a bad sample) and poison another in the model (fails on its own)
    tar = root / "shard-000000.tar"
    members = {}
    with tarfile.open(tar) as tf:
        for info in tf:
            members[info.name] = tf.extractfile(info).read()
    members["img0_001.lr.png"] = members["img0_001.lr.png"][:60]
    with tarfile.open(tar, "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    corners = [Image.open(io.BytesIO(members[f"img0_{i:03d}.lr.png"])).getpixel((0, 0)) for i in (0, 2, 3, 4)]
    assert corners.count(corners[2]) == 1  # img0_003's corner pixel identifies it
    summary = run_caption(root, caption_cfg, executor="local", factory=WrappingFactory("poison", corners[2]))
    assert summary["ok"] == 6 and summary["errors"] == 2 and summary["reasons"] == {"decode": 1, "caption": 1}
    by_key = {r["key"]: r for r in _records(root)}
    ref = {r["key"]: r for r in _records(reference[0])}
    assert by_key["img0_001"]["reason"].startswith("decode: ") and by_key["img0_001"]["caption"] == ""
    assert by_key["img0_003"]["reason"] == "caption: ValueError: poisoned image"
    for key in set(ref) - {"img0_001", "img0_003"}:
        assert {k: v for k, v in by_key[key].items() if k not in BATCH_FIELDS} == {
            k: v for k, v in ref[key].items() if k not in BATCH_FIELDS}
    # the undecodable sample is in no call; the 3 others of the first batch were tagged
    # together, and the poisoned caption batch was redone one sample at a time
    assert (by_key["img0_001"]["batch_size"], by_key["img0_001"]["tag_batch_size"]) == (0, 0)
    assert by_key["img0_003"]["batch_size"] == 0 and by_key["img0_003"]["tag_batch_size"] == 3
    assert (by_key["img0_000"]["batch_size"], by_key["img0_000"]["tag_batch_size"]) == (1, 3)


def test_resume_after_a_kill_equals_a_clean_run(tmp_path, caption_cfg, reference):
    from tests.caption.conftest import write_tiny_build

    root = write_tiny_build(tmp_path / "b", [5, 3], hr_size=128)
    with pytest.raises(KeyboardInterrupt):  # killed in shard 1, after shard 0 (2 batches) committed
        run_caption(root, caption_cfg, executor="local", factory=WrappingFactory("kill", 2))
    assert sorted(p.name for p in (root / "captions").iterdir()) == [
        "caption.json", "shard-000000.done.json", "shard-000000.jsonl"]
    (root / "captions" / ".tmp-shard-000001.jsonl.999").write_text("{half")  # as a hard kill leaves it
    first = (root / "captions" / "shard-000000.done.json").stat().st_mtime_ns
    seen = []
    summary = run_caption(root, caption_cfg, executor="local", on_shard=lambda n, s, f: seen.append(n))
    assert seen == ["shard-000001.tar"] and summary["skipped"] == 1
    assert (root / "captions" / "shard-000000.done.json").stat().st_mtime_ns == first
    assert not list((root / "captions").glob(".tmp-*"))
    assert _sidecars(root) == _sidecars(reference[0])


def test_configuration_errors_come_before_any_work(tmp_path, caption_cfg, reference):
    root = reference[0]
    with pytest.raises(ConfigError, match="other settings"):
        run_caption(root, dataclasses.replace(caption_cfg, max_new_tokens=7), executor="local")
    from tests.caption.conftest import write_tiny_build

    fresh = write_tiny_build(tmp_path / "b", [2], hr_size=128)
    schema.marker_path(fresh / "shard-000000.tar").unlink()
    with pytest.raises(ConfigError, match="not committed"):
        run_caption(fresh, caption_cfg, executor="local")
    with pytest.raises(ConfigError, match="index.json"):
        run_caption(tmp_path / "missing", caption_cfg, executor="local")
    good = write_tiny_build(tmp_path / "c", [2], hr_size=128)
    with pytest.raises(ConfigError, match="--ram-checkpoint"):
        run_caption(good, dataclasses.replace(caption_cfg, ram_checkpoint=str(tmp_path / "x.pth")))
    with pytest.raises(ConfigError, match="--llava"):
        run_caption(good, dataclasses.replace(caption_cfg, llava=str(tmp_path)))
    assert not (fresh / "captions").exists() and not (good / "captions").exists()
