"""StyleGAN's Explore views, from a published `Sampler` (frozen CPU copies): sliders along principal directions
of W on a chosen layer range, truncation in W, the style-mixing grid, stochastic variation, and slerp in Z
against lerp in W. No Gradio; every function returns uint8 (H, W, 3) pictures.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gan.images import image_grid
from gan.stylegan import family as sg

from .explore_pictures import generator, labels, need

UPSCALE = 6


def _label(sampler: Any, n: int, class_label: int | None) -> torch.Tensor | None:
    return labels(sampler, n, 0 if class_label is None else class_label)


@torch.no_grad()
def w_image(sampler: Any, seed: int, offsets: list[float], *, directions: torch.Tensor, layers: str = "all",
            psi: float = 1.0, class_label: int | None = None,
            w: torch.Tensor | None = None) -> np.ndarray:
    """The image of seed's w (or of `w`, a restored image's), truncated about w's running average, moved along W's principal directions on
    the chosen style inputs (all, coarse, middle or fine)."""
    G = generator(need(sampler)).eval()
    w = sg.w_of(G, [int(seed)], y=_label(sampler, 1, class_label))[0] if w is None else w
    ws = sg.edit_ws(G, w, directions, [float(o) for o in offsets], layers=sg.layer_range(G, layers), psi=psi)
    x = G.synthesis(ws, noise_mode="const")  # (1, C, H, W)
    return image_grid(x, pad=0, upscale=UPSCALE)


@torch.no_grad()
def mixing(sampler: Any, rows: list[int], cols: list[int], *, crossover: int | None, psi: float = 1.0,
           class_label: int | None = None) -> np.ndarray:
    """The style-mixing grid: the top row and left column are the sources, each cell mixes its row's first
    `crossover` style inputs (None: default_k) with its column's others; the corner is blank. A class_label below
    0 gives each seed its own class (seed mod the number of classes), so the grid spans several classes."""
    G = generator(need(sampler)).eval()
    y = None if class_label is not None and int(class_label) < 0 else _label(sampler, 1, class_label)
    grid = sg.mixing_grid(G, rows, cols, crossover=crossover, psi=psi, y=y)
    n_rows, n_cols = grid.shape[:2]
    return image_grid(grid.reshape(n_rows * n_cols, *grid.shape[2:]), nrow=n_cols, upscale=2)


@torch.no_grad()
def variation(sampler: Any, seed: int, *, n: int = 8, psi: float = 1.0,
              class_label: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(n images of one w with fresh noise, the per-pixel spread as a heat picture)."""
    G = generator(need(sampler)).eval()
    images, spread = sg.noise_variation(G, int(seed), n=n, psi=psi, y=_label(sampler, 1, class_label))
    s = spread.float()
    s = (s / s.max().clamp_min(1e-8)) * 2 - 1  # (H, W) in [-1, 1] for the grid helper
    return image_grid(images, nrow=n, upscale=2), image_grid(s[None, None], pad=0, upscale=UPSCALE)


@torch.no_grad()
def zw(sampler: Any, seed_a: int, seed_b: int, *, steps: int = 8, psi: float = 1.0,
       class_label: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(slerp in Z, lerp in W) between two seeds, as two strips."""
    G = generator(need(sampler)).eval()
    z_images, w_images = sg.zw_strips(G, int(seed_a), int(seed_b), steps=steps, psi=psi,
                                      y=_label(sampler, 1, class_label))
    return image_grid(z_images, nrow=steps, upscale=3), image_grid(w_images, nrow=steps, upscale=3)


def default_k(sampler: Any) -> tuple[int, int]:
    """(the mixing grid's default crossover K, the most K can be) for the sampler's generator: gan.stylegan's
    default_crossover, every style input below full resolution from the row (measured best on digits)."""
    G = generator(need(sampler))
    return sg.default_crossover(G), int(G.num_ws)


def w_directions(sampler: Any, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Principal directions of W for the sampler's generator (PCA of sampled w), and their variance shares."""
    return sg.w_directions(generator(need(sampler)).eval(), k=max(k, 10))


__all__ = ["default_k", "mixing", "variation", "w_directions", "w_image", "zw"]
