"""Suite-wide settings: offscreen Qt, CPU torch with few threads, per-session user folders."""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_USER_DIR = tempfile.mkdtemp(prefix="segstudio-tests-")
os.environ["SEGSTUDIO_DATA_DIR"] = os.path.join(_USER_DIR, "data")
os.environ["SEGSTUDIO_LOG_DIR"] = os.path.join(_USER_DIR, "logs")
os.environ.setdefault("OMP_NUM_THREADS", "2")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config, items):
    if any(item.get_closest_marker("cuda") for item in items) and not _cuda_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in items:
            if item.get_closest_marker("cuda"):
                item.add_marker(skip)
