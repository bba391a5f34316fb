"""DDP helpers: no-ops without torchrun, gloo all-reduce, and 2-process training matching 1 process."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.nn as nn

from segstudio.engine import distributed as D
from segstudio.engine.distributed import DistInfo


def test_helpers_are_noops_without_torchrun(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    info = D.init_distributed("cpu")
    assert info == DistInfo(False, 0, 1, 0, "")
    assert D.is_main_process()
    model = nn.Linear(2, 2)
    assert D.wrap_model(model, info, "cpu") is model
    assert D.unwrap_model(model) is model
    t = torch.tensor([1.0, 2.0])
    assert D.all_reduce_sum(t, info) is t and t.tolist() == [1.0, 2.0]
    assert D.broadcast_object({"a": 1}, info) == {"a": 1}
    assert D.any_rank(True, info) and not D.any_rank(False, info)
    D.barrier(info)
    D.cleanup(info)


def test_single_process_torchrun_is_not_distributed(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert not D.init_distributed("cpu").enabled


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, queue) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    info = D.init_distributed("cpu")
    try:
        cm = torch.zeros(3, 3, dtype=torch.int64)
        cm[rank, rank] = 10 + rank
        D.all_reduce_sum(cm, info)
        loss = D.all_reduce_mean(torch.tensor([float(rank)]), info)
        run_dir = D.broadcast_object(f"run-from-{rank}", info)
        stop = D.any_rank(rank == 1, info)
        model = D.wrap_model(nn.Linear(2, 2), info, "cpu")
        queue.put((rank, info.backend, D.is_main_process(), cm.tolist(), float(loss), run_dir, stop,
                   type(model).__name__, type(D.unwrap_model(model)).__name__))
        D.barrier(info)
    finally:
        D.cleanup(info)


def test_two_gloo_processes_reduce_and_broadcast():
    ctx = torch.multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, 2, port, queue)) for r in range(2)]
    for p in procs:
        p.start()
    results = sorted(queue.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    for rank, backend, main, cm, loss, run_dir, stop, wrapped, inner in results:
        assert backend == "gloo"
        assert main == (rank == 0)
        assert cm == [[10, 0, 0], [0, 11, 0], [0, 0, 0]]
        assert loss == pytest.approx(0.5)
        assert run_dir == "run-from-0"
        assert stop is True
        assert wrapped == "DistributedDataParallel" and inner == "Linear"


# ---------------------------------------------------------------- 2-process training (gloo) vs 1 process

# BatchNorm couples the samples of each process's share of the batch (gloo on CPU has no
# SyncBatchNorm), which would hide whether the processes saw the right crops; with per-sample
# GroupNorm the averaged gradients of N processes equal one process's up to the per-process loss
# normalisation, so the comparison below measures the data pipeline, not BatchNorm
_GROUP_NORM = '''
import torch.nn as nn
import segstudio.engine.models as models
models._conv_bn_relu = lambda cin, cout: nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                                                       nn.GroupNorm(1, cout), nn.ReLU(inplace=True))
'''

_DRIVER = _GROUP_NORM + '''
import json, os, sys
from pathlib import Path
from segstudio.engine.config import TrainConfig
from segstudio.engine.trainer import Trainer
cfg = TrainConfig.from_json(json.loads(Path(sys.argv[2]).read_text()))
end = Trainer(sys.argv[1], cfg).run()
rank = int(os.environ.get("RANK", 0))
report = {"rank": rank, "status": end.status, "message": end.message, "traceback": end.traceback,
          "run_dir": str(end.run_dir)}
Path(sys.argv[3], f"rank{rank}.json").write_text(json.dumps(report))
sys.exit(0 if end.status == "completed" else 1)
'''

# ``segstudio`` itself (the real command line), with the same GroupNorm models
_CLI_DRIVER = _GROUP_NORM + '''
import runpy, sys
sys.argv[0] = "segstudio"
runpy.run_module("segstudio", run_name="__main__")
'''


def _group_norm_models(monkeypatch) -> None:
    import torch.nn as nn

    import segstudio.engine.models as models

    monkeypatch.setattr(models, "_conv_bn_relu", lambda cin, cout: nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.GroupNorm(1, cout), nn.ReLU(inplace=True)))


def _train_config(out, batch_size: int) -> dict:
    from segstudio.engine.config import TrainConfig

    # full random augmentation (scaled crops that leave the image, flips, colour jitter): each sample's
    # draws depend on (seed, epoch, position in the global batch), not on the process, so the two runs
    # still see identical pixels; SGD keeps the comparison first-order in the gradients
    cfg = TrainConfig(model="unet", model_args={"width": 4, "depth": 2}, epochs=2, batch_size=batch_size, lr=0.05,
                      crop=48, scale_range=(0.6, 1.5), flips=True, color_jitter=0.2, device="cpu", precision="fp32",
                      steps_per_epoch=3, optimizer="sgd", preview_every_epoch=False, val_fraction=0.25,
                      channels_last=False, pretrained=False, seed=1, out=out)
    return cfg.to_json()


def _weights(run_dir):
    ckpt = torch.load(run_dir / "last.pt", map_location="cpu", weights_only=True)
    return {k: v.double() for k, v in ckpt["state_dict"].items() if v.is_floating_point() and "running" not in k}


def _distance(a: dict, b: dict) -> float:
    return sum(float((a[k] - b[k]).pow(2).sum()) for k in a) ** 0.5


def _records(run_dir) -> list[dict]:
    import json

    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _epoch_records(run_dir) -> list[dict]:
    return [r for r in _records(run_dir) if r["type"] == "EpochEnd"]


@pytest.mark.slow
def test_two_process_gloo_training_matches_one_process_with_the_same_global_batch(tmp_path, monkeypatch):
    import json
    import subprocess
    import sys

    from segstudio.core.demo import generate_demo_project
    from segstudio.engine.config import TrainConfig
    from segstudio.engine.models import create_model
    from segstudio.engine.trainer import Trainer

    project = tmp_path / "project"
    generate_demo_project(project, n_images=8, labeled=8, size=(64, 64))
    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER)
    ddp_dir = tmp_path / "ddp"
    (tmp_path / "ddp.json").write_text(json.dumps(_train_config(ddp_dir, batch_size=4)))
    reports_dir = tmp_path / "reports"  # the test's own bookkeeping, one file per rank
    reports_dir.mkdir()
    before = {p for p in tmp_path.rglob("*")}

    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(driver), str(project), str(tmp_path / "ddp.json"), str(reports_dir)],
                          capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    reports = [json.loads(p.read_text()) for p in sorted(reports_dir.glob("rank*.json"))]
    assert sorted(r["rank"] for r in reports) == [0, 1]
    assert all(r["status"] == "completed" for r in reports), reports
    assert {r["run_dir"] for r in reports} == {str(ddp_dir)}

    # only rank 0 wrote: one run folder with one copy of everything, each step logged once
    written = {p for p in tmp_path.rglob("*") if p.is_file() and reports_dir not in p.parents} - before
    assert {p.relative_to(tmp_path).as_posix() for p in written} == {
        "ddp/best.pt", "ddp/last.pt", "ddp/config.json", "ddp/metrics.jsonl", "ddp/split.json"}
    assert not (project / "runs").exists()
    assert json.loads((ddp_dir / "config.json").read_text())["world_size"] == 2
    records = [json.loads(line) for line in (ddp_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [r["global_step"] for r in records if r["type"] == "StepEvent"]
    assert steps == sorted(set(steps)) and len(steps) == 6
    assert sum(r["type"] == "TrainEnd" for r in records) == 1

    # the same global batch in one process, and a control with only the per-process batch
    _group_norm_models(monkeypatch)
    single_dir, control_dir = tmp_path / "single", tmp_path / "control"
    for out, batch in ((single_dir, 4), (control_dir, 2)):
        end = Trainer(project, TrainConfig.from_json(_train_config(out, batch))).run()
        assert end.status == "completed", end.message
    torch.manual_seed(1)
    init = {k: v.double() for k, v in create_model("unet", 4, pretrained=False, width=4, depth=2).state_dict().items()
            if v.is_floating_point() and "running" not in k}
    ddp, single, control = _weights(ddp_dir), _weights(single_dir), _weights(control_dir)
    update = _distance(single, init)
    assert update > 0.1  # training moved the weights
    # the same augmented crops in both runs: a close match (each process normalises its loss by its
    # own labeled pixels, so not bit-exact); crops drawn per process, or a different global batch,
    # land ~25x further away
    assert _distance(ddp, single) < 0.05 * update
    assert _distance(ddp, single) < 0.2 * _distance(ddp, control)
    # the logged step loss is the mean over the ranks, so it follows the single-process loss
    step_losses = [[r["loss"] for r in _records(d) if r["type"] == "StepEvent"] for d in (ddp_dir, single_dir)]
    assert step_losses[0] == pytest.approx(step_losses[1], rel=0.03)
    e_ddp, e_single = _epoch_records(ddp_dir)[-1], _epoch_records(single_dir)[-1]
    assert e_ddp["train_loss"] == pytest.approx(e_single["train_loss"], rel=0.05)
    assert e_ddp["miou"] == pytest.approx(e_single["miou"], abs=0.05)

    # resume the 2-process run for a third epoch with the real command line,
    # ``torchrun -m segstudio train`` (run through a driver for the GroupNorm models):
    # it continues in the same folder, rank 0 alone writing
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    cli_driver = tmp_path / "cli_driver.py"
    cli_driver.write_text(_CLI_DRIVER)
    before.add(cli_driver)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(cli_driver), "train", str(project), "--resume", str(ddp_dir / "last.pt"),
                           "--epochs", "3", "--device", "cpu"],
                          capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stderr.count("epoch 3/3: train loss") == 1  # progress printed by rank 0 only
    assert [r["epoch"] for r in _epoch_records(ddp_dir)] == [0, 1, 2]
    assert torch.load(ddp_dir / "last.pt", weights_only=True)["epoch"] == 3
    assert {p for p in tmp_path.rglob("*") if p.is_file()} == before
    assert not (project / "runs").exists()


# an out-of-memory error on rank 1 only, at its second step (the GroupNorm models of _GROUP_NORM)
_OOM_DRIVER = _GROUP_NORM + '''
import json, os, sys
from pathlib import Path
import torch
from segstudio.engine.config import TrainConfig
from segstudio.engine.trainer import Trainer
rank = int(os.environ.get("RANK", 0))
calls = {"n": 0}
original = Trainer._forward_backward
def flaky(self, x, y):
    calls["n"] += 1
    if rank == 1 and calls["n"] == 2:
        raise torch.OutOfMemoryError("CUDA out of memory (injected on rank 1)")
    return original(self, x, y)
Trainer._forward_backward = flaky
cfg = TrainConfig.from_json(json.loads(Path(sys.argv[2]).read_text()))
trainer = Trainer(sys.argv[1], cfg)
end = trainer.run()
torch.save(trainer.model.state_dict(), Path(sys.argv[3], f"rank{rank}.pt"))
report = {"rank": rank, "status": end.status, "message": end.message, "traceback": end.traceback,
          "rank_batch": trainer.setup.rank_batch, "calls": calls["n"]}
Path(sys.argv[3], f"rank{rank}.json").write_text(json.dumps(report))
sys.exit(0 if end.status == "completed" else 1)
'''


@pytest.mark.slow
def test_an_out_of_memory_error_on_one_rank_halves_the_batch_on_every_rank(tmp_path, monkeypatch):
    import json
    import subprocess
    import sys

    from segstudio.core.demo import generate_demo_project
    from segstudio.engine.config import TrainConfig
    from segstudio.engine.trainer import Trainer

    project = tmp_path / "project"
    generate_demo_project(project, n_images=8, labeled=8, size=(64, 64))
    driver = tmp_path / "oom_driver.py"
    driver.write_text(_OOM_DRIVER)
    ddp_dir, reports_dir = tmp_path / "ddp", tmp_path / "reports"
    reports_dir.mkdir()
    (tmp_path / "ddp.json").write_text(json.dumps(_train_config(ddp_dir, batch_size=4)))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(driver), str(project), str(tmp_path / "ddp.json"), str(reports_dir)],
                          capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    reports = {r["rank"]: r for r in (json.loads(p.read_text()) for p in reports_dir.glob("rank*.json"))}
    assert all(r["status"] == "completed" for r in reports.values()), reports
    assert reports[0]["rank_batch"] == reports[1]["rank_batch"] == 1  # both halved, from 2 each
    assert reports[0]["calls"] == reports[1]["calls"] == 7  # 6 steps; both ranks did the second one again, halved
    w0, w1 = (torch.load(reports_dir / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert all(torch.equal(w0[k], w1[k]) for k in w0)  # the same weights on both ranks
    reduced = [r for r in _records(ddp_dir) if r["type"] == "BatchSizeReduced"]
    assert [(r["old"], r["new"]) for r in reduced] == [(4, 2)] and "out of memory" in reduced[0]["reason"]
    steps = [r["global_step"] for r in _records(ddp_dir) if r["type"] == "StepEvent"]
    assert steps == list(range(6))

    # one process with the global batch and the same out-of-memory error at its second step sees the
    # same samples (positions in step), so it lands where the two processes did; without the error it
    # would have trained on other crops
    _group_norm_models(monkeypatch)
    original = Trainer._forward_backward
    calls = {"n": 0}

    def flaky(self, x, y):
        calls["n"] += 1
        if calls["n"] == 2:
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")
        return original(self, x, y)

    control_dir, single_dir = tmp_path / "control", tmp_path / "single"
    assert Trainer(project, TrainConfig.from_json(_train_config(control_dir, 4))).run().status == "completed"
    monkeypatch.setattr(Trainer, "_forward_backward", flaky)
    assert Trainer(project, TrainConfig.from_json(_train_config(single_dir, 4))).run().status == "completed"
    ddp, single, control = _weights(ddp_dir), _weights(single_dir), _weights(control_dir)
    assert _distance(ddp, single) < 0.2 * _distance(ddp, control)
