"""Fixtures for the format tests: a small demo project and the shared LabelMe fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from segstudio.core.demo import generate_demo_project

#: LabelMe's own example data, beside the checkout (never copied into the repo).
SHARED_FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures"
LABELME_FIXTURES = SHARED_FIXTURES / "labelme"


@pytest.fixture
def demo_project(tmp_path) -> Path:
    root = tmp_path / "demo"
    generate_demo_project(root, n_images=6, labeled=3, size=(64, 64))
    return root


@pytest.fixture
def labelme_fixtures() -> Path:
    if not (LABELME_FIXTURES / "semantic_segmentation" / "data_annotated").is_dir():
        pytest.skip("LabelMe fixtures not present beside the checkout")
    return LABELME_FIXTURES
