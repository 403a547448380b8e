"""The generic step loop every stage plugs a ``training_step`` into.

A stage builds its model(s), optimizer and loader, prepares model/optimizer with the
accelerator, then::

    trainer = Trainer(cfg, accelerator, models={"irpad": model}, optimizer=opt,
                      scheduler=sched, loader=loader, training_step=step_fn)
    result = trainer.fit()

``training_step(batch) -> StepOutput`` computes the loss of one batch (forward only);
the Trainer does backward, accumulation, clipping, optimizer/scheduler steps, the
non-finite check, logging, checkpoints and ``--resume``. While it runs,
``trainer.micro_step`` is the index of its batch over the whole run (``step *
grad_accum_steps + micro-step``), the same after a resume, so per-batch randomness can be
keyed on it. ``on_step_end(step)`` runs after every optimizer step (e.g. an EMA update),
before logging, validation and checkpoints.

Ctrl-C or SIGTERM during ``fit`` lets the current optimizer step finish, writes a
checkpoint and raises ``Interrupted`` (the CLI prints its resume line and exits 130/143);
``--resume latest`` then continues as if nothing happened. A second signal stops at once.
DataLoader workers ignore the signals: the main process stops them after its checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

import torch

from dalpsr_data.config_io import ConfigError, to_dict
from dalpsr_data.interrupt import Interrupted, StopRequest, defer_signals
from dalpsr_model.training.checkpoint import CheckpointManager, load_checkpoint, resolve_resume
from dalpsr_model.training.config import resume_mismatches
from dalpsr_model.training.errors import NonFiniteLossError
from dalpsr_model.training.monitor import Monitor

log = logging.getLogger(__name__)
STOP_NOTICE = ("stopping after this optimizer step, once a checkpoint is written "
               "(signal again to stop at once, losing the steps since the last checkpoint)")


class ResumableLoader(Protocol):
    """What the Trainer needs from a loader (dalpsr_model.data.EpochLoader is one)."""

    def __iter__(self) -> Iterable[Any]: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass
class StepOutput:
    """What a stage's training_step returns for one batch.

    loss: scalar float tensor (with grad); logs: extra scalars for tensorboard;
    num_samples: samples in this batch on this process.
    """

    loss: torch.Tensor
    num_samples: int
    logs: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainResult:
    step: int
    losses: list[float]            # per optimizer step run in THIS call (mean over accumulation)
    last_checkpoint: Path | None
    samples_per_second: float
    last_loss: float = math.nan    # of the last optimizer step, also when none ran in this call


def make_optimizer(cfg: Any, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """AdamW with the config's lr/weight decay."""
    return torch.optim.AdamW([p for p in params if p.requires_grad], lr=cfg.lr,
                             weight_decay=cfg.weight_decay)


