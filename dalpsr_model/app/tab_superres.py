"""The "Super-resolve" tab: upload, Analyse (pass 1), editable prompts, settings, pass 2.

Every control mirrors a `dalpsr-sr` option and starts at its default (``page_defaults``).
Analyse and Super-resolve share one queue slot per device (``concurrency_id="device"``,
limit 1): jobs run one at a time and a waiting visitor sees their place. A problem with
the input (file, prompt, setting) or a failed job shows a message and the server goes on.
Handlers get the uploaded file each time (no per-session state): the API that
gradio_client sees is the page's.
"""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Any

from dalpsr_data import schema
from dalpsr_model.sr.colorfix import COLOR_FIXES
from dalpsr_model.sr.config import SCHEDULERS

from .analyse import ACCEPTED, InputProblem, analyse, probs_table, read_upload
from .config import AppConfig, page_defaults
from .models import AppModels, JobStopped, free_memory
from .superres import super_resolve

DEVICE_QUEUE = "device"
SEED_MAX = 2 ** 31 - 1
PROB_HEADERS = ["type", *(f"bin {b}" for b in range(schema.NUM_BINS))]


def _error(e: BaseException) -> Exception:
    import gradio as gr

    return gr.Error(str(e), print_exception=False)


def _run_job(models: AppModels, fn: Any) -> Any:
    """One device job: InputProblem -> its message; out of memory -> a message; memory freed."""
    import torch

    try:
        with models.jobs.job():
            return fn()
    except (InputProblem, JobStopped) as e:
        raise _error(e) from None
    except torch.cuda.OutOfMemoryError:
        raise _error(RuntimeError("the GPU ran out of memory: lower the latent tile size or the steps, "
                                  "or start dalpsr-app with --offload")) from None
    finally:
        free_memory()


class SuperResolveTab:
    """Handlers of the tab, bound to the loaded models and the server's temp folder."""

    def __init__(self, cfg: AppConfig, models: AppModels, workdir: Path) -> None:
        self.cfg, self.models, self.workdir = cfg, models, workdir

    def load_lr(self, path: str | None) -> Any:
        """The LR as decoded (what both passes see), or a message naming the problem."""
        if not path:
            return None, ""
        try:
            up = read_upload(path, self.cfg.max_pixels)
        except InputProblem as e:
            raise _error(e) from None
        notes = f" (converted: {', '.join(up.conversions)})" if up.conversions else ""
        return up.rgb, f"{up.name}: {up.size[0]} x {up.size[1]} px{notes}"

    def analyse(self, path: str | None) -> tuple[Any, ...]:
        if not path:
            raise _error(InputProblem("no LR image: drop or pick one first"))

        def run() -> tuple[Any, ...]:
            import gradio as gr

            a = analyse(self.models, read_upload(path, self.cfg.max_pixels))
            # without RAM + LLaVA the caption box keeps what the visitor typed
            caption = a.caption if self.models.captioner is not None else gr.skip()
            return a.restoration, probs_table(a.probs), ", ".join(a.tags), caption

        return _run_job(self.models, run)

    def super_resolve(self, path: str | None, restoration: str, caption: str, negative: str, steps: float,
                      guidance: float, seed: float, scheduler: str, tile: float, tile_overlap: float,
                      color_fix: str, progress: Any = None) -> tuple[Any, ...]:
        import gradio as gr

        if not path:
            raise _error(InputProblem("no LR image: drop or pick one first"))
        settings = {"steps": int(steps), "guidance": float(guidance), "seed": int(seed), "scheduler": scheduler,
                    "tile": int(tile), "tile_overlap": int(tile_overlap), "color_fix": color_fix,
                    "negative_prompt": negative or ""}
        if progress is not None:
            progress(0.0, desc="super-resolving")

        def on_step(done: int, total: int) -> None:
            self.models.jobs.check()  # a stopping server ends the job here
            if progress is not None:
                progress((done, total), desc="denoising", unit="steps")

        def run() -> Any:
            up = read_upload(path, self.cfg.max_pixels)
            return super_resolve(self.models, self.cfg, up, restoration or "", caption or "", settings,
                                 self.workdir / uuid.uuid4().hex, on_step)

        res = _run_job(self.models, run)
        return ((res.bicubic, res.sr), gr.DownloadButton(value=str(res.png), visible=True),
                gr.DownloadButton(value=str(res.settings), visible=True))


