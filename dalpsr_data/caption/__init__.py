"""`dalpsr-data caption`: RAM tags -> LLaVA instruction -> caption sidecars beside build shards.

Blocks, one per file: config (CaptionConfig), interfaces (Tagger / Captioner),
instruction (prompt text), ram_tagger / llava_captioner (the real models), batching
(OOM halving, per-sample fallback), stage (one shard -> one sidecar), executor (local
loop and Ray actor pool), sidecar (writer, reader, join with the build shards), run
(plan, resume, summary).
"""
