"""COCO import/export through pycocotools: LabelMe's COCO output, RLE kinds, exact round trip, bad input."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from segstudio.core.formats import FormatError, export_annotations, import_annotations
from segstudio.core.formats.coco import import_coco
from segstudio.core.formats.labelme import import_labelme
from segstudio.core.project import Project

from format_helpers import save_image, write_json

# pycocotools' annToMask/decode warn about numpy 2's copy keyword; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _coco_doc(images, annotations, categories=({"id": 1, "name": "blob"},)):
    return {"images": list(images), "annotations": list(annotations), "categories": list(categories)}


def test_import_of_labelme_coco_output_reproduces_its_polygons(labelme_fixtures, tmp_path):
    inst = labelme_fixtures / "instance_segmentation"
    src = tmp_path / "coco"
    (src / "JPEGImages").mkdir(parents=True)
    shutil.copy(inst / "data_dataset_coco" / "annotations.json", src)
    for jpg in (inst / "data_annotated").glob("*.jpg"):
        shutil.copy(jpg, src / "JPEGImages")
    report = import_coco(src, tmp_path / "p")
    assert report.imported == 3
    project = Project.open(tmp_path / "p")
    coco = COCO(str(src / "annotations.json"))
    cats = {c["id"]: c["name"] for c in coco.dataset["categories"]}
    for entry in coco.dataset["images"]:
        expected = np.zeros((entry["height"], entry["width"]), np.uint8)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=[entry["id"]])):
            expected[coco.annToMask(ann) > 0] = project.class_names.index(cats[ann["category_id"]])
        assert np.array_equal(project.read_mask(entry["file_name"]), expected)
    # and it agrees with rasterising LabelMe's JSON shapes (pycocotools fills polygons slightly differently)
    import_labelme(inst / "data_annotated", tmp_path / "lm")
    lm = Project.open(tmp_path / "lm")
    for image in lm.list_images():
        theirs = np.array([project.class_names.index(n) for n in lm.class_names] + [255] * (256 - lm.num_classes),
                          np.uint8)[lm.read_mask(image)]
        ours = project.read_mask(f"JPEGImages/{image.name}")
        keep = theirs != 255
        assert (ours[keep] == theirs[keep]).mean() > 0.99


def test_export_round_trip_is_exact_through_anntomask(demo_project, tmp_path):
    src = Project.open(demo_project)
    mask = src.read_mask("sample_01.jpg")
    mask[0:5, 0:5] = 255  # unlabeled pixels cannot be said in COCO: reported
    src.write_mask("sample_01.jpg", mask)
    report = export_annotations("coco", src, tmp_path / "coco")
    assert report.exported == 3 and "unlabeled pixels" in report.warnings[0]
    coco = COCO(str(tmp_path / "coco" / "annotations.json"))
    assert {c["name"] for c in coco.dataset["categories"]} == {"cell", "crystal", "fibre"}
    for entry in coco.dataset["images"]:
        rebuilt = np.zeros((entry["height"], entry["width"]), np.uint8)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[entry["id"]]))
        for ann in anns:
            rebuilt[coco.annToMask(ann) > 0] = ann["category_id"]
        original = src.read_mask(entry["file_name"][len("images/"):])
        original = np.where(original == 255, 0, original)
        assert np.array_equal(rebuilt, original)
        assert len(anns) >= len(np.unique(original)) - 1  # one per region per class
    back = import_annotations("coco", tmp_path / "coco", tmp_path / "again")
    assert back.imported == 3
    again = Project.open(tmp_path / "again")
    assert again.class_names == src.class_names
    assert np.array_equal(again.read_mask("sample_02.jpg"), src.read_mask("sample_02.jpg"))


def test_compressed_and_uncompressed_rle_and_bad_annotations(tmp_path):
    src = tmp_path / "src"
    save_image(src / "a.png", 40, 30)
    save_image(src / "b.png", 40, 30)
    blob = np.zeros((30, 40), np.uint8)
    blob[5:15, 10:20] = 1
    compressed = mask_utils.encode(np.asfortranarray(blob))
    flat = blob.flatten(order="F")
    runs, value, count = [], 0, 0
    for v in flat:
        if v != value:
            runs.append(count)
            value, count = v, 0
        count += 1
    runs.append(count)
    doc = _coco_doc(
        [{"id": 1, "file_name": "a.png", "width": 40, "height": 30},
         {"id": 2, "file_name": "b.png", "width": 40, "height": 30},
         {"id": 3, "file_name": "gone.png", "width": 40, "height": 30}],
        [{"id": 10, "image_id": 1, "category_id": 1, "iscrowd": 1,
          "segmentation": {"size": [30, 40], "counts": compressed["counts"].decode()}},
         {"id": 11, "image_id": 2, "category_id": 1, "iscrowd": 1, "segmentation": {"size": [30, 40], "counts": runs}},
         {"id": 12, "image_id": 2, "category_id": 1, "segmentation": {"size": [10, 10], "counts": [100]}},
         {"id": 13, "image_id": 2, "category_id": 1, "segmentation": [[30, 20, 50, 20, 50, 40]]},
         {"id": 14, "image_id": 2, "category_id": 7, "segmentation": [[0, 25, 3, 25, 3, 29]]}],
    )
    write_json(src / "annotations.json", doc)
    report = import_coco(src, tmp_path / "p")
    text = "\n".join(report.warnings)
    assert report.imported == 2
    assert "annotations.json: annotation 12 on 'b.png' has an RLE of size 10x10 but the image is 40x30" in text
    assert "annotation 13 on 'b.png' lies partly outside the image" in text
    assert "annotation 14 on 'b.png' has the unknown category 7" in text
    assert "image 'gone.png': image file not found" in text
    p = Project.open(tmp_path / "p")
    assert np.array_equal(p.read_mask("a.png"), blob)
    b = p.read_mask("b.png")
    assert b[10, 15] == 1 and b[22, 38] == 1 and b[26, 2] == 255 and b[0, 0] == 0


def test_file_name_escaping_the_source_is_refused(tmp_path):
    save_image(tmp_path / "outside.png")
    src = tmp_path / "src"
    save_image(src / "ok.png")
    write_json(src / "annotations.json", _coco_doc(
        [{"id": 1, "file_name": "../outside.png"}, {"id": 2, "file_name": "/etc/passwd"},
         {"id": 3, "file_name": "ok.png"}], []))
    report = import_coco(src, tmp_path / "p")
    assert report.imported == 1
    assert any("'../outside.png'" in w and "points outside" in w for w in report.warnings)
    assert any("'/etc/passwd'" in w and "points outside" in w for w in report.warnings)


def test_invalid_files_raise_naming_the_file(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "annotations.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(FormatError, match=r"annotations\.json: not valid JSON"):
        import_coco(src, tmp_path / "p")
    write_json(src / "annotations.json", {"images": []})
    with pytest.raises(FormatError, match="no 'annotations' list"):
        import_coco(src, tmp_path / "p")
    write_json(src / "annotations.json", _coco_doc([], []))
    with pytest.raises(FormatError, match="limit"):
        from segstudio.core.formats import ImportOptions
        import_coco(src, tmp_path / "p", ImportOptions(max_json_bytes=10))


def test_background_and_ignore_categories_as_labelme_uses_them(tmp_path):
    src = tmp_path / "src"
    save_image(src / "a.png", 40, 30)
    write_json(src / "annotations.json", _coco_doc(
        [{"id": 1, "file_name": "a.png", "width": 40, "height": 30}],
        [{"id": 1, "image_id": 1, "category_id": 2, "segmentation": [[0, 0, 20, 0, 20, 20, 0, 20]]},
         {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [[5, 5, 10, 5, 10, 10, 5, 10]]},
         {"id": 3, "image_id": 1, "category_id": 0, "segmentation": [[15, 15, 19, 15, 19, 19, 15, 19]]}],
        [{"id": 0, "name": "_background_"}, {"id": 1, "name": "__ignore__"}, {"id": 2, "name": "cat"}]))
    report = import_coco(src / "annotations.json", tmp_path / "p")
    assert report.imported == 1 and report.warnings == []
    p = Project.open(tmp_path / "p")
    assert p.class_names == ["background", "cat"]
    m = p.read_mask("a.png")
    assert m[2, 2] == 1 and m[7, 7] == 255 and m[17, 17] == 0 and m[25, 35] == 0
