"""Check a LLaVA-1.5 folder as `dalpsr-data caption`, `dalpsr-train encoder` and `dalpsr-sr` load it.

The toolkit loads the llava-hf conversion (llava-hf/llava-1.5-7b-hf) with transformers'
``LlavaForConditionalGeneration``: its ``config.json`` has ``architectures:
["LlavaForConditionalGeneration"]`` with ``vision_config`` and ``text_config`` sections, and
safetensors weights (``model.safetensors`` or shards listed in
``model.safetensors.index.json``). The original release (liuhaotian/llava-v1.5-7b) also says
``model_type: llava`` but is ``LlavaLlamaForCausalLM`` with a top-level ``mm_vision_tower``
and ``.bin`` pickles: transformers cannot load it as LLaVA, so it is refused here.
"""

from __future__ import annotations

import json
from pathlib import Path

from dalpsr_model.models.report import Report, check_safetensors

HF_REPO = "llava-hf/llava-1.5-7b-hf"
FETCH = f"download {HF_REPO} again into this folder"
HF_ARCH = "LlavaForConditionalGeneration"
TOKENIZER = ("tokenizer.json", "tokenizer.model")  # either one (fast or sentencepiece)


def _weight_files(report: Report, folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        data = report.read_json(index, FETCH) or {}
        names = sorted(set((data.get("weight_map") or {}).values()))
        missing = [n for n in names if not (folder / n).is_file()]
        for name in missing:
            report.problems.append(f"{folder / name}: missing (listed in {index.name}); {FETCH}")
        return [folder / n for n in names if n not in missing]
    return [folder / "model.safetensors"] if (folder / "model.safetensors").is_file() else []


def check_llava(folder: Path) -> Report:
    report = Report("llava", folder)
    config = report.read_json(folder / "config.json", FETCH)
    if config is None:
        return report
    archs = config.get("architectures") or []
    if "mm_vision_tower" in config or "LlavaLlamaForCausalLM" in archs:
        report.problems.append(
            f"{folder / 'config.json'}: the original LLaVA layout (liuhaotian/llava-v1.5-7b, "
            f"LlavaLlamaForCausalLM); the toolkit loads the transformers conversion: download {HF_REPO}")
        return report
    if config.get("model_type") != "llava" or not {"vision_config", "text_config"} <= config.keys():
        report.problems.append(f"{folder / 'config.json'}: model_type {config.get('model_type')!r} without "
                               f"vision_config/text_config is not a llava-hf LLaVA; download {HF_REPO}")
        return report
    vision = config["vision_config"]
    report.found.append(f"{', '.join(archs) or 'llava'}: vision image_size {vision.get('image_size')}, "
                        f"patch {vision.get('patch_size')}, text hidden {config['text_config'].get('hidden_size')}")
    weights = _weight_files(report, folder)
    if not weights and not report.problems:
        bins = sorted(folder.glob("*.bin"))
        hint = f" (only {bins[0].name}: a pickle)" if bins else ""
        report.problems.append(f"{folder / 'model.safetensors'}: missing{hint}; {FETCH}")
    for path in weights:
        check_safetensors(report, path, FETCH)
    for name in ("tokenizer_config.json",):
        report.read_json(folder / name, FETCH)
    tokenizer = [folder / n for n in TOKENIZER if (folder / n).is_file()]
    if not tokenizer:
        report.problems.append(f"{folder / 'tokenizer.json'}: missing (nor tokenizer.model); {FETCH}")
    for path in tokenizer:
        report.add_file(path)
    if not any((folder / n).is_file() for n in ("preprocessor_config.json", "processor_config.json")):
        report.problems.append(f"{folder / 'preprocessor_config.json'}: missing (the image processor); {FETCH}")
    template = _chat_template(folder)
    report.found.append("chat template: " + ("present" if template else "none"))
    if not template:
        report.problems.append(f"{folder / 'chat_template.json'}: missing (no chat template in the folder); {FETCH}")
    return report


def _chat_template(folder: Path) -> str:
    """The folder's chat template: chat_template.jinja, chat_template.json or tokenizer_config.json."""
    if (folder / "chat_template.jinja").is_file():
        return (folder / "chat_template.jinja").read_text(encoding="utf-8")
    for name in ("chat_template.json", "tokenizer_config.json"):
        try:
            value = json.loads((folder / name).read_text(encoding="utf-8")).get("chat_template")
        except (OSError, ValueError):
            continue
        if value:
            return str(value)
    return ""
