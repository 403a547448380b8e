"""Tar shards: fixed metadata, sorted members, stable bytes, nothing visible on failure."""

from __future__ import annotations

import tarfile

import pytest

from dalpsr_data import schema
from dalpsr_data.atomic import file_sha256
from dalpsr_data.build.shard_writer import write_shard

SAMPLES = [("k_b", {"src.json": b"{}", "hr.png": b"\x89PNG..."}),
           ("k_a", {"prompt.txt": "Deblur \u2248".encode(), "lr.png": b"lr"})]


def test_members_sorted_metadata_fixed_and_bytes_stable(tmp_path):
    r1 = write_shard(tmp_path / "a.tar", SAMPLES)
    r2 = write_shard(tmp_path / "b.tar", list(reversed(SAMPLES)))
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    assert r1 == r2 and r1["sha256"] == file_sha256(tmp_path / "a.tar")
    with tarfile.open(tmp_path / "a.tar") as tf:
        infos = tf.getmembers()
    assert [i.name for i in infos] == ["k_a.lr.png", "k_a.prompt.txt", "k_b.hr.png", "k_b.src.json"]
    assert {(i.mtime, i.uid, i.gid, i.uname, i.gname, i.mode) for i in infos} == {(0, 0, 0, "", "", 0o644)}
    assert [(k, sorted(m)) for k, m in schema.iter_tar_samples(tmp_path / "a.tar")] == [
        ("k_a", ["lr.png", "prompt.txt"]), ("k_b", ["hr.png", "src.json"])]


def test_bad_key_leaves_no_file(tmp_path):
    with pytest.raises(ValueError, match="does not match"):
        write_shard(tmp_path / "s.tar", [("a.b", {"hr.png": b"x"})])
    with pytest.raises(ValueError, match="duplicate"):
        write_shard(tmp_path / "s.tar", [("a", {"hr.png": b"x"}), ("a", {"lr.png": b"y"})])
    assert list(tmp_path.iterdir()) == []
