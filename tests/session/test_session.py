"""The Qt-free session driven without a window: open, paint, switch, recover, accept, switch project.

Images and masks are real files on disk read through the app's loader (read-only arrays, JPEG decoding).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segstudio.core import painting
from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.demo import generate_demo_project
from segstudio.core.errors import MaskNeedsMappingError, ProjectError, SaveError, SegstudioError
from segstudio.core.mask_io import read_mask
from segstudio.session import Session


@pytest.fixture(autouse=True)
def user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGSTUDIO_DATA_DIR", str(tmp_path / "userdata"))


@pytest.fixture
def project_a(tmp_path) -> Path:
    generate_demo_project(tmp_path / "a", n_images=6, labeled=3, size=(64, 64))
    return (tmp_path / "a").resolve()


@pytest.fixture
def project_b(tmp_path) -> Path:
    """Another project with fewer classes and no model."""
    from segstudio.core.project import Project

    root = tmp_path / "b"
    Project.create(root, ["background", "bottle"])
    from PIL import Image

    for i in range(2):
        Image.fromarray(np.full((48, 40, 3), 40 * i, np.uint8)).save(root / "images" / f"shot_{i}.png")
    return root.resolve()


class Recorder:
    """Every session event, in order."""

    def __init__(self, session: Session) -> None:
        from segstudio.session.events import EVENT_NAMES

        self.events: list[tuple] = []
        for name in EVENT_NAMES:
            session.events.connect(name, lambda *args, n=name: self.events.append((n, *args)))

    def names(self) -> list[str]:
        return [e[0] for e in self.events]


def show(session: Session, image_id: str):
    """What the window does: decode through the cache, then make it current."""
    return session.show_image(image_id, session.load_image(image_id))


def test_open_show_paint_save(project_a):
    s = Session()
    rec = Recorder(s)
    s.open_project(project_a)
    assert rec.names()[0] == "project_changed" and s.image_ids[0] == "sample_01.jpg"
    doc = show(s, "sample_05.jpg")
    assert not s.current_image.rgb.flags.writeable  # the loader's read-only array
    assert (doc.mask == IGNORE_INDEX).all() and not s.dirty
    doc.begin_edit("Brush")
    painting.paint_segment(doc, 5, 30, 50, 30, 4, 2)
    doc.end_edit()
    s.note_edit()
    assert s.dirty and ("dirty_changed", True) in rec.events and ("document_edited", "sample_05.jpg") in rec.events
    assert s.save_all() == []
    saved = read_mask(project_a / "masks" / "sample_05.png")
    assert saved[30, 25] == 2 and saved[0, 0] == IGNORE_INDEX
    assert not s.dirty and ("dirty_changed", False) in rec.events
    assert [e for e in rec.events if e[0] == "mask_saved"][0][1] == "sample_05.jpg"


def test_the_magic_wand_works_on_the_image_the_session_loaded(project_a):
    s = Session()
    s.open_project(project_a)
    doc = show(s, "sample_04.jpg")
    rect = painting.magic_wand(doc, s.current_image.rgb, 10, 10, 1, tolerance=40)
    doc.end_edit()
    assert rect is not None and (doc.mask == 1).any()


def test_switching_images_saves_the_one_left_and_keeps_its_undo(project_a):
    s = Session()
    s.open_project(project_a)
    doc = show(s, "sample_04.jpg")
    doc.paint(0, 0, 8, 8, lambda v: v.fill(3))
    doc.end_edit()
    s.note_edit()
    show(s, "sample_05.jpg")
    assert read_mask(project_a / "masks" / "sample_04.png")[4, 4] == 3
    back = show(s, "sample_04.jpg")
    assert back is doc and doc.can_undo
    assert s.undo() and doc.mask[4, 4] == IGNORE_INDEX and s.dirty
    assert s.redo() and doc.mask[4, 4] == 3


def test_a_foreign_mask_asks_for_a_value_map_before_anything_changes(project_a):
    from PIL import Image

    s = Session()
    s.open_project(project_a)
    show(s, "sample_01.jpg")
    Image.fromarray(np.where(np.arange(64)[None, :] < 32, 0, 255).astype(np.uint8).repeat(64, 0), "L").save(
        project_a / "masks" / "sample_06.png")
    with pytest.raises(MaskNeedsMappingError):
        show(s, "sample_06.jpg")
    assert s.current_id == "sample_01.jpg"  # nothing changed
    doc = s.show_image("sample_06.jpg", s.load_image("sample_06.jpg"), value_map={0: 0, 255: 2})
    assert doc.mask[0, 0] == 0 and doc.mask[0, 40] == 2


def test_recovery_after_a_crash(project_a, tmp_path):
    s = Session()
    s.open_project(project_a)
    doc = show(s, "sample_06.jpg")
    doc.paint(10, 10, 20, 20, lambda v: v.fill(1))
    doc.end_edit()
    assert s.write_journal() == 1
    s.journal.flush()
    # the process dies here: nothing saved; a new session finds the journal
    again = Session()
    rec = Recorder(again)
    again.open_project(project_a)
    assert ("recovery_available", 1) in rec.events and again.pending_recovery() == ["sample_06.jpg"]
    assert again.restore_recovery() == 1
    assert read_mask(project_a / "masks" / "sample_06.png")[15, 15] == 1
    again.journal.flush()
    assert again.pending_recovery() == []


def test_accept_prediction_only_fills_unlabeled_pixels_and_refuses_foreign_class_ids(project_a):
    s = Session()
    s.open_project(project_a)
    doc = show(s, "sample_05.jpg")
    doc.paint(0, 0, 10, 10, lambda v: v.fill(1))
    doc.end_edit()
    assert s.set_prediction("sample_05.jpg", np.full((64, 64), 3, np.uint8))
    assert s.accept_prediction("unlabeled")
    assert (doc.mask[:10, :10] == 1).all() and (doc.mask[20:, 20:] == 3).all()
    assert s.undo() and (doc.mask[20:, 20:] == IGNORE_INDEX).all()
    s.set_prediction("sample_05.jpg", np.full((64, 64), 7, np.uint8))  # a model of other classes
    with pytest.raises(SegstudioError, match=r"class id\(s\) 7 but a has only 4 classes"):
        s.accept_prediction("all")
    assert (doc.mask[20:, 20:] == IGNORE_INDEX).all()


def test_switching_project_resets_everything_of_the_old_one(project_a, project_b, tmp_path):
    """Defect: B's first image showed A's prediction and Accept wrote A's class ids into B's masks."""
    s = Session()
    s.open_project(project_a)
    checkpoint = tmp_path / "a-best.pt"
    checkpoint.write_bytes(b"not really a checkpoint")
    s.set_checkpoint(checkpoint)
    s.set_model_status("done — Predicted 6 images")
    for image_id in s.image_ids:
        s.set_prediction(image_id, np.full((64, 64), 3, np.uint8))
        s.set_uncertainty(image_id, 0.5)
    show(s, "sample_01.jpg")
    rec = Recorder(s)
    s.open_project(project_b)
    assert rec.names()[0] == "project_changed"
    assert s.model.checkpoint is None and s.model.status == "" and len(s.model) == 0 and s.model.uncertainty == {}
    assert s.current_id is None and len(s.documents) == 0 and len(s.image_cache) == 0
    doc = show(s, "shot_0.png")
    assert s.prediction() is None and not s.accept_prediction("all")
    # a late result of A's model (a job started before the switch) is dropped
    assert not s.set_prediction("shot_0.png", np.full((48, 40), 3, np.uint8), project_root=project_a)
    assert not s.set_prediction("sample_01.jpg", np.full((64, 64), 3, np.uint8))  # not an image of B
    assert s.prediction() is None and (doc.mask == IGNORE_INDEX).all()


def test_leaving_a_project_whose_edits_cannot_be_saved_keeps_it_open(project_a, project_b, monkeypatch):
    s = Session()
    s.open_project(project_a)
    doc = show(s, "sample_05.jpg")
    doc.paint(0, 0, 4, 4, lambda v: v.fill(2))
    doc.end_edit()

    def full_disk(self, image, mask):
        raise SaveError(self.mask_path(image), "No space left on device")

    monkeypatch.setattr(type(s.project), "write_mask", full_disk)
    with pytest.raises(SaveError, match="No space left on device"):
        s.open_project(project_b)
    assert s.project.root == project_a.resolve() and s.current_document is doc and doc.dirty
    s.open_project(project_b, keep_unsaved=True)  # the user chose to leave: the edits wait in the journal
    from segstudio.session.recovery import RecoveryJournal

    assert RecoveryJournal(project_a).pending() == ["sample_05.jpg"]


def test_a_folder_that_cannot_be_opened_changes_nothing(project_a, tmp_path):
    s = Session()
    s.open_project(project_a)
    with pytest.raises(ProjectError):
        s.open_project(tmp_path / "missing")
    assert s.project.root == project_a.resolve()


def test_deleting_a_class_renumbers_the_open_document_and_the_predictions(project_a):
    s = Session()
    s.open_project(project_a)
    show(s, "sample_05.jpg")
    s.set_prediction("sample_05.jpg", np.full((64, 64), 3, np.uint8))
    rec = Recorder(s)
    s.delete_class(1, None)  # "cell": its pixels become unlabeled, ids 2, 3 become 1, 2
    assert s.project.class_names == ["background", "crystal", "fibre"]
    assert (s.prediction().mask == 2).all()
    assert "classes_changed" in rec.names() and ("image_changed", "sample_05.jpg") in rec.events
    assert s.current_document.shape == (64, 64)


def test_adding_the_same_file_twice_copies_it_once(project_a, tmp_path):
    from PIL import Image

    s = Session()
    s.open_project(project_a)
    src = tmp_path / "new.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(src)
    first = s.add_images([src])
    second = s.add_images([src])
    assert first.added == ["new.png"] and second.added == [] and second.already_there == ["new.png"]
    assert "already in the project" in second.summary()
    Image.fromarray(np.ones((8, 8, 3), np.uint8)).save(src)
    third = s.add_images([src])
    assert third.added == ["new_1.png"] and third.renamed == [("new.png", "new_1.png")]
    assert "stored as new_1.png" in third.summary()


def test_a_save_knows_the_region_it_changed(project_a):
    """Live training re-reads the edited box first: ``saved_box`` is the union of the strokes, undos
    and redos since the previous save, asked by subscribers of ``mask_saved``."""
    s = Session()
    s.open_project(project_a)
    boxes = []
    s.events.connect("mask_saved", lambda image_id, _status: boxes.append(s.saved_box(image_id)))
    doc = show(s, "sample_05.jpg")
    for y in (10, 40):
        doc.begin_edit("Brush")
        painting.paint_segment(doc, 5, y, 20, y, 2, 1)
        doc.end_edit()
        s.note_edit()
    assert s.save_all() == []
    (x0, y0, x1, y1), = boxes
    assert x0 <= 5 and y0 <= 10 and x1 > 20 and y1 > 40 and x1 < 40  # both strokes, nothing more
    assert doc.undo() is not None
    s.note_edit()
    assert s.save_all() == [] and boxes[1][1] >= 30  # the undone second stroke only
    assert read_mask(project_a / "masks" / "sample_05.png")[40, 10] == IGNORE_INDEX
