"""The training loop: ``Trainer(project, config, callbacks, live_data).run()``.

``run()`` blocks until training completes, is cancelled or fails, and always ends with exactly
one ``on_end`` event. It prepares the run (:func:`segstudio.engine.train_setup.prepare_run`: data
caches, model, :class:`~segstudio.engine.train_state.TrainState`), then :meth:`Trainer.fit` goes
epoch by epoch: train the epoch, validate, checkpoint, preview. Under torchrun it trains
data-parallel (:mod:`segstudio.engine.distributed`); only rank 0 writes files and emits events.
Live training (:mod:`segstudio.engine.live_data`) takes saved masks between steps.
"""

from __future__ import annotations

import contextlib
import gc
import math
import threading
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from segstudio.core.errors import SegstudioError
from segstudio.core.image_io import load_image
from segstudio.core.project import Project
from segstudio.engine import distributed as D
from segstudio.engine.checkpoint import save_checkpoint
from segstudio.engine.config import TrainConfig
from segstudio.engine.data import model_input, rank_batch_rows, rescan_labeled
from segstudio.engine.distributed import NOT_DISTRIBUTED, DistInfo
from segstudio.engine.early_stopping import EarlyStopped, is_validation_epoch
from segstudio.engine.evaluation import evaluate, inference_tile
from segstudio.engine.events import (CALLBACK_NAMES, BatchSizeReduced, CheckpointSaved, EpochEnd, LiveDataPicked,
                                     PreviewEvent, StepEvent, TrainEnd, TrainStart)
from segstudio.engine.init_from import start_note
from segstudio.engine.live_data import LiveData
from segstudio.engine.live_training import LiveSampler
from segstudio.engine.metrics import SegMetrics
from segstudio.engine.predictor import predict_probs, probs_to_prediction
from segstudio.engine.run_files import MetricsLog
from segstudio.engine.runtime import dispatch, jsonable
from segstudio.engine.train_setup import TrainSetup, create_run_dir, prepare_run
from segstudio.engine.train_state import RunDescription, TrainState, training_checkpoint

#: steps between two reads of the step losses from the device (a read waits for the device to finish)
LOSS_READ_STEPS = {"cuda": 10}


class _Cancelled(Exception):
    pass


@dataclass
class EpochResult:
    """What validating an epoch gave (metrics None: no validation images, or skipped)."""

    train_loss: float
    val_loss: float | None
    metrics: SegMetrics | None

    @property
    def miou(self) -> float | None:
        return self.metrics.miou if self.metrics is not None else None

    def to_json(self) -> dict:
        out = self.metrics.to_json() if self.metrics is not None else {"miou": None}
        out.update({"train_loss": self.train_loss, "val_loss": self.val_loss})
        return out


