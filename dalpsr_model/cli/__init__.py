"""Command lines of the model layer: `dalpsr-train` (train.py and one module per stage),
`dalpsr-sr` (sr.py) and `dalpsr-eval` (eval.py). Commands only parse options and call the
library; options are generated from each command's config dataclass (options.py).
"""
