"""The training settings form: model, epochs, batch size, learning rate, crop, loss, optimizer, device, precision.

Defaults train the demo project with one click. The device list (CPU + each CUDA GPU with name and
memory) needs torch, so it is filled lazily by a background thread (:class:`DeviceProbe`) the first
time the list is opened or a training starts; the GUI never imports torch at startup.
"""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QSpinBox, QWidget)

from segstudio.engine.config import LIVE_EPOCHS, TrainConfig, option_of  # plain dataclasses: no torch
from segstudio.gui.jobs import JobRunner
from segstudio.gui.settings import app_settings
from segstudio.gui.training.live import LIVE_PREVIEW_EVERY_S
from segstudio.gui.training.start_from import PopupCombo, StartFromPicker

DEFAULT_MODELS = ["unet", "segnet", "lraspp_mobilenet_v3", "deeplabv3_mobilenet_v3", "deeplabv3_resnet50",
                  "fcn_resnet50"]
LOSSES = [("ce", "cross-entropy"), ("dice", "Dice"), ("ce+dice", "cross-entropy + Dice")]
OPTIMIZERS = [("adamw", "AdamW"), ("adam", "Adam"), ("sgd", "SGD (momentum)")]
PRECISIONS = [("auto", "auto"), ("fp32", "fp32"), ("bf16", "bf16"),
              ("fp16", "fp16 (GPU)")]
SETTINGS_KEY = "training/last_settings"


def probe_devices(_job=None) -> tuple[list, list]:
    """([(spec, label)] devices, [model names]); imports torch (run it on the job runner)."""
    from segstudio.engine.device import available_devices
    from segstudio.engine.models import available_models

    return list(available_devices()), list(available_models())


