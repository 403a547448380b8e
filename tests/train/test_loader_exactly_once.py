"""The streaming loader: exactly-once coverage, equal batch counts, resume, sidecars, faults."""

from __future__ import annotations

import collections
import shutil
import tarfile

import pytest
import torch

from dalpsr_model.data import EpochLoader, MissingShardError, epoch_plan, shard_order
from tests.support.fake_build import sample_bins, sample_key, write_fake_build

FIELDS = ("lr", "bins", "key", "caption", "prompt")


def _epoch(root, rank, world, workers, epoch=0, batch_size=2, **kw):
    loader = EpochLoader(root, batch_size=batch_size, seed=3, rank=rank, world_size=world,
                         num_workers=workers, shuffle_buffer=4, fields=FIELDS, **kw)
    loader.load_state_dict({**loader.state_dict(), "epoch": epoch, "batches_done": 0})
    return list(loader.epoch_batches())


@pytest.mark.parametrize("workers", [0, 2])
def test_exactly_once_two_ranks_equal_batches(even_build, workers):
    seen, counts = collections.Counter(), []
    for rank in range(2):
        batches = _epoch(even_build, rank, 2, workers)
        counts.append(len(batches))
        for b in batches:
            seen.update(b["key"])
            assert b["lr"].shape[1:] == (3, 128, 128) and b["lr"].dtype == torch.float32
            for key, bins in zip(b["key"], b["bins"].tolist()):
                s, i = int(key[1:6]), int(key[8:])
                assert bins == sample_bins(s, i)
    assert counts[0] == counts[1] == 4  # 8 samples per rank, batch 2
    assert sorted(seen) == sorted(sample_key(s, i) for s in range(4) for i in range(4))
    assert set(seen.values()) == {1}


def test_uneven_build_leaves_out_documented_count(fake_build):
    # 21 samples, 2 ranks x 2 workers: 5 per slot, 1 left out, 3 batches per worker.
    plan = epoch_plan([5, 7, 3, 6], 3, 0, 4, 2)
    assert (plan.samples_per_slot, plan.batches_per_slot, plan.left_out) == (5, 3, 1)
    seen, counts = collections.Counter(), []
    for rank in range(2):
        batches = _epoch(fake_build, rank, 2, 2)
        counts.append(len(batches))
        for b in batches:
            seen.update(b["key"])
    assert counts == [6, 6]
    assert len(seen) == 20 and set(seen.values()) == {1}


def test_order_is_seeded_and_changes_per_epoch(even_build):
    assert shard_order(10, 3, 0) == shard_order(10, 3, 0) == [0, 6, 1, 4, 5, 8, 3, 7, 9, 2]
    assert shard_order(10, 3, 1) != shard_order(10, 3, 0)
    keys0 = [k for b in _epoch(even_build, 0, 1, 0) for k in b["key"]]
    again = [k for b in _epoch(even_build, 0, 1, 0) for k in b["key"]]
    keys1 = [k for b in _epoch(even_build, 0, 1, 0, epoch=1) for k in b["key"]]
    assert keys0 == again and keys0 != keys1 and sorted(keys0) == sorted(keys1)


@pytest.mark.parametrize("workers,stop_after", [(0, 3), (2, 3), (2, 4)])
def test_mid_epoch_resume_yields_the_remaining_batches(fake_build, workers, stop_after):
    def make():
        return EpochLoader(fake_build, batch_size=2, seed=5, num_workers=workers,
                           shuffle_buffer=3, fields=("key",), max_epochs=2)
    full = [b["key"] for b in make()]
    first = make()
    it, head = iter(first), []
    for _ in range(stop_after):
        head.append(next(it)["key"])
    state = first.state_dict()
    resumed = make()
    resumed.load_state_dict(state)
    assert head + [b["key"] for b in resumed] == full
    assert len(full) == 2 * make().batches_per_epoch()


def test_caption_sidecar_joined_by_key(fake_build, even_build):
    for b in _epoch(fake_build, 0, 1, 0):
        assert b["caption"] == [f"caption of {k}" for k in b["key"]]
        assert b["prompt"] == [f"prompt of {k}" for k in b["key"]]
    for b in _epoch(even_build, 0, 1, 0):  # no sidecars: empty captions
        assert b["caption"] == [""] * len(b["key"])


