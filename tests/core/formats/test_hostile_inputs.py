"""Hostile or careless annotation files: bounded and typed before native code sees them; one warning naming the
file, or one error line; the project unchanged when nothing is imported; a failed export can be retried."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from format_helpers import save_image, write_json

from segstudio.cli import main
from segstudio.core.errors import SaveError
from segstudio.core.formats import FormatError, ImportOptions, import_annotations
from segstudio.core.formats.labelme import MAX_SHAPE_POINTS
from segstudio.core.project import Project


def _coco(tmp_path, segmentation, **image):
    src = tmp_path / "coco"
    save_image(src / "a.png", 40, 30)
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": 40, "height": 30, **image}],
           "categories": [{"id": 1, "name": "cell"}],
           "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "segmentation": segmentation},
                           {"id": 8, "image_id": 1, "category_id": 1, "segmentation": [[2, 2, 10, 2, 10, 10]]}]}
    write_json(src / "annotations.json", doc)
    return src


def _import_cli_limited(src, project, memory_gb: int = 3) -> subprocess.CompletedProcess:
    """``segstudio import coco`` in a process that may use ``memory_gb`` of memory at most."""
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (%d << 30, %d << 30)); "
            "from segstudio.cli import main; sys.exit(main(sys.argv[1:]))" % (memory_gb, memory_gb))
    return subprocess.run([sys.executable, "-c", code, "import", "coco", str(src), str(project)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("coordinate", [1e12, 3e8])
def test_coco_polygon_far_outside_the_image_is_refused_before_pycocotools(tmp_path, coordinate):
    # 1e12 crashed the process inside pycocotools (SIGSEGV); 3e8 made it allocate tens of GB
    src = _coco(tmp_path, [[0, 0, coordinate, 0, coordinate, coordinate]])
    proc = _import_cli_limited(src, tmp_path / "p")
    assert proc.returncode == 0, proc.stderr
    assert (f"segstudio: warning: {src / 'annotations.json'}: annotation 7 on 'a.png' has a polygon point "
            f"({coordinate:g}, 0) far outside the 40x30 image; skipped") in proc.stderr
    mask = Project.open(tmp_path / "p").read_mask("a.png")
    assert mask[5, 8] == 1 and mask[20, 30] == 0  # the good annotation is there


def test_coco_polygon_with_an_endless_outline_is_refused(tmp_path):
    zigzag = [v for i in range(20000) for v in ((0, 0) if i % 2 else (40, 30))]
    src = _coco(tmp_path, [zigzag])
    report = import_annotations("coco", src, tmp_path / "p")
    assert report.imported == 1
    assert any("annotation 7 on 'a.png' has a polygon outline of 800,000 pixels, too long for a 40x30 image" in w
               for w in report.warnings)


def test_coco_ids_of_the_wrong_type_become_warnings(tmp_path):
    src = tmp_path / "coco"
    save_image(src / "a.png", 40, 30)
    doc = {"images": [{"id": [1], "file_name": "x.png"}, {"id": 1, "file_name": "a.png"}],
           "categories": [{"id": {"x": 1}, "name": "odd"}, {"id": 1, "name": "cell"}],
           "annotations": [{"id": 1, "image_id": {"a": 1}, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9]]},
                           {"id": 2, "image_id": 1, "category_id": [1], "segmentation": [[1, 1, 9, 1, 9, 9]]},
                           {"id": 3, "image_id": 1, "category_id": 1, "segmentation": [[20, 20, 30, 20, 30, 28]]}]}
    ann = write_json(src / "annotations.json", doc)
    report = import_annotations("coco", src, tmp_path / "p")
    assert report.imported == 1
    assert f"{ann}: image entry {{'id': [1], 'file_name': 'x.png'}} has no integer 'id'; ignored" in report.warnings
    assert f"{ann}: invalid category {{'id': {{'x': 1}}, 'name': 'odd'}} (needs an integer 'id' and a 'name'); " \
           "ignored" in report.warnings
    assert f"{ann}: annotation 1 refers to no listed image; ignored" in report.warnings
    assert f"{ann}: annotation 2 on 'a.png' has the unknown category [1]; its pixels are left unlabeled (255)" \
        in report.warnings
    mask = Project.open(tmp_path / "p").read_mask("a.png")
    assert mask[2, 7] == 255 and mask[21, 28] == 1


def test_labelme_polygon_with_2_5_million_vertices_imports_in_seconds(tmp_path):
    src = tmp_path / "lm"
    save_image(src / "a.png", 40, 30)
    angle = np.linspace(0, 2 * np.pi, 2_500_000, endpoint=False)
    pts = np.stack([20 + 15 * np.cos(angle), 15 + 10 * np.sin(angle)], axis=1).round(2)
    write_json(src / "a.json", {"shapes": [{"label": "cell", "points": pts.tolist(), "shape_type": "polygon"}],
                                "imagePath": "a.png"})
    t0 = time.perf_counter()
    report = import_annotations("labelme", src, tmp_path / "p")
    seconds = time.perf_counter() - t0
    assert report.imported == 1 and not report.warnings
    assert seconds < 30, seconds  # 4 s on an idle 2-core machine (most of it json.loads), 10 s when it is busy
    mask = Project.open(tmp_path / "p").read_mask("a.png")
    assert mask[15, 20] == 1 and mask[0, 0] == 0


def test_labelme_shape_with_too_many_points_or_far_points_is_skipped(tmp_path, monkeypatch):
    import segstudio.core.formats.labelme as labelme

    monkeypatch.setattr(labelme, "MAX_SHAPE_POINTS", 100)
    src = tmp_path / "lm"
    save_image(src / "a.png", 40, 30)
    path = write_json(src / "a.json", {"imagePath": "a.png", "shapes": [
        {"label": "cell", "points": [[1, 1]] * 101},
        {"label": "cell", "points": [[20, 15], [1e7, 15]], "shape_type": "circle"},  # PIL needed minutes for this
        {"label": "cell", "points": [[1, 1], [9, 1], [9, 9]]}]})
    report = import_annotations("labelme", src, tmp_path / "p")
    assert report.imported == 1
    assert report.warnings == [
        f"{path}: shape #1 ('cell') has 101 points, more than the 100 a shape may have; skipped",
        f"{path}: shape #2 ('cell') has a point [10000000.0, 15] far outside the 40x30 image; skipped"]
    assert MAX_SHAPE_POINTS >= 2_500_000


def test_class_file_with_more_than_255_names_is_named(tmp_path, capsys):
    src = tmp_path / "lm"
    save_image(src / "a.png", 40, 30)
    write_json(src / "a.json", {"imagePath": "a.png", "shapes": []})
    (src / "class_names.txt").write_text("\n".join(f"c{i}" for i in range(300)))
    assert main(["import", "labelme", str(src), str(tmp_path / "p")]) == 2
    assert capsys.readouterr().err.strip() == (f"segstudio: error: {src / 'class_names.txt'}: 300 classes, but a "
                                               "project holds at most 255 (255 means unlabeled)")
    assert not (tmp_path / "p").exists()


def test_coco_with_more_than_255_categories_is_named(tmp_path):
    src = _coco(tmp_path, [[1, 1, 9, 1, 9, 9]])
    doc = json.loads((src / "annotations.json").read_text())
    doc["categories"] = [{"id": i, "name": f"c{i}"} for i in range(1, 301)]
    write_json(src / "annotations.json", doc)
    with pytest.raises(FormatError) as err:
        import_annotations("coco", src, tmp_path / "p")
    assert str(err.value) == f"{src / 'annotations.json'}: 301 classes, but a project holds at most 255 " \
                             "(255 means unlabeled)"


def test_import_into_a_full_disk_is_rolled_back(tmp_path, demo_project, monkeypatch):
    src = tmp_path / "lm"
    for name in ("x", "y"):
        save_image(src / f"{name}.png", 40, 30)
        write_json(src / f"{name}.json", {"imagePath": f"{name}.png",
                                          "shapes": [{"label": "newclass", "points": [[1, 1], [9, 1], [9, 9]]}]})
    config = (demo_project / "segstudio.json").read_bytes()
    masks = sorted(p.name for p in (demo_project / "masks").iterdir())
    real_fsync = os.fsync
    writes = []

    def fsync(fd):
        writes.append(fd)
        if len(writes) > 4:  # the journal and the first image are on disk, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(SaveError, match="No space left on device"):
        import_annotations("labelme", src, demo_project, ImportOptions())
    monkeypatch.undo()
    assert (demo_project / "segstudio.json").read_bytes() == config
    assert sorted(p.name for p in (demo_project / "masks").iterdir()) == masks
    assert not (demo_project / "images" / "x.png").exists()


@pytest.mark.parametrize("fmt,marker", [("coco", "annotations.json"), ("yolo", "data.yaml"),
                                        ("voc", "VOCdevkit/VOC2012/ImageSets/Segmentation/trainval.txt"),
                                        ("labelme", None)])
def test_export_on_a_full_disk_leaves_nothing_that_blocks_the_retry(tmp_path, demo_project, monkeypatch, capsys,
                                                                    fmt, marker):
    dest = tmp_path / "out"
    if marker is None:  # LabelMe: the first labeled image's JSON marks an earlier export
        project = Project.open(demo_project)
        marker = Path(project.image_id(project.labeled_images()[0])).with_suffix(".json").as_posix()

    real_fsync = os.fsync

    def nearly_full(fd):  # the images no longer fit, a small index file still does
        if os.fstat(fd).st_size > 2000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", nearly_full)
    assert main(["export", fmt, str(demo_project), str(dest)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"segstudio: error: cannot save {dest}") and err[-1].endswith(": No space left on device")
    assert len(err) == 1 and not (dest / marker).exists()
    monkeypatch.undo()
    assert main(["export", fmt, str(demo_project), str(dest)]) == 0  # the retry is not blocked
    assert (dest / marker).is_file()
