"""Errors a training run may stop with (kept free of heavy imports for the CLI)."""


class NonFiniteLossError(RuntimeError):
    """The loss became NaN/inf; the run stopped and kept its last good checkpoint."""
