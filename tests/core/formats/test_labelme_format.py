"""LabelMe JSON import/export: conformance with LabelMe's converter, shapes, round trip, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from segstudio.core.formats import FormatError, ImportOptions, export_annotations, import_annotations
from segstudio.core.formats.labelme import import_labelme, mask_to_shapes, rasterize
from segstudio.core.project import Project

from format_helpers import labelme_doc, png_base64, save_image, shape, write_json


def test_import_reproduces_labelme_voc_masks(labelme_fixtures, tmp_path):
    semantic = labelme_fixtures / "semantic_segmentation"
    report = import_labelme(semantic / "data_annotated", tmp_path / "proj")
    assert report.imported == 3
    project = Project.open(tmp_path / "proj")
    voc_names = [line.strip() for line in (semantic / "labels.txt").read_text().splitlines() if line.strip()]
    # labels.txt: __ignore__ is -1 (written as 255), _background_ is 0, then the classes
    lut = np.full(256, 255, np.uint8)
    for class_id, name in enumerate(project.class_names):
        lut[class_id] = voc_names.index("_background_" if name == "background" else name) - 1
    for image in project.list_images():
        ours = lut[project.read_mask(image)]
        theirs = np.array(Image.open(semantic / "data_dataset_voc" / "SegmentationClass" / f"{image.stem}.png"))
        agreement = float((ours == theirs).mean())
        assert agreement >= 0.9999, f"{image.name}: {agreement:.6f}"


def test_every_shape_type_in_file_order(tmp_path):
    src = tmp_path / "src"
    save_image(src / "a.png", 60, 40)
    shapes = [
        shape("box", [(2, 2), (20, 15)], "rectangle"),
        shape("disc", [(40, 20), (46, 20)], "circle"),            # radius 6
        shape("wire", [(0, 35), (59, 35)], "line"),               # 10 px wide
        shape("path", [(30, 0), (30, 10), (50, 10)], "linestrip"),
        shape("dot", [(10, 30)], "point"),                         # radius 5
        shape("tri", [(5, 5), (15, 5), (10, 12)]),                 # on top of the box
        shape("__ignore__", [(52, 2), (58, 2), (58, 6), (52, 6)]),
    ]
    doc = labelme_doc("a.png", shapes, 60, 40, someXAnyLabelingKey={"x": 1})
    doc["shapes"][0]["score"] = 0.9  # unknown keys in shapes too
    write_json(src / "a.json", doc)
    report = import_labelme(src, tmp_path / "p")
    assert report.imported == 1 and report.warnings == []
    p = Project.open(tmp_path / "p")
    cid = {n: i for i, n in enumerate(p.class_names)}
    m = p.read_mask("a.png")
    assert m[3, 18] == cid["box"] and m[8, 10] == cid["tri"]
    assert m[20, 45] == cid["disc"] and m[20, 47] == 0
    assert m[32, 3] == cid["wire"] and m[39, 20] == cid["wire"] and m[29, 3] == 0
    assert m[5, 30] == cid["path"] and m[10, 45] == cid["path"]
    assert m[30, 14] == cid["dot"] or m[30, 14] == cid["wire"]
    assert m[26, 10] == cid["dot"] and m[24, 10] == 0
    assert m[4, 55] == 255
    assert m[1, 1] == 0 and p.class_names[0] == "background"


def test_embedded_image_data_without_file(tmp_path):
    src = tmp_path / "src"
    write_json(src / "sub" / "x.json", labelme_doc("missing.png", [shape("leaf", [(1, 1), (10, 1), (10, 10)])],
                                                   image_data=png_base64(40, 30)))
    report = import_labelme(src, tmp_path / "p")
    assert report.imported == 1
    p = Project.open(tmp_path / "p")
    assert [p.image_id(i) for i in p.labeled_images()] == ["sub/missing.png"]
    assert Image.open(p.image_path("sub/missing.png")).size == (40, 30)
    assert p.read_mask("sub/missing.png")[5, 8] == p.class_names.index("leaf")


def test_round_trip_is_exact(demo_project, tmp_path):
    src = Project.open(demo_project)
    report = export_annotations("labelme", src, tmp_path / "lm")
    assert report.exported == 3
    doc = json.loads((tmp_path / "lm" / "sample_01.json").read_text())
    assert doc["imagePath"] == "sample_01.jpg" and doc["imageData"] is None and doc["shapes"]
    back = import_annotations("labelme", tmp_path / "lm", tmp_path / "again")
    assert back.imported == 3
    dst = Project.open(tmp_path / "again")
    assert dst.class_names == src.class_names
    for image in src.labeled_images():
        assert np.array_equal(dst.read_mask(src.image_id(image)), src.read_mask(image))


def test_shapes_reproduce_masks_with_holes_and_unlabeled_pixels():
    mask = np.zeros((50, 60), np.uint8)
    mask[5:45, 5:45] = 1
    mask[15:35, 15:35] = 0          # a background hole
    mask[20:30, 20:30] = 2          # an island in the hole
    mask[:, 50:] = 255              # unlabeled strip
    mask[40, 55] = 3                # one pixel inside it
    mask[10, 10:12] = 3             # two diagonal-ish pixels
    mask[11, 12] = 3
    names = ["background", "a", "b", "c"]
    shapes = mask_to_shapes(mask, names)
    ids = {n: i for i, n in enumerate(names)} | {"__ignore__": 255}
    assert np.array_equal(rasterize(shapes, 50, 60, ids.get, lambda m: None), mask)


def test_bad_input_is_reported_and_the_rest_imported(tmp_path):
    src = tmp_path / "src"
    (src / "labels.txt").parent.mkdir(parents=True)
    (src / "labels.txt").write_text("__ignore__\n_background_\ncat\n")
    save_image(src / "good.png")
    write_json(src / "good.json", labelme_doc("good.png", [shape("cat", [(1, 1), (9, 1), (9, 9)])]))
    save_image(src / "outside.png")
    write_json(src / "outside.json", labelme_doc("outside.png", [shape("cat", [(30, 20), (60, 20), (60, 40)])]))
    save_image(src / "unknown.png")
    write_json(src / "unknown.json", labelme_doc("unknown.png", [shape("dog", [(1, 1), (9, 1), (9, 9)])]))
    write_json(src / "noimage.json", labelme_doc("nothere.png", [shape("cat", [(1, 1), (9, 1), (9, 9)])]))
    (src / "broken.json").write_text('{"shapes": [', encoding="utf-8")
    report = import_labelme(src, tmp_path / "p")
    text = "\n".join(report.warnings)
    assert report.imported == 3  # good, outside (clipped), unknown (as unlabeled)
    assert "outside.json: shape #1 ('cat') lies partly outside the image; clipped" in text
    assert "unknown.json: shape #1 has the unknown label 'dog'" in text
    assert "noimage.json: image 'nothere.png' not found" in text
    assert "broken.json: not valid JSON (line 1" in text
    p = Project.open(tmp_path / "p")
    assert p.class_names == ["background", "cat"]
    assert p.read_mask("unknown.png")[3, 7] == 255 and p.read_mask("outside.png")[25, 39] == 1


def test_image_path_escaping_the_source_is_refused(tmp_path):
    save_image(tmp_path / "secret.png")
    src = tmp_path / "src"
    write_json(src / "evil.json", labelme_doc("../secret.png", [shape("x", [(1, 1), (9, 1), (9, 9)])]))
    write_json(src / "abs.json", labelme_doc(str(tmp_path / "secret.png"), [shape("x", [(1, 1), (9, 1), (9, 9)])]))
    report = import_labelme(src, tmp_path / "p")
    assert report.imported == 0
    assert any("evil.json: imagePath '../secret.png' points outside" in w for w in report.warnings)
    assert any("abs.json: imagePath" in w and "refused" in w for w in report.warnings)
    assert not list((tmp_path / "p").rglob("secret.png"))


def test_existing_masks_are_kept_unless_overwrite(tmp_path):
    src = tmp_path / "src"
    save_image(src / "a.png")
    write_json(src / "a.json", labelme_doc("a.png", [shape("x", [(1, 1), (9, 1), (9, 9)])]))
    import_labelme(src, tmp_path / "p")
    p = Project.open(tmp_path / "p")
    p.write_mask("a.png", np.full((30, 40), 255, np.uint8))  # the user's own edit
    again = import_labelme(src, tmp_path / "p")
    assert again.imported == 0 and "already has a mask for a.png" in again.warnings[0]
    assert (Project.open(tmp_path / "p").read_mask("a.png") == 255).all()
    forced = import_labelme(src, tmp_path / "p", ImportOptions(overwrite=True))
    assert forced.imported == 1 and Project.open(tmp_path / "p").read_mask("a.png")[5, 8] == 1


def test_different_image_with_same_name_is_not_replaced(tmp_path):
    src = tmp_path / "src"
    save_image(src / "a.png", color=(1, 2, 3))
    write_json(src / "a.json", labelme_doc("a.png", [shape("x", [(1, 1), (9, 1), (9, 9)])]))
    project = Project.create(tmp_path / "p", ["background", "x"])
    save_image(project.images_dir / "a.png", color=(200, 200, 200))
    report = import_labelme(src, tmp_path / "p")
    assert report.imported == 0 and "a different image a.png is already in the project" in report.warnings[0]
    assert Image.open(project.images_dir / "a.png").getpixel((0, 0)) == (200, 200, 200)


def test_json_size_limit(tmp_path):
    src = tmp_path / "src"
    save_image(src / "a.png")
    write_json(src / "a.json", labelme_doc("a.png", [shape("x", [(1, 1), (9, 1), (9, 9)])]))
    report = import_labelme(src, tmp_path / "p", ImportOptions(max_json_bytes=50))
    assert report.imported == 0 and "limit" in report.warnings[0] and "a.json" in report.warnings[0]


def test_empty_source_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="no LabelMe .json files"):
        import_labelme(tmp_path / "empty", tmp_path / "p")


def test_mask_and_rotation_shapes_and_cancel(tmp_path):
    import base64
    import io

    src = tmp_path / "src"
    bits = Image.new("L", (4, 3), 0)
    bits.putpixel((1, 1), 255)
    buf = io.BytesIO()
    bits.save(buf, "PNG")
    for name in ("a", "b"):
        save_image(src / f"{name}.png")
        write_json(src / f"{name}.json", labelme_doc(f"{name}.png", [
            shape("rot", [(20, 20), (30, 20), (30, 28), (20, 28)], "rotation", direction=0.3),
            shape("spot", [(10, 10), (13, 12)], "mask", mask=base64.b64encode(buf.getvalue()).decode()),
        ]))
    seen = []
    report = import_labelme(src, tmp_path / "p", progress=lambda d, t, w: seen.append((d, t)),
                            cancel=lambda: len(seen) >= 1)
    assert report.cancelled and report.imported == 1 and seen == [(1, 2)]
    p = Project.open(tmp_path / "p")
    m = p.read_mask("a.png")
    assert m[24, 25] == p.class_names.index("rot")
    assert m[11, 11] == p.class_names.index("spot") and m[10, 10] == 0 and m[11, 12] == 0
