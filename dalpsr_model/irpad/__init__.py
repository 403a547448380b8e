"""IRPAD: image restoration prompt alignment decoder (degradation bins from an LR image)."""

from dalpsr_model.irpad.evaluate import evaluate
from dalpsr_model.irpad.io import load_irpad, save_irpad
from dalpsr_model.irpad.model import Irpad, IrpadArch, irpad_loss
from dalpsr_model.irpad.predictor import IrpadPredictor
from dalpsr_model.irpad.prompts import bins_to_prompt, degradation_prompts

__all__ = ["Irpad", "IrpadArch", "IrpadPredictor", "bins_to_prompt", "degradation_prompts",
           "evaluate", "irpad_loss", "load_irpad", "save_irpad"]
