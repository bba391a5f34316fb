"""The training loop: device-resident data, mixed precision, metrics, atomic checkpoints, events.

``Trainer(project, config, callbacks).run()`` blocks until training completes, is cancelled or
fails, and always ends with exactly one ``on_end`` event. Under torchrun it trains data-parallel
through :mod:`segstudio.engine.distributed`; only rank 0 writes files and emits previews.
"""

from __future__ import annotations

import contextlib
import gc
import math
import threading
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from segstudio import __version__
from segstudio.core.atomic import atomic_write_json, remove_stale_temp_files
from segstudio.core.channels import ensure_project_channels
from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import SaveError, SegstudioError
from segstudio.core.image_io import load_image
from segstudio.core.project import Project
from segstudio.engine.checkpoint import checkpoint_channels, load_checkpoint, save_checkpoint
from segstudio.engine.config import TrainConfig
from segstudio.engine.data import (AugmentParams, Augmenter, SampleCache, default_steps_per_epoch, file_mtime,
                                   model_input, rank_batch_rows, read_labeled, rescan_labeled, split_by_image)
from segstudio.engine.device import autocast_dtype, resolve_device, resolve_precision
from segstudio.engine.distributed import rank_device
from segstudio.engine.evaluation import inference_tile
from segstudio.engine.events import (CALLBACK_NAMES, BatchSizeReduced, CheckpointSaved, EpochEnd, LiveDataPicked,
                                     PreviewEvent, StepEvent, TrainEnd, TrainStart)
from segstudio.engine.init_from import start_note, start_weights
from segstudio.engine.live_data import LiveData
from segstudio.engine.live_training import LiveSampler
from segstudio.engine.losses import build_loss
from segstudio.engine.metrics import metrics_from_confusion
from segstudio.engine.models import create_model, pretrained_used
from segstudio.engine.optim import build_optimizer, build_scheduler
from segstudio.engine.pixels import model_normalization
from segstudio.engine.predictor import predict_probs, probs_to_prediction
from segstudio.engine.run_files import METRICS_FILE, MetricsLog, check_run_dir
from segstudio.engine.runtime import DistOps, dispatch, jsonable, new_run_dir, seed_everything
from segstudio.engine.train_state import (RunDescription, TrainPosition, restore_training_state, resumed_config,
                                          training_checkpoint)
from segstudio.engine.validation import validation_sums


class _Cancelled(Exception):
    pass


