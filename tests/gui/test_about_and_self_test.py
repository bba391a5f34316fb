"""Help > About shows versions, the GPU and the log file; ``segstudio --self-test`` trains and predicts."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QApplication, QLabel, QPushButton

from segstudio import __version__
from segstudio.gui.about_dialog import NOT_LOADED, AboutDialog, TorchInfo, about_text
from segstudio.logging_setup import log_file_path


def _help_action(main_window, text: str):
    actions = [a for a in main_window.menu("Help").actions() if a.text().replace("&", "") == text]
    assert len(actions) == 1, [a.text() for a in main_window.menu("Help").actions()]
    return actions[0]


def _open_about(main_window, qtbot) -> AboutDialog:
    _help_action(main_window, "About segstudio").trigger()
    qtbot.waitUntil(lambda: isinstance(getattr(main_window, "about_dialog", None), AboutDialog)
                    and main_window.about_dialog.isVisible())
    return main_window.about_dialog


def test_about_dialog_shows_versions_and_log_file(main_window, qtbot):
    dialog = _open_about(main_window, qtbot)
    shown = dialog.findChild(QLabel, "about_details").text()  # the rich text on screen
    for needle in (__version__, qVersion(), pyside_version, str(log_file_path()), "GPU in use", "CUDA"):
        assert needle in shown or needle.replace("&", "&amp;") in shown, needle
    text = dialog.text()
    assert f"segstudio: {__version__}" in text and f"Qt: {qVersion()}" in text
    assert f"Log file: {log_file_path()}" in text
    if "torch" in sys.modules:  # the engine was loaded earlier in this process: real versions
        import torch

        assert f"torch: {torch.__version__}" in text
    else:
        assert f"torch: {NOT_LOADED}" in text
    dialog.close()


def test_about_dialog_loads_torch_on_request_in_background(main_window, qtbot, monkeypatch):
    import segstudio.gui.about_dialog as about

    calls: list[bool] = []
    real = about.torch_info

    def fake_torch_info(load: bool = False) -> TorchInfo:
        calls.append(load)
        if not load:
            return TorchInfo(NOT_LOADED, "not loaded", "not loaded", "not loaded")
        return real(load=True)

    monkeypatch.setattr(about, "torch_info", fake_torch_info)
    dialog = _open_about(main_window, qtbot)
    button = dialog.findChild(QPushButton, "about_load_torch")
    assert button.isVisible() and NOT_LOADED in dialog.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    import torch

    qtbot.waitUntil(lambda: f"torch: {torch.__version__}" in dialog.text(), timeout=60000)
    assert calls[-1] is True
    gpu = re.search(r"GPU in use: (.*)", dialog.text()).group(1)
    assert ("cuda:" in gpu) == torch.cuda.is_available()
    assert not button.isVisible()
    dialog.close()


def test_about_text_copy_button_puts_details_on_clipboard(main_window, qtbot):
    dialog = _open_about(main_window, qtbot)
    copy = [b for b in dialog.findChildren(QPushButton) if b.text() == "Copy"][0]
    qtbot.mouseClick(copy, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == dialog.text() == about_text(dialog._info)
    dialog.close()


def test_app_icon_and_open_log_folder_action(main_window):
    assert not QApplication.instance().windowIcon().isNull()
    assert {s.width() for s in QApplication.instance().windowIcon().availableSizes()} >= {16, 32, 256}
    assert _help_action(main_window, "Open Log Folder") is not None


def test_self_test_command_trains_predicts_and_exits_zero(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SEGSTUDIO_DATA_DIR=str(tmp_path / "data"),
               SEGSTUDIO_LOG_DIR=str(tmp_path / "logs"), OMP_NUM_THREADS="2",
               XDG_CONFIG_HOME=str(tmp_path / "config"))  # QSettings of this run stay in tmp_path
    proc = subprocess.run([sys.executable, "-m", "segstudio", "--self-test"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("self-test ")]
    assert len(lines) == 1, proc.stdout
    match = re.fullmatch(r"self-test ok: window shown, trained 1 epoch \(loss (\d+\.\d+) -> (\d+\.\d+)\) in "
                         r"\d+\.\d s, predicted 256x256 mask, torch \S+, device (cpu|cuda:\d+)", lines[0])
    assert match, lines[0]
    assert (tmp_path / "data" / "demo-project" / "segstudio.json").is_file()
    log = (tmp_path / "logs" / "segstudio.log").read_text(encoding="utf-8")
    assert "self-test ok:" in log


def test_self_test_failure_prints_one_line_and_returns_1(main_window, qtbot, capsys, monkeypatch):
    import segstudio.gui.self_test as self_test

    def broken_engine(project_root, image_path, run_dir, result, trainer_box):
        result.error = "RuntimeError: CUDA driver too old"

    monkeypatch.setattr(self_test, "_engine_work", broken_engine)
    status = self_test.run_self_test(main_window)
    assert status == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "self-test FAILED: RuntimeError: CUDA driver too old"
    assert not main_window.isVisible()  # closed so background threads stop before exit
