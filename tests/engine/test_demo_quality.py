"""The demo project trains to a useful model with the default settings (benchmarks/demo_miou.py, without
the hand-written loop it is compared with there), scored on the demo's held-out half."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_project_reaches_miou_with_defaults():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "demo_miou.py"
    spec = importlib.util.spec_from_file_location("demo_miou", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.run_demo(threads=2, with_loop=False)
    # held-out images score below the validation split (one run: 0.835 here vs 0.864 validation)
    assert result["segstudio_miou"] >= 0.78, result
