"""Starting from knowledge in the window: the "Start from" choice, the download button (against a local server
on 127.0.0.1, never the internet), the runs list showing where a run started, the weights folder setting."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from weights_server import LocalServer, Served, entry_for, make_weights, no_proxies

from segstudio.engine import weights as W
from test_training_panel import TINY as PANEL_TINY, tiny_panel
from segstudio.gui.training.start_from import FILE, PRETRAINED, RUN, SCRATCH



@pytest.fixture
def local_weights(tmp_path, monkeypatch):
    """Test weights for lraspp_mobilenet_v3 served on 127.0.0.1; an empty weights folder."""
    no_proxies(monkeypatch)
    data, name = make_weights(size=3_000_000)
    server = LocalServer().start()
    entry = entry_for(data, name, models=("lraspp_mobilenet_v3",))
    entry = W.WeightsEntry(entry.name, entry.file_name, f"{server.url}/weights/{name}", entry.sha256,
                           entry.size_bytes, entry.models, entry.description)
    server.files[f"/weights/{name}"] = Served(data)
    monkeypatch.setattr(W, "_official_registry", lambda: (entry,))
    folder = tmp_path / "weights"
    monkeypatch.setenv(W.WEIGHTS_DIR_ENV, str(folder))
    yield server, entry, folder, data
    server.stop()


def _picker(window, qtbot, model: str):
    form = window.training_panel.form
    form.model_combo.setCurrentText(model)
    picker = form.start_from
    picker.look_up_weights()
    qtbot.waitUntil(lambda: picker.weights is not None, timeout=30000)
    return form, picker


def test_download_button_says_what_and_how_big_and_fetches_only_on_click(local_weights, main_window, qtbot):
    server, entry, folder, data = local_weights
    form, picker = _picker(main_window, qtbot, "lraspp_mobilenet_v3")
    assert picker.choice()[0] == PRETRAINED and "not downloaded" in picker.combo.currentText()
    assert picker.download_button.isVisibleTo(picker)
    assert picker.download_button.text() == "Download ImageNet weights (3 MB)"
    assert server.requests == []  # nothing is fetched before the click
    with qtbot.waitSignal(picker.downloaded, timeout=30000) as done:
        QTest.mouseClick(picker.download_button, Qt.MouseButton.LeftButton)
        assert picker.progress.isVisibleTo(picker)
    path = done.args[0]
    assert path == folder / entry.file_name and path.read_bytes() == data
    assert server.requests == [f"/weights/{entry.file_name}"]
    qtbot.waitUntil(lambda: picker.weights["lraspp_mobilenet_v3"].present, timeout=30000)
    assert not picker.download_button.isVisibleTo(picker) and "not downloaded" not in picker.combo.currentText()
    assert form.config()["pretrained"] is True and form.config()["init"] is None


def test_a_failed_download_says_why_and_leaves_nothing(local_weights, main_window, qtbot):
    server, entry, folder, _data = local_weights
    server.files[f"/weights/{entry.file_name}"].mode = "truncate"
    _form, picker = _picker(main_window, qtbot, "lraspp_mobilenet_v3")
    with qtbot.waitSignal(picker.downloadFailed, timeout=30000) as failed:
        QTest.mouseClick(picker.download_button, Qt.MouseButton.LeftButton)
    assert "interrupted" in failed.args[0] or "nothing was saved" in failed.args[0]
    assert picker.note.text() == failed.args[0] and picker.download_button.isVisibleTo(picker)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_models_without_pretrained_weights_start_from_scratch(local_weights, main_window, qtbot):
    form, picker = _picker(main_window, qtbot, "unet")
    assert picker.choice()[0] == SCRATCH and form.config()["pretrained"] is False
    assert [picker.combo.itemData(i)[0] for i in range(picker.combo.count())] == [SCRATCH, FILE]


def test_starting_from_a_run_of_the_project_records_it(main_window, qtbot):
    panel = tiny_panel(main_window, epochs=1, steps_per_epoch=2)
    form = panel.form
    with qtbot.waitSignal(panel.trainingFinished, timeout=60000):
        QTest.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    first = panel.runs_list.runs[0]
    assert form.start_from.choose(RUN, first.preferred_checkpoint)
    config = form.config()
    assert config["init"] == str(first.preferred_checkpoint) and "model" not in config
    assert not form.model_combo.isEnabled()  # the checkpoint's own model is trained
    form.extra_config = {k: v for k, v in PANEL_TINY.items() if k != "model_args"}
    with qtbot.waitSignal(panel.trainingFinished, timeout=60000) as done:
        QTest.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert done.args == ["completed"], panel.error_box.message
    second = panel.runs_list.runs[0]
    assert second.name != first.name and second.init_from == str(first.preferred_checkpoint)
    assert second.init_sha256 and len(second.init_sha256) == 64
    item = panel.runs_list.tree.topLevelItem(0)
    assert item.text(5) == first.preferred_checkpoint.name


def test_the_weights_folder_is_a_setting_shown_in_about(main_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.delenv(W.WEIGHTS_DIR_ENV, raising=False)
    chosen = tmp_path / "institute-weights"
    chosen.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(chosen)))
    main_window.actions_by_name["weights_folder"].trigger()
    assert W.weights_dir() == chosen
    main_window.actions_by_name["about"].trigger()
    qtbot.waitUntil(lambda: main_window.about_dialog.isVisible(), timeout=2000)
    assert f"Weights folder: {chosen}" in main_window.about_dialog.text()
    main_window.about_dialog.close()
    monkeypatch.delenv(W.WEIGHTS_DIR_ENV, raising=False)
    from segstudio.gui import settings as app_settings

    app_settings.apply_weights_folder()  # the next start uses it too
    assert W.weights_dir() == chosen
    monkeypatch.delenv(W.WEIGHTS_DIR_ENV, raising=False)
