"""Check a Stable Diffusion 2.1-base folder (diffusers layout) as `dalpsr-train` and `dalpsr-sr` load it.

Facts from the model repositories' config files: stabilityai/stable-diffusion-2-1-base has
``scheduler/scheduler_config.json`` with ``prediction_type: epsilon`` and a UNet of
``sample_size: 64`` (512 px / 8); stabilityai/stable-diffusion-2-1 (the 768 px model) has
``prediction_type: v_prediction`` and ``sample_size: 96``. DaLPSR's loss (Eq. 3) is epsilon
prediction on SD 2.1-base, so the 768 px model is refused. The UNet's
``cross_attention_dim`` must equal the text encoder's ``hidden_size`` (1024 for SD 2.x).
"""

from __future__ import annotations

from pathlib import Path

from dalpsr_model.models.report import Report, check_safetensors

BASE_REPO = "stabilityai/stable-diffusion-2-1-base"
FETCH = f"download {BASE_REPO} (diffusers format) again into this folder"
V_PREDICTION_SAMPLE_SIZE = 96  # SD 2.1 at 768 px
WEIGHTS = {"unet": "diffusion_pytorch_model", "vae": "diffusion_pytorch_model", "text_encoder": "model"}
TOKENIZER_FILES = ("vocab.json", "merges.txt")


def _weights(report: Report, folder: Path) -> None:
    """The part's weight file: ``<name>.safetensors`` (or an fp16 variant), read by its header."""
    name = WEIGHTS[folder.name]
    found = sorted(folder.glob(f"{name}*.safetensors"))
    if not found:
        bins = sorted(folder.glob(f"{name}*.bin"))
        hint = (f" (only {bins[0].name}: a pickle; fetch the .safetensors files)" if bins else "")
        report.problems.append(f"{folder / (name + '.safetensors')}: missing{hint}; {FETCH}")
        return
    for path in found:
        check_safetensors(report, path, FETCH)


def check_sd21(folder: Path) -> Report:
    report = Report("sd21", folder)
    if report.read_json(folder / "model_index.json", FETCH) is None:
        return report
    sched = report.read_json(folder / "scheduler" / "scheduler_config.json", FETCH)
    unet = report.read_json(folder / "unet" / "config.json", FETCH)
    report.read_json(folder / "vae" / "config.json", FETCH)
    text = report.read_json(folder / "text_encoder" / "config.json", FETCH)
    for part in WEIGHTS:
        if (folder / part).is_dir():
            _weights(report, folder / part)
    for name in TOKENIZER_FILES:
        path = folder / "tokenizer" / name
        if path.is_file():
            report.add_file(path)
        else:
            report.problems.append(f"{path}: missing; {FETCH}")
    if sched is not None:
        prediction = sched.get("prediction_type", "epsilon")
        report.found.append(f"scheduler {sched.get('_class_name')}, prediction_type {prediction}")
        if prediction != "epsilon":
            report.problems.append(
                f"{folder / 'scheduler' / 'scheduler_config.json'}: prediction_type {prediction!r} is the 768 px "
                f"SD 2.1 (stabilityai/stable-diffusion-2-1); DaLPSR trains on the epsilon-prediction "
                f"{BASE_REPO}: download that one")
    if unet is not None:
        size = unet.get("sample_size")
        report.found.append(f"unet sample_size {size} ({size * 8 if isinstance(size, int) else '?'} px), "
                            f"cross_attention_dim {unet.get('cross_attention_dim')}")
        if size == V_PREDICTION_SAMPLE_SIZE:
            report.problems.append(f"{folder / 'unet' / 'config.json'}: sample_size 96 is the 768 px SD 2.1; "
                                   f"download {BASE_REPO} (sample_size 64, 512 px)")
        if text is not None and unet.get("cross_attention_dim") != text.get("hidden_size"):
            report.problems.append(
                f"{folder / 'unet' / 'config.json'}: cross_attention_dim {unet.get('cross_attention_dim')} differs "
                f"from text_encoder hidden_size {text.get('hidden_size')}: the parts come from different models; "
                f"{FETCH}")
    return report
