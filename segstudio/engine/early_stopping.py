"""Early stopping on a plateau of the validation mIoU (``--patience``), and when to validate (``--val-every``).

:class:`EarlyStopping` counts validations since the mIoU last improved by at least ``min_delta``;
after ``patience`` of them the trainer ends the run as completed, with a message that says so. Its
state goes into the checkpoint, so a resumed run stops where the uninterrupted one would. Runs without
validation images (mIoU None) and ``patience`` 0 never stop early; the GUI's live training sets 0.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the smallest mIoU gain that counts as an improvement for early stopping
MIN_DELTA = 1e-3


def is_validation_epoch(epoch: int, epochs: int, every: int) -> bool:
    """Whether epoch ``epoch`` (0-based) of ``epochs`` validates: every ``every``-th epoch, and always the last."""
    return (epoch + 1) % max(1, int(every)) == 0 or epoch + 1 >= epochs


class EarlyStopped(Exception):
    """Raised by the trainer when :meth:`EarlyStopping.update` says stop; the text is the reason."""


@dataclass
class EarlyStopping:
    """Stop after ``patience`` validations without an mIoU gain of ``min_delta`` (0 = never)."""

    patience: int
    min_delta: float = MIN_DELTA
    best: float | None = None
    stale: int = 0  # validations since the last improvement

    def update(self, miou: float | None) -> bool:
        """Record one validation's mIoU; True when the run should stop now."""
        if miou is None:
            return False
        if self.best is None or miou > self.best + self.min_delta:
            self.best, self.stale = float(miou), 0
            return False
        self.stale += 1
        return self.patience > 0 and self.stale >= self.patience

    def reason(self, epoch: int, epochs: int) -> str:
        """The one-line status of a run stopped after epoch ``epoch`` (0-based)."""
        return (f"stopped early after epoch {epoch + 1} of {epochs}: the validation mIoU has not improved by "
                f"{self.min_delta:g} for {self.stale} validations (--patience {self.patience})")

    def state_dict(self) -> dict:
        return {"best": self.best, "stale": int(self.stale)}

    def load_state_dict(self, state: dict | None) -> None:
        if isinstance(state, dict):
            best = state.get("best")
            self.best = float(best) if isinstance(best, (int, float)) else None
            stale = state.get("stale")
            self.stale = stale if isinstance(stale, int) and not isinstance(stale, bool) and stale >= 0 else 0
