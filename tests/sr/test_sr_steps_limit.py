"""--steps: the most SD 2.1-base's schedule can take is accepted, one more is refused before work.

The reference is diffusers itself: with the released scheduler config (1000 training timesteps,
"leading" spacing, steps_offset 1) a DDPM/DDIM step count of 999 samples, 1000 asks for
timestep 1000 and fails inside the loop, minutes into a real run.
"""

from __future__ import annotations

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from dalpsr_data.config_io import ConfigError
from dalpsr_model.models.tiny_sd import SD21_SCHEDULER
from dalpsr_model.sr.config import MAX_STEPS, SRConfig

REQUIRED = dict(inputs=("x.png",), out="o", base="b", controlnet="c", irpad="i")


def _runs(cls, steps: int) -> bool:
    sched = cls.from_config(SD21_SCHEDULER)
    sched.set_timesteps(steps)
    z = torch.zeros(1, 4, 2, 2)
    try:
        for t in sched.timesteps[:2]:
            z = sched.step(torch.zeros_like(z), t, z).prev_sample
    except IndexError:
        return False
    return True


@pytest.mark.parametrize("cls", [DDPMScheduler, DDIMScheduler])
def test_max_steps_is_the_most_the_sd21_schedule_takes(cls):
    assert _runs(cls, MAX_STEPS) and not _runs(cls, MAX_STEPS + 1)


def test_one_step_too_many_is_refused_before_work():
    assert SRConfig(**REQUIRED, steps=MAX_STEPS).steps == MAX_STEPS
    with pytest.raises(ConfigError, match="--steps must be at most 999"):
        SRConfig(**REQUIRED, steps=MAX_STEPS + 1)
