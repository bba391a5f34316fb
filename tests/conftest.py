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


def _hypothesis_profile() -> None:
    """Few fuzz examples (the same ones every run) by default; SEGSTUDIO_FUZZ_EXAMPLES=N runs N random ones."""
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # the fuzz tests import hypothesis themselves and fail loudly
        return
    wanted = os.environ.get("SEGSTUDIO_FUZZ_EXAMPLES")
    settings.register_profile(
        "segstudio", max_examples=int(wanted) if wanted else 100, derandomize=not wanted, deadline=None,
        database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    settings.load_profile("segstudio")


_hypothesis_profile()


@pytest.fixture
def server(monkeypatch):
    """A bounded HTTP server on 127.0.0.1 serving test weights files (tests never reach outside the machine)."""
    from weights_server import LocalServer, no_proxies

    no_proxies(monkeypatch)
    srv = LocalServer().start()
    yield srv
    srv.stop()
