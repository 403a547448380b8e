"""IRPAD: image restoration prompt alignment decoder (degradation bins from an LR image).

Modules: config (IrpadConfig, torch-free: the command line parses with it), model (Irpad,
IrpadArch, irpad_loss), predictor (IrpadPredictor), io (save_irpad / load_irpad), evaluate,
prompts, trainer. Import from the submodules (``from dalpsr_model.irpad.model import Irpad``):
this package imports nothing, so reading its config does not load torch.
"""
