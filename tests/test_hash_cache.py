"""Weight hashes are remembered by (path, size, mtime_ns) between runs (issue 20 item 18):
`dalpsr-sr` read ~20 GB of SD + LLaVA weights to hash them on every run."""

from __future__ import annotations

import hashlib
import os

import pytest

import dalpsr_data.hash_cache as hash_cache
from dalpsr_data.hash_cache import ENV_CACHE_DIR, files_sha256
from dalpsr_model.eval.weights import check_weights
from dalpsr_model.sr.outputs import weight_hashes


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """The files that were read to be hashed, in order (the cache in a fresh folder)."""
    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path / "cache"))
    read = []
    real = hash_cache.file_sha256
    monkeypatch.setattr(hash_cache, "file_sha256", lambda p: read.append(p.name) or real(p))
    return read


def reference(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_second_run_reads_no_weight_file(counted, tmp_path):
    folder = tmp_path / "model"
    (folder / "unet").mkdir(parents=True)
    (folder / "unet" / "w.safetensors").write_bytes(os.urandom(3000))
    (folder / "vae.bin").write_bytes(os.urandom(100))
    first = weight_hashes(folder)  # dalpsr-sr's record of a model folder
    assert first == {"unet/w.safetensors": reference(folder / "unet" / "w.safetensors"),
                     "vae.bin": reference(folder / "vae.bin")}
    assert sorted(counted) == ["vae.bin", "w.safetensors"]
    counted.clear()
    assert weight_hashes(folder) == first and counted == []


def test_a_changed_file_is_hashed_again(counted, tmp_path):
    f = tmp_path / "w.safetensors"
    f.write_bytes(b"a" * 64)
    before = files_sha256([f])[f]
    st = f.stat()
    f.write_bytes(b"b" * 64)  # same size; the mtime alone tells the change
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    counted.clear()
    assert files_sha256([f])[f] == reference(f) != before and counted == ["w.safetensors"]
    f.write_bytes(b"c" * 65)  # another size, mtime set back: the size tells it
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert files_sha256([f])[f] == reference(f)


def test_a_damaged_or_unwritable_cache_only_means_hashing_again(counted, tmp_path, monkeypatch):
    f = tmp_path / "w.bin"
    f.write_bytes(b"x" * 10)
    cache = tmp_path / "cache" / hash_cache.CACHE_NAME
    cache.parent.mkdir()
    cache.write_text("{not json")
    assert files_sha256([f])[f] == reference(f)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    monkeypatch.setenv(ENV_CACHE_DIR, str(ro / "sub"))
    assert files_sha256([f])[f] == reference(f)


def test_eval_weights_use_the_cache(counted, tmp_path):
    from dalpsr_model.eval.weights import IQA_METRICS

    root = tmp_path / "weights"
    for rel in IQA_METRICS["lpips"].files:
        path = root / rel.replace("{rev}", "0")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(50))
    first = check_weights(root, ["lpips"])
    assert counted and all(v == reference(root / k) for k, v in first.items())
    counted.clear()
    assert check_weights(root, ["lpips"]) == first and counted == []
