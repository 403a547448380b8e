"""Quiet the model libraries' own progress bars and notices unless ``--verbose`` is given.

transformers draws a ``Loading weights`` tqdm bar for every model it loads (even when
stderr is a file), bitsandbytes warns that a CPU kernel it never needs could not be
fetched, and the libraries' deprecation notices are about their own code. None of that
tells a user anything about their run; our own progress and warnings are untouched.

Called by a command before it imports the libraries: the environment variables are read
when transformers / huggingface_hub are first imported, and are inherited by the Ray and
accelerate worker processes a command starts, so the workers are quiet too.
"""

from __future__ import annotations

import logging
import os
import warnings

# read at import by huggingface_hub (its bars and transformers' bars) and transformers/diffusers
QUIET_ENV = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "DIFFUSERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}
# Python loggers of libraries that write through the logging module's last-resort handler
LIBRARY_LOGGERS = ("bitsandbytes", "accelerate", "timm", "huggingface_hub", "transformers", "diffusers")
# warnings raised from inside these packages (FutureWarning, UserWarning, ...) are hidden
VERBOSE_HELP = "Show the model libraries' own progress bars, notices and warnings (hidden otherwise)."
LIBRARY_MODULES = r"(transformers|diffusers|bitsandbytes|accelerate|timm|huggingface_hub|torch|torchvision|pyiqa)(\.|$)"


def quiet_libraries(verbose: bool) -> None:
    """Hide the libraries' bars, info lines and warnings, unless ``verbose``.

    Values the user set in the environment win (``setdefault``): ``TRANSFORMERS_VERBOSITY=info``
    in the shell still shows transformers' info lines.
    """
    if verbose:
        return
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=LIBRARY_MODULES)
