"""The shards read with the four readers the issue names: webdataset, Ray Data, tar, HF datasets."""

from __future__ import annotations

import json
import subprocess

from dalpsr_data import schema


def _expected(root):
    index = schema.read_index(root)
    urls = [str(root / s["url"]) for s in index["shardlist"]]
    keys = [k for u in urls for k, _ in schema.iter_tar_samples(u)]
    assert len(keys) == index["num_samples"] == 11
    return urls, keys


def test_webdataset_reads_every_sample(reference_build):
    import webdataset as wds

    urls, keys = _expected(reference_build)
    samples = list(wds.WebDataset(urls, shardshuffle=False, empty_check=False))
    assert [s["__key__"] for s in samples] == keys
    for s in samples:
        assert {"hr.png", "lr.png", "deg.json", "prompt.txt", "src.json"} <= set(s)
        assert json.loads(s["src.json"])["key"] == s["__key__"]


def test_plain_tar_lists_and_extracts(reference_build, tmp_path):
    urls, keys = _expected(reference_build)
    listed = subprocess.run(["tar", "-tf", urls[0]], check=True, capture_output=True, text=True).stdout.split()
    assert listed == [f"{k}.{m}" for k in keys[:2] for m in schema.SAMPLE_MEMBERS]
    subprocess.run(["tar", "-xf", urls[0], "-C", str(tmp_path)], check=True)
    assert (tmp_path / f"{keys[0]}.prompt.txt").read_text().startswith("Deblur with sigma ")


def test_ray_data_reads_every_sample(ray_local, reference_build):
    import ray

    urls, keys = _expected(reference_build)
    rows = ray.data.read_webdataset(urls, decoder=None).take_all()
    assert sorted(r["__key__"] for r in rows) == sorted(keys)
    assert all(isinstance(r["hr.png"], bytes) and r["prompt.txt"] for r in rows)


def test_huggingface_datasets_infers_one_schema(reference_build, tmp_path):
    from datasets import load_dataset

    urls, keys = _expected(reference_build)
    ds = load_dataset("webdataset", data_files={"train": urls}, split="train",
                      cache_dir=str(tmp_path / "hf"))
    assert len(ds) == len(keys) and sorted(ds["__key__"]) == sorted(keys)
    row = ds[0]
    assert row["hr.png"].size == (512, 512) and row["lr.png"].size == (128, 128)
    assert set(row["deg.json"]["bins"]) == {"blur", "noise", "jpeg"}
    assert row["src.json"]["crop"]["w"] == 512


def test_src_records_are_stored_values(reference_build):
    """Crop boxes, padding and conversions of the sample photos (stored: seeded placement)."""
    got = {}
    for entry in schema.read_index(reference_build)["shardlist"]:
        for key, m in schema.iter_tar_samples(reference_build / entry["url"]):
            s = json.loads(m["src.json"])
            c = s["crop"]
            got[key] = (c["x"], c["y"], c["pad_bottom"], c["pad_right"], s["conversions"])
    assert got == {
        "samples_astronaut_p00": (0, 0, 0, 0, ""), "samples_brick_p00": (0, 0, 0, 0, "gray->rgb"),
        "samples_camera_p00": (0, 0, 0, 0, "gray->rgb"), "samples_chelsea_p00": (0, 0, 212, 61, ""),
        "samples_coffee_p00": (82, 0, 112, 0, ""), "samples_grass_p00": (0, 0, 0, 0, "gray->rgb"),
        "samples_gravel_p00": (0, 0, 0, 0, "gray->rgb"),
        "samples_hubble_deep_field_p00": (209, 239, 0, 0, ""), "samples_moon_p00": (0, 0, 0, 0, "gray->rgb"),
        "samples_motorcycle_left_p00": (128, 0, 12, 0, ""), "samples_rocket_p00": (35, 0, 85, 0, "")}
    report = json.loads((reference_build / schema.REPORT_JSON).read_text())
    assert report["patches"]["padded"] == 4  # chelsea, coffee, motorcycle_left, rocket
