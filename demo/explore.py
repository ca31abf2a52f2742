"""Pictures from a published generator copy: samples, latent edits and slerp strips (no Gradio, no threads).

Every function takes a `Snapshot` (whose `generator` is a frozen CPU copy) and returns a uint8
(H, W, 3) array, so it is safe to call from any request while training goes on.
"""
from __future__ import annotations

import numpy as np
import torch

from gan.images import image_grid, scatter
from gan.latent import edit, latent_for, raw_directions, slerp, truncate
from gan.trainer import generate

UPSCALE = 6  # a single 28 px digit is drawn at 168 px
N_POINTS = 500  # points drawn per picture for 1-D / 2-D generators


def _need(snap) -> None:
    if snap is None or snap.generator is None:
        raise ValueError("no generator yet: press Train (or load a checkpoint) first")


def _labels(snap, n: int, class_label: int | None) -> torch.Tensor | None:
    if snap.n_classes <= 0:
        return None
    if class_label is None or int(class_label) < 0:
        return torch.arange(n) % snap.n_classes
    return torch.full((n,), min(int(class_label), snap.n_classes - 1), dtype=torch.long)


def _points(snap, samples: torch.Tensor) -> np.ndarray:
    """Generated points (orange) over the real ones (blue), on the same axes as the fixed grid."""
    extent = float(snap.real.abs().max()) * 1.3 + 1e-6 if snap.real is not None else None
    return scatter(samples, real=snap.real, size=360, extent=extent)


def sample_grid(snap, n: int = 64, seed: int = 0, *, class_label: int | None = None,
                psi: float = 1.0) -> np.ndarray:
    """n fresh samples from seed: an image grid, or a scatter of points over the real data."""
    _need(snap)
    n = int(max(1, min(n, 256 if snap.kind == "image" else 5000)))
    g = torch.Generator().manual_seed(int(seed))
    z = truncate(torch.randn(n, snap.z_dim, generator=g), psi)
    x = generate(snap.generator, z, _labels(snap, n, class_label))
    if x.dim() == 4:
        cols = 10 if snap.n_classes and class_label is None else None
        return image_grid(x, nrow=cols)
    return _points(snap, x)


def direction_set(snap, mode: str, k: int, principal: torch.Tensor | None) -> torch.Tensor:
    """The slider axes: principal directions (k, z_dim) or the first k raw z dimensions."""
    if mode == "raw" or principal is None:
        return raw_directions(snap.z_dim, k)
    return principal[:k]


def latent_image(snap, seed: int, offsets, *, directions: torch.Tensor, psi: float = 1.0,
                 class_label: int | None = None) -> np.ndarray:
    """The sample for seed, truncated by psi, then moved by offsets along directions.

    Images: one image, upscaled. Points: N_POINTS samples around seed all moved the same way,
    so a slider shows how that direction shifts the whole generated distribution.
    """
    _need(snap)
    offsets = [float(o) for o in offsets][:directions.shape[0]]
    if snap.kind == "image":
        z = truncate(latent_for(seed, snap.z_dim), psi)
        z = edit(z, directions, offsets)[None]
        y = _labels(snap, 1, 0 if class_label is None else class_label)
        x = generate(snap.generator, z, y)
        return image_grid(x, pad=0, upscale=UPSCALE)
    g = torch.Generator().manual_seed(int(seed))
    z = truncate(torch.randn(N_POINTS, snap.z_dim, generator=g), psi)
    x = generate(snap.generator, edit(z, directions, offsets), None)
    return _points(snap, x)


def slerp_strip(snap, seed_a: int, seed_b: int, steps: int = 8, *, psi: float = 1.0,
                class_label: int | None = None) -> np.ndarray:
    """Images along the great circle from seed_a's latent to seed_b's, as one strip."""
    _need(snap)
    steps = int(max(2, min(steps, 16)))
    a, b = latent_for(seed_a, snap.z_dim), latent_for(seed_b, snap.z_dim)
    z = truncate(slerp(a, b, torch.linspace(0, 1, steps)), psi)  # (steps, z_dim)
    if snap.kind == "image":
        y = _labels(snap, steps, 0 if class_label is None else class_label)
        return image_grid(generate(snap.generator, z, y), nrow=steps, upscale=3)
    return _points(snap, generate(snap.generator, z, None))


__all__ = ["direction_set", "latent_image", "sample_grid", "slerp_strip", "UPSCALE"]
