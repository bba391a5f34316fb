"""Everything a run is built from, made once before training: :func:`prepare_run` -> :class:`TrainSetup`.

It opens the project, resolves the device and precision, reads the labeled images into the
device caches (the seeded train/val split, or the resumed run's), builds the model, loss,
optimizer, schedule and scaler (the :class:`~segstudio.engine.train_state.TrainState`, restored
when resuming) and the augmenter. :func:`create_run_dir` claims the run folder (rank 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from segstudio import __version__
from segstudio.core.atomic import atomic_write_json, remove_stale_temp_files
from segstudio.core.channels import ChannelSpec, ensure_project_channels
from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import SaveError, SegstudioError
from segstudio.core.project import Project
from segstudio.engine import distributed as D
from segstudio.engine.checkpoint import checkpoint_channels, load_checkpoint
from segstudio.engine.config import TrainConfig
from segstudio.engine.data import (AugmentParams, Augmenter, SampleCache, default_steps_per_epoch, file_mtime,
                                   read_labeled, split_by_image)
from segstudio.engine.device import autocast_dtype, resolve_device, resolve_precision
from segstudio.engine.distributed import DistInfo
from segstudio.engine.init_from import start_weights
from segstudio.engine.losses import build_loss
from segstudio.engine.models import create_model, pretrained_used
from segstudio.engine.optim import build_optimizer, build_scheduler
from segstudio.engine.pixels import model_normalization
from segstudio.engine.run_files import METRICS_FILE, MetricsLog, check_run_dir
from segstudio.engine.runtime import new_run_dir, seed_everything
from segstudio.engine.early_stopping import EarlyStopping
from segstudio.engine.train_state import TrainState, resumed_config

Warn = Callable[[str], None]


@dataclass
class TrainSetup:
    """What a run trains with; fixed once training starts, except ``rank_batch`` (halved on out-of-memory)."""

    project: Project
    config: TrainConfig  # with a resumed run's own settings
    device: torch.device
    precision: str
    amp_dtype: torch.dtype | None
    channels: ChannelSpec
    train_cache: SampleCache
    val_cache: SampleCache
    mean: list[float]
    std: list[float]
    train_model: nn.Module  # the model as trained: DDP- and/or torch.compile-wrapped
    ddp: nn.Module | None  # the DistributedDataParallel wrapper under torchrun (its no_sync() is used)
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    augmenter: Augmenter
    steps_per_epoch: int
    total_steps: int
    rank_batch: int  # samples per step on this process
    pretrained: str | None
    init_source: dict | None

    @property
    def channels_last(self) -> bool:
        return bool(self.config.channels_last)


def prepare_run(project_arg: Project | str | Path, config: TrainConfig, dist: DistInfo,
                warn: Warn) -> tuple[TrainSetup, TrainState]:
    """Build the run (see module docstring); SegstudioError naming the problem when the input does not fit."""
    project = project_arg if isinstance(project_arg, Project) else \
        Project.open(Path(project_arg).resolve())  # absolute: image ids of relative roots go wrong
    device = D.rank_device(resolve_device(config.device), dist)
    resume = None
    if config.resume is not None:
        resume = load_checkpoint(config.resume)
        config = resumed_config(config, resume, project.class_names)
    config.validate()
    precision = resolve_precision(config.precision, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    seed_everything(config.seed)
    channels = ensure_project_channels(project)  # what the model sees of every image
    train_cache, val_cache = _load_data(project, config, channels, device, resume, warn)

    C = project.num_classes
    args = dict(config.model_args)
    if args.setdefault("in_channels", channels.count) != channels.count:
        raise SegstudioError(f"model argument in_channels={args['in_channels']} contradicts the project's "
                             f"{channels.describe()}")
    model = create_model(config.model, C, pretrained=bool(config.pretrained and resume is None
                                                          and config.init is None), **args)
    pretrained = pretrained_used(model) if resume is None else resume.get("pretrained")
    init_source = start_weights(model, config, project.class_names, resume, args)
    mean, std = model_normalization(channels)
    model.to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    train_model = D.wrap_model(model, dist, device)
    ddp = train_model if dist.enabled else None
    if config.compile:
        train_model = torch.compile(train_model)
    ws = int(dist.world_size)
    rank_batch = max(1, config.batch_size // ws)
    if resume is not None and resume.get("steps_per_epoch"):
        steps_per_epoch = int(resume["steps_per_epoch"])
    else:
        steps_per_epoch = config.steps_per_epoch or default_steps_per_epoch(train_cache.samples, config.crop,
                                                                            rank_batch * ws)
    total_steps = config.epochs * steps_per_epoch
    warmup = min(int(round(config.warmup_epochs * steps_per_epoch)), total_steps // 4)
    optimizer = build_optimizer(config.optimizer, model.parameters(), config.lr, config.weight_decay, config.momentum)
    state = TrainState(model, optimizer, build_scheduler(optimizer, config.scheduler, total_steps, warmup),
                       torch.amp.GradScaler("cuda", enabled=precision == "fp16"),
                       early_stopping=EarlyStopping(config.patience))
    if resume is not None:
        state.load_state_dict(resume, device)
    augmenter = Augmenter(AugmentParams(config.crop, tuple(config.scale_range), config.flips, config.color_jitter),
                          device, mean, std, bool(config.channels_last), not channels.is_rgb)
    setup = TrainSetup(project, config, device, precision, autocast_dtype(precision), channels, train_cache,
                       val_cache, mean, std, train_model, ddp, build_loss(config.loss, C, config.class_weights, device),
                       augmenter, steps_per_epoch, total_steps, rank_batch, pretrained, init_source)
    return setup, state


def _load_data(project: Project, config: TrainConfig, channels: ChannelSpec, device: torch.device,
               resume: dict | None, warn: Warn) -> tuple[SampleCache, SampleCache]:
    labeled = project.labeled_images()
    if not labeled:
        raise SegstudioError(f"no labeled images in {project.root}")
    ids = [project.image_id(p) for p in labeled]
    if resume is not None:
        saved = checkpoint_channels(resume)
        if not saved.same_input(channels):
            raise SegstudioError(f"cannot resume from {config.resume}: it was trained on {saved.describe()}, "
                                 f"the project has {channels.describe()}")
    if resume is not None and resume.get("split"):
        split = resume["split"]
        train_ids = [i for i in split["train"] if i in ids]
        val_ids = [i for i in split["val"] if i in ids]
    else:
        train_ids, val_ids = split_by_image(ids, config.val_fraction, config.seed)
    train_cache, val_cache = SampleCache(device, channels), SampleCache(device, channels)
    train = read_samples(project, train_ids, config.value_map, channels, warn)
    if train and not any(bool((s[2] != IGNORE_INDEX).any()) for s in train):
        raise SegstudioError(f"no labeled pixels in {project.root}: every mask of the {len(train)} training "
                             "image(s) is unlabeled (255); paint some pixels with a class first")
    train_cache.set_samples(train)
    val_cache.set_samples(read_samples(project, val_ids, config.value_map, channels, warn))
    if not len(train_cache):
        raise SegstudioError(f"no readable labeled images in {project.root}")
    return train_cache, val_cache


def read_samples(project: Project, ids: list[str], value_map: dict[int, int] | None, channels: ChannelSpec,
                 warn: Warn) -> list[tuple[str, np.ndarray, np.ndarray, float]]:
    """(image_id, pixels, mask, mask mtime) of the readable labeled images among ``ids``."""
    out = []
    for image_id in ids:
        path = project.image_path(image_id)
        got = read_labeled(project, path, value_map, warn, channels)
        if got is not None:
            out.append((image_id, got[0], got[1], file_mtime(project.mask_path(path))))
    return out


def create_run_dir(setup: TrainSetup, dist: DistInfo, train_ids: list[str], val_ids: list[str]) -> tuple[Path, MetricsLog | None]:
    """The run folder (rank 0's name on every rank) and, on rank 0, its claimed metrics log; writes
    config.json and split.json. A new run never reuses another run's folder."""
    cfg = setup.config
    if cfg.out is not None:
        run_dir = Path(cfg.out)
    elif cfg.resume is not None:
        run_dir = Path(cfg.resume).parent
    else:
        run_dir = new_run_dir(setup.project.runs_dir, cfg.model)
    # rank 0's name everywhere: the clocks (and so the time-stamped names) of the ranks may differ
    run_dir = Path(D.broadcast_object(str(run_dir), dist))
    if not dist.is_main:
        return run_dir, None
    new_run = cfg.resume is None
    check_run_dir(run_dir, resume=not new_run)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SaveError(run_dir, exc.strerror or str(exc)) from None
    remove_stale_temp_files([run_dir], recursive=False)  # left by a killed process
    log = MetricsLog.open(run_dir / METRICS_FILE, new_run)  # claims the folder
    meta = {"config": cfg.to_json(), "project": str(setup.project.root), "device": str(setup.device),
            "precision": setup.precision, "pretrained": setup.pretrained, "world_size": int(dist.world_size),
            "steps_per_epoch": setup.steps_per_epoch, "segstudio_version": __version__,
            "torch_version": torch.__version__, "cache_device": str(setup.train_cache.storage_device),
            "init_source": setup.init_source}
    atomic_write_json(run_dir / "config.json", meta)
    atomic_write_json(run_dir / "split.json", {"seed": cfg.seed, "val_fraction": cfg.val_fraction,
                                               "train": train_ids, "val": val_ids})
    return run_dir, log