class Trainer:
    """Trains a model on a project's labeled images; see module docstring."""

    def __init__(self, project: Project | str | Path, config: TrainConfig, callbacks: Sequence[object] = (),
                 live_data: LiveData | None = None) -> None:
        self._project_arg = project
        self.config = config  # after run() starts: with a resumed run's own settings
        self.callbacks: list[object] = list(callbacks)
        #: saved masks and the preview image, handed over from any thread (see engine/live_data.py)
        self.live_data = live_data if live_data is not None else LiveData()
        self.dist: DistInfo = NOT_DISTRIBUTED
        self.setup: TrainSetup | None = None  # what the run trains with (prepare_run)
        self.state: TrainState | None = None  # what training changes (model, optimizer, position, ...)
        self.live: LiveSampler | None = None
        self.run_dir: Path | None = None
        self._cancel = threading.Event()
        self._metrics_log: MetricsLog | None = None
        self._losses: list[torch.Tensor] = []  # step losses still on the device
        self._loss_steps: list[tuple[int, int, int, float]] = []  # their (epoch, step, global_step, lr)
        self._read_every = 1  # steps between two loss reads (LOSS_READ_STEPS)
        self._window_start = 0.0  # perf_counter() when the unread steps began
        self._preview_pixels: tuple[str, np.ndarray] | None = None  # the preview image, decoded once
        self._last_preview = 0.0  # perf_counter() after the last time-based preview

    # ------------------------------------------------------------------ public, thread-safe
    def cancel(self) -> None:
        """Stop between batches; a valid last.pt is written."""
        self._cancel.set()

    def set_preview_image(self, image_id: str | None) -> None:
        """Which image the previews show (None = the first validation image); see :class:`LiveData`."""
        self.live_data.set_preview_image(image_id)

    def add_callback(self, cb: object) -> None:
        self.callbacks.append(cb)

    @property
    def train_ids(self) -> list[str]:
        """The images training draws from (grows when live training picks up new masks)."""
        return [s.image_id for s in self.setup.train_cache.samples] if self.setup else []

    @property
    def val_ids(self) -> list[str]:
        return [s.image_id for s in self.setup.val_cache.samples] if self.setup else []

    @property
    def best_miou(self) -> float | None:
        return self.state.best_miou if self.state else None

    @property
    def model(self) -> torch.nn.Module | None:
        """The plain model being trained (None before the run is prepared)."""
        return self.state.model if self.state else None

    # ------------------------------------------------------------------ run
    def run(self) -> TrainEnd:
        """Train; never raises for training errors: the outcome is the returned (and emitted) TrainEnd."""
        end: TrainEnd
        try:
            self._start()
            self.fit()
            end = TrainEnd("completed", f"training completed; best mIoU {_fmt(self.best_miou)}", None,
                           self.run_dir, self.best_miou)
        except EarlyStopped as stop:  # a plateau ends the run as completed, saying so
            end = TrainEnd("completed", f"{stop}; best mIoU {_fmt(self.best_miou)}", None, self.run_dir, self.best_miou)
        except _Cancelled:
            end = TrainEnd("cancelled", "training cancelled; last checkpoint saved", None, self.run_dir, self.best_miou)
        except SegstudioError as exc:
            end = TrainEnd("failed", str(exc), None, self.run_dir, self.best_miou, user_error=True)
        except BaseException as exc:  # noqa: BLE001 - every failure ends with an event, never silently
            tb = traceback.format_exc()
            end = TrainEnd("failed", f"{type(exc).__name__}: {exc}".strip(), tb, self.run_dir, self.best_miou)
            if isinstance(exc, KeyboardInterrupt):
                end = TrainEnd("cancelled", "training interrupted", None, self.run_dir, self.best_miou)
        try:
            self._emit(end, main_only=False)
        finally:
            if self._metrics_log is not None:
                self._metrics_log.close()
                self._metrics_log = None
            with contextlib.suppress(Exception):
                D.cleanup(self.dist, wait_for_peers=end.status != "failed")
        return end

    def _start(self) -> None:
        self.dist = D.init_distributed(self.config.device)  # under torchrun with CUDA: selects GPU LOCAL_RANK
        self.setup, self.state = prepare_run(self._project_arg, self.config, self.dist, self._warn)
        s, cfg = self.setup, self.setup.config
        self.config = cfg
        self.live = LiveSampler(self.live_data, s.project, s.train_cache, s.val_cache, cfg.value_map, self._warn,
                                cfg.seed, enabled=bool(cfg.watch_project) and not self.dist.enabled)
        self._read_every = LOSS_READ_STEPS.get(s.device.type, 1)
        self.run_dir, self._metrics_log = create_run_dir(s, self.dist, self.train_ids, self.val_ids)
        ws = int(self.dist.world_size)
        self._emit(TrainStart(self.run_dir, cfg.model, str(s.device), s.precision, cfg.epochs, s.steps_per_epoch,
                              cfg.batch_size, len(self.train_ids), len(self.val_ids), s.project.class_names,
                              s.pretrained, self.state.position.epoch, init_source=s.init_source))
        note = start_note(s.init_source, cfg, s.project.class_names)
        if note:
            self._warn(note)
        if ws > 1 and cfg.batch_size % ws:
            self._warn(f"batch size {cfg.batch_size} is not divisible by {ws} processes; using {s.rank_batch} per process")

    def fit(self) -> None:
        """Epoch by epoch: train the epoch, validate (every ``val_every`` epochs and the last), checkpoint,
        preview. Cancelling raises _Cancelled after writing last.pt; a plateau (``patience``) EarlyStopped."""
        pos = self.state.position
        while pos.epoch < self.config.epochs:
            t0 = time.perf_counter()
            epoch = pos.epoch
            self._train_epoch()
            validated = is_validation_epoch(epoch, self.config.epochs, self.config.val_every)
            result = self._validate() if validated else EpochResult(self.state.mean_epoch_loss(), None, None)
            m = result.metrics
            self._emit(EpochEnd(epoch, self.config.epochs, result.train_loss, result.val_loss, result.miou,
                                m.per_class_iou if m is not None else [None] * self.setup.project.num_classes,
                                m.dice if m is not None else None, m.pixel_acc if m is not None else None,
                                time.perf_counter() - t0))
            pos.finish_epoch()  # the one place an epoch ends
            plateau = validated and self.state.early_stopping.update(result.miou)  # saved with the checkpoints
            if self._should_stop():
                self._save("last", result.to_json())
                raise _Cancelled()
            self._checkpoint(result)
            if self.config.preview_every_epoch and self.config.preview_every_s <= 0:
                self._guarded_preview(epoch)
            if self._metrics_log is not None:
                self._metrics_log.flush()
            if plateau:
                raise EarlyStopped(self.state.early_stopping.reason(epoch, self.config.epochs))

    # ------------------------------------------------------------------ one epoch, one step
    def _train_epoch(self) -> None:
        s, pos = self.setup, self.state.position
        if pos.step == 0:
            self.state.epoch_loss = [0.0, 0]
            if self.config.watch_project and pos.epoch > 0:  # masks saved without a live hand-over
                rescan_labeled(s.project, s.train_cache, set(self.val_ids), self.config.value_map, self._warn)
        order = self._epoch_order(pos.epoch)
        s.train_model.train()
        self._window_start = time.perf_counter()
        while pos.step < s.steps_per_epoch:
            if self._should_stop():
                self._read_losses()
                self._save("last", {"miou": None})
                raise _Cancelled()
            self._train_step(order)
            if len(self._losses) >= self._read_every:
                self._read_losses()
            if self._live_preview_due():
                t0 = time.perf_counter()
                self._guarded_preview(pos.epoch)
                self._last_preview = time.perf_counter()
                self._window_start += self._last_preview - t0  # the preview is not training time
        self._read_losses()

    def _epoch_order(self, epoch: int) -> list[int]:
        """The epoch's global sample order, the same on every rank: seeded permutations, one after another.

        Each global batch is a run of this list; rank r takes its r-th share of the rows (see
        :func:`segstudio.engine.data.rank_batch_rows`), and each row's augmentation depends only on
        (seed, epoch, position), so N processes see exactly the crops of one process with the global batch.
        """
        s = self.setup
        n = len(s.train_cache)
        need = s.steps_per_epoch * s.rank_batch * int(self.dist.world_size)
        g = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        order: list[int] = []
        while len(order) < need:
            order.extend(torch.randperm(n, generator=g).tolist())
        return order

    def _train_step(self, order: list[int]) -> None:
        """Take live edits, draw the batch, optimise (halving the batch on an agreed out-of-memory), advance."""
        st, pos = self.state, self.state.position
        self.live.update()  # masks saved since the last step join now
        while True:
            x, y, plain = self._draw_batch(order)
            loss = self._optimise(x, y)
            if loss is not None:
                break
        self._losses.append(loss)
        self._loss_steps.append((pos.epoch, pos.step, pos.global_step, float(st.optimizer.param_groups[0]["lr"])))
        st.scheduler.step()
        pos.advance(plain * int(self.dist.world_size))

    def _draw_batch(self, order: list[int]) -> tuple[torch.Tensor, torch.Tensor, int]:
        """(images, masks, rows taken from the epoch's order) of this process's share of the batch."""
        s, pos, cfg = self.setup, self.state.position, self.config
        live_rows = self.live.rows_for(s.rank_batch, pos.global_step)
        plain = s.rank_batch - live_rows  # the run's normal order fills the rest of the batch
        idx, draws = rank_batch_rows(order, cfg.seed, pos.epoch, pos.draw_pos, plain, int(self.dist.rank),
                                     s.augmenter.draws_per_sample)
        if live_rows:
            more, more_draws, rows = self.live.draw(live_rows, cfg.crop, tuple(cfg.scale_range),
                                                    s.augmenter.draws_per_sample)
            for r in rows:
                if r.first:
                    self._emit(LiveDataPicked(r.image_id, pos.global_step, r.box, r.image_id in self.live.added))
            idx, draws = idx + more, torch.cat([draws, more_draws.to(draws.dtype)])
        x, y = s.augmenter.batch(s.train_cache, idx, draws)
        return x, y, plain

    def _forward_backward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Forward and backward on this process's rows (no collective); returns the loss (not synchronised)."""
        s, st = self.setup, self.state
        amp = torch.autocast(s.device.type, dtype=s.amp_dtype) if s.amp_dtype is not None else contextlib.nullcontext()
        local = s.ddp.no_sync() if s.ddp is not None else contextlib.nullcontext()
        with local:
            with amp:
                logits = s.train_model(x)
            loss = s.loss_fn(logits.float(), y)
            st.optimizer.zero_grad(set_to_none=True)
            st.scaler.scale(loss).backward()
        return loss.detach()

    def _optimise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        """One optimisation step; None after an out-of-memory error (on any rank), with the batch halved everywhere."""
        s, st = self.setup, self.state
        reason = ""
        try:
            loss: torch.Tensor | None = self._forward_backward(x, y)
        except torch.OutOfMemoryError as exc:
            loss = None
            reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else "out of memory"
        # outside the except block: the traceback (and the activations it held) is released
        if not D.any_rank(loss is None, self.dist):  # every rank agrees before gradients are exchanged
            D.average_gradients(st.model, self.dist)
            st.scaler.step(st.optimizer)
            st.scaler.update()
            return loss
        loss = None
        st.optimizer.zero_grad(set_to_none=True)
        self._release_memory()
        old, ws = s.rank_batch, int(self.dist.world_size)
        if old <= 1:
            raise SegstudioError(f"out of memory even with batch size 1 ({reason or 'on another process'}); "
                                 "try a smaller --crop or model")
        s.rank_batch = old // 2  # the same on every rank: the sample positions stay in step
        self._emit(BatchSizeReduced(old * ws, s.rank_batch * ws, f"out of memory: {reason or 'on another process'}"))
        return None

    def _read_losses(self) -> None:
        """Read the unread step losses from the device (one wait) and report them as step events."""
        if not self._losses:
            return
        values = D.all_reduce_mean(torch.stack(self._losses).float(), self.dist).tolist()  # the mean over ranks
        steps, self._losses, self._loss_steps = self._loss_steps, [], []
        now = time.perf_counter()
        ips = len(values) * self.setup.rank_batch * int(self.dist.world_size) / max(1e-9, now - self._window_start)
        self._window_start = now
        for value, (epoch, step, global_step, lr) in zip(values, steps):
            if not math.isfinite(value):
                raise SegstudioError(f"the loss became {value} at step {global_step}; lower the learning rate "
                                     f"(--lr {self.config.lr})")
            self._emit(StepEvent(epoch, step, global_step, self.setup.total_steps, value, lr, ips))
        self.state.add_losses(values)

    def _should_stop(self) -> bool:
        """The cancel flag; under torchrun agreed by all ranks (every step on CPU, every 10 on GPUs)."""
        if not self.dist.enabled:
            return self._cancel.is_set()
        if self.setup.device.type == "cuda" and self.state.position.step % 10:
            return False
        return D.any_rank(self._cancel.is_set(), self.dist)

    # ------------------------------------------------------------------ validation, checkpoints, previews
    def _validate(self) -> EpochResult:
        """Evaluate the validation images (all ranks, each its share) with the epoch's mean step loss."""
        s = self.setup
        train_loss = self.state.mean_epoch_loss()
        if not s.val_cache.samples:
            return EpochResult(train_loss, None, None)
        sums = None
        try:
            sums = evaluate(self.state.model, s.val_cache.samples, s.project.num_classes, s.device, s.mean, s.std,
                            tile=inference_tile(self.config.crop), precision=s.precision,
                            channels_last=s.channels_last, rank=int(self.dist.rank),
                            world_size=int(self.dist.world_size), cancelled=self._cancel.is_set,
                            tta=self.config.tta)
        except torch.OutOfMemoryError:
            pass
        s.train_model.train()
        if D.any_rank(sums is None, self.dist):
            self._release_memory()
            self._warn("out of memory during validation; metrics skipped for this epoch")
            return EpochResult(train_loss, None, None)
        D.all_reduce_sum(sums.confusion, self.dist)
        D.all_reduce_sum(sums.loss, self.dist)
        return EpochResult(train_loss, sums.mean_loss(), sums.metrics())

    def _checkpoint(self, result: EpochResult) -> None:
        """best.pt when the mIoU improved (or there is no validation), and last.pt."""
        miou = result.miou
        improved = miou is not None and (self.state.best_miou is None or miou > self.state.best_miou)
        if improved:
            self.state.best_miou = miou
        if improved or (miou is None and not self.val_ids):
            self._save("best", result.to_json())
        self._save("last", result.to_json())

    def _save(self, kind: str, metrics: dict) -> None:
        if not self.dist.is_main or self.run_dir is None:
            return
        s = self.setup
        run = RunDescription(self.config, list(s.project.classes), s.mean, s.std, s.steps_per_epoch, s.pretrained,
                             self.train_ids, self.val_ids, s.init_source, s.channels.to_json())
        path = save_checkpoint(self.run_dir / f"{kind}.pt", training_checkpoint(run, self.state, s.device, metrics))
        self._emit(CheckpointSaved(path, kind, self.state.position.epoch, metrics.get("miou")))

    def _live_preview_due(self) -> bool:
        """Time-based previews: the preview image changed, or ``preview_every_s`` of training passed."""
        every = float(self.config.preview_every_s)
        if every <= 0 or not self.dist.is_main:
            return False
        return self.live_data.take_preview_request() or time.perf_counter() - self._last_preview >= every

    def _guarded_preview(self, epoch: int) -> None:
        try:
            self._preview(epoch)
        except torch.OutOfMemoryError:
            self.setup.train_model.train()
            self._release_memory()
            self._warn("out of memory while predicting the preview; skipped")

    def _preview(self, epoch: int) -> None:
        """Predict the preview image with the current weights (eval mode, no grad: BN statistics untouched)."""
        if not self.dist.is_main or not any(hasattr(cb, "on_preview") for cb in self.callbacks):
            return
        s = self.setup
        image_id = self.live_data.preview_image or (self.val_ids or self.train_ids)[0]
        try:
            if self._preview_pixels is None or self._preview_pixels[0] != image_id:
                loaded = load_image(s.project.image_path(image_id))
                self._preview_pixels = (image_id, s.channels.model_array(loaded))
            pixels = self._preview_pixels[1]
        except SegstudioError as exc:
            self._warn(f"no preview for {image_id}: {exc}")
            return
        self.state.model.eval()
        x = model_input(pixels, s.channels, s.device, s.mean, s.std)
        probs = predict_probs(self.state.model, x, s.project.num_classes, tile=inference_tile(self.config.crop),
                              precision=s.precision, channels_last=s.channels_last)
        s.train_model.train()
        pred = probs_to_prediction(probs)
        self._emit(PreviewEvent(image_id, pred.mask, pred.confidence, epoch, self.state.position.global_step,
                                time.time()))

    def _release_memory(self) -> None:
        gc.collect()
        if self.setup is not None and self.setup.device.type == "cuda":
            torch.cuda.empty_cache()

    # ------------------------------------------------------------------ events
    def _emit(self, ev: Any, main_only: bool = True) -> None:
        if main_only and not self.dist.is_main:
            return
        if not isinstance(ev, PreviewEvent):  # masks stay out of the log
            self._log({"type": type(ev).__name__, **jsonable(asdict(ev))})
        dispatch(self.callbacks, CALLBACK_NAMES[type(ev)], ev)

    def _warn(self, message: str) -> None:
        if not self.dist.is_main:
            return
        self._log({"type": "warning", "message": message})
        dispatch(self.callbacks, "on_warning", message)

    def _log(self, record: dict) -> None:
        if self._metrics_log is not None:  # one whole line per write; a full disk stops the log, not the run
            problem = self._metrics_log.write(record)
            if problem:
                dispatch(self.callbacks, "on_warning", problem)


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4f}"
