"""One build shard -> one caption sidecar: the unit of work and of resume.

``process_shard`` is a plain function; the job runner (dalpsr_data.jobs) calls it in this
process or in a Ray actor that holds the models.
Images are decoded in a background thread while the models run on the previous batch.
"""

from __future__ import annotations

import io
import queue
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from PIL import Image

from dalpsr_data import schema
from dalpsr_data.caption.batching import run_batched
from dalpsr_data.caption.config import CaptionConfig
from dalpsr_data.caption.instruction import build_instruction, select_tags
from dalpsr_data.caption.interfaces import Models
from dalpsr_data.caption.sidecar import CaptionRecord, write_records
from dalpsr_data.errors import reason_of
from dalpsr_data.jobs import advance

PREFETCH_BATCHES = 2


def _decode(key: str, members: dict[str, bytes], image: str) -> tuple[str, Image.Image | None, str]:
    """(key, RGB image or None, reason). Pillow's decompression-bomb guard stays on."""
    data = members.get(f"{image}.png")
    if data is None:
        return key, None, f"decode: no {image}.png member"
    try:
        with Image.open(io.BytesIO(data)) as im:
            return key, im.convert("RGB"), ""
    except Exception as e:  # a corrupt member becomes a recorded reason
        return key, None, f"decode: {reason_of(e)}"


def _prefetch(tar_path: Path, image: str, batch_size: int) -> Iterator[list[tuple[str, Image.Image | None, str]]]:
    """Batches of decoded samples, produced by a thread up to PREFETCH_BATCHES ahead."""
    q: queue.Queue = queue.Queue(maxsize=PREFETCH_BATCHES)
    done = object()

    def produce() -> None:
        batch: list = []
        try:
            for key, members in schema.iter_tar_samples(tar_path):
                batch.append(_decode(key, members, image))
                if len(batch) == batch_size:
                    q.put(batch)
                    batch = []
            if batch:
                q.put(batch)
            q.put(done)
        except BaseException as e:  # a broken tar fails the shard, in the consumer thread
            q.put(e)

    threading.Thread(target=produce, name=f"decode-{tar_path.name}", daemon=True).start()
    while True:
        item = q.get()
        if item is done:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def caption_batch(samples: list[tuple[str, Image.Image | None, str]], cfg: CaptionConfig, models: Models,
                  sizes: dict[str, int]) -> tuple[list[CaptionRecord], int]:
    """Tag and caption one batch; returns (records, OOM halvings). ``sizes`` carries batch sizes."""
    records = [CaptionRecord(key, cfg.image) for key, _, _ in samples]
    todo = []  # indices into records / samples still going
    for i, (_, img, reason) in enumerate(samples):
        if reason:
            records[i] = records[i].failed(reason)
        else:
            todo.append(i)
    halvings = 0
    tag_lists: list[Any] = [[] for _ in todo]
    if models.tagger is not None and todo:
        res = run_batched(models.tagger.tag, [samples[i][1] for i in todo], sizes["tag"], "tag")
        sizes["tag"], halvings = res.batch_size, res.oom_halvings
        tag_lists = res.outputs
        for i, reason, size in zip(todo, res.reasons, res.call_sizes):
            records[i] = replace(records[i], tag_batch_size=size)
            if reason:
                records[i] = records[i].failed(reason)
    pending = []
    for i, tags in zip(todo, tag_lists):
        if not records[i].ok:
            continue
        records[i] = replace(records[i], tags=tuple(t for t, _ in tags), tag_probs=tuple(round(p, 4) for _, p in tags),
                             instruction=build_instruction(cfg.instruction, select_tags(tags, cfg.max_tags)))
        pending.append(i)
    if pending:
        res = run_batched(lambda items: models.captioner.caption([i for i, _ in items], [s for _, s in items]),
                          [(samples[i][1], records[i].instruction) for i in pending], sizes["caption"], "caption")
        sizes["caption"], halvings = res.batch_size, halvings + res.oom_halvings
        for i, text, reason, size in zip(pending, res.outputs, res.reasons, res.call_sizes):
            records[i] = replace(records[i], batch_size=size)
            records[i] = records[i].failed(reason) if reason else replace(records[i], caption=text)
    return records, halvings


def process_shard(root: str | Path, tar_name: str, cfg: CaptionConfig, models: Models,
                  output_hash: str) -> dict[str, Any]:
    """Caption every sample of ``root/tar_name`` and write its sidecar; returns the shard stats
    (the content of the commit marker, which the job runner writes after this returns)."""
    start = time.perf_counter()
    sizes = {"tag": cfg.tag_batch_size, "caption": cfg.batch_size}
    records: list[CaptionRecord] = []
    halvings = 0
    for batch in _prefetch(Path(root) / tar_name, cfg.image, cfg.batch_size):
        recs, h = caption_batch(batch, cfg, models, sizes)
        if h:  # one line per halving batch; rows record the size their caption came from
            print(f"warning: {tar_name}: CUDA out of memory, batch halved to {sizes['caption']} (RAM "
                  f"{sizes['tag']}) for the rest of the shard; with bf16 + SDPA a different batch size "
                  f"may change a few greedy tokens (each row records its batch_size)", file=sys.stderr, flush=True)
        records.extend(recs)
        advance(len(recs))  # the driver's progress bar, batch by batch
        halvings += h
    reasons: dict[str, int] = {}
    for rec in records:
        if not rec.ok:
            kind = rec.reason.split(":")[0]
            reasons[kind] = reasons.get(kind, 0) + 1
    stats = {"shard": tar_name, "nsamples": len(records), "ok": sum(r.ok for r in records),
             "errors": sum(not r.ok for r in records), "reasons": reasons,
             "oom_halvings": halvings, "final_batch_size": sizes["caption"],
             "seconds": round(time.perf_counter() - start, 3), "output_hash": output_hash,
             "models": models.describe()}
    write_records(root, tar_name, records)
    return stats  # committed by the job runner (dalpsr_data.jobs) as the .done.json
