"""The one write policy on the command line: nothing a user made is overwritten, each refusal is one line, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from shared_helpers import one_error_line, run_cli, tiny_checkpoint, tree_digest

from segstudio.core.demo import generate_demo_project


@pytest.fixture
def project(tmp_path):
    return generate_demo_project(tmp_path / "proj", n_images=3, labeled=2, size=(48, 64))


@pytest.fixture
def ckpt(tmp_path):
    return tiny_checkpoint(tmp_path / "best.pt")


def _images(folder, names=("a.jpg", "b.png")):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.fromarray(np.full((20, 24, 3), 90, np.uint8)).save(folder / name)
    return folder


def test_predict_refuses_to_write_into_its_input_folder(ckpt, tmp_path, capsys):
    images = _images(tmp_path / "imgs")
    before = tree_digest(images)
    for out in (images, images / "sub"):
        rc, _, err = run_cli(capsys, "predict", ckpt, images, "--out", out, "--device", "cpu", "--overwrite")
        assert rc == 2
        assert one_error_line(err) == (f"segstudio: error: refusing to write into {out}: the command reads its "
                                       f"input from {images}; give an --out folder outside the inputs")
    assert tree_digest(images) == before  # b.png was not replaced by a.jpg's "mask"


def test_predict_refuses_a_projects_masks_folder(ckpt, project, capsys):
    before = tree_digest(project.masks_dir)
    rc, _, err = run_cli(capsys, "predict", ckpt, project.images_dir, "--out", project.masks_dir, "--overwrite")
    assert rc == 2
    assert one_error_line(err) == (f"segstudio: error: refusing to write into {project.masks_dir}: it is the masks/ "
                                   f"folder of {project.root}, which holds your own masks; write predictions to "
                                   f"{project.root / 'predictions'} instead")
    assert tree_digest(project.masks_dir) == before


def test_predict_into_a_projects_predictions_reads_only_its_images(ckpt, project, capsys):
    out = project.root / "predictions"
    rc, _, err = run_cli(capsys, "predict", ckpt, project.root, "--out", out, "--device", "cpu")
    assert rc == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(p.with_suffix(".png").name for p in project.list_images())


def test_predict_refuses_existing_masks_without_overwrite(ckpt, tmp_path, capsys):
    images = _images(tmp_path / "imgs")
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.png").write_bytes(b"mine")
    rc, _, err = run_cli(capsys, "predict", ckpt, images, "--out", out, "--device", "cpu")
    assert rc == 2
    assert one_error_line(err) == f"segstudio: error: {out / 'b.png'} already exists; use --overwrite to replace it"
    assert (out / "b.png").read_bytes() == b"mine" and not (out / "a.png").exists()  # nothing written at all
    rc, _, err = run_cli(capsys, "predict", ckpt, images, "--out", out, "--device", "cpu", "--overwrite")
    assert rc == 0, err
    with Image.open(out / "b.png") as img:
        assert img.mode == "P"


def test_predict_never_writes_over_an_input_file(ckpt, tmp_path, capsys):
    images = _images(tmp_path / "imgs", ("x.png",))
    before = (images / "x.png").read_bytes()
    rc, _, err = run_cli(capsys, "predict", ckpt, images / "x.png", "--out", tmp_path / "imgs2",
                         "--device", "cpu")
    assert rc == 0, err  # another folder: fine
    (tmp_path / "flat").mkdir()
    single = _images(tmp_path / "flat", ("y.png",)) / "y.png"
    rc, _, err = run_cli(capsys, "predict", ckpt, single, "--out", tmp_path / "flat", "--overwrite")
    assert rc == 2
    assert one_error_line(err) == (f"segstudio: error: refusing to write {single}: it is one of the inputs "
                                   "(nothing writes over its own input); give another output")
    assert (images / "x.png").read_bytes() == before


def test_export_model_never_writes_over_the_checkpoint(ckpt, tmp_path, capsys):
    before = ckpt.read_bytes()
    rc, _, err = run_cli(capsys, "export-model", ckpt, "--format", "torchscript", "-o", ckpt, "--overwrite")
    assert rc == 2
    assert one_error_line(err) == (f"segstudio: error: refusing to write {ckpt}: it is one of the inputs "
                                   "(nothing writes over its own input); give another output")
    other = tmp_path / "model.onnx"
    other.write_bytes(b"an older export")
    rc, _, err = run_cli(capsys, "export-model", ckpt, "-o", other, "--no-verify")
    assert rc == 2
    assert one_error_line(err) == f"segstudio: error: {other} already exists; use --overwrite to replace it"
    assert ckpt.read_bytes() == before and other.read_bytes() == b"an older export"


def test_train_refuses_an_existing_run_folder(project, tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "best.pt").write_bytes(b"hours of training")
    (run_dir / "metrics.jsonl").write_text('{"type": "StepEvent"}\n')
    rc, _, err = run_cli(capsys, "train", project.root, "--out", run_dir, "--epochs", "1", "--device", "cpu")
    assert rc == 2
    assert one_error_line(err) == (f"segstudio: error: run folder {run_dir} already exists and is not empty; give a "
                                   f"new --out, or continue that run with --resume {run_dir / 'last.pt'}")
    assert (run_dir / "best.pt").read_bytes() == b"hours of training"


def test_crop_out_of_range_is_one_line(project, capsys):
    rc, _, err = run_cli(capsys, "train", project.root, "--crop", "100000")
    assert rc == 2
    assert one_error_line(err) == "segstudio: error: --crop must be at most 4096 (got 100000)"


def test_model_args_too_large_is_one_line(project, capsys):
    rc, _, err = run_cli(capsys, "train", project.root, "--model-args", '{"width": 100000, "depth": 4}')
    assert rc == 2
    line = one_error_line(err)
    assert line.startswith("segstudio: error: --model-args: model 'unet' with {'width': 100000, 'depth': 4} would "
                           "have ") and "refusing (at most 1,000,000,000)" in line


def test_training_without_any_labeled_pixel_refuses(tmp_path, capsys):
    from segstudio.core.project import Project

    project = Project.create(tmp_path / "p", ["bg", "fg"])
    for i in range(2):
        Image.fromarray(np.full((24, 24, 3), 40 * i, np.uint8)).save(project.images_dir / f"{i}.png")
        project.write_mask(f"{i}.png", np.full((24, 24), 255, np.uint8))  # painted nothing
    rc, _, err = run_cli(capsys, "train", project.root, "--epochs", "1", "--steps-per-epoch", "1", "--crop", "16",
                         "--width", "4", "--device", "cpu", "--val-fraction", "0", "--out", tmp_path / "run")
    assert rc == 2
    assert err.strip().splitlines()[-1] == (f"segstudio: error: no labeled pixels in {project.root}: every mask of "
                                            "the 2 training image(s) is unlabeled (255); paint some pixels with a "
                                            "class first")
    assert "Traceback" not in err


def test_read_only_destination_is_one_line(ckpt, tmp_path, capsys, monkeypatch):
    import tempfile

    images = _images(tmp_path / "imgs", ("a.png",))

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # Tests run as root, where chmod does not stop writes: make every new file in the destination fail instead.
    monkeypatch.setattr(tempfile, "mkstemp", denied)
    rc, _, err = run_cli(capsys, "predict", ckpt, images, "--out", tmp_path / "ro", "--device", "cpu")
    assert rc == 2 and err.strip().splitlines()[-1] == (
        f"segstudio: error: cannot save {tmp_path / 'ro' / 'a.png'}: Permission denied")
    rc, _, err = run_cli(capsys, "export-model", ckpt, "-o", tmp_path / "m.pt", "--no-verify")
    assert rc == 2 and one_error_line(err) == f"segstudio: error: cannot save {tmp_path / 'm.pt'}: Permission denied"


def test_import_that_ends_in_exit_2_leaves_the_project_as_it_was(project, tmp_path, capsys):
    src = tmp_path / "lm"
    src.mkdir()
    for i in range(253):  # each file brings a new label, and none can be imported (its image is missing)
        doc = {"shapes": [{"label": f"label{i}", "points": [[1, 1], [5, 1], [5, 5]]}], "imagePath": f"gone{i}.png"}
        (src / f"f{i}.json").write_text(json.dumps(doc))
    doc = {"shapes": [{"label": "late", "points": [[1, 1], [5, 1], [5, 5]]}], "imagePath": "a.png"}
    Image.new("RGB", (64, 48)).save(src / "a.png")
    project.add_images([src / "a.png"])  # a different image of that name is already in the project
    Image.new("RGB", (64, 48), (1, 2, 3)).save(src / "a.png")
    (src / "z.json").write_text(json.dumps(doc))
    before = tree_digest(project.root)
    rc, _, err = run_cli(capsys, "import", "labelme", src, project.root)
    assert rc == 2
    assert err.strip().splitlines()[-1] == f"segstudio: error: nothing could be imported from {src}"
    assert tree_digest(project.root) == before  # not one of the 254 labels became a class


def test_import_into_a_new_folder_that_imports_nothing_leaves_no_folder(tmp_path, capsys):
    src = tmp_path / "lm"
    src.mkdir()
    (src / "a.json").write_text(json.dumps({"shapes": [], "imagePath": "missing.png"}))
    rc, _, _ = run_cli(capsys, "import", "labelme", src, tmp_path / "new")
    assert rc == 2 and not (tmp_path / "new").exists()


def test_import_never_reads_what_it_writes(project, tmp_path, capsys):
    before = tree_digest(project.root)
    rc, _, err = run_cli(capsys, "import", "masks", project.root, project.root, "--overwrite", "--mask-map", "0:0,255:1")
    assert rc == 2
    assert one_error_line(err) == (f"segstudio: error: refusing to write into {project.root}: the command reads its "
                                   f"input from {project.root}; import into a project folder outside it")
    rc, _, err = run_cli(capsys, "import", "labelme", tmp_path, tmp_path / "new")  # the source holds the project
    assert rc == 2 and "refusing to write into" in one_error_line(err) and not (tmp_path / "new").exists()
    assert tree_digest(project.root) == before


def test_export_never_writes_into_the_images_it_exports(project, capsys):
    before = tree_digest(project.root)
    dest = project.images_dir / "coco"
    rc, _, err = run_cli(capsys, "export", "coco", project.root, dest)
    assert rc == 2
    assert one_error_line(err) == (f"segstudio: error: refusing to write into {dest}: the command reads its input "
                                   f"from {project.images_dir}; export to a folder outside the project's images")
    rc, _, err = run_cli(capsys, "export", "voc", project.root, project.masks_dir)
    assert rc == 2 and "it is the masks/ folder of" in one_error_line(err)
    assert tree_digest(project.root) == before
