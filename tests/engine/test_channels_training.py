"""Training on every channel at native depth: signal only in channel 4, sub-8-bit class differences, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from segstudio.core.channels import ChannelSpec, set_project_channels
from segstudio.core.image_io import load_image
from segstudio.core.project import Project
from segstudio.engine.checkpoint import build_model_from_checkpoint, checkpoint_channels, load_checkpoint
from segstudio.engine.config import TrainConfig
from segstudio.engine.predictor import Predictor
from segstudio.engine.trainer import Trainer

SIZE = 64


def _disks(rng: np.random.Generator, n: int, taken: np.ndarray | None = None) -> np.ndarray:
    """A boolean mask of n random disks (radius 6-9) that avoid ``taken``."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    out = np.zeros((SIZE, SIZE), bool)
    for _ in range(200):
        if n == 0:
            break
        r = rng.integers(6, 10)
        cy, cx = rng.integers(r, SIZE - r, size=2)
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        grown = (yy - cy) ** 2 + (xx - cx) ** 2 <= (r + 2) ** 2
        if taken is not None and (grown & taken).any():
            continue
        out |= disk
        n -= 1
    return out


def four_channel_image(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(4, H, W) uint16 whose objects are visible only in channel 4; channels 1-3 hold decoy disks."""
    rng = np.random.default_rng(seed)
    objects = _disks(rng, 3)
    img = rng.normal(600, 60, (4, SIZE, SIZE))
    img[3][objects] += 2500
    for c in range(3):
        img[c][_disks(rng, 3, objects)] += 2500
    return np.clip(img, 0, 65535).astype(np.uint16), objects.astype(np.uint8)


def subtle_16bit_image(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) uint16: background 30000, objects 30100 (< 1/256 of the 0..65535 range), dark and bright bars."""
    rng = np.random.default_rng(seed)
    objects = _disks(rng, 3)
    img = np.full((SIZE, SIZE), 30000.0) + rng.uniform(-20, 20, (SIZE, SIZE))
    img[objects] += 100
    img[:, :4] = 0  # the data spans the whole 16-bit range
    img[:, -4:] = 65535
    mask = objects.astype(np.uint8)
    return np.clip(np.rint(img), 0, 65535).astype(np.uint16), mask


def build(root: Path, make, n: int = 6, keep: slice = slice(None)) -> tuple[Project, Path, np.ndarray]:
    """A project of n labeled TIFFs (channels ``keep`` of each) and one held-out image outside it."""
    project = Project.create(root, ["background", "object"])
    for i in range(n):
        img, mask = make(i)
        tifffile.imwrite(project.images_dir / f"img{i}.tif", img[keep] if img.ndim == 3 else img,
                         photometric="minisblack")
        project.write_mask(f"img{i}.tif", mask)
    img, mask = make(100)
    held = root.parent / f"{root.name}_heldout.tif"
    tifffile.imwrite(held, img[keep] if img.ndim == 3 else img, photometric="minisblack")
    return project, held, mask


def train(project: Project, out: Path, epochs: int = 8, callbacks=(), **kw) -> Path:
    base = dict(model="unet", model_args={"width": 8, "depth": 2}, crop=SIZE, batch_size=4, epochs=epochs,
                steps_per_epoch=10, lr=1e-2, optimizer="adam", device="cpu", val_fraction=0.0, seed=0,
                preview_every_epoch=False, out=out)
    base.update(kw)
    end = Trainer(project, TrainConfig(**base), callbacks).run()
    assert end.status == "completed", end.message
    return out / "last.pt"


def iou(pred: np.ndarray, mask: np.ndarray) -> float:
    inter = np.logical_and(pred == 1, mask == 1).sum()
    union = np.logical_or(pred == 1, mask == 1).sum()
    return float(inter / max(1, union))


def test_signal_only_in_channel_4_is_learned_the_rgb_view_cannot(tmp_path):
    project, held, truth = build(tmp_path / "four", four_channel_image)
    ckpt = train(project, tmp_path / "run4")
    predictor = Predictor.from_checkpoint(ckpt, device="cpu")
    assert predictor.channels.count == 4 and predictor.channels.dtype == "uint16"
    native = iou(predictor.predict_image(load_image(held)).mask, truth)

    rgb_project, rgb_held, _ = build(tmp_path / "three", four_channel_image, keep=slice(0, 3))
    rgb_ckpt = train(rgb_project, tmp_path / "run3")
    rgb_predictor = Predictor.from_checkpoint(rgb_ckpt, device="cpu")
    assert rgb_predictor.channels.is_rgb  # what segstudio did with these files before
    rgb = iou(rgb_predictor.predict_image(load_image(rgb_held)).mask, truth)
    assert native >= 0.9, native
    assert rgb < 0.5, rgb


def test_16bit_classes_closer_than_one_8bit_level_are_learned(tmp_path):
    project, held, truth = build(tmp_path / "deep", subtle_16bit_image)
    rgb_ckpt = train(project, tmp_path / "run8")  # segstudio.json without channels: the 8-bit RGB view
    rgb = iou(Predictor.from_checkpoint(rgb_ckpt, device="cpu").predict_image(load_image(held)).mask, truth)
    view = load_image(held).rgb[:, 4:-4, 0]
    assert len(np.unique(view)) == 1  # after 8-bit quantisation, objects and background are one level

    spec = ChannelSpec.native(1, "uint16", ["signal"]).with_channel(0, normalization="range", low=29800.0, high=30300.0)
    set_project_channels(project, spec)
    ckpt = train(project, tmp_path / "run16")
    predictor = Predictor.from_checkpoint(ckpt, device="cpu")
    assert predictor.channels == spec
    native = iou(predictor.predict_image(load_image(held)).mask, truth)
    assert native >= 0.9, native
    assert rgb < 0.5, rgb


def test_checkpoint_records_the_channel_description_and_previews_use_every_channel(tmp_path, recorder):
    project, _, _ = build(tmp_path / "p", four_channel_image, n=3)
    ckpt_path = train(project, tmp_path / "run", epochs=1, callbacks=[recorder], preview_every_epoch=True,
                      val_fraction=0.34, steps_per_epoch=2)
    preview = recorder.of("on_preview")[0]
    assert preview.mask.shape == (SIZE, SIZE)
    assert recorder.of("on_epoch_end")[0].miou is not None  # validation ran on native samples
    ckpt = load_checkpoint(ckpt_path)
    spec = checkpoint_channels(ckpt)
    assert ckpt["channels"]["count"] == 4 and spec.names == ["C1", "C2", "C3", "C4"]
    assert ckpt["normalization"] == {"mean": [0.5] * 4, "std": [0.25] * 4}
    model = build_model_from_checkpoint(ckpt)
    assert model.down[0][0][0].in_channels == 4


def test_mismatched_channel_count_refused_in_training_naming_the_file(tmp_path):
    project, _, _ = build(tmp_path / "p", four_channel_image, n=3)
    img, mask = four_channel_image(7)
    tifffile.imwrite(project.images_dir / "zz_three.tif", img[:3], photometric="minisblack")
    project.write_mask("zz_three.tif", mask)
    cfg = TrainConfig(model="unet", model_args={"width": 4, "depth": 2}, crop=32, batch_size=2, epochs=1,
                      steps_per_epoch=1, device="cpu", val_fraction=0.0, out=tmp_path / "run")
    end = Trainer(project, cfg).run()
    assert end.status == "failed" and end.user_error
    assert "zz_three.tif" in end.message and "3 channels" in end.message and "4 channels" in end.message
    assert "\n" not in end.message


def test_predictor_refuses_other_channels_naming_the_file(tmp_path):
    project, _, _ = build(tmp_path / "p", four_channel_image, n=2)
    predictor = Predictor.from_checkpoint(train(project, tmp_path / "run", epochs=1), device="cpu")
    img, _ = four_channel_image(3)
    tifffile.imwrite(tmp_path / "two.tif", img[:2], photometric="minisblack")
    from segstudio.core.errors import ChannelMismatchError

    with pytest.raises(ChannelMismatchError) as err:
        predictor.predict_image(load_image(tmp_path / "two.tif"))
    assert "two.tif" in str(err.value) and "the model expects 4 channels" in str(err.value)


def test_tiled_prediction_equals_whole_image_for_native_channels(tmp_path):
    project, held, _ = build(tmp_path / "p", four_channel_image, n=2)
    ckpt = train(project, tmp_path / "run", epochs=1)
    data = load_image(held).data
    big = np.tile(data, (2, 3, 1))  # 128 x 192: tiled with tile 64 below
    whole = Predictor.from_checkpoint(ckpt, device="cpu")
    whole.tile = None
    tiled = Predictor.from_checkpoint(ckpt, device="cpu")
    tiled.tile = 64
    a, b = whole.predict(big), tiled.predict(big)
    assert a.mask.shape == big.shape[:2] and (a.mask == b.mask).mean() > 0.97
