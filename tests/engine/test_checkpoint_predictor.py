"""Checkpoints load as data only (weights_only); bad files give clear errors; the predictor works at full size."""

from __future__ import annotations

import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

from segstudio.core.classes import default_classes
from segstudio.core.errors import SegstudioError
from segstudio.engine.checkpoint import build_model_from_checkpoint, load_checkpoint, save_checkpoint
from segstudio.engine.models import create_model
from segstudio.engine.predictor import Predictor


def _ckpt(model, num_classes=3):
    return {"format": "segstudio-checkpoint", "version": 1, "model": {"name": "unet", "args": {"width": 4, "depth": 2}},
            "num_classes": num_classes, "classes": [c.to_json() for c in default_classes(["a", "b", "c"][:num_classes])],
            "normalization": {"mean": [0.5] * 3, "std": [0.25] * 3}, "config": {"crop": 32},
            "state_dict": model.state_dict()}


def test_roundtrip_builds_the_same_model(tmp_path):
    model = create_model("unet", 3, width=4, depth=2).eval()
    path = save_checkpoint(tmp_path / "m.pt", _ckpt(model))
    rebuilt = build_model_from_checkpoint(load_checkpoint(path))
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model(x), rebuilt(x))
    assert not rebuilt.training


def test_truncated_and_foreign_files_are_refused(tmp_path):
    model = create_model("unet", 3, width=4, depth=2)
    good = save_checkpoint(tmp_path / "m.pt", _ckpt(model))
    truncated = tmp_path / "cut.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(SegstudioError, match="cut.pt"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(SegstudioError, match="not a segstudio checkpoint"):
        load_checkpoint(foreign)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(SegstudioError, match="notes.pt"):
        load_checkpoint(text)
    with pytest.raises(SegstudioError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


class _Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_checkpoint_with_pickled_code_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "segstudio-checkpoint", "payload": _Exploit(str(marker))}, evil)
    with zipfile.ZipFile(evil) as z:  # the file really holds an os.system reduce
        assert any(b"system" in z.read(n) for n in z.namelist() if n.endswith(".pkl"))
    with pytest.raises(SegstudioError, match="refusing checkpoint"):
        load_checkpoint(evil)
    assert not marker.exists()
    raw = tmp_path / "raw.pt"  # a plain pickle (legacy format) with the same payload
    raw.write_bytes(pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(SegstudioError):
        load_checkpoint(raw)
    assert not marker.exists()


def test_predictor_full_resolution_and_tiling(tmp_path):
    model = create_model("unet", 3, width=4, depth=2)
    path = save_checkpoint(tmp_path / "m.pt", _ckpt(model))
    pred = Predictor.from_checkpoint(path, device="cpu")
    assert [c.name for c in pred.classes] == ["a", "b", "c"] and pred.device.type == "cpu"
    rgb = np.random.default_rng(0).integers(0, 255, (300, 520, 3), dtype=np.uint8)  # larger than the 256 tile
    out = pred.predict(rgb)
    assert out.mask.shape == (300, 520) and out.mask.dtype == np.uint8 and out.mask.max() < 3
    assert out.confidence.shape == (300, 520) and 0.33 <= float(out.confidence.min()) <= 1.0
    assert 0.0 <= out.entropy <= np.log(3) + 1e-6
    whole = Predictor.from_model(build_model_from_checkpoint(load_checkpoint(path)), pred.classes,
                                 {"mean": [0.5] * 3, "std": [0.25] * 3}, "cpu", tile=None).predict(rgb)
    assert (whole.mask == out.mask).mean() > 0.5


class _LargestFloatTensor:
    """Records the largest floating-point tensor any torch operation produces (CPU, via a dispatch mode)."""

    def __init__(self) -> None:
        from torch.utils._python_dispatch import TorchDispatchMode

        record = self

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                for t in out if isinstance(out, (tuple, list)) else (out,):
                    if isinstance(t, torch.Tensor) and t.is_floating_point():
                        record.numel = max(record.numel, t.numel())
                return out

        self.numel = 0
        self.mode = Mode()


def test_predictor_streams_huge_images_without_the_full_probability_map():
    torch.manual_seed(0)
    model = create_model("unet", 3, width=4, depth=2)
    model.eval()
    norm = {"mean": [0.5] * 3, "std": [0.25] * 3}
    classes = default_classes(["a", "b", "c"])
    pred = Predictor.from_model(model, classes, norm, "cpu", tile=128, batch_size=3)
    assert pred.batch_size == 3 and Predictor.from_model(model, classes, norm, "cpu").batch_size >= 1
    rng = np.random.default_rng(1)
    rgb = np.kron(rng.integers(0, 255, (150, 130, 3), dtype=np.uint8), np.ones((10, 10, 1), np.uint8))  # 1500 x 1300
    watch = _LargestFloatTensor()
    with watch.mode:
        out = pred.predict(rgb)
    h, w = rgb.shape[:2]
    # no (C, H, W) map, no float copy of the image: at most two rows of tiles across the width
    assert 0 < watch.numel <= 3 * 2 * 128 * w < 3 * h * w // 2
    full = pred.predict_probs(rgb)  # the whole-map path, for reference
    assert tuple(full.shape) == (3, h, w)
    assert out.mask.shape == (h, w) and out.mask.dtype == np.uint8
    assert out.confidence.shape == (h, w) and out.confidence.dtype == np.float32
    conf, mask = full.max(0)
    assert np.array_equal(out.mask, mask.numpy().astype(np.uint8))
    assert np.allclose(out.confidence, conf.numpy(), atol=1e-5)
    entropy = float(-(full * full.clamp(min=1e-8).log()).sum(0).mean())
    assert out.entropy == pytest.approx(entropy, rel=1e-4)
    with pytest.raises(ValueError, match="tile batch size"):
        Predictor.from_model(model, classes, norm, "cpu", batch_size=0)
