"""The session's view state without a window: locks reach every document, display settings carry over,
everything of a project goes with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segstudio.core import painting
from segstudio.core.demo import generate_demo_project
from segstudio.core.display import default_display
from segstudio.session import Session


@pytest.fixture(autouse=True)
def user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGSTUDIO_DATA_DIR", str(tmp_path / "userdata"))


@pytest.fixture
def project(tmp_path) -> Path:
    generate_demo_project(tmp_path / "p", n_images=4, labeled=2, size=(64, 64))
    return tmp_path / "p"


def _show(s: Session, image_id: str):
    return s.show_image(image_id, s.load_image(image_id))


def test_locks_reach_open_and_later_documents_and_go_with_the_project(project):
    s = Session()
    s.open_project(project)
    seen = []
    s.events.connect("view_changed", seen.append)
    first = _show(s, "sample_01.jpg")  # labeled: has class 1 pixels
    s.view.set_class_locked(1, True)
    assert seen == ["rules"] and first.rules.locked == {1}
    later = _show(s, "sample_02.jpg")
    assert later.rules.locked == {1}
    cells = later.mask == 1
    assert cells.any()
    later.begin_edit("Brush")
    for y in range(0, 64, 4):
        painting.paint_segment(later, 0, y, 64, y, 6, 3)
    later.end_edit()
    assert (later.mask[cells] == 1).all() and (later.mask == 3).any()
    s.view.set_only_unlabeled(True)
    s.view.set_class_hidden(0, True)
    assert s.view.rules.only_unlabeled and s.view.hidden_classes == {0}
    s.open_project(project)
    assert not s.view.rules.active and not s.view.hidden_classes
    assert not _show(s, "sample_02.jpg").rules.active


def test_deleting_a_class_renumbers_hidden_and_locked_ids(project):
    s = Session()
    s.open_project(project)
    _show(s, "sample_03.jpg")
    s.view.set_class_locked(3, True)
    s.view.set_class_locked(1, True)
    s.view.set_class_hidden(2, True)
    s.delete_class(1)  # 2 -> 1, 3 -> 2
    assert s.view.rules.locked == {2} and s.view.hidden_classes == {1}
    assert s.current_document.rules.locked == {2}


def test_display_is_automatic_until_the_user_changes_it_then_carried_to_images_with_the_same_channels(project):
    s = Session()
    s.open_project(project)
    image = _show(s, "sample_01.jpg") and s.current_image
    assert not s.view.image_shown("sample_01.jpg", image.channels, str(image.dtype))
    auto = default_display(image.data)
    s.view.set_display(auto, "sample_01.jpg", user=False)
    assert not s.view.image_shown("sample_02.jpg", 3, "uint8")  # automatic: recomputed for every image
    s.view.set_display(auto, "sample_01.jpg")  # for an image no longer shown: ignored
    assert s.view.display is None
    mine = auto.with_channel(0, lo=40.0, gamma=0.8)
    s.view.set_display(mine, "sample_02.jpg")
    assert s.view.image_shown("sample_03.jpg", 3, "uint8") and s.view.display == mine
    assert not s.view.image_shown("deep.tif", 1, "uint16") and s.view.display is None
    s.view.set_display(default_display(np.zeros((4, 4, 2), np.uint16)), "deep.tif")
    s.view.set_solo(1)
    shown = s.view.shown_display()
    assert shown.visible == [1] and shown.channels[1].color == "#ffffff"