class DeviceProbe(QObject):
    """Lists devices and models on the job runner; emits ``ready(devices, models)`` once."""

    ready = Signal(object, object)  # [(spec, label)], [model names]
    failed = Signal(str)

    def __init__(self, runner: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.started = False
        self.result: tuple[list, list] | None = None

    def start(self) -> None:
        """Probe once in the background; later calls re-emit the known result."""
        if self.started:
            if self.result is not None:
                self.ready.emit(*self.result)
            return
        self.started = True
        self.runner.submit("device-probe", probe_devices, lane="batch", on_done=self._on_done,
                           on_error=lambda exc, _tb: self.failed.emit(f"{type(exc).__name__}: {exc}"))

    def _on_done(self, result: tuple[list, list]) -> None:
        self.result = result
        self.ready.emit(*result)


class TrainSettingsForm(QWidget):
    """The form; :meth:`config` returns a dict for ``TrainConfig.from_json``."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        defaults = TrainConfig()  # the form starts from the engine's defaults (tuned for the demo on a CPU)
        self.model_combo = QComboBox()
        self.model_combo.addItems(DEFAULT_MODELS)
        self.model_combo.setCurrentText(defaults.model)
        self.model_combo.setToolTip("unet trains quickly from scratch; the torchvision models use pretrained "
                                    "backbones when their weights are in the torch cache")
        form.addRow("Model", self.model_combo)
        self.start_from = StartFromPicker(runner, self.model_combo.currentText)
        self.model_combo.currentTextChanged.connect(lambda _t: self.start_from.model_changed())
        self.start_from.changed.connect(self._on_start_changed)
        form.addRow("Start from", self.start_from)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 100000)
        self.epochs_spin.setValue(defaults.epochs)
        form.addRow("Epochs", self.epochs_spin)
        self.batch_spin = QSpinBox()
        _set_range(self.batch_spin, "batch_size")
        self.batch_spin.setValue(defaults.batch_size)
        self.batch_spin.setToolTip("Halved automatically when the GPU runs out of memory")
        form.addRow("Batch size", self.batch_spin)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(6)
        self.lr_spin.setRange(1e-6, 1.0)
        self.lr_spin.setSingleStep(1e-4)
        self.lr_spin.setValue(defaults.lr)
        form.addRow("Learning rate", self.lr_spin)
        self.crop_spin = QSpinBox()
        _set_range(self.crop_spin, "crop")
        self.crop_spin.setSingleStep(32)
        self.crop_spin.setValue(defaults.crop)
        self.crop_spin.setSuffix(" px")
        self.crop_spin.setToolTip("Random training crops of this size (images are padded when smaller)")
        form.addRow("Crop size", self.crop_spin)
        self.loss_combo = _data_combo(LOSSES, defaults.loss)
        form.addRow("Loss", self.loss_combo)
        self.optimizer_combo = _data_combo(OPTIMIZERS, defaults.optimizer)
        form.addRow("Optimizer", self.optimizer_combo)
        self.device_combo = PopupCombo()
        self.device_combo.addItem("auto", "auto")
        self.device_combo.addItem("CPU", "cpu")
        self.device_combo.setToolTip("auto = the first GPU if there is one, else the CPU. The GPUs of this machine appear here (with their memory) once detected")
        self.device_combo.aboutToShowPopup.connect(self.detect_devices)
        form.addRow("Device", self.device_combo)
        self.precision_combo = _data_combo(PRECISIONS, defaults.precision)
        form.addRow("Precision", self.precision_combo)
        # shown by the training panel next to Train/Stop (ticking it starts live training: see training/live.py);
        # not in this form, which is disabled while a training runs
        self.live_check = QCheckBox("Live training")
        self.live_check.toggled.connect(lambda on: self.epochs_spin.setEnabled(not on))
        self.multi_gpu_check = QCheckBox("Use all GPUs (torchrun)")
        self.gpus_spin = QSpinBox()
        self.gpus_spin.setRange(2, 2)
        self.multi_gpu_check.setToolTip("Data-parallel training in a separate process, one rank per GPU")
        self.multi_gpu_check.setVisible(False)
        self.gpus_spin.setVisible(False)
        self.multi_gpu_check.toggled.connect(self.gpus_spin.setEnabled)
        form.addRow(self.multi_gpu_check, self.gpus_spin)
        self.precision_combo.setToolTip("auto: bf16 (or fp16) on GPUs, fp32 on the CPU")
        for combo in (self.model_combo, self.loss_combo, self.optimizer_combo, self.device_combo,
                      self.precision_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        #: extra TrainConfig fields merged into :meth:`config` (e.g. model_args, steps_per_epoch; tests use it)
        self.extra_config: dict = {}
        self.cuda_devices: list[tuple[str, str]] = []
        self.probe = DeviceProbe(runner, self)
        self.probe.ready.connect(self.set_available)

    # ------------------------------------------------------------------ devices
    def detect_devices(self) -> None:
        """Start the background device probe (imports torch off the GUI thread)."""
        self.probe.start()

    def detect_if_engine_loaded(self) -> None:
        """Probe at once when torch is already imported (cheap then); otherwise wait for the user."""
        if "torch" in sys.modules:
            self.detect_devices()
            self.start_from.look_up_weights()

    def _on_start_changed(self) -> None:
        locked = self.start_from.model_locked
        self.model_combo.setEnabled(not locked)
        self.model_combo.setToolTip("The checkpoint's own model is trained further" if locked else
                                    "unet trains quickly from scratch; the torchvision models can start from "
                                    "ImageNet backbone weights (see Start from)")

    def set_available(self, devices: list[tuple[str, str]], models: list[str]) -> None:
        """Fill the device and model lists (keeps the current choices when still valid)."""
        current = self.device_combo.currentData()
        self.device_combo.clear()
        self.device_combo.addItem("auto", "auto")
        for spec, label in devices:
            self.device_combo.addItem(label if spec == "cpu" else f"{spec}: {label}", spec)
        idx = self.device_combo.findData(current)
        self.device_combo.setCurrentIndex(max(0, idx))
        self.cuda_devices = [(s, l) for s, l in devices if s.startswith("cuda")]
        multi = len(self.cuda_devices) > 1
        self.multi_gpu_check.setVisible(multi)
        self.gpus_spin.setVisible(multi)
        self.multi_gpu_check.setEnabled(multi)
        if multi:
            self.gpus_spin.setRange(2, len(self.cuda_devices))
            self.gpus_spin.setValue(len(self.cuda_devices))
        else:
            self.multi_gpu_check.setChecked(False)
        if models:
            model = self.model_combo.currentText()
            self.model_combo.clear()
            self.model_combo.addItems(models)
            self.model_combo.setCurrentIndex(max(0, self.model_combo.findText(model)))

    def multi_gpu_count(self) -> int:
        """Number of GPUs for a torchrun run (0 = train in this process)."""
        if self.multi_gpu_check.isVisibleTo(self) and self.multi_gpu_check.isChecked() and len(self.cuda_devices) > 1:
            return int(self.gpus_spin.value())
        return 0

    # ------------------------------------------------------------------ config
    @property
    def live(self) -> bool:
        return self.live_check.isChecked()

    def config(self) -> dict:
        """The chosen settings as a TrainConfig JSON dict."""
        cfg = {
            "model": self.model_combo.currentText(),
            "epochs": LIVE_EPOCHS if self.live else int(self.epochs_spin.value()),
            "batch_size": int(self.batch_spin.value()),
            "lr": float(self.lr_spin.value()),
            "crop": int(self.crop_spin.value()),
            "loss": self.loss_combo.currentData(),
            "optimizer": self.optimizer_combo.currentData(),
            "device": self.device_combo.currentData() or "auto",
            "precision": self.precision_combo.currentData(),
            "watch_project": self.live,
            "preview_every_epoch": True,
        }
        if self.live:
            cfg["scheduler"] = "none"  # no decay towards an end that never comes
            cfg["patience"] = 0  # live training never stops early: new strokes keep coming
            cfg["val_every"] = 1  # the panel shows the mIoU after every epoch
            cfg["preview_every_s"] = LIVE_PREVIEW_EVERY_S  # the image on screen, about every second
        cfg.update(self.start_from.config_changes())
        if self.start_from.starts_from_checkpoint:
            del cfg["model"]  # the checkpoint's model and arguments are trained (see worker.run_training)
        cfg.update(self.extra_config)
        return cfg

    def save_settings(self) -> None:
        """Remember the chosen settings (QSettings) for the next session."""
        cfg = {k: v for k, v in self.config().items() if k not in self.extra_config and k not in ("init", "pretrained")}
        cfg["epochs"] = int(self.epochs_spin.value())
        app_settings().setValue(SETTINGS_KEY, json.dumps(cfg))

    def restore_settings(self) -> None:
        """Apply the settings remembered by :meth:`save_settings` (ignores anything unreadable)."""
        raw = app_settings().value(SETTINGS_KEY)
        if not raw:
            return
        try:
            cfg = json.loads(str(raw))
        except ValueError:
            return
        if isinstance(cfg, dict):
            self.apply(cfg)  # "live" is not restored: ticking it starts a training (it starts unticked)

    def apply(self, cfg: dict) -> None:
        """Set the widgets from a config dict (e.g. a past run's config.json)."""
        if "model" in cfg:
            i = self.model_combo.findText(str(cfg["model"]))
            if i >= 0:
                self.model_combo.setCurrentIndex(i)
        for key, spin in (("epochs", self.epochs_spin), ("batch_size", self.batch_spin), ("crop", self.crop_spin)):
            if isinstance(cfg.get(key), int) and cfg[key] < LIVE_EPOCHS:
                spin.setValue(cfg[key])
        if isinstance(cfg.get("lr"), (int, float)):
            self.lr_spin.setValue(float(cfg["lr"]))
        for key, combo in (("loss", self.loss_combo), ("optimizer", self.optimizer_combo),
                           ("precision", self.precision_combo), ("device", self.device_combo)):
            i = combo.findData(cfg.get(key))
            if i < 0 and key == "device" and isinstance(cfg.get(key), str) and cfg[key].startswith("cuda"):
                # a GPU remembered from last time: listed once the device probe has run
                combo.addItem(cfg[key], cfg[key])
                i = combo.count() - 1
            if i >= 0:
                combo.setCurrentIndex(i)


def _set_range(spin, name: str) -> None:
    """The spin box's range from the training-options schema."""
    opt = option_of(name)
    spin.setRange(int(opt.minimum), int(opt.maximum))


def _data_combo(items: list[tuple[str, str]], current: str) -> QComboBox:
    combo = QComboBox()
    for value, label in items:
        combo.addItem(label, value)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    return combo
