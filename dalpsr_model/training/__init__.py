"""Parts shared by every trainer: config base (config), accelerate setup (accel), atomic
checkpoints (checkpoint), logging/progress (monitor) and the generic step loop (loop).

Import from the submodules (``from dalpsr_model.training.loop import Trainer``); see
docs/trainer-api.md for how a model's trainer plugs into them.
"""