def make_scheduler(cfg: Any, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then constant (``decay_steps=0``) or a cosine to 0 over ``decay_steps``.

    Never derived from max_steps, so a resumed run that raises --max-steps follows the same
    schedule as an uninterrupted one.
    """
    warm, decay = cfg.warmup_steps, getattr(cfg, "decay_steps", 0)

    def factor(step: int) -> float:
        if warm > 0 and step < warm:
            return (step + 1) / warm
        if decay <= 0:
            return 1.0
        t = min(1.0, (step - warm) / decay)
        return 0.5 * (1.0 + math.cos(math.pi * t))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class Trainer:
    """Runs ``training_step`` until ``cfg.max_steps`` optimizer steps; see module docstring."""

    def __init__(self, cfg: Any, accelerator: Any, *, models: dict[str, torch.nn.Module],
                 optimizer: torch.optim.Optimizer, loader: ResumableLoader,
                 training_step: Callable[[Any], StepOutput], scheduler: Any | None = None,
                 validate: Callable[[int], dict[str, float]] | None = None,
                 validate_every: int = 0, description: str = "train",
                 on_step_end: Callable[[int], None] | None = None) -> None:
        self.cfg, self.acc = cfg, accelerator
        self.models, self.optimizer, self.scheduler = models, optimizer, scheduler
        self.loader, self.training_step = loader, training_step
        self.validate, self.validate_every = validate, validate_every
        self.description = description
        self.on_step_end = on_step_end
        self.step = 0
        self.micro_step = 0  # batch index over the whole run (see module docstring)
        self.last_loss = math.nan
        self.ckpts = CheckpointManager(Path(cfg.out) / "checkpoints", cfg.keep_checkpoints)
        self.last_checkpoint: Path | None = None

    # -- checkpoints ---------------------------------------------------------------------
    def _unwrapped(self) -> dict[str, torch.nn.Module]:
        return {k: self.acc.unwrap_model(m) for k, m in self.models.items()}

    def save(self) -> Path:
        state = {"step": self.step, "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {},
                 "loader": self.loader.state_dict(), "last_loss": self.last_loss}
        self.last_checkpoint = self.ckpts.save(
            self.step, models=self._unwrapped(), state=state, config=to_dict(self.cfg),
            rank=self.acc.process_index, is_main=self.acc.is_main_process,
            barrier=self.acc.wait_for_everyone)
        return self.last_checkpoint

    def maybe_resume(self) -> None:
        path = resolve_resume(self.cfg.resume, self.ckpts.root)
        if path is None:
            if self.cfg.resume == "latest":
                log.info("--resume latest: no checkpoint in %s yet, starting fresh", self.ckpts.root)
            return
        state = load_checkpoint(path, models=self._unwrapped(), rank=self.acc.process_index)
        bad = resume_mismatches(state["config"], to_dict(self.cfg))
        if bad:
            raise ConfigError(f"--resume {path}: options {bad} differ from the checkpoint's config; "
                              f"resume with the same values or start a new --out folder")
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.loader.load_state_dict(state["loader"])
        self.step = int(state["step"])
        self.last_loss = float(state.get("last_loss", math.nan))  # checkpoints before it: nan
        self.last_checkpoint = path
        log.info("resumed from %s at step %d", path, self.step)

    # -- the loop ------------------------------------------------------------------------
    def _check_finite(self, loss: torch.Tensor) -> None:
        bad = (~torch.isfinite(loss.detach())).float().reshape(1)
        if self.acc.num_processes > 1:  # every rank must stop together
            bad = self.acc.reduce(bad, reduction="sum")
        if bad.item() > 0:
            where = self.last_checkpoint or "none saved yet"
            raise NonFiniteLossError(
                f"non-finite loss ({loss.item()}) at step {self.step + 1}: stopped without "
                f"saving. Last good checkpoint: {where}. Lower --lr or use "
                f"--mixed-precision no, then continue with --resume latest.")

    def _one_step(self, it: Any) -> tuple[float, int, dict[str, float]]:
        n_acc = self.cfg.grad_accum_steps
        total, samples, logs = 0.0, 0, {}
        for micro in range(n_acc):
            batch = next(it)
            self.micro_step = self.step * n_acc + micro
            sync = micro == n_acc - 1
            ctx = contextlib.ExitStack()
            if not sync:  # skip DDP all-reduce on accumulation micro-steps
                for m in self.models.values():
                    ctx.enter_context(self.acc.no_sync(m))
            with ctx:
                out = self.training_step(batch)
                self._check_finite(out.loss)
                self.acc.backward(out.loss / n_acc)
            total += out.loss.item() / n_acc
            samples += out.num_samples
            logs = out.logs
        if self.cfg.max_grad_norm > 0:
            params = [p for m in self.models.values() for p in m.parameters() if p.requires_grad]
            self.acc.clip_grad_norm_(params, self.cfg.max_grad_norm)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return total, samples, logs

    def _stop_requested(self, stop: StopRequest) -> bool:
        """Whether a signal asks to stop after this step; with several processes, whether any
        process got one (they all stop after the same step: the checkpoint waits for all)."""
        if self.acc.num_processes == 1:
            return stop.signum is not None
        flag = torch.tensor([0.0 if stop.signum is None else 1.0], device=self.acc.device)
        if self.acc.reduce(flag, reduction="sum").item() > 0:
            stop.signum = stop.signum or signal.SIGTERM
            return True
        return False

    def fit(self) -> TrainResult:
        self.maybe_resume()
        for m in self.models.values():
            m.train()
        monitor = Monitor(self.cfg.out, self.cfg.max_steps, self.step, self.acc.is_main_process,
                          self.cfg.progress, self.description)
        losses: list[float] = []
        saved_at = self.step
        it = iter(self.loader)
        deferred = contextlib.ExitStack()  # Ctrl-C/SIGTERM: finish the step, checkpoint, stop
        stop = deferred.enter_context(defer_signals(STOP_NOTICE))
        try:
            while self.step < self.cfg.max_steps:
                loss, samples, logs = self._one_step(it)
                self.step += 1
                self.last_loss = loss
                if self.on_step_end is not None:
                    self.on_step_end(self.step)
                losses.append(loss)
                monitor.step(self.step, samples * self.acc.num_processes, loss)
                if self.step % self.cfg.log_every == 0:
                    lr = self.optimizer.param_groups[0]["lr"]
                    monitor.scalars(self.step, {"train/loss": loss, "train/lr": lr,
                                                "train/samples_per_s": monitor.samples_per_second,
                                                **{f"train/{k}": v for k, v in logs.items()}})
                if self.validate is not None and self.validate_every and self.step % self.validate_every == 0:
                    monitor.scalars(self.step, {f"val/{k}": v for k, v in self.validate(self.step).items()})
                if self.step % self.cfg.checkpoint_every == 0:
                    self.save()
                    saved_at = self.step
                if self._stop_requested(stop):
                    break
            if saved_at != self.step or self.last_checkpoint is None:
                self.save()
            if stop.signum is not None:  # --resume latest continues from the checkpoint above
                raise Interrupted(stop.signum)
        finally:
            deferred.close()
            monitor.close()
            close = getattr(it, "close", None)
            if close is not None:  # stops DataLoader workers now, not at garbage collection
                close()
        return TrainResult(self.step, losses, self.last_checkpoint, monitor.samples_per_second,
                           self.last_loss)
