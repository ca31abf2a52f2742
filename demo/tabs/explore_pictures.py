"""Pictures from a published `Sampler` (frozen CPU copies of a run's sampling nets): samples, latent edits,
slerp strips. No Gradio; every function returns a uint8 (H, W, 3) array, safe to call from any request
while training goes on. Families with views of their own (StyleGAN's mixing, CycleGAN's translation) add
them in their own modules; the classic views here work for any generator called as G(z, y).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import torch

from gan.family import generate
from gan.images import image_grid, scatter
from gan.latent import (
    edit,
    latent_for,
    principal_directions,
    raw_directions,
    slerp,
    truncate,
)

UPSCALE = 6  # a single 28 px digit is drawn at 168 px
N_POINTS = 500  # points drawn per picture for 1-D / 2-D generators
MAX_SAMPLES = {"image": 256, "points": 5000}


def need(sampler: Any) -> Any:
    """The sampler, or ValueError when nothing has been published yet."""
    if sampler is None:
        raise ValueError("no generator yet: press Train (or load a checkpoint) first")
    return sampler


def generator(sampler: Any) -> torch.nn.Module:
    """The main sampling generator."""
    return next(iter(sampler.nets.values()))


def labels(sampler: Any, n: int, class_label: int | None) -> torch.Tensor | None:
    """Class labels for a conditional generator: one class, or all classes in turn (None / < 0)."""
    if sampler.n_classes <= 0:
        return None
    if class_label is None or int(class_label) < 0:
        return torch.arange(n) % sampler.n_classes
    return torch.full((n,), min(int(class_label), sampler.n_classes - 1), dtype=torch.long)


def points(sampler: Any, samples: torch.Tensor, **kw: Any) -> np.ndarray:
    """Generated points (orange) over the real ones (blue), on the same axes as the fixed grid (gan.images.scatter:
    `before` shows where a latent edit moved them from, `path` joins them in order)."""
    extent = float(sampler.real.abs().max()) * 1.3 + 1e-6 if sampler.real is not None else None
    return scatter(samples, real=sampler.real, size=360, extent=extent, **kw)


def sample_grid(sampler: Any, n: int = 64, seed: int = 0, *, class_label: int | None = None,
                psi: float = 1.0) -> np.ndarray:
    """n fresh samples from seed: an image grid, or a scatter of points over the real data."""
    need(sampler)
    n = int(max(1, min(n, MAX_SAMPLES.get(sampler.kind, 256))))
    g = torch.Generator().manual_seed(int(seed))
    z = truncate(torch.randn(n, sampler.z_dim, generator=g), psi)
    x = generate(generator(sampler), z, labels(sampler, n, class_label))
    if x.dim() == 4:
        return image_grid(x, nrow=10 if sampler.n_classes and class_label is None else None)
    return points(sampler, x)


def latent_image(sampler: Any, seed: int, offsets: list[float], *, directions: torch.Tensor, psi: float = 1.0,
                 class_label: int | None = None, z: torch.Tensor | None = None) -> np.ndarray:
    """The sample for seed (or for latent `z`, a restored image's), truncated by psi, then moved by offsets along
    directions.

    Images: one image, upscaled. Points: N_POINTS samples around seed all moved the same way, so a slider
    shows how that direction shifts the whole generated distribution (the unmoved cloud in grey beside it).
    """
    need(sampler)
    offsets = [float(o) for o in offsets][:directions.shape[0]]
    g = generator(sampler)
    if sampler.kind == "image":
        z = edit(truncate(latent_for(seed, sampler.z_dim) if z is None else z, psi), directions, offsets)[None]
        x = generate(g, z, labels(sampler, 1, 0 if class_label is None else class_label))
        return image_grid(x, pad=0, upscale=UPSCALE)
    z = truncate(torch.randn(N_POINTS, sampler.z_dim, generator=torch.Generator().manual_seed(int(seed))), psi)
    before = generate(g, z, None) if any(offsets) else None
    return points(sampler, generate(g, edit(z, directions, offsets), None), before=before)


def slerp_strip(sampler: Any, seed_a: int, seed_b: int, steps: int = 8, *, psi: float = 1.0,
                class_label: int | None = None) -> np.ndarray:
    """Images along the great circle from seed_a's latent to seed_b's, as one strip (points: the path they take)."""
    need(sampler)
    steps = int(max(2, min(steps, 16)))
    a, b = latent_for(seed_a, sampler.z_dim), latent_for(seed_b, sampler.z_dim)
    z = truncate(slerp(a, b, torch.linspace(0, 1, steps)), psi)  # (steps, z_dim)
    g = generator(sampler)
    if sampler.kind == "image":
        y = labels(sampler, steps, 0 if class_label is None else class_label)
        return image_grid(generate(g, z, y), nrow=steps, upscale=3)
    return points(sampler, generate(g, z, None), path=True)


class Directions:
    """Principal latent directions per published sampler, computed once and shared by every viewer."""

    def __init__(self, *, k: int = 8, size: int = 8) -> None:
        self.k, self.size = k, size
        self._cache: OrderedDict[int, tuple[Any, torch.Tensor, torch.Tensor]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sampler: Any, *, recompute: bool = False, run_key: str = "",
            compute: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(directions (k, dim), explained variance (k,)) for the sampler's generator: GANSpace in z by default,
        or `compute(sampler, k)` (StyleGAN: PCA of w). Without `recompute`, a run keeps the directions it first
        got (sliders keep their meaning while it trains)."""
        key = hash(run_key) if run_key else id(sampler)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and not recompute:
                self._cache.move_to_end(key)
                return hit[1], hit[2]
            if compute is not None:
                dirs, var = compute(need(sampler), self.k)
            else:
                dirs, var = principal_directions(generator(need(sampler)), n=1000, k=max(self.k, 10), seed=0)
            self._cache[key] = (sampler, dirs, var)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
            return dirs, var

    def axes(self, sampler: Any, mode: str, *, run_key: str = "") -> torch.Tensor:
        """The slider axes: principal directions (k, z_dim), or the first k raw z dimensions."""
        if mode == "raw":
            return raw_directions(sampler.z_dim, self.k)
        return self.get(sampler, run_key=run_key)[0][:self.k]


__all__ = ["Directions", "UPSCALE", "generator", "labels", "latent_image", "need", "points", "sample_grid",
           "slerp_strip"]
