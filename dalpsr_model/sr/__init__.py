"""`dalpsr-sr`: super-resolve LR images with a trained DaLPSR ControlNet + IRPAD (issue 14).

Modules: config (SRConfig), sizes (processing-size rules), colorfix (AdaIN / wavelet),
inputs (what to process), prompts (pass 1: IRPAD + captions -> prompts.jsonl), pipeline
(SRPipeline: one batch), parallel (pass 2 on the job runner, progress in steps x tiles),
outputs (PNG, run.json, report.json), runner (both passes). The sampling itself (start
point, CFG, tiles, scheduler loop) is dalpsr_model.diffusion's. Heavy libraries are
imported inside functions.
"""