def random_seed() -> int:
    """A fresh seed for the "random" button (shown in the seed box, so the run can be redone)."""
    return secrets.randbelow(SEED_MAX + 1)


def build_superres_tab(cfg: AppConfig, models: AppModels, workdir: Path, examples: list[Path]) -> None:
    """Lay out the tab inside the current gr.Blocks and wire its events."""
    import gradio as gr

    tab = SuperResolveTab(cfg, models, workdir)
    d = page_defaults()
    with gr.Row():
        with gr.Column(scale=1):
            lr_file = gr.File(label="LR image (PNG, JPEG or WebP)", file_types=list(ACCEPTED), type="filepath",
                              elem_id="lr-file", height=120)
            lr_view = gr.Image(label="LR as decoded", interactive=False, format="png", elem_id="lr-view",
                               height=200)
            lr_info = gr.Markdown(elem_id="lr-info")
            if examples:
                gr.Examples([[str(p)] for p in examples], inputs=[lr_file], label="Sample photos, degraded")
            analyse_btn = gr.Button("Analyse", elem_id="analyse")
            restoration = gr.Textbox(label="Restoration prompt (IRPAD; editable)", lines=2, elem_id="restoration")
            probs = gr.Dataframe(headers=PROB_HEADERS, label="IRPAD: probability of each bin (0 = mildest)",
                                 interactive=False, elem_id="probs")
            tags = gr.Textbox(label="RAM tags", interactive=False, elem_id="tags")
            caption = gr.Textbox(label="Caption (LLaVA; editable, empty = no caption)", lines=3, elem_id="caption")
            negative = gr.Textbox(label="Negative prompt", value=d["negative_prompt"], elem_id="negative")
        with gr.Column(scale=1):
            with gr.Accordion("Settings (dalpsr-sr's defaults)", open=True):
                with gr.Row():
                    steps = gr.Number(value=d["steps"], precision=0, minimum=1, label="Steps (--steps)",
                                      elem_id="steps")
                    guidance = gr.Number(value=d["guidance"], minimum=1.0, label="CFG scale (--guidance)")
                with gr.Row():
                    seed = gr.Number(value=d["seed"], precision=0, minimum=0, maximum=SEED_MAX, scale=2,
                                     label="Seed (--seed)", elem_id="seed")
                    seed_btn = gr.Button("Random seed", elem_id="random-seed", size="sm")
                scheduler = gr.Dropdown(list(SCHEDULERS), value=d["scheduler"], label="Sampler (--scheduler)")
                with gr.Row():
                    tile = gr.Number(value=d["tile"], precision=0, minimum=1, label="Latent tile, cells of 8 px (--tile)")
                    overlap = gr.Number(value=d["tile_overlap"], precision=0, minimum=0,
                                        label="Tile overlap, cells (--tile-overlap)")
                color_fix = gr.Radio(list(COLOR_FIXES), value=d["color_fix"], label="Colour fix (--color-fix)")
            sr_btn = gr.Button("Super-resolve", variant="primary", elem_id="super-resolve")
            slider = gr.ImageSlider(label="Bicubic x4 | SR", format="png", type="numpy", elem_id="slider")
            with gr.Row():
                png_dl = gr.DownloadButton("Download PNG", visible=False, elem_id="download-png")
                json_dl = gr.DownloadButton("Download settings (JSON)", visible=False, elem_id="download-json")

    lr_file.change(tab.load_lr, [lr_file], [lr_view, lr_info], api_name="load_lr")
    analyse_btn.click(tab.analyse, [lr_file], [restoration, probs, tags, caption], api_name="analyse",
                      concurrency_id=DEVICE_QUEUE, concurrency_limit=1)
    seed_btn.click(random_seed, None, [seed], api_name="random_seed", queue=False)

    def run_sr(path, restoration, caption, negative, steps, guidance, seed, scheduler, tile, overlap, color_fix,
               progress=gr.Progress()):
        return tab.super_resolve(path, restoration, caption, negative, steps, guidance, seed, scheduler, tile,
                                 overlap, color_fix, progress)

    sr_btn.click(run_sr, [lr_file, restoration, caption, negative, steps, guidance, seed, scheduler, tile,
                          overlap, color_fix], [slider, png_dl, json_dl], api_name="super_resolve",
                 concurrency_id=DEVICE_QUEUE, concurrency_limit=1)
