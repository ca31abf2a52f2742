"""What a training thread publishes for the page: an immutable Snapshot, and the pure helpers that build
it (downsampled history, the fixed-noise picture). No threads, no Gradio."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gan.images import image_grid, scatter
from gan.trainer import Trainer

CHART_POINTS = 300  # charts never get more points than this, however long the run
MAX_FRAMES = 60  # time-lapse frames kept per run (thinned by half when full)


@dataclass(frozen=True)
class Snapshot:
    """What the page may read: published by the training thread, never mutated afterwards."""

    run_id: str
    version: int
    status: dict[str, Any]
    history: dict[str, list[float]]
    grid: np.ndarray | None
    generator: torch.nn.Module | None
    kind: str = "image"  # "1d", "2d" or "image"
    z_dim: int = 0
    n_classes: int = 0
    real: torch.Tensor | None = None  # real points drawn once, the backdrop of point scatters


def slug(text: str) -> str:
    """A safe piece of a file name."""
    return re.sub(r"[^A-Za-z0-9_]+", "-", text.split("/")[-1])[:24].strip("-") or "run"


def downsample(columns: dict[str, list[float]], points: int = CHART_POINTS) -> dict[str, list[float]]:
    """Every k-th row (and always the last) so that at most `points` rows remain."""
    n = len(columns.get("step", []))
    if n <= points:
        return {k: list(v) for k, v in columns.items()}
    idx = list(range(0, n, -(-n // points)))
    if idx[-1] != n - 1:
        idx.append(n - 1)
    return {k: [v[i] for i in idx] for k, v in columns.items()}


def render_grid(trainer: Trainer, real: torch.Tensor | None = None) -> np.ndarray:
    """The fixed-noise samples as a picture: a grid (one row per class when conditional) or a scatter."""
    samples = trainer.fixed_samples()
    if samples.dim() == 4:
        return image_grid(samples, nrow=10 if trainer.conditional else 8)
    extent = float(real.abs().max()) * 1.3 + 1e-6 if real is not None else None
    return scatter(samples, real=real, size=360, extent=extent)


__all__ = ["CHART_POINTS", "MAX_FRAMES", "Snapshot", "downsample", "render_grid", "slug"]
