"""segstudio: annotate images, train a segmentation model, correct its predictions."""

from __future__ import annotations

__version__ = "0.1.0"