def test_hr_range(even_build):
    loader = EpochLoader(even_build, batch_size=4, fields=("hr", "key"), hr_signed=True, max_epochs=1)
    b = next(iter(loader))
    s, i = int(b["key"][0][1:6]), int(b["key"][0][8:])
    expected = ((13 * i + s) % 256) / 255 * 2 - 1
    assert b["hr"].shape == (4, 3, 512, 512)
    assert torch.allclose(b["hr"][0], torch.full((3, 512, 512), expected))


def test_corrupt_sample_skipped_counted_logged(tmp_path, caplog):
    root = write_fake_build(tmp_path / "b", [4, 4])
    # Replace one sample's LR png with garbage bytes (same member name, new tar).
    src, dst = root / "shard-000001.tar", tmp_path / "x.tar"
    with tarfile.open(src) as tin, tarfile.open(dst, "w", format=tarfile.USTAR_FORMAT) as tout:
        for info in tin:
            data = tin.extractfile(info).read()
            if info.name == f"{sample_key(1, 2)}.lr.png":
                data = b"not a png"
            info.size = len(data)
            import io
            tout.addfile(info, io.BytesIO(data))
    shutil.move(dst, src)
    loader = EpochLoader(root, batch_size=3, fields=("lr", "key"), max_epochs=1)
    with caplog.at_level("WARNING"):
        keys = [k for b in loader for k in b["key"]]
    assert len(keys) == 7 and sample_key(1, 2) not in keys
    assert loader.corrupt == 1 and loader.state_dict()["corrupt"] == 1
    assert any(sample_key(1, 2) in r.getMessage() and "lr.png" in r.getMessage() for r in caplog.records)


def test_missing_shard_is_a_clear_error(tmp_path):
    root = write_fake_build(tmp_path / "b", [2, 2])
    (root / "shard-000001.tar").unlink()
    with pytest.raises(MissingShardError, match="shard-000001.tar"):
        EpochLoader(root, batch_size=2)


def test_resume_with_other_worker_count_is_refused(even_build):
    from dalpsr_data.config_io import ConfigError

    a = EpochLoader(even_build, batch_size=2, num_workers=2)
    b = EpochLoader(even_build, batch_size=2, num_workers=1)
    with pytest.raises(ConfigError, match="num_workers"):
        b.load_state_dict(a.state_dict())


def test_truncated_shard_keeps_batch_count(tmp_path):
    root = write_fake_build(tmp_path / "b", [4, 4])
    intact = EpochLoader(root, batch_size=2, fields=("key",), max_epochs=1)
    n_batches = intact.batches_per_epoch()
    shard = root / "shard-000001.tar"
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2])  # cut inside the 3rd sample's members
    loader = EpochLoader(root, batch_size=2, fields=("lr", "key"), max_epochs=1)
    batches = list(loader)
    keys = [k for b in batches for k in b["key"]]
    assert len(batches) == n_batches == 4
    assert set(keys) >= {sample_key(0, i) for i in range(4)} and len(keys) == 8 - loader.corrupt
    assert loader.corrupt >= 2


def test_all_corrupt_batch_repeats_last_good_sample(tmp_path, caplog):
    root = write_fake_build(tmp_path / "b", [2, 2])
    shard = root / "shard-000001.tar"
    shard.write_bytes(shard.read_bytes()[:1024])  # nothing of shard 1 survives
    loader = EpochLoader(root, batch_size=2, shuffle_buffer=1, fields=("lr", "key"), max_epochs=1)
    order = [loader.stream.urls[i] for i in loader.stream.plan(0).order]
    batches = list(loader)
    assert order[0] == "shard-000000.tar"  # seed 0: the good shard comes first
    assert len(batches) == 2 and loader.corrupt == 2
    assert batches[1]["key"] == [sample_key(0, 1)] and batches[1]["n_corrupt"] == 2
    assert "replaced by a repeat" in caplog.text
