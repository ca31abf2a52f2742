"""The restoration tasks' degradations and the checks of what a caller gives (shapes, channels, masks, the
whole super-resolution factor); images are float32 (N, C, H, W) in [-1, 1], masks 1 where a pixel is known."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ConfigError

Tensor = torch.Tensor
TASKS = ("project", "inpaint", "superres", "denoise")


@dataclass(frozen=True)
class Task:
    """A checked restoration problem: what was given (N, C, h, w), the mask (N, 1, H, W) or None, the factor."""

    name: str
    x: Tensor
    mask: Tensor | None = None
    factor: int = 1

    def degrade(self, img: Tensor) -> Tensor:
        """G's images (B, C, H, W) degraded the same way as the given ones: pooled down for superres, else as is."""
        return F.avg_pool2d(img, self.factor) if self.factor > 1 else img

    def loss(self, img: Tensor, target: Tensor, mask: Tensor | None) -> Tensor:
        """Per-image mean squared error (B,) between degraded `img` and `target`, over the known pixels only."""
        d = (self.degrade(img) - target).square()  # (B, C, h, w)
        if mask is None:
            return d.flatten(1).mean(1)
        known = (mask.expand_as(d)).flatten(1)
        return (d.flatten(1) * known).sum(1) / known.sum(1).clamp_min(1.0)

    def finish(self, img: Tensor) -> Tensor:
        """The answer: G's image, with the given pixels pasted back for inpaint."""
        if self.name == "inpaint" and self.mask is not None:
            return torch.where(self.mask.expand_as(img) > 0.5, self.x, img)
        return img


def _shape(t: Tensor) -> str:
    return "x".join(str(s) for s in t.shape)


def check_task(task: str, x: Tensor, shape: tuple[int, int, int], mask: Tensor | None = None) -> Task:
    """A Task for images `x` and a model of image shape (C, H, W), or ConfigError in one line: unknown task,
    wrong rank, channels or size, values outside [-1, 1], a mask that does not fit, a factor that is not whole."""
    if task not in TASKS:
        raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {str(task)[:40]!r}")
    c, h, w = (int(s) for s in shape)
    x = torch.as_tensor(x)
    if x.ndim != 4 or x.shape[0] < 1:
        raise ConfigError(f"the input must be images (N, C, H, W), got shape {_shape(x)}")
    if not x.is_floating_point() or not bool(torch.isfinite(x).all()):
        raise ConfigError("the input must hold finite floating-point values in [-1, 1]")
    x = x.float()
    if float(x.abs().max()) > 1.0 + 1e-4:
        raise ConfigError(f"the input's values must lie in [-1, 1], got {float(x.min()):.3g} to {float(x.max()):.3g}")
    if x.shape[1] != c:
        raise ConfigError(f"the input has {x.shape[1]} channels; this model makes {c}-channel images")
    xh, xw = int(x.shape[2]), int(x.shape[3])
    factor = 1
    if task == "superres":
        if xh > h or xw > w or h % xh or w % xw or h // xh != w // xw:
            raise ConfigError(f"superres needs the model's size {h}x{w} divided by a whole factor (e.g. "
                              f"{h // 4}x{w // 4} for 4x), got {xh}x{xw}")
        factor = h // xh
    elif (xh, xw) != (h, w):
        raise ConfigError(f"the input must be {h}x{w} (the model's size) for {task}, got {xh}x{xw}")
    if task != "inpaint":
        if mask is not None:
            raise ConfigError(f"a mask is for inpaint only, not {task}")
        return Task(task, x.clamp(-1, 1), None, factor)
    if mask is None:
        raise ConfigError("inpaint needs a mask: (N, 1, H, W) or (1, 1, H, W), 1 where a pixel is known")
    m = torch.as_tensor(mask).float()
    if m.ndim != 4 or m.shape[1] != 1 or m.shape[0] not in (1, x.shape[0]) or tuple(m.shape[2:]) != (h, w):
        raise ConfigError(f"the mask must be ({x.shape[0]}, 1, {h}, {w}) or (1, 1, {h}, {w}), got {_shape(m)}")
    if not bool(((m == 0) | (m == 1)).all()):
        raise ConfigError("the mask must hold only 0 (missing) and 1 (known)")
    return Task(task, x.clamp(-1, 1), m.expand(x.shape[0], -1, -1, -1).contiguous(), 1)


def degrade(x: Tensor, task: str, *, mask: Tensor | None = None, factor: int = 4, sigma: float = 0.5,
            seed: int = 0) -> Tensor:
    """Clean images (N, C, H, W) in [-1, 1] made into a task's input: black (-1) where mask is 0 (inpaint),
    average-pooled by `factor` (superres), with Gaussian noise of `sigma` on the [0, 1] scale, clipped (denoise)."""
    if task == "inpaint":
        return torch.where(mask > 0.5, x, torch.full_like(x, -1.0))
    if task == "superres":
        return F.avg_pool2d(x, factor)
    if task == "denoise":
        g = torch.Generator().manual_seed(int(seed))
        return (x + 2 * sigma * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    return x.clone()


def psnr(a: Tensor, b: Tensor) -> Tensor:
    """Peak signal-to-noise ratio in dB per image (N,), on the [0, 1] scale of images in [-1, 1]."""
    mse = ((a - b) / 2).square().flatten(1).mean(1).clamp_min(1e-10)
    return -10 * torch.log10(mse)


__all__ = ["TASKS", "Task", "check_task", "degrade", "psnr"]
