"""Stacked MNIST, the 1,000-mode image benchmark (VEEGAN, PacGAN): three independently drawn digits as the
R, G and B channels of one 28x28 image.

- `stacked-mnist` stacks real MNIST digits from idx files in --data-dir; `stacked-digits` stacks the
  procedural digits (offline). Each sample's label is its triple, 100*r + 10*g + b in 0..999; it is there
  to score modes, not to condition on (the specs default to unconditional training).
- `StackedMeter` (gan/metrics/modes.py) reads the triple of a generated image by running a digit classifier
  (the project's own small CNN, trained on the single-channel digits and cached like QualityMeter's) on each
  channel. A mode is covered when at least one sample reads it; KL is that of the mode histogram from uniform,
  sum_k p_k log(1000 p_k) in nats, exactly as the VEEGAN / PacGAN protocol scores 26,000 samples.
"""
from __future__ import annotations

from typing import Any

import torch

from .digits import make_digits
from .images import IDX_FILES, R3GAN_RECIPE, idx_files, idx_images, to_unit
from .spec import Dataset, DatasetError, DatasetSpec, register_dataset

Tensor = torch.Tensor
N_MODES = 1000
STACKED_N = 20_000  # training triples drawn per run (3 x 28 x 28 float32: ~190 MB)
DIGITS_POOL = 20_000  # procedural digits the stacked-digits triples are drawn from (as the `digits` set)


def triples(labels: Tensor) -> Tensor:
    """Mode labels (N,) in 0..999 -> their digits (N, 3) as (r, g, b)."""
    labels = labels.long()
    return torch.stack([labels // 100, labels // 10 % 10, labels % 10], dim=1)


def stack_digits(x: Tensor, y: Tensor, *, n: int, seed: int) -> tuple[Tensor, Tensor]:
    """Draw n triples of single digits x (M, 1, H, W) with labels y (M,), independently and uniformly with
    replacement; returns images (n, 3, H, W) and mode labels (n,) = 100 * r + 10 * g + b."""
    if x.dim() != 4 or x.shape[1] != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"stack_digits needs single-channel digits (M, 1, H, W) with M labels, got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    idx = torch.randint(0, x.shape[0], (n, 3), generator=torch.Generator().manual_seed(seed))  # (n, 3)
    images = x[idx.flatten()].view(n, 3, *x.shape[2:])  # channel c of sample i is digit idx[i, c]
    d = y.long()[idx]  # (n, 3)
    return images, d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]


def _stacked(name: str, singles: Dataset, *, n: int, seed: int, source: str) -> Dataset:
    x, y = stack_digits(singles.x, singles.y, n=n, seed=seed)
    return Dataset(name, "image", (3, *singles.x.shape[2:]), n_classes=N_MODES, x=x, y=y,
                   info={"stacked": True, "singles": singles, "source": source})


def stacked_mnist(*, data_dir: str | None = None, seed: int = 0, n: int = STACKED_N, **_: Any) -> Dataset:
    """Stacked MNIST: n triples of labelled MNIST digits from the idx files in data_dir."""
    x, y = idx_images("mnist", data_dir)
    if y is None:
        raise DatasetError("stacked-mnist needs the MNIST labels too: put the *-labels-idx1-ubyte files next "
                         "to the images")
    singles = Dataset("mnist", "image", (1, 28, 28), n_classes=10, x=to_unit(x), y=y)  # as the mnist set
    return _stacked("stacked-mnist", singles, n=n, seed=seed, source="MNIST")


def stacked_digits(*, seed: int = 0, n: int = STACKED_N, **_: Any) -> Dataset:
    """Stacked digits: n triples drawn from a fixed pool of procedural digits (offline)."""
    x, y = make_digits(DIGITS_POOL, seed=0)  # the pool of `digits` at seed 0, so its cached classifier serves
    singles = Dataset("digits", "image", (1, 28, 28), n_classes=10, x=x, y=y)
    return _stacked("stacked-digits", singles, n=n, seed=seed, source="procedural digits")


def is_stacked(data: Any) -> bool:
    """True for a stacked set (its modes are scored by StackedMeter)."""
    return bool(getattr(data, "info", None) and data.info.get("stacked"))


_DEFAULTS: dict[str, Any] = {"conditional": False}
# R3GAN's recipe (rpgan + R1 + R2, lazily every 4 steps) at twice the image sets' width, chosen with
# bench/bench_stacked.py: at 10 CPU-minutes it roughly halves the KL of the width-16 bce defaults (README, RESULTS).
_MODEL_DEFAULTS: dict[str, dict[str, Any]] = {"dcgan": R3GAN_RECIPE}

register_dataset(DatasetSpec(
    "stacked-mnist", "image", (3, 28, 28), stacked_mnist, n_classes=N_MODES, files=IDX_FILES,
    present=idx_files("mnist"), source="mnist",
    defaults=_DEFAULTS, model_defaults=_MODEL_DEFAULTS,
    doc="Stacked MNIST: three MNIST digits as the RGB channels, 1,000 modes (the mode-collapse benchmark)"))
register_dataset(DatasetSpec(
    "stacked-digits", "image", (3, 28, 28), stacked_digits, n_classes=N_MODES,
    defaults=_DEFAULTS, model_defaults=_MODEL_DEFAULTS,
    doc="three procedural digits as the RGB channels, 1,000 modes: Stacked MNIST offline"))

__all__ = ["N_MODES", "STACKED_N", "is_stacked", "stack_digits", "stacked_digits", "stacked_mnist", "triples"]
