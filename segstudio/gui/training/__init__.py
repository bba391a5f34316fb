"""Training panel: train from the window, watch curves and predictions, correct and retrain (issue #5)."""

from __future__ import annotations
