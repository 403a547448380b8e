"""LR->HR alignment of LLaVA's vision tower (paper Sec. III.C).

Modules: config (EncoderConfig, torch-free: the command line parses with it), tower (loading,
freezing, features), trainer. Import from the submodules: this package imports nothing, so
reading its config does not load torch or transformers.
"""
