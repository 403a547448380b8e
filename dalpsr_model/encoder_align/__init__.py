"""LR->HR alignment of LLaVA's vision tower (paper Sec. III.C)."""

from dalpsr_model.encoder_align.tower import (TowerHolder, TowerSpec, freeze_unused, load_llava_tower,
                                              preprocess, tower_features)

__all__ = ["TowerHolder", "TowerSpec", "freeze_unused", "load_llava_tower", "preprocess", "tower_features"]
