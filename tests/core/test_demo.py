"""The bundled demo project is deterministic, realistic enough, and half labeled."""

from __future__ import annotations

import numpy as np

from segstudio.core.demo import DEMO_CLASSES, ensure_demo_project, generate_demo_project, make_demo_sample
from segstudio.core.image_io import load_image
from segstudio.core.project import LabelStatus, Project


def test_demo_sample_is_deterministic_and_has_every_class():
    img1, mask1 = make_demo_sample(3)
    img2, mask2 = make_demo_sample(3)
    assert np.array_equal(img1, img2) and np.array_equal(mask1, mask2)
    assert not np.array_equal(make_demo_sample(4)[1], mask1)
    seen = set()
    for i in range(6):
        seen |= set(np.unique(make_demo_sample(i)[1]).tolist())
    assert seen == {0, 1, 2, 3}
    # textured, noisy background: not flat
    assert img1[mask1 == 0].std() > 5


def test_generate_demo_project_layout(tmp_path):
    project = generate_demo_project(tmp_path / "demo", n_images=6, labeled=3, size=(64, 80))
    reopened = Project.open(project.root)
    assert reopened.class_names == list(DEMO_CLASSES)
    images = reopened.list_images()
    assert len(images) == 6 and images[0].name == "sample_01.jpg"
    assert [reopened.label_status(p) for p in images] == [LabelStatus.COMPLETE] * 3 + [LabelStatus.NONE] * 3
    image = load_image(images[0])
    assert image.shape == (64, 80)
    assert reopened.read_mask(images[0], expected_shape=image.shape).max() <= 3


def test_ensure_demo_project_uses_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGSTUDIO_DATA_DIR", str(tmp_path / "data"))
    path = ensure_demo_project()
    assert path == tmp_path / "data" / "demo-project"
    assert len(Project.open(path).list_images()) == 40
    stamp = (path / "segstudio.json").stat().st_mtime_ns
    assert ensure_demo_project() == path and (path / "segstudio.json").stat().st_mtime_ns == stamp
