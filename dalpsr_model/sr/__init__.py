"""`dalpsr-sr`: super-resolve LR images with a trained DaLPSR ControlNet + IRPAD (issue 14).

Modules: config (SRConfig), sizes (processing-size rules), tiling (latent tiles), colorfix
(AdaIN / wavelet), sampler (start point, CFG, scheduler loop), inputs (what to process),
prompts (pass 1: IRPAD + captions -> prompts.jsonl), outputs (PNG, run.json, report.json),
pipeline (SRPipeline: pass 2). Heavy libraries are imported inside functions.
"""
