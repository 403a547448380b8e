"""The app's models, loaded once at start through `dalpsr-sr`'s own code.

    checked = check_app_models(cfg)      # every folder checked first, as dalpsr-sr does
    models = load_models(checked, cfg.offload)
    with models.pass1() as (predictor, captioner): ...   # IRPAD, RAM + LLaVA (None without --llava)
    models.pipe                           # SRPipeline: frozen SD 2.1-base + ControlNet (pass 2)

With --offload the pass-1 models live on the CPU and visit the GPU only inside
``pass1()``; without it everything stays on the device. ``record()`` is `dalpsr-sr`'s
models record (paths + sha256 of the weight files), hashed once on first use.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from dalpsr_data.caption.llava_captioner import build_models
from dalpsr_model.irpad.predictor import IrpadPredictor
from dalpsr_model.sr.config import SRConfig
from dalpsr_model.sr.outputs import model_record
from dalpsr_model.sr.pipeline import SRPipeline, resolve_device
from dalpsr_model.sr.prompts import caption_config
from dalpsr_model.sr.runner import check_models

from .config import AppConfig


def load_config(cfg: AppConfig) -> SRConfig:
    """The `dalpsr-sr` configuration whose models the app loads (checks its options)."""
    return SRConfig(inputs=("app",), out="app", base=cfg.base, controlnet=cfg.controlnet, irpad=cfg.irpad,
                    llava=cfg.llava, ram_checkpoint=cfg.ram_checkpoint, ram_image_size=cfg.ram_image_size,
                    vision_tower=cfg.vision_tower, caption_max_new_tokens=cfg.caption_max_new_tokens,
                    no_captions=not cfg.captioned, device=cfg.device, dtype=cfg.dtype,
                    max_pixels=cfg.max_pixels, batch_size=1, progress=False)


def free_memory() -> None:
    """Return freed tensors' memory (after a job, failed or not)."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _place(predictor: Any, captioner: Any, device: str) -> None:
    """Move IRPAD, RAM and LLaVA (and the device they compute on) to ``device``."""
    import torch

    predictor.model.to(device)
    predictor.device = device
    if captioner is not None:
        for part in (captioner.tagger, captioner.captioner):
            if part is not None:
                part.model.to(device)
                part.device = torch.device(device)


class JobStopped(RuntimeError):
    """The server is stopping: a job in flight gives up at its next step."""


class JobGate:
    """Device jobs in flight. At shutdown ``stop_and_wait`` refuses new jobs, makes ``check``
    (called after each denoising step) raise in running ones, and waits for them to leave:
    the process never exits while a worker thread is inside torch (that aborts it)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self.stopping = threading.Event()

    def check(self) -> None:
        if self.stopping.is_set():
            raise JobStopped("the server is stopping")

    @contextlib.contextmanager
    def job(self) -> Iterator[None]:
        self.check()
        with self._cond:
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    def stop_and_wait(self, timeout: float) -> bool:
        """True when no job is left after at most ``timeout`` seconds."""
        self.stopping.set()
        with self._cond:
            return self._cond.wait_for(lambda: self._active == 0, timeout)


@dataclass
class AppModels:
    """Everything loaded at start; ``device`` is where diffusion (and pass 1 unless offloaded) runs."""

    sr_cfg: SRConfig
    controlnet_dir: Path
    device: str
    dtype_name: str
    pipe: SRPipeline
    predictor: Any
    captioner: Any  # dalpsr_data.caption.interfaces.Models, or None without --llava
    caption_cfg: Any
    offload: bool
    jobs: JobGate = field(default_factory=JobGate, repr=False)
    _record: dict[str, Any] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextlib.contextmanager
    def pass1(self) -> Iterator[tuple[Any, Any]]:
        """(IRPAD predictor, caption models) on the device for the time of one Analyse."""
        if self.offload:
            _place(self.predictor, self.captioner, self.device)
        try:
            yield self.predictor, self.captioner
        finally:
            if self.offload:
                _place(self.predictor, self.captioner, "cpu")
                free_memory()

    def record(self) -> dict[str, Any]:
        """`dalpsr-sr`'s models record of base + ControlNet (sha256 computed once)."""
        with self._lock:
            if self._record is None:
                cfg = SRConfig(inputs=("app",), out="app", base=self.sr_cfg.base,
                               controlnet=self.sr_cfg.controlnet, restoration_prompt="x", no_captions=True)
                self._record = model_record(cfg, self.controlnet_dir)
            return self._record


@dataclass(frozen=True)
class CheckedModels:
    """What ``check_app_models`` found: the load configuration, device, dtype, ControlNet folder."""

    sr_cfg: SRConfig
    device: str
    dtype: Any
    controlnet_dir: Path


def check_app_models(cfg: AppConfig) -> CheckedModels:
    """Every model folder checked as `dalpsr-sr` checks them (ConfigError naming the option)."""
    sr_cfg = load_config(cfg)
    device, dtype = resolve_device(sr_cfg)
    return CheckedModels(sr_cfg, device, dtype, check_models(sr_cfg, device))


def load_models(checked: CheckedModels, offload: bool) -> AppModels:
    """Load every model of a checked configuration, once."""
    sr_cfg, device = checked.sr_cfg, checked.device
    # built for the run's device (LLaVA's dtype follows it, so captions equal dalpsr-sr's),
    # then parked on the CPU with --offload before the diffusion models load
    ccfg = caption_config(sr_cfg, "cuda" if device == "cuda" else "cpu")
    predictor = IrpadPredictor.load(sr_cfg.irpad, device)
    captioner = build_models(ccfg) if sr_cfg.use_captions else None
    offload = offload and device != "cpu"
    if offload:
        _place(predictor, captioner, "cpu")
        free_memory()
    pipe = SRPipeline.load(sr_cfg, device)
    return AppModels(sr_cfg=sr_cfg, controlnet_dir=checked.controlnet_dir, device=device,
                     dtype_name=str(checked.dtype).removeprefix("torch."), pipe=pipe, predictor=predictor,
                     captioner=captioner, caption_cfg=ccfg, offload=offload)
