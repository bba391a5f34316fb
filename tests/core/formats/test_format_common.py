"""The pieces every format shares: progress and cancel per file, never overwriting, class selection."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from segstudio.core.formats import FormatError, export_annotations, import_annotations
from segstudio.core.formats.common import ImportReport, each_file, export_class_ids, store_imported
from segstudio.core.project import Project

from format_helpers import save_image


def test_each_file_reports_progress_after_every_item_and_stops_on_cancel():
    report = ImportReport("x", None)
    seen: list[tuple[int, int, str]] = []
    done = []
    for item in each_file(["a", "b", "c", "d"], report, lambda *a: seen.append(a), lambda: len(done) == 2, str):
        done.append(item)
        if item == "a":
            continue  # a skipped item still counts
    assert done == ["a", "b"] and report.cancelled
    assert seen == [(1, 4, "a"), (2, 4, "b")]


@pytest.mark.parametrize("fmt", ["labelme", "coco", "voc", "yolo"])
def test_export_progress_counts_skipped_images_too(demo_project, tmp_path, fmt):
    project = Project.open(demo_project)
    broken = project.labeled_images()[1]
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(project.mask_path(broken))  # wrong size
    seen: list[tuple[int, int]] = []
    report = export_annotations(fmt, project, tmp_path / fmt, progress=lambda d, t, w: seen.append((d, t)))
    assert report.skipped == 1 and report.exported == 2
    assert [d for d, _ in seen] == [1, 2, 3] and {t for _, t in seen} == {3}
    assert any(str(broken) in w for w in report.warnings)


def test_export_class_ids_follow_the_classes_option():
    names = ["background", "cell", "crystal", "fibre"]
    assert export_class_ids(names, None) == [1, 2, 3]
    assert export_class_ids(names, ["fibre", "background", "cell"]) == [3, 1]
    with pytest.raises(FormatError, match="no class named 'dust'"):
        export_class_ids(names, ["cell", "dust"])


def test_store_imported_keeps_an_existing_mask_and_builds_no_mask_for_it(tmp_path):
    project = Project.create(tmp_path / "p", ["background", "cell"])
    image = save_image(project.images_dir / "a.png", 6, 4)
    project.write_mask(image, np.ones((4, 6), np.uint8))
    report = ImportReport("x", tmp_path)
    built = []
    ok = store_imported(project, image, report, tmp_path / "src.json", lambda: built.append(1) or np.zeros((4, 6)),
                        src_file=image)
    assert not ok and not built and report.existing == 1 and report.imported == 0
    assert "src.json" in report.warnings[0] and (project.read_mask(image) == 1).all()


@pytest.mark.parametrize("fmt, message", [("labelme", "does not exist"), ("coco", "does not exist"),
                                          ("voc", "is not a folder"), ("masks", "is not a folder")])
def test_missing_source_is_named(tmp_path, fmt, message):
    with pytest.raises(FormatError, match=message) as info:
        import_annotations(fmt, tmp_path / "nowhere", tmp_path / "p")
    assert "nowhere" in str(info.value)
