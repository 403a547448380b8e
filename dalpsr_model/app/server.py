"""`dalpsr-app`'s server: check, load once, lay out the page, serve until Ctrl-C, clean up.

Order: the options, the port and the `--shards` builds are checked first, then every
model folder (as `dalpsr-sr` does), then the models load. Gradio runs with analytics off,
no share link, bound to ``--host`` (127.0.0.1 by default), its uploads and outputs in one
temporary folder that is removed at exit. Ctrl-C ends the serving loop through the CLI's
``exit_on_signals`` (one line, exit 130); the ``finally`` closes the server and deletes
the folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dalpsr_data.config_io import ConfigError

from .config import AppConfig
from .dataset import DatasetIndex
from .examples import write_examples
from .models import AppModels, check_app_models, load_models
from .tab_dataset import build_dataset_tab
from .tab_superres import build_superres_tab

TITLE = "DaLPSR"
JOB_WAIT_S = 600  # at exit, how long a running job may take to reach its next step (a 2nd Ctrl-C ends at once)
INTRO = ("x4 super-resolution with degradation-aligned language prompts: **Analyse** predicts the "
         "restoration prompt (IRPAD) and the caption (RAM + LLaVA); edit them, then **Super-resolve**.")


def check_port(host: str, port: int) -> None:
    """ConfigError naming --port/--host when nothing can listen there (checked before any work)."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port} ({e.strerror or e}): give another --port, "
                          f"or a --host of this machine") from None


def build_page(cfg: AppConfig, models: AppModels, index: DatasetIndex | None, tmp: Path) -> Any:
    """The gr.Blocks of both tabs (not launched)."""
    import gradio as gr

    examples = write_examples(tmp / "examples")
    histograms = index.histograms(_mkdir(tmp / "histograms")) if index is not None else []
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"## {TITLE}\n{INTRO}")
        with gr.Tab("Super-resolve", id="superres"):
            build_superres_tab(cfg, models, tmp / "results", examples)
        with gr.Tab("Dataset", id="dataset"):
            build_dataset_tab(demo, index, cfg.page_size, histograms)
    return demo


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def serve(cfg: AppConfig) -> None:
    """Run the app until interrupted (see the module docstring)."""
    check_port(cfg.host, cfg.port)
    index = DatasetIndex.open(cfg.shards) if cfg.shards else None
    checked = check_app_models(cfg)
    tmp = Path(tempfile.mkdtemp(prefix="dalpsr-app-"))
    # before gradio is imported: it reads both when it loads
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["GRADIO_TEMP_DIR"] = str(_mkdir(tmp / "gradio"))
    demo = models = None
    try:
        print(f"dalpsr-app: loading models on {checked.device}", flush=True)
        models = load_models(checked, cfg.offload)
        demo = build_page(cfg, models, index, tmp)
        demo.queue(max_size=cfg.queue_size, default_concurrency_limit=4)
        demo.launch(server_name=cfg.host, server_port=cfg.port, share=False, prevent_thread_lock=True,
                    max_file_size=f"{cfg.max_upload_mb}mb", quiet=True, show_error=True,
                    allowed_paths=[str(tmp)])
        print(f"dalpsr-app: serving http://{cfg.host}:{cfg.port}/ on {models.device} "
              f"(Ctrl-C stops it; temporary files in {tmp})", flush=True)
        while True:
            time.sleep(0.5)
    finally:
        if models is not None:
            models.jobs.stop_and_wait(JOB_WAIT_S)
        if demo is not None:
            demo.close(verbose=False)
        shutil.rmtree(tmp, ignore_errors=True)
        sys.stdout.flush()
