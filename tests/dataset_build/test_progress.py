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


def test_bar_counts_made_and_skipped_patches_that_add_up_to_the_plan(tmp_path, deg_cfg, capsys):
    # Issue 20 item 3: `22/22 patches` was printed when 15 were made; a 200 px photo is
    # padded to one crop, so its second planned patch is not made, and a text file named
    # .png makes none of its two.
    folder = make_good_folder(tmp_path / "p", n=2, size=(512, 520))
    make_good_folder(tmp_path / "small", n=1, size=(200, 200))
    (tmp_path / "small" / "img_000.png").rename(folder / "small.png")
    (folder / "text.png").write_text("not an image\n")
    result = run_build(BuildConfig(sources=(f"folder={folder}",), out=str(tmp_path / "o"), executor="local",
                                   shard_size=3), PatchConfig(per_image=2), deg_cfg, progress=True)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    planned, built = result.report["patches"]["planned"], result.report["patches"]["built"]
    assert (planned, built) == (8, 5)  # 2 + 2 + 1 of the photos; none of the text file
    assert last.startswith(f"build: {planned}/{planned} patches") and last.endswith(
        f"{built} made, {planned - built} skipped")
