"""run_batched: OOM halving, per-sample isolation, and what is recorded when nothing helps."""

from __future__ import annotations

import torch

from dalpsr_data.caption.batching import run_batched


def test_oom_halves_then_records_items_that_never_fit():
    calls = []

    def fn(items):
        calls.append(list(items))
        if len(items) > 2 or 7 in items:  # 7 does not fit even alone
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return [x * 10 for x in items]

    res = run_batched(fn, [1, 2, 3, 7, 5], batch_size=4, stage="caption")
    assert res.outputs == [10, 20, 30, None, 50]
    assert res.reasons[3] == "caption: OutOfMemoryError: CUDA out of memory (simulated)"
    assert res.reasons[:3] == ["", "", ""] and res.batch_size == 1 and res.oom_halvings == 2
    assert calls[:3] == [[1, 2, 3, 7], [1, 2], [3, 7]]
    assert res.call_sizes == [2, 2, 1, 0, 1]  # the size of the call each output came from


def test_other_errors_isolate_the_failing_sample_without_halving():
    def fn(items):
        if "bad" in items:
            raise ValueError("cannot caption")
        return [s.upper() for s in items]

    res = run_batched(fn, ["a", "bad", "c", "d"], batch_size=3, stage="tag")
    assert res.outputs == ["A", None, "C", "D"] and res.batch_size == 3 and res.oom_halvings == 0
    assert res.reasons == ["", "tag: ValueError: cannot caption", "", ""]
    assert res.call_sizes == [1, 0, 1, 1]  # a, c redone alone; d alone as the last chunk
    short = run_batched(lambda items: items[:1], ["x", "y"], batch_size=2, stage="tag")
    assert short.outputs == ["x", "y"]  # a wrong-length batch is retried one by one
