"""``segstudio weights list | download | import`` and ``train --init`` through ``segstudio.cli.main`` (exit codes,
messages, bytes on disk). Weights come from a local HTTP server on 127.0.0.1 or a folder, never the internet."""

from __future__ import annotations

import io
import json

import pytest
from weights_server import Served, entry_for, free_port, make_weights

from segstudio.cli import main
from segstudio.commands.weights import ConsoleBar
from segstudio.engine import weights as W


@pytest.fixture
def registered(tmp_path, monkeypatch):
    """A test weights file registered for the two ResNet-50 models; an empty weights folder."""
    data, name = make_weights()
    entry = entry_for(data, name, models=("deeplabv3_resnet50", "fcn_resnet50"))
    monkeypatch.setattr(W, "_official_registry", lambda: (entry,))
    folder = tmp_path / "weights"
    monkeypatch.setenv(W.WEIGHTS_DIR_ENV, str(folder))
    return data, entry, folder


def _one_line(err: str) -> str:
    """The one error line (progress lines may come before it), with no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line]
    assert errors == lines[-1:] and "Traceback" not in err, err
    return lines[-1]


def test_list_shows_each_model_its_weights_size_and_presence(registered, capsys):
    data, entry, folder = registered
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()}
    assert "no pretrained weights" in rows["unet"] and "no pretrained weights" in rows["segnet"]
    assert entry.name in rows["fcn_resnet50"] and "missing" in rows["fcn_resnet50"]
    assert str(folder / entry.file_name) in rows["deeplabv3_resnet50"] and "2.4 MB" in rows["deeplabv3_resnet50"]
    assert f"weights folder: {folder} (from {W.WEIGHTS_DIR_ENV})" in out
    folder.mkdir()
    (folder / entry.file_name).write_bytes(data)
    assert main(["weights", "list", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["weights_dir"] == str(folder)
    by_model = {m["model"]: m for m in got["models"]}
    assert by_model["fcn_resnet50"]["present"] is True and by_model["unet"]["weights"] is None
    assert by_model["fcn_resnet50"]["weights"]["sha256"] == entry.sha256


def test_download_from_a_mirror_url_and_a_folder(registered, server, tmp_path, capsys):
    data, entry, folder = registered
    server.files[f"/torch/models/{entry.file_name}"] = Served(data)
    assert main(["weights", "download", "fcn_resnet50", "--from", server.url + "/torch/models/"]) == 0
    captured = capsys.readouterr()
    assert (folder / entry.file_name).read_bytes() == data
    assert f"saved {folder / entry.file_name}" in captured.out
    assert "(100%)" in captured.err and "\r" not in captured.err  # plain progress lines when not a terminal
    assert main(["weights", "download", entry.name]) == 0  # present: nothing fetched (the official URL is never used)
    assert "already present" in capsys.readouterr().out and len(server.requests) == 1
    (folder / entry.file_name).unlink()
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / entry.file_name).write_bytes(data)
    assert main(["weights", "download", entry.file_name, "--from", str(usb)]) == 0
    assert (folder / entry.file_name).read_bytes() == data


def test_download_failures_exit_2_with_one_line_and_leave_nothing(registered, server, monkeypatch, capsys):
    data, entry, folder = registered
    server.files[f"/m/{entry.file_name}"] = Served(data[:-10] + b"0123456789")
    assert main(["weights", "download", "fcn_resnet50", "--from", server.url + "/m"]) == 2
    assert "does not match the published checksum" in _one_line(capsys.readouterr().err)
    url = f"http://127.0.0.1:{free_port()}/mirror"
    assert main(["weights", "download", "fcn_resnet50", "--from", url, "--timeout", "5"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"segstudio: error: cannot reach {url}/{entry.file_name}")
    assert main(["weights", "download", "unet"]) == 2
    assert "has no pretrained weights" in _one_line(capsys.readouterr().err)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_import_accepts_the_right_file_and_refuses_others(registered, tmp_path, capsys):
    data, entry, folder = registered
    good = tmp_path / "from-a-usb-stick" / entry.file_name
    good.parent.mkdir()
    good.write_bytes(data)
    assert main(["weights", "import", str(good)]) == 0
    assert (folder / entry.file_name).read_bytes() == data
    assert "deeplabv3_resnet50, fcn_resnet50" in capsys.readouterr().out
    wrong = tmp_path / "other.pth"
    wrong.write_bytes(b"something else")
    assert main(["weights", "import", str(wrong)]) == 2
    assert _one_line(capsys.readouterr().err).startswith(f"segstudio: error: refusing {wrong}: not a known weights file")
    assert sorted(p.name for p in folder.iterdir()) == [entry.file_name]


def test_console_bar_on_a_terminal():
    stream = io.StringIO()
    bar = ConsoleBar(stream, tty=True)
    bar(2**20, 4 * 2**20)
    bar(4 * 2**20, 4 * 2**20)
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\r[") and "4.0 MB / 4.0 MB" in text and text.endswith("\n")


# ---------------------------------------------------------------------------------- train --init
TINY = ["--crop", "32", "--batch-size", "2", "--epochs", "1", "--steps-per-epoch", "2", "--device", "cpu"]


@pytest.fixture
def first_run(tmp_path, capsys):
    from segstudio.core.demo import generate_demo_project

    project = generate_demo_project(tmp_path / "first", n_images=5, labeled=4, size=(48, 64))
    assert main(["train", str(project.root), *TINY, "--model", "segnet", "--model-args", '{"width": 4, "depth": 2}',
                 "--out", str(tmp_path / "run1")]) == 0
    capsys.readouterr()
    return tmp_path / "run1" / "best.pt"


def test_train_init_takes_the_checkpoints_model_and_records_it(first_run, tmp_path, capsys):
    from segstudio.core.demo import generate_demo_project

    second = generate_demo_project(tmp_path / "second", n_images=5, labeled=4, size=(48, 64), seed=5)
    assert main(["train", str(second.root), *TINY, "--init", str(first_run), "--out", str(tmp_path / "run2")]) == 0
    err = capsys.readouterr().err
    assert f"training segnet on cpu (fp32, starting from {first_run.resolve()})" in err
    cfg = json.loads((tmp_path / "run2" / "config.json").read_text())
    assert cfg["config"]["model"] == "segnet" and cfg["config"]["init"] == str(first_run)
    assert cfg["init_source"]["path"] == str(first_run.resolve()) and len(cfg["init_source"]["sha256"]) == 64


def test_train_init_refusals_exit_2_with_one_line(first_run, tmp_path, capsys):
    root = str(first_run.parents[1] / "first")
    assert main(["train", root, *TINY, "--init", str(first_run), "--model", "unet", "--out", str(tmp_path / "x")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == (f"segstudio: error: cannot start from {first_run.resolve()}: it holds a segnet model and this run "
                    "trains unet (use --model segnet, or leave --model out)")
    assert main(["train", root, *TINY, "--init", str(first_run), "--resume", str(first_run)]) == 2
    assert "--resume and --init exclude each other" in capsys.readouterr().err
    assert main(["train", root, *TINY, "--init", str(tmp_path / "nope.pt")]) == 2
    assert _one_line(capsys.readouterr().err) == f"segstudio: error: checkpoint {tmp_path / 'nope.pt'} does not exist"
    assert not (tmp_path / "x").exists()


def test_train_says_when_pretrained_weights_could_be_used_but_are_missing(registered, capsys):
    from segstudio.commands.train import _pretrained_hint
    from segstudio.engine.config import TrainConfig

    data, entry, folder = registered
    _pretrained_hint(TrainConfig(model="fcn_resnet50"))
    err = capsys.readouterr().err
    assert f"no pretrained weights for fcn_resnet50 in {folder}" in err and "weights download fcn_resnet50" in err
    for quiet in (TrainConfig(model="fcn_resnet50", pretrained=False), TrainConfig(model="unet")):
        _pretrained_hint(quiet)
    folder.mkdir()
    (folder / entry.file_name).write_bytes(data)
    _pretrained_hint(TrainConfig(model="fcn_resnet50"))
    assert capsys.readouterr().err == ""
