"""Sub-commands of `dalpsr-train`, one module each."""
