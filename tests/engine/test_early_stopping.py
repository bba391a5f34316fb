"""Early stopping on a plateau (--patience) and the validation cadence (--val-every)."""

from __future__ import annotations

import json

from segstudio.engine.checkpoint import load_checkpoint
from segstudio.engine.early_stopping import EarlyStopping, is_validation_epoch
from segstudio.engine.trainer import Trainer


def test_plateau_counter():
    stop = EarlyStopping(patience=2, min_delta=0.01)
    assert [stop.update(m) for m in (0.5, 0.7, 0.705, None, 0.71, 0.8, 0.79, 0.805)] == \
        [False, False, False, False, True, False, False, True]
    assert stop.best == 0.8 and stop.stale == 2
    again = EarlyStopping(patience=2, min_delta=0.01)
    again.load_state_dict(stop.state_dict())
    assert (again.best, again.stale) == (0.8, 2)
    again.load_state_dict({"best": "high", "stale": "many"})  # a hostile checkpoint entry is ignored
    assert (again.best, again.stale) == (None, 0)
    never = EarlyStopping(patience=0)
    assert not any(never.update(0.5) for _ in range(10))


def test_validation_cadence_always_includes_the_last_epoch():
    assert [e for e in range(7) if is_validation_epoch(e, 7, 3)] == [2, 5, 6]
    assert [e for e in range(3) if is_validation_epoch(e, 3, 1)] == [0, 1, 2]


def test_a_plateau_ends_the_run_early_with_a_clear_status(tiny_project, tiny_config, recorder):
    # a learning rate of 1e-9 cannot improve the model: the validation mIoU plateaus at once
    cfg = tiny_config(epochs=30, lr=1e-9, patience=2, val_every=1, tta="none")
    end = Trainer(tiny_project, cfg, [recorder]).run()
    epochs = recorder.of("on_epoch_end")
    assert end.status == "completed" and len(epochs) < 30, end.message
    assert end.message.startswith(f"stopped early after epoch {len(epochs)} of 30: the validation mIoU has not "
                                  "improved by 0.001 for 2 validations (--patience 2)"), end.message
    mious = [e.miou for e in epochs]
    assert max(mious[-2:]) <= max(mious[:-2]) + 1e-3  # the last two validations did not improve
    last = load_checkpoint(end.run_dir / "last.pt")
    assert last["epoch"] == len(epochs) and last["early_stopping"]["stale"] == 2
    records = [json.loads(line) for line in (end.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["type"] == "TrainEnd" and "stopped early" in records[-1]["message"]


def test_val_every_skips_metrics_between_validations(tiny_project, tiny_config, recorder):
    end = Trainer(tiny_project, tiny_config(epochs=3, val_every=2, tta="none"), [recorder]).run()
    assert end.status == "completed", end.message
    mious = [e.miou for e in recorder.of("on_epoch_end")]
    assert mious[0] is None and mious[1] is not None and mious[2] is not None  # epochs 2 and 3 (the last)
    assert end.best_miou == max(mious[1:])
