"""The progress bar moves patch by patch, never backwards, and ends at the total."""

from __future__ import annotations

from dalpsr_data.build.config import BuildConfig, PatchConfig
from dalpsr_data.build.runner import run_build
from dalpsr_data.progress import Progress
from tests.dataset_build.conftest import make_good_folder


def test_bar_moves_per_patch(tmp_path, deg_cfg, monkeypatch):
    seen: list[int] = []
    monkeypatch.setattr(Progress, "update", lambda self, n, note=None: seen.append(n))
    folder = make_good_folder(tmp_path / "p", n=3, size=(512, 520))
    run_build(BuildConfig(sources=(f"folder={folder}",), out=str(tmp_path / "o"), executor="local",
                          shard_size=3), PatchConfig(per_image=2), deg_cfg, progress=True)
    assert seen == sorted(seen) and seen[-1] == 6
    assert {1, 2, 4, 5} <= set(seen)  # inside shards, not only at the commits (3, 6)
