"""Sub-commands of `dalpsr-data`, one module each."""