class Trainer:
    """Trains a model on a project's labeled images; see module docstring."""

    def __init__(self, project: Project | str | Path, config: TrainConfig, callbacks: Sequence[object] = (),
                 live_data: LiveData | None = None) -> None:
        self._project_arg = project
        self.config = config
        self.callbacks: list[object] = list(callbacks)
        self._cancel = threading.Event()
        #: saved masks and the preview image, handed over from any thread (see engine/live_data.py)
        self.live_data = live_data if live_data is not None else LiveData()
        self.live: LiveSampler | None = None
        self._preview_cache: tuple[str, np.ndarray] | None = None
        self._last_preview = 0.0  # perf_counter() when the last time-based preview was done
        self.run_dir: Path | None = None
        self.best_miou: float | None = None
        self.dist = DistOps()
        self._metrics_fh: MetricsLog | None = None

    # ------------------------------------------------------------------ public, thread-safe
    def cancel(self) -> None:
        """Stop between batches; a valid last.pt is written."""
        self._cancel.set()

    def set_preview_image(self, image_id: str | None) -> None:
        """Which image the previews show (None = the first validation image); see :class:`LiveData`."""
        self.live_data.set_preview_image(image_id)

    def add_callback(self, cb: object) -> None:
        self.callbacks.append(cb)

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
        if self._metrics_fh is not None:  # one whole line per write; a full disk stops the log, not the run
            problem = self._metrics_fh.write(record)
            if problem:
                dispatch(self.callbacks, "on_warning", problem)

    # ------------------------------------------------------------------ run
    def run(self) -> TrainEnd:
        """Train; never raises for training errors: the outcome is the returned (and emitted) TrainEnd."""
        end: TrainEnd
        try:
            self._setup()
            self._train()
            end = TrainEnd("completed", f"training completed; best mIoU {_fmt(self.best_miou)}", None,
                           self.run_dir, self.best_miou)
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
            if self._metrics_fh is not None:
                self._metrics_fh.close()
                self._metrics_fh = None
            with contextlib.suppress(Exception):
                self.dist.cleanup(ok=end.status != "failed")
        return end

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        cfg = self.config
        self.project = self._project_arg if isinstance(self._project_arg, Project) else \
            Project.open(Path(self._project_arg).resolve())  # absolute: image ids of relative roots go wrong
        info = self.dist.init(cfg.device)  # under torchrun with CUDA this also selects GPU LOCAL_RANK
        self.device = rank_device(resolve_device(cfg.device), info)
        self.resume_ckpt = None
        if cfg.resume is not None:
            self.resume_ckpt = load_checkpoint(cfg.resume)
            cfg = self.config = resumed_config(cfg, self.resume_ckpt, self.project.class_names)
        cfg.validate()
        self.precision = resolve_precision(cfg.precision, self.device)
        self.amp_dtype = autocast_dtype(self.precision)
        self.channels_last = bool(cfg.channels_last)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        seed_everything(cfg.seed)
        self._load_data()
        self.live = LiveSampler(self.live_data, self.project, self.train_cache, self.val_cache, cfg.value_map,
                                self._warn, cfg.seed, enabled=bool(cfg.watch_project) and not self.dist.enabled)
        self._build_model()
        self._make_run_dir()
        ws = int(self.dist.info.world_size)
        self._emit(TrainStart(self.run_dir, cfg.model, str(self.device), self.precision, cfg.epochs, self.steps_per_epoch,
                              cfg.batch_size, len(self.train_ids), len(self.val_ids), self.project.class_names,
                              self.pretrained, self.pos.epoch, init_source=self.init_source))
        note = start_note(self.init_source, cfg, self.project.class_names)
        if note:
            self._warn(note)
        if ws > 1 and cfg.batch_size % ws:
            self._warn(f"batch size {cfg.batch_size} is not divisible by {ws} processes; using {self.rank_batch} per process")

    def _load_data(self) -> None:
        cfg = self.config
        labeled = self.project.labeled_images()
        if not labeled:
            raise SegstudioError(f"no labeled images in {self.project.root}")
        ids = [self.project.image_id(p) for p in labeled]
        self.channels = ensure_project_channels(self.project)  # what the model sees of every image
        if self.resume_ckpt is not None:
            saved = checkpoint_channels(self.resume_ckpt)
            if not saved.same_input(self.channels):
                raise SegstudioError(f"cannot resume from {cfg.resume}: it was trained on {saved.describe()}, "
                                     f"the project has {self.channels.describe()}")
        if self.resume_ckpt is not None and self.resume_ckpt.get("split"):
            split = self.resume_ckpt["split"]
            train_ids = [i for i in split["train"] if i in ids]
            val_ids = [i for i in split["val"] if i in ids]
        else:
            train_ids, val_ids = split_by_image(ids, cfg.val_fraction, cfg.seed)
        self.train_cache = SampleCache(self.device, self.channels)
        self.val_cache = SampleCache(self.device, self.channels)
        train = self._read(train_ids)
        if train and not any(bool((s[2] != IGNORE_INDEX).any()) for s in train):
            raise SegstudioError(f"no labeled pixels in {self.project.root}: every mask of the {len(train)} training "
                                 "image(s) is unlabeled (255); paint some pixels with a class first")
        self.train_cache.set_samples(train)
        self.val_cache.set_samples(self._read(val_ids))
        if not len(self.train_cache):
            raise SegstudioError(f"no readable labeled images in {self.project.root}")

    @property
    def train_ids(self) -> list[str]:
        """The images training draws from (grows when live training picks up new masks)."""
        return [s.image_id for s in self.train_cache.samples]

    @property
    def val_ids(self) -> list[str]:
        return [s.image_id for s in self.val_cache.samples]

    def _read(self, ids: list[str]) -> list[tuple[str, np.ndarray, np.ndarray, float]]:
        out = []
        for image_id in ids:
            path = self.project.image_path(image_id)
            got = read_labeled(self.project, path, self.config.value_map, self._warn, self.channels)
            if got is not None:
                mtime = file_mtime(self.project.mask_path(path))
                out.append((image_id, got[0], got[1], mtime))
        return out

    def _build_model(self) -> None:
        cfg = self.config
        C = self.project.num_classes
        args = dict(cfg.model_args)
        if args.setdefault("in_channels", self.channels.count) != self.channels.count:
            raise SegstudioError(f"model argument in_channels={args['in_channels']} contradicts the project's "
                                 f"{self.channels.describe()}")
        self.model = create_model(cfg.model, C, pretrained=bool(cfg.pretrained and self.resume_ckpt is None
                                                                and cfg.init is None), **args)
        self.pretrained = pretrained_used(self.model)
        self.init_source = start_weights(self.model, cfg, self.project.class_names, self.resume_ckpt, args)
        self.mean, self.std = model_normalization(self.channels)
        if self.resume_ckpt is not None:
            self.model.load_state_dict(self.resume_ckpt["state_dict"])
            self.pretrained = self.resume_ckpt.get("pretrained")
        self.model.to(self.device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.train_model = self.dist.wrap(self.model, self.device)
        if cfg.compile:
            self.train_model = torch.compile(self.train_model)
        ws = int(self.dist.info.world_size)
        self.rank_batch = max(1, cfg.batch_size // ws)
        self.loss_fn = build_loss(cfg.loss, C, cfg.class_weights, self.device)
        self.optimizer = build_optimizer(cfg.optimizer, self.model.parameters(), cfg.lr, cfg.weight_decay, cfg.momentum)
        if self.resume_ckpt is not None and self.resume_ckpt.get("steps_per_epoch"):
            self.steps_per_epoch = int(self.resume_ckpt["steps_per_epoch"])
        else:
            self.steps_per_epoch = cfg.steps_per_epoch or default_steps_per_epoch(
                self.train_cache.samples, cfg.crop, self.rank_batch * ws)
        self.total_steps = cfg.epochs * self.steps_per_epoch
        warmup = int(round(cfg.warmup_epochs * self.steps_per_epoch))
        warmup = min(warmup, self.total_steps // 4)
        self.scheduler = build_scheduler(self.optimizer, cfg.scheduler, self.total_steps, warmup)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.augmenter = Augmenter(AugmentParams(cfg.crop, tuple(cfg.scale_range), cfg.flips, cfg.color_jitter),
                                   self.device, self.mean, self.std, self.channels_last, not self.channels.is_rgb)
        self.pos = TrainPosition()
        self._epoch_loss = [0.0, 0]
        if self.resume_ckpt is not None:
            got = restore_training_state(self.resume_ckpt, self.optimizer, self.scheduler, self.scaler, self.device,
                                         self.steps_per_epoch)
            self.pos, self.best_miou, self._epoch_loss = got.position, got.best_miou, got.epoch_loss

    def _make_run_dir(self) -> None:
        cfg = self.config
        if cfg.out is not None:
            self.run_dir = Path(cfg.out)
        elif cfg.resume is not None:
            self.run_dir = Path(cfg.resume).parent
        else:
            self.run_dir = new_run_dir(self.project.runs_dir, cfg.model)
        # rank 0's name everywhere: the clocks (and so the time-stamped names) of the ranks may differ
        self.run_dir = Path(self.dist.broadcast_object(str(self.run_dir)))
        if not self.dist.is_main:
            return
        new_run = cfg.resume is None
        check_run_dir(self.run_dir, resume=not new_run)  # a new run never reuses another run's folder
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SaveError(self.run_dir, exc.strerror or str(exc)) from None
        remove_stale_temp_files([self.run_dir], recursive=False)  # left by a killed process
        self._metrics_fh = MetricsLog.open(self.run_dir / METRICS_FILE, new_run)  # claims the folder
        meta = {"config": cfg.to_json(), "project": str(self.project.root), "device": str(self.device),
                "precision": self.precision, "pretrained": self.pretrained, "world_size": int(self.dist.info.world_size),
                "steps_per_epoch": self.steps_per_epoch, "segstudio_version": __version__, "torch_version": torch.__version__,
                "cache_device": str(self.train_cache.storage_device)}
        meta["init_source"] = self.init_source
        atomic_write_json(self.run_dir / "config.json", meta)
        atomic_write_json(self.run_dir / "split.json", {"seed": cfg.seed, "val_fraction": cfg.val_fraction,
                                                        "train": self.train_ids, "val": self.val_ids})

    # ------------------------------------------------------------------ training
    def _epoch_order(self, epoch: int) -> list[int]:
        """The epoch's global sample order, the same on every rank: seeded permutations, one after another.

        Each global batch is a run of this list; rank r takes its r-th share of the rows (see
        :func:`segstudio.engine.data.rank_batch_rows`), and each row's augmentation depends only on
        (seed, epoch, position), so N processes see exactly the crops of one process with the global batch.
        """
        n = len(self.train_cache)
        need = self.steps_per_epoch * self.rank_batch * int(self.dist.info.world_size)
        g = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        order: list[int] = []
        while len(order) < need:
            order.extend(torch.randperm(n, generator=g).tolist())
        return order

    def _train(self) -> None:
        cfg = self.config
        lag = self.device.type == "cuda"  # read the loss one step late so the GPU queue never drains
        for epoch in range(self.pos.epoch, cfg.epochs):
            t0 = time.perf_counter()
            if cfg.watch_project and epoch > 0:
                self._rescan()
            if self.pos.step == 0:
                self._epoch_loss = [0.0, 0]
                self.pos.draw_pos = 0
            self.pos.epoch = epoch
            order = self._epoch_order(epoch)
            rank, ws = int(self.dist.info.rank), int(self.dist.info.world_size)
            self.train_model.train()
            pending: tuple[int, int, torch.Tensor, float, int, float] | None = None
            t_step = time.perf_counter()
            while self.pos.step < self.steps_per_epoch:
                if self._should_stop():
                    if pending:
                        self._report_step(*pending)
                    self._save("last", None)
                    raise _Cancelled()
                self.live.update()  # masks saved since the last step join now
                live_rows = self.live.rows_for(self.rank_batch, self.pos.global_step)
                plain = self.rank_batch - live_rows  # the run's normal order fills the rest of the batch
                idx, draws = rank_batch_rows(order, cfg.seed, epoch, self.pos.draw_pos, plain, rank,
                                             self.augmenter.draws_per_sample)
                if live_rows:
                    idx, draws = self._with_live_rows(idx, draws, live_rows)
                x, y = self.augmenter.batch(self.train_cache, idx, draws)
                loss = self._step(x, y)
                # after an out-of-memory retry: the rows of the smaller batch that came from the order
                self.pos.draw_pos += min(plain, self.rank_batch) * ws
                now = time.perf_counter()
                ips = self.rank_batch * ws / max(1e-9, now - t_step)
                t_step = now
                cur = (epoch, self.pos.step, loss, float(self.optimizer.param_groups[0]["lr"]), self.pos.global_step, ips)
                self.scheduler.step()
                self.pos.step += 1
                self.pos.global_step += 1
                if lag:
                    if pending:
                        self._report_step(*pending)
                    pending = cur
                else:
                    self._report_step(*cur)
                if self._live_preview_due():
                    self._guarded_preview(epoch)
                    self._last_preview = time.perf_counter()
            if pending:
                self._report_step(*pending)
            self._end_epoch(epoch, time.perf_counter() - t0)
            self.pos = self.pos.next_epoch()

    def _with_live_rows(self, idx: list[int], draws: torch.Tensor, n: int) -> tuple[list[int], torch.Tensor]:
        """The batch rows ``idx``/``draws`` plus ``n`` crops covering recently edited regions."""
        cfg = self.config
        more, more_draws, rows = self.live.draw(n, cfg.crop, tuple(cfg.scale_range), self.augmenter.draws_per_sample)
        for r in rows:
            if r.first:
                self._emit(LiveDataPicked(r.image_id, self.pos.global_step, r.box, r.image_id in self.live.added))
        return idx + more, torch.cat([draws, more_draws.to(draws.dtype)]) if len(idx) else more_draws

    def _live_preview_due(self) -> bool:
        """Time-based previews: the preview image changed, or ``preview_every_s`` of training passed."""
        every = float(self.config.preview_every_s)
        if every <= 0 or not self.dist.is_main:
            return False
        return self.live_data.take_preview_request() or time.perf_counter() - self._last_preview >= every

    def _should_stop(self) -> bool:
        """The cancel flag; under torchrun agreed by all ranks (every step on CPU, every 10 on GPUs)."""
        if not self.dist.enabled:
            return self._cancel.is_set()
        if self.device.type == "cuda" and self.pos.step % 10:
            return False
        return self.dist.any_rank(self._cancel.is_set())

    def _report_step(self, epoch: int, step: int, loss_t: torch.Tensor, lr: float, global_step: int, ips: float) -> None:
        """Log one step's loss: under torchrun the mean over ranks (every rank calls this, in step order)."""
        loss = float(self.dist.all_reduce_mean(loss_t.detach().float().reshape(1).clone()).item())
        if not math.isfinite(loss):
            raise SegstudioError(f"the loss became {loss} at step {global_step}; lower the learning rate (--lr {self.config.lr})")
        self._epoch_loss[0] += loss
        self._epoch_loss[1] += 1
        self._emit(StepEvent(epoch, step, global_step, self.total_steps, loss, lr, ips))

    def _forward_backward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One optimisation step; returns the loss tensor (not synchronised)."""
        ctx = torch.autocast(self.device.type, dtype=self.amp_dtype) if self.amp_dtype is not None else contextlib.nullcontext()
        with ctx:
            logits = self.train_model(x)
        loss = self.loss_fn(logits.float(), y)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.detach()

    def _step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """A step that survives out-of-memory errors by freeing memory, halving the batch size and retrying."""
        while True:
            try:
                return self._forward_backward(x, y)
            except torch.OutOfMemoryError as exc:
                reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else "out of memory"
            # outside the except block: the traceback (and the activations it held) is released
            self.optimizer.zero_grad(set_to_none=True)
            self._release_memory()
            old = self.rank_batch
            if old <= 1:
                raise SegstudioError(f"out of memory even with batch size 1 ({reason}); try a smaller --crop or model")
            self.rank_batch = old // 2
            x, y = x[: self.rank_batch], y[: self.rank_batch]
            ws = int(self.dist.info.world_size)
            self._emit(BatchSizeReduced(old * ws, self.rank_batch * ws, f"out of memory: {reason}"))

    # ------------------------------------------------------------------ validation, checkpoints, previews
    def _validate(self) -> tuple[float | None, Any]:
        if not self.val_cache.samples:
            return None, None
        cm, loss_sum = validation_sums(self.model, self.val_cache.samples, self.project.num_classes, self.device,
                                       self.mean, self.std, self.precision, self.channels_last,
                                       tile=max(4 * self.config.crop, 1024), rank=int(self.dist.info.rank),
                                       world_size=int(self.dist.info.world_size), cancelled=self._cancel.is_set)
        self.train_model.train()
        self.dist.all_reduce_sum(cm)
        self.dist.all_reduce_sum(loss_sum)
        val_loss = float(loss_sum[0] / loss_sum[1]) if float(loss_sum[1]) > 0 else None
        return val_loss, metrics_from_confusion(cm)

    def _end_epoch(self, epoch: int, seconds: float) -> None:
        cfg = self.config
        loss_t = torch.tensor(self._epoch_loss, dtype=torch.float64, device=self.device)
        self.dist.all_reduce_sum(loss_t)
        train_loss = float(loss_t[0] / max(1.0, float(loss_t[1])))
        try:
            val_loss, m = self._validate()
        except torch.OutOfMemoryError:
            val_loss, m = None, None
            self._free_memory()
            self._warn("out of memory during validation; metrics skipped for this epoch")
        miou = m.miou if m is not None else None
        self._emit(EpochEnd(epoch, cfg.epochs, train_loss, val_loss, miou,
                            m.per_class_iou if m is not None else [None] * self.project.num_classes,
                            m.dice if m is not None else None, m.pixel_acc if m is not None else None, seconds))
        if self._should_stop():
            self.pos = self.pos.next_epoch()
            self._save("last", miou)
            raise _Cancelled()
        metrics = m.to_json() if m is not None else {}
        metrics.update({"train_loss": train_loss, "val_loss": val_loss})
        improved = miou is not None and (self.best_miou is None or miou > self.best_miou)
        if improved:
            self.best_miou = miou
        self.pos = self.pos.next_epoch()
        if improved or (miou is None and not self.val_ids):
            self._save("best", miou, metrics)
        self._save("last", miou, metrics)
        if cfg.preview_every_epoch and cfg.preview_every_s <= 0:
            self._guarded_preview(epoch)
        if self._metrics_fh is not None:
            self._metrics_fh.flush()

    def _free_memory(self) -> None:
        """After an out-of-memory error outside the training step: back to train mode, memory released."""
        self.train_model.train()
        self._release_memory()

    def _release_memory(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def checkpoint_dict(self, miou: float | None = None, metrics: dict | None = None) -> dict:
        """The full checkpoint (state for exact resume plus everything inference needs)."""
        run = RunDescription(self.config, list(self.project.classes), self.mean, self.std, self.steps_per_epoch,
                             self.pretrained, self.train_ids, self.val_ids, self.init_source, self.channels.to_json())
        return training_checkpoint(run, self.model, self.optimizer, self.scheduler, self.scaler, self.device, self.pos,
                                   self._epoch_loss, self.best_miou, metrics or {"miou": miou})

    def _save(self, kind: str, miou: float | None, metrics: dict | None = None) -> None:
        if not self.dist.is_main or self.run_dir is None:
            return
        path = save_checkpoint(self.run_dir / f"{kind}.pt", self.checkpoint_dict(miou, metrics))
        self._emit(CheckpointSaved(path, kind, self.pos.epoch, miou))

    def _guarded_preview(self, epoch: int) -> None:
        try:
            self._preview(epoch)
        except torch.OutOfMemoryError:
            self._free_memory()
            self._warn("out of memory while predicting the preview; skipped")

    def _preview(self, epoch: int) -> None:
        """Predict the preview image with the current weights (eval mode, no grad: BN statistics untouched)."""
        if not self.dist.is_main or not any(hasattr(cb, "on_preview") for cb in self.callbacks):
            return
        image_id = self.live_data.preview_image
        if image_id is None:
            image_id = (self.val_ids or self.train_ids)[0]
        try:
            if self._preview_cache is None or self._preview_cache[0] != image_id:
                loaded = load_image(self.project.image_path(image_id))
                self._preview_cache = (image_id, self.channels.model_array(loaded))
            rgb = self._preview_cache[1]
        except SegstudioError as exc:
            self._warn(f"no preview for {image_id}: {exc}")
            return
        self.model.eval()
        x = model_input(rgb, self.channels, self.device, self.mean, self.std)
        probs = predict_probs(self.model, x, self.project.num_classes, tile=inference_tile(self.config.crop),
                              precision=self.precision, channels_last=self.channels_last)
        self.train_model.train()
        pred = probs_to_prediction(probs)
        self._emit(PreviewEvent(image_id, pred.mask, pred.confidence, epoch, self.pos.global_step, time.time()))

    def _rescan(self) -> None:
        """Live training: pick up masks that are new or changed since they were cached (training split only)."""
        rescan_labeled(self.project, self.train_cache, set(self.val_ids), self.config.value_map, self._warn)


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4f}"
