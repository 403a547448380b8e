"""`dalpsr-app`: a local gradio page to super-resolve one photo with editable prompts and to browse builds.

Modules: config (AppConfig, a request's SRConfig), models (loaded once; --offload; the job
gate), analyse (upload decoding, pass 1), superres (pass 2, settings JSON), dataset (the
--shards index), examples (degraded sample photos), tab_superres / tab_dataset (layout and
handlers), server (checks, launch, Ctrl-C, temp folder). gradio is imported only inside
functions; the CLI imports the server when it runs.
"""
