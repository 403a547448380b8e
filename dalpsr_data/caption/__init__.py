"""`dalpsr-data caption`: RAM tags -> LLaVA instruction -> caption sidecars beside build shards.

Blocks, one per file: config (CaptionConfig), interfaces (Tagger / Captioner),
instruction (prompt text), ram_tagger / llava_captioner / llava_io (the real models; ram/
the RAM/RAM++ tagger), batching (OOM halving, per-sample fallback), stage (one shard -> one
sidecar), sidecar (writer, reader, join with the build shards), run (plan, resume,
summary; the shard loop is dalpsr_data.jobs' local loop or Ray actors), summary.
"""
