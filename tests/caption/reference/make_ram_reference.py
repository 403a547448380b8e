"""Reference RAM / RAM++ tags and probabilities from the official recognize-anything code.

Produces ``ram_reference.json`` beside this file. The project's tests regenerate the same
checkpoints WITHOUT the official code (``official_state_dict`` of
dalpsr_data/caption/ram/tiny.py: the official keys,
shapes and weight ties recorded in the JSON, values drawn from one seeded torch Generator
in key order), load them with the project's loader and compare with the probabilities the
official inference computed here.

Official code: https://github.com/xinyu1205/recognize-anything at commit
``7cb804a8609e9f4b1a50b7f31436d2df40bb9481`` (never copied into this repository).

How to regenerate (a scratch environment outside the project; the official code needs
transformers 4.x, the project 5.x)::

    python -m venv /tmp/ramvenv
    # make torch / timm / numpy / pillow / torchvision / scipy visible (e.g. a .pth file
    # pointing at the project venv's site-packages), then:
    /tmp/ramvenv/bin/pip install "transformers==4.38.2" "fairscale==0.4.4"
    git clone https://github.com/xinyu1205/recognize-anything /tmp/ramref  # then check out the commit
    /tmp/ramvenv/bin/python tests/caption/reference/make_ram_reference.py --official /tmp/ramref

The official model classes are instantiated at the released Swin-L geometry (patch 4,
depths 2/2/18/2, heads 6/12/24/48, window 12 at 384 and 7 at 224) with small widths
(embed 12, tagging head hidden 32, BERT branches of 2 layers), 12 tags and a threshold
file whose 1.0 entries switch tags off as the released file does.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

# The tags, thresholds (1.0 switches a tag off, as ten lines of the released
# ram_tag_list_threshold.txt do) and the seeded drawing of the values are the package's
# tiny-RAM writer's: the reference is made for exactly the checkpoints it writes.
from dalpsr_data.caption.ram.tiny import TAGS, THRESHOLDS, official_state_dict, write_tag_files

OFFICIAL_COMMIT = "7cb804a8609e9f4b1a50b7f31436d2df40bb9481"
REFERENCE_JSON = Path(__file__).with_name("ram_reference.json")
EMBED_DIM = 12  # Swin-L uses 192; heads 6/12/24/48 -> 2 channels per head
SWIN = {384: dict(window_size=12), 224: dict(window_size=7)}
DEPTHS, HEADS = [2, 2, 18, 2], [6, 12, 24, 48]
# Tagging head (q2l_config.json: 768 hidden, 4 heads, 2 layers) and BERT branches, small.
Q2L = dict(hidden_size=32, num_attention_heads=4, num_hidden_layers=2, intermediate_size=64)
MED = dict(hidden_size=32, num_attention_heads=4, num_hidden_layers=2, intermediate_size=64, vocab_size=40)
# Seeds of the drawn checkpoints, chosen so that every case fires tags (and leaves some
# unfired): with seed 0, ram_swinl384 fired none (max probability 0.046), so its tag check
# compared two empty lists.
CASES = {f"{variant}_swinl{size}": dict(variant=variant, image_size=size, seed=seed)
         for seed, (variant, size) in [(4, ("ram", 384)), (1, ("ram_plus", 384)), (2, ("ram", 224)),
                                       (3, ("ram_plus", 224))]}
IMAGE_SEED = 1234
IMAGE_SIZES = [(384, 384), (300, 200), (97, 131), (512, 320)]  # (width, height)


def make_images(seed: int = IMAGE_SEED) -> list[Image.Image]:
    """Fixed RGB test images, integer arithmetic only (bit-identical everywhere).

    Each is a coarse random colour grid (blocks of 16-48 px) plus small per-pixel noise.
    """
    rng = np.random.default_rng(seed)
    images = []
    for w, h in IMAGE_SIZES:
        block = int(rng.integers(16, 49))
        grid = rng.integers(0, 256, (h // block + 1, w // block + 1, 3), dtype=np.int64)
        big = np.repeat(np.repeat(grid, block, axis=0), block, axis=1)[:h, :w]
        noise = rng.integers(-12, 13, (h, w, 3), dtype=np.int64)
        images.append(Image.fromarray(np.clip(big + noise, 0, 255).astype(np.uint8)))
    return images


def load_reference() -> dict:
    return json.loads(REFERENCE_JSON.read_text(encoding="utf-8"))


# ---- below: only run with the official code (never imported by the tests' code paths) ----

def _configs(folder: Path, official: Path) -> None:
    """Small-width copies of the official configs in a CONFIG_PATH layout."""
    for name, sizes in (("med_config.json", MED), ("q2l_config.json", Q2L)):
        cfg = json.loads((official / "ram" / "configs" / name).read_text())
        cfg.update(sizes)
        (folder / "configs").mkdir(parents=True, exist_ok=True)
        (folder / "configs" / name).write_text(json.dumps(cfg))
    (folder / "configs" / "swin").mkdir(exist_ok=True)
    for size, extra in SWIN.items():
        cfg = dict(vision_width=EMBED_DIM * 8, image_res=size, embed_dim=EMBED_DIM, depths=DEPTHS,
                   num_heads=HEADS, **extra)
        (folder / "configs" / "swin" / f"config_swinL_{size}.json").write_text(json.dumps(cfg))
    write_tag_files(folder / "data")
    (folder / "data" / "ram_tag_list_chinese.txt").write_text("\n".join(TAGS) + "\n")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "picture", "of"]
    (folder / "tok").mkdir(exist_ok=True)
    (folder / "tok" / "vocab.txt").write_text("\n".join(vocab) + "\n")


def _spec(model: torch.nn.Module) -> list[list]:
    first: dict[int, str] = {}
    rows = []
    for key, t in model.state_dict(keep_vars=True).items():
        ptr = t.data_ptr()
        tied = first.get(ptr) if t.numel() else None
        first.setdefault(ptr, key)
        rows.append([key, list(t.shape), str(t.dtype).removeprefix("torch."), tied])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", type=Path, required=True, help="recognize-anything checkout")
    parser.add_argument("--out", type=Path, default=REFERENCE_JSON)
    args = parser.parse_args()
    sys.path.insert(0, str(args.official))
    import ram.models.utils as official_utils  # noqa: F401  (registers the submodules)
    from ram import get_transform

    cfg_root = Path(tempfile.mkdtemp(prefix="ramcfg-"))
    _configs(cfg_root, args.official)
    for name in ("ram.models.utils", "ram.models.ram", "ram.models.ram_plus"):
        sys.modules[name].CONFIG_PATH = cfg_root  # configs, threshold file, Swin sizes
    builders = {"ram": sys.modules["ram.models.ram"].ram, "ram_plus": sys.modules["ram.models.ram_plus"].ram_plus}
    images = make_images()
    result = {"official_commit": OFFICIAL_COMMIT, "tags": TAGS, "thresholds": THRESHOLDS,
              "image_seed": IMAGE_SEED, "image_sizes": IMAGE_SIZES, "cases": {}}
    for name, case in CASES.items():
        kwargs = dict(image_size=case["image_size"], vit="swin_l", med_config=str(cfg_root / "configs/med_config.json"),
                      tag_list=str(cfg_root / "data/ram_tag_list.txt"),
                      tag_list_chinese=str(cfg_root / "data/ram_tag_list_chinese.txt"),
                      text_encoder_type=str(cfg_root / "tok"))
        torch.manual_seed(0)  # the official constructor draws its own init; overwritten below
        spec = _spec(builders[case["variant"]](**kwargs))
        ckpt = cfg_root / f"{name}.pth"
        torch.save({"model": official_state_dict(spec, case["seed"])}, ckpt)
        model = builders[case["variant"]](pretrained=str(ckpt), **kwargs).eval()
        logits: list[torch.Tensor] = []
        model.fc.register_forward_hook(lambda m, i, o: logits.append(o.squeeze(-1)))
        transform = get_transform(image_size=case["image_size"])
        rows = []
        for im in images:
            with torch.no_grad():
                tags, _ = model.generate_tag(transform(im).unsqueeze(0))
            rows.append({"tags": [t for t in tags[0].split(" | ") if t],
                         "probs": torch.sigmoid(logits[-1][0]).tolist()})
        result["cases"][name] = {**case, "swin": dict(embed_dim=EMBED_DIM, depths=DEPTHS, num_heads=HEADS,
                                                       **SWIN[case["image_size"]]),
                                 "keys": spec, "images": rows}
        print(name, [r["tags"] for r in rows])
    args.out.write_text(json.dumps(result, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
