"""Turning samples into pictures: image grids and point scatters as uint8 arrays or PNG files (PIL only)."""
from __future__ import annotations

import math

import numpy as np
import torch


def image_grid(images: torch.Tensor, *, nrow: int | None = None, pad: int = 2, upscale: int = 1) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (rows*(H+pad)+pad, cols*(W+pad)+pad, 3) uint8 grid."""
    n, c, h, w = images.shape
    cols = nrow or max(1, int(math.ceil(math.sqrt(n))))
    rows = int(math.ceil(n / cols))
    x = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()
    if c == 1:
        x = x.expand(n, 3, h, w)
    grid = torch.full((3, rows * (h + pad) + pad, cols * (w + pad) + pad), 40, dtype=torch.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, top:top + h, left:left + w] = x[i, :3]
    out = grid.permute(1, 2, 0).numpy()  # (H', W', 3)
    if upscale > 1:
        out = out.repeat(upscale, axis=0).repeat(upscale, axis=1)
    return np.ascontiguousarray(out)


def scatter(points: torch.Tensor, *, real: torch.Tensor | None = None, size: int = 400,
            extent: float | None = None) -> np.ndarray:
    """Draw 1-D or 2-D points (generated in orange, real in blue) on a white square, (size, size, 3) uint8."""
    from PIL import Image, ImageDraw

    def as2d(p: torch.Tensor) -> np.ndarray:
        p = p.detach().float().reshape(p.shape[0], -1).cpu().numpy()
        if p.shape[1] == 1:  # 1-D: spread along y by rank so density is visible
            p = np.concatenate([p, np.linspace(-1, 1, len(p))[:, None] * 0.1], 1)
        return p[:, :2]

    pts = as2d(points)
    ref = as2d(real) if real is not None else None
    both = pts if ref is None else np.concatenate([pts, ref])
    lim = extent or float(np.nanmax(np.abs(both))) * 1.1 + 1e-6
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)

    def px(p: np.ndarray) -> np.ndarray:
        return np.stack([(p[:, 0] / lim + 1) * size / 2, (1 - p[:, 1] / lim) * size / 2], 1)

    for arr, colour in ((ref, (70, 110, 230)), (pts, (245, 130, 30))):
        if arr is None:
            continue
        for x, y in px(arr):
            if np.isfinite(x) and np.isfinite(y):
                draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=colour)
    return np.asarray(img)


def save_png(array: np.ndarray, path: str) -> str:
    """Write a (H, W, 3) uint8 array as PNG."""
    from PIL import Image

    Image.fromarray(array).save(path)
    return path


def picture(samples: torch.Tensor, **kw: object) -> np.ndarray:
    """A grid for images, a scatter for points."""
    return image_grid(samples, **kw) if samples.dim() == 4 else scatter(samples, **kw)
