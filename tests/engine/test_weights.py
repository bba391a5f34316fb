"""The weights registry (from torchvision's weights API), the weights folder, and training's use of present files."""

from __future__ import annotations

import hashlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from segstudio.core.errors import SegstudioError
from segstudio.core.paths import user_data_dir
from segstudio.engine import weights as W
from segstudio.engine.models import available_models, backbone_weights_name, create_model, pretrained_used

ROOT = Path(__file__).resolve().parents[2]
BUILDERS = {"lraspp_mobilenet_v3": "lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3": "deeplabv3_mobilenet_v3_large",
            "deeplabv3_resnet50": "deeplabv3_resnet50", "fcn_resnet50": "fcn_resnet50"}


def test_registry_is_torchvisions_official_backbone_of_each_model():
    from torchvision.models import segmentation as seg

    rows = {r.model: r for r in W.model_weights()}
    assert set(rows) == set(available_models())
    assert rows["unet"].entry is None and rows["segnet"].entry is None
    for model, builder in BUILDERS.items():
        official = inspect.signature(getattr(seg, builder)).parameters["weights_backbone"].default
        entry = rows[model].entry
        assert entry is not None and entry.name == f"{type(official).__name__}.{official.name}"
        assert backbone_weights_name(model) == entry.name
        assert entry.url == official.url and entry.url.endswith("/" + entry.file_name)
        assert entry.file_name.startswith(entry.sha256, len(entry.file_name) - len(entry.sha256) - 4)
        assert len(entry.sha256) == 8 and model in entry.models
        assert abs(entry.size_bytes - official.meta["_file_size"] * 2**20) < 2**20 / 1000
    resnet = rows["fcn_resnet50"].entry
    assert resnet.file_name == "resnet50-0676ba61.pth" and resnet.models == ("deeplabv3_resnet50", "fcn_resnet50")
    assert rows["lraspp_mobilenet_v3"].entry.file_name == "mobilenet_v3_large-8738ca79.pth"


def test_find_entry_by_weights_name_file_name_or_model():
    e = W.find_entry("deeplabv3_resnet50")
    assert W.find_entry("resnet50_weights.imagenet1k_v1") == e == W.find_entry("resnet50-0676ba61.pth")
    with pytest.raises(SegstudioError, match="model 'unet' has no pretrained weights"):
        W.find_entry("unet")
    with pytest.raises(SegstudioError, match=r"unknown weights 'vgg'; valid: .*ResNet50_Weights.IMAGENET1K_V1"):
        W.find_entry("vgg")


def test_weights_folder_defaults_under_user_data_and_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(W.WEIGHTS_DIR_ENV, raising=False)
    assert W.weights_dir() == W.default_weights_dir() == user_data_dir() / "weights"
    monkeypatch.setenv(W.WEIGHTS_DIR_ENV, str(tmp_path / "w"))
    assert W.weights_dir() == tmp_path / "w"
    W.set_weights_dir(tmp_path / "other")
    assert W.weights_dir() == tmp_path / "other"
    W.set_weights_dir(None)
    assert W.weights_dir() == W.default_weights_dir()


def test_verified_file_checks_the_checksum(monkeypatch, tmp_path):
    data = b"weights" * 1000
    name = f"x-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    entry = W.WeightsEntry("X_Weights.V1", name, "http://127.0.0.1:9/" + name, name[2:10], len(data), ("unet",))
    assert W.verified_file(entry, tmp_path) is None
    (tmp_path / name).write_bytes(data)
    assert W.verified_file(entry, tmp_path) == tmp_path / name
    (tmp_path / name).write_bytes(data[::-1])
    with pytest.raises(SegstudioError, match=rf"pretrained weights {tmp_path / name} are damaged or not X_Weights.V1"):
        W.verified_file(entry, tmp_path)


def _mobilenet_entry_for(tmp_path: Path, monkeypatch) -> tuple[torch.nn.Module, Path]:
    """Real MobileNetV3 weights (random init) saved like torchvision's file, registered under the official name."""
    from torchvision.models import mobilenet_v3_large

    reference = mobilenet_v3_large()
    buf = tmp_path / "ref.pth"
    torch.save(reference.state_dict(), buf)
    data = buf.read_bytes()
    official = W.find_entry("lraspp_mobilenet_v3")
    entry = W.WeightsEntry(official.name, official.file_name, official.url, hashlib.sha256(data).hexdigest(),
                           len(data), official.models)
    monkeypatch.setattr(W, "_official_registry", lambda: (entry,))
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / entry.file_name).write_bytes(data)
    monkeypatch.setenv(W.WEIGHTS_DIR_ENV, str(folder))
    return reference, folder / entry.file_name


def test_models_use_present_weights_from_the_weights_folder_only(monkeypatch, tmp_path):
    reference, path = _mobilenet_entry_for(tmp_path, monkeypatch)
    model = create_model("lraspp_mobilenet_v3", 2)
    assert pretrained_used(model) == path.name
    assert torch.equal(model.inner.backbone["0"][0].weight, reference.features[0][0].weight)
    assert pretrained_used(create_model("lraspp_mobilenet_v3", 2, pretrained=False)) is None
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # a copy in torch's hub cache is not used
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    path.rename(hub / path.name)
    assert pretrained_used(create_model("lraspp_mobilenet_v3", 2)) is None


def test_a_damaged_file_in_the_weights_folder_stops_training_with_one_line(monkeypatch, tmp_path, tiny_project,
                                                                            tiny_config):
    from segstudio.engine.trainer import Trainer

    _, path = _mobilenet_entry_for(tmp_path, monkeypatch)
    path.write_bytes(b"truncated")
    end = Trainer(tiny_project, tiny_config(model="lraspp_mobilenet_v3", model_args={}, epochs=1, steps_per_epoch=1,
                                            crop=64, out=tmp_path / "run")).run()
    assert end.status == "failed" and end.user_error
    assert str(path) in end.message and "--no-pretrained" in end.message and "\n" not in end.message


def test_training_records_the_pretrained_weights_it_used(monkeypatch, tmp_path, tiny_project, tiny_config, recorder):
    from segstudio.engine.checkpoint import load_checkpoint
    from segstudio.engine.trainer import Trainer

    _, path = _mobilenet_entry_for(tmp_path, monkeypatch)
    cfg = tiny_config(model="lraspp_mobilenet_v3", model_args={}, epochs=1, steps_per_epoch=1, crop=64)
    end = Trainer(tiny_project, cfg, [recorder]).run()
    assert end.status == "completed", end.message
    assert recorder.of("on_train_start")[0].pretrained == path.name
    assert json.loads((end.run_dir / "config.json").read_text())["pretrained"] == path.name
    assert load_checkpoint(end.run_dir / "last.pt")["pretrained"] == path.name
    end = Trainer(tiny_project, tiny_config(model="lraspp_mobilenet_v3", model_args={}, epochs=1, steps_per_epoch=1,
                                            crop=64, pretrained=False)).run()
    assert json.loads((end.run_dir / "config.json").read_text())["pretrained"] is None  # --no-pretrained


def test_weights_modules_and_the_cli_parser_load_no_torch():
    code = ("import sys, segstudio.engine.weights, segstudio.engine.weights_store, segstudio.commands.weights, "
            "segstudio.cli; segstudio.cli.build_parser(); segstudio.engine.weights.weights_dir(); "
            "print(sorted(m for m in ('torch', 'torchvision') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
