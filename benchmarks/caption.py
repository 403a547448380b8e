"""Benchmark: images/s of the batched caption stage vs a one-image-at-a-time loop. One JSON line.

The baseline is how SUPIR and SeeSR caption: for each image, tag it alone, then call
``generate`` on it alone. Both paths use the same models, inputs and greedy decoding,
and the benchmark checks that they write identical captions (``identical``).

CPU (default): tiny random LLaVA + RAM built in a temporary folder (tests/support), a
tiny build folder of ``--images`` LR patches; timing excludes model loading.
GPU (``--device cuda``): the LLaVA-1.5-7B architecture with random bf16 weights (no
download; EOS disabled so every caption has ``--max-new-tokens`` tokens), and RAM Swin-L
tagging at 384 with random weights: images/s and peak memory.

    .venv/bin/python benchmarks/caption.py [--images 24] [--batch 8] [--max-new-tokens 16]
    .venv/bin/python benchmarks/caption.py --device cuda --images 64 --batch 32 --max-new-tokens 128
    .venv/bin/python benchmarks/caption.py --smoke   # the cuda code path on CPU with tiny sizes
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support / tests.caption

import torch  # noqa: E402

from dalpsr_data import schema  # noqa: E402
from dalpsr_data.caption.config import CaptionConfig  # noqa: E402
from dalpsr_data.caption.instruction import build_instruction, select_tags  # noqa: E402
from dalpsr_data.caption.interfaces import Models  # noqa: E402
from dalpsr_data.caption.stage import _decode, process_shard  # noqa: E402


def one_at_a_time(root: Path, tar_name: str, cfg: CaptionConfig, models: Models) -> dict[str, str]:
    """The baseline loop: decode, tag and caption each sample alone."""
    out = {}
    for key, members in schema.iter_tar_samples(root / tar_name):
        _, img, _ = _decode(key, members, cfg.image)
        tags = models.tagger.tag([img])[0] if models.tagger else []
        instruction = build_instruction(cfg.instruction, select_tags(tags, cfg.max_tags))
        out[key] = models.captioner.caption([img], [instruction])[0]
    return out


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def compare(root: Path, cfg: CaptionConfig, models: Models, n: int) -> dict:
    tar_name = schema.shard_name(0)
    _sync(cfg.device)
    t0 = time.perf_counter()
    process_shard(root, tar_name, cfg, models, "bench")
    _sync(cfg.device)
    batched_s = time.perf_counter() - t0
    batched = {k: r["caption"] for k, r in schema.read_caption_sidecar(root, tar_name).items()}
    t0 = time.perf_counter()
    single = one_at_a_time(root, tar_name, cfg, models)
    _sync(cfg.device)
    single_s = time.perf_counter() - t0
    return {"images": n, "batch_size": cfg.batch_size, "max_new_tokens": cfg.max_new_tokens,
            "batched_images_per_s": round(n / batched_s, 3), "single_images_per_s": round(n / single_s, 3),
            "speedup": round(single_s / batched_s, 2), "identical": batched == single}


def cpu_tiny(args: argparse.Namespace) -> dict:
    from tests.caption.conftest import write_tiny_build
    from tests.caption.tiny_ram import TINY_IMAGE_SIZE, build_tiny_ram
    from dalpsr_model.models.tiny_llava import build_tiny_llava

    from dalpsr_data.caption.llava_captioner import build_models

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="dalpsr-bench-caption-") as tmp:
        tmp = Path(tmp)
        cfg = CaptionConfig(llava=str(build_tiny_llava(tmp / "llava")), ram_checkpoint=str(build_tiny_ram(tmp / "ram")),
                            ram_image_size=TINY_IMAGE_SIZE, device="cpu", batch_size=args.batch,
                            tag_batch_size=args.batch, max_new_tokens=args.max_new_tokens)
        root = write_tiny_build(tmp / "build", [args.images], hr_size=128)
        models = build_models(cfg)
        result = compare(root, cfg, models, args.images)
    return {"benchmark": "caption", "device": "cpu", "models": "tiny random LLaVA + RAM", **result}


SIZES_7B = dict(vision=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                             image_size=336, patch_size=14, projection_dim=768),
                text=dict(vocab_size=32064, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                          num_attention_heads=32, num_key_value_heads=32),
                ram="swin_l", image=336, patch=14, seq=576)
# --smoke: the same code path with small sizes on CPU (checks the script, not the speed).
SIZES_SMOKE = dict(vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                               image_size=28, patch_size=14, projection_dim=32),
                   text=dict(vocab_size=400, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                             num_attention_heads=2, num_key_value_heads=2),
                   ram="tiny", image=28, patch=14, seq=4)


def gpu_7b(args: argparse.Namespace) -> dict:
    """LLaVA-1.5-7B architecture (CLIP-L/336 + Llama-2-7B sizes), random bf16 weights; RAM Swin-L 384."""
    from transformers import CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig
    from transformers import LlavaForConditionalGeneration, LlavaProcessor

    from dalpsr_data.caption.llava_captioner import LlavaCaptioner
    from dalpsr_data.caption.ram.arch import swin_l_arch
    from dalpsr_data.caption.ram.model import RamModel
    from tests.caption.conftest import write_tiny_build
    from tests.caption.tiny_ram import tiny_arch
    from dalpsr_model.models.tiny_llava import _train_tokenizer

    sizes = SIZES_SMOKE if args.smoke else SIZES_7B
    device = "cpu" if args.smoke else "cuda"
    dtype = torch.float32 if args.smoke else torch.bfloat16
    tok = _train_tokenizer()
    config = LlavaConfig(vision_config=CLIPVisionConfig(**sizes["vision"]),
                         text_config=LlamaConfig(pad_token_id=tok.pad_token_id, **sizes["text"]),
                         image_token_index=tok.convert_tokens_to_ids("<image>"), image_seq_length=sizes["seq"])
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # build the 7B weights directly in bf16 on the GPU
    try:
        with torch.device(device):
            model = LlavaForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(previous)
    model.generation_config.eos_token_id = None  # random weights: force full-length captions
    side = sizes["image"]
    processor = LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": side},
                                                                  crop_size={"height": side, "width": side}),
                               tokenizer=tok, patch_size=sizes["patch"], vision_feature_select_strategy="default",
                               num_additional_image_tokens=1)
    cfg = CaptionConfig(tagger="none", device=device, dtype="fp32" if args.smoke else "bf16",
                        batch_size=args.batch, max_new_tokens=args.max_new_tokens)
    captioner = LlavaCaptioner.from_parts(model, processor, cfg, device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory(prefix="dalpsr-bench-caption-") as tmp:
        root = write_tiny_build(Path(tmp) / "build", [args.images], hr_size=128)
        llava = compare(root, cfg, Models(tagger=None, captioner=captioner), args.images)
    if device == "cuda":
        llava["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    del model, captioner

    arch = swin_l_arch() if sizes["ram"] == "swin_l" else tiny_arch()
    ram = RamModel(arch).to(device).eval()
    ram.visual_encoder.to(dtype)
    x = torch.randn(args.batch, 3, arch.image_size, arch.image_size, device=device, dtype=dtype)
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        ram(x)
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(5):
            ram(x)
        _sync(device)
    ram_rate = 5 * args.batch / (time.perf_counter() - t0)
    out = {"benchmark": "caption", "device": torch.cuda.get_device_name() if device == "cuda" else "cpu-smoke",
           "llava_7b_random" if not args.smoke else "llava_smoke": llava,
           "ram_images_per_s": round(ram_rate, 1), "ram_arch": "swin_l_384" if sizes["ram"] == "swin_l" else "tiny"}
    if device == "cuda":
        out["ram_peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--smoke", action="store_true", help="run the --device cuda code path on CPU, tiny sizes")
    args = parser.parse_args()
    result = gpu_7b(args) if args.device == "cuda" or args.smoke else cpu_tiny(args)
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
