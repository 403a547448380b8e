"""Restoration prompts: the paper's exact form and a strict parser."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dalpsr_data.degradation import parse_prompt, restoration_prompt


def test_paper_example():
    text = restoration_prompt({"blur": 2, "noise": 1, "jpeg": 0})
    assert text == "Deblur with sigma 0.5~0.75, Denoise with sigma 0.25~0.5, Dejpeg with sigma 0~0.25"
    assert restoration_prompt({"blur": 3, "noise": 3, "jpeg": 3}).endswith("Dejpeg with sigma 0.75~1")


def test_round_trip_all_64_bin_combinations():
    seen = set()
    for b, n, j in itertools.product(range(4), repeat=3):
        text = restoration_prompt({"blur": b, "noise": n, "jpeg": np.int64(j)})
        seen.add(text)
        assert parse_prompt(text) == {"blur": b, "noise": n, "jpeg": j}
    assert len(seen) == 64


@pytest.mark.parametrize("bad", [
    "",
    "Deblur with sigma 0.5~0.75, Denoise with sigma 0.25~0.5",
    "Deblur with sigma 0.5~0.7, Denoise with sigma 0.25~0.5, Dejpeg with sigma 0~0.25",
    "Denoise with sigma 0.25~0.5, Deblur with sigma 0.5~0.75, Dejpeg with sigma 0~0.25",
    "Deblur with sigma 0.75~1.25, Denoise with sigma 0.25~0.5, Dejpeg with sigma 0~0.25",
])
def test_malformed_prompts_raise(bad):
    with pytest.raises(ValueError):
        parse_prompt(bad)


@pytest.mark.parametrize("bins", [{"blur": 4, "noise": 0, "jpeg": 0}, {"blur": -1, "noise": 0, "jpeg": 0},
                                  {"blur": 1.0, "noise": 0, "jpeg": 0}, {"blur": True, "noise": 0, "jpeg": 0}])
def test_bad_bins_raise(bins):
    with pytest.raises(ValueError):
        restoration_prompt(bins)
