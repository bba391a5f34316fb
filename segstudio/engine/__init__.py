"""Training engine: models, data pipeline, trainer, predictor, export. torch + torchvision, no Qt."""

from __future__ import annotations
