"""Session-wide test settings: one thread per process, offline hubs, one shared local Ray.

Fixtures that build tiny models live in the conftest.py of each test folder.
"""

from __future__ import annotations

import os
import tempfile

# Before torch/cv2/numpy load their thread pools: two processes share two cores.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
# The weight-hash cache (dalpsr_data.hash_cache) of a test session, not the user's ~/.cache
os.environ["DALPSR_CACHE_DIR"] = tempfile.mkdtemp(prefix="dalpsr-test-cache-")
# Ray reads its auth settings once, when first imported: set them before any test imports it,
# so the embedded test cluster keeps token auth without writing ~/.ray/auth_token.
from dalpsr_data.ray_runtime import _embedded_auth_env  # noqa: E402

_embedded_auth_env()

import pytest  # noqa: E402


def _single_thread() -> None:
    import cv2
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set once in this process
        pass


_single_thread()


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray with 2 CPUs for the whole test session (started on first use)."""
    from dalpsr_data.ray_runtime import init_ray, shutdown_ray

    init_ray(num_cpus=2, quiet=True)
    yield
    shutdown_ray()
