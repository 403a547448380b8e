"""Per-type accuracy and 4x4 confusion matrices of IRPAD on a held-out set."""

from __future__ import annotations

from typing import Any, Iterable

import torch

from dalpsr_data.schema import DEGRADATION_TYPES, NUM_BINS
from dalpsr_model.irpad.predictor import predict_log_probs


@torch.no_grad()
def evaluate(model: torch.nn.Module, batches: Iterable[dict[str, Any]],
             device: str | torch.device = "cpu", tta: bool = False) -> dict[str, Any]:
    """Batches with ``lr`` (B,3,128,128) and ``bins`` (B,3) -> metrics; ``tta``: predict from
    the mean of the 8 flipped/rotated views (predictor.predict_log_probs).

    Returns {"n": samples, "tta": bool, "accuracy": {type: float}, "confusion": {type: 4x4 list,
    rows = true bin, columns = predicted bin}, "mean_accuracy": float, "corrupt": samples skipped
    as corrupt (the batches' ``n_corrupt``; a batch of only corrupt samples has no ``lr``)}.
    """
    was_training = model.training
    model.eval()
    conf = torch.zeros(len(DEGRADATION_TYPES), NUM_BINS, NUM_BINS, dtype=torch.int64)
    corrupt = 0
    for batch in batches:
        corrupt += int(batch.get("n_corrupt", 0))
        if "lr" not in batch:
            continue
        pred = predict_log_probs(model, batch["lr"].to(device), tta).argmax(-1).cpu()
        true = batch["bins"]
        for t in range(len(DEGRADATION_TYPES)):
            conf[t].view(-1).index_add_(0, true[:, t] * NUM_BINS + pred[:, t],
                                        torch.ones(len(true), dtype=torch.int64))
    model.train(was_training)
    n = int(conf[0].sum())
    acc = {name: (float(conf[t].diagonal().sum()) / n if n else 0.0)
           for t, name in enumerate(DEGRADATION_TYPES)}
    return {"n": n, "tta": tta, "accuracy": acc, "mean_accuracy": sum(acc.values()) / len(acc),
            "corrupt": corrupt,
            "confusion": {name: conf[t].tolist() for t, name in enumerate(DEGRADATION_TYPES)}}
