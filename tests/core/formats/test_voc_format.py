"""Pascal VOC import/export: layout torchvision reads, palette masks with 255 = void, lists, bad input."""

from __future__ import annotations

import numpy as np
from PIL import Image

from segstudio.core.formats import export_annotations, import_annotations
from segstudio.core.formats.voc import import_voc
from segstudio.core.project import Project

from format_helpers import save_image


def test_round_trip_and_torchvision_reads_the_export(demo_project, tmp_path):
    src = Project.open(demo_project)
    mask = src.read_mask("sample_01.jpg")
    mask[:4, :] = 255
    src.write_mask("sample_01.jpg", mask)
    report = export_annotations("voc", src, tmp_path / "out")
    assert report.exported == 3
    root = tmp_path / "out" / "VOCdevkit" / "VOC2012"
    assert (root / "class_names.txt").read_text().split() == src.class_names
    saved = Image.open(root / "SegmentationClass" / "sample_01.png")
    assert saved.mode == "P" and np.array_equal(np.array(saved), mask)

    from torchvision.datasets import VOCSegmentation

    dataset = VOCSegmentation(str(tmp_path / "out"), year="2012", image_set="train", download=False)
    assert len(dataset) == 3
    image, target = dataset[0]
    assert image.size == (64, 64) and np.array(target).max() == 255

    back = import_annotations("voc", tmp_path / "out", tmp_path / "again")
    assert back.imported == 3
    again = Project.open(tmp_path / "again")
    assert again.class_names == src.class_names
    for image_path in src.labeled_images():
        assert np.array_equal(again.read_mask(image_path.name), src.read_mask(image_path))


def _voc_folder(tmp_path):
    root = tmp_path / "VOC"
    for name in ("a", "b"):
        save_image(root / "JPEGImages" / f"{name}.jpg", 20, 10)
        m = Image.fromarray(np.array([[0, 1, 255, 2] * 5] * 10, np.uint8), "P")
        m.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * 759)
        (root / "SegmentationClass").mkdir(parents=True, exist_ok=True)
        m.save(root / "SegmentationClass" / f"{name}.png")
    (root / "class_names.txt").write_text("_background_\ncat\ndog\n")
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    return root


def test_import_with_class_file_and_bad_entries(tmp_path):
    root = _voc_folder(tmp_path)
    save_image(tmp_path / "secret.jpg")
    (root / "ImageSets" / "Segmentation" / "train.txt").write_text("a\nmissing\n../../secret\n")
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text("b\n")
    report = import_voc(root, tmp_path / "p")
    text = "\n".join(report.warnings)
    assert report.imported == 2
    assert "missing.png: no image JPEGImages/missing.jpg" in text
    assert "Segmentation: entry '../../secret' points outside" in text
    p = Project.open(tmp_path / "p")
    assert p.class_names == ["background", "cat", "dog"]
    assert p.read_mask("a.jpg")[0, :4].tolist() == [0, 1, 255, 2]


def test_values_beyond_the_classes_become_unlabeled_with_a_warning(tmp_path):
    root = _voc_folder(tmp_path)
    (root / "class_names.txt").write_text("_background_\ncat\n")
    report = import_voc(root, tmp_path / "p")
    assert report.imported == 2
    assert any("a.png: values 2 are not classes" in w for w in report.warnings)
    assert Project.open(tmp_path / "p").read_mask("b.jpg")[0, :4].tolist() == [0, 1, 255, 255]
