"""The CLI's `restore` command: project images into a checkpoint's latent space and restore them.

    python -m gan restore --checkpoint CKPT --task project|inpaint|superres|denoise --input X.npy|IMG.png
                          [--mask M.npy|MASK.png] --out Y.npy|OUT.png [--steps N] [--seed S] [--plus]

X.npy: float32 (N, C, h, w) in [-1, 1], the model's size (or, for superres, the model's size over a whole
factor). M.npy: (N, 1, H, W) or (1, 1, H, W), 1 where a pixel is known, 0 where it is missing; MASK.png: white
known, black missing. A PNG input is converted to the model's channels (and, but for superres, resized to its
size). Y.npy: float32 (N, C, H, W) in [-1, 1]; OUT.png: per image, the input, the restored image and G's
projection side by side. Bad shapes, channels, masks or factors: one line, exit 2 (gan.restore.degrade).
"""
from __future__ import annotations

import argparse
import os
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..cyclegan.nets import match_channels, to_domain
from ..errors import ConfigError
from ..hub import open_model
from ..images import image_grid, save_png
from ..restore.degrade import TASKS
from ..restore.invert import restore, space_of
from .translate import _read_image

PNG_UPSCALE = 6


def add_parser(sub: Any, number: Callable[..., Callable[[str], Any]]) -> argparse.ArgumentParser:
    """The `restore` subcommand's flags (`number` is the CLI's checked number type)."""
    r = sub.add_parser("restore", help="project images into a model's latent space: inpaint, super-resolve, "
                                       "denoise")
    r.add_argument("--checkpoint", help="checkpoint, exported folder or Hub repo id (default: the newest in "
                                        "checkpoints/)")
    r.add_argument("--task", choices=TASKS, required=True, help="what was done to the input")
    r.add_argument("--input", required=True, help="X.npy (N, C, h, w) in [-1, 1], or an image file")
    r.add_argument("--mask", help="inpaint: M.npy (N or 1, 1, H, W), 1 = known, or MASK.png (white = known)")
    r.add_argument("--out", required=True, help="Y.npy (N, C, H, W) in [-1, 1] or OUT.png (a picture)")
    r.add_argument("--steps", type=number("steps", integer=True, lo=1), default=100, help="optimiser steps")
    r.add_argument("--seed", type=number("seed", integer=True, lo=0), default=0, help="seed of the starts")
    r.add_argument("--plus", action="store_true", help="StyleGAN: search w+ (one w per style input)")
    return r


def _load_npy(flag: str, path: str) -> torch.Tensor:
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - missing, not an .npy, an object array
        raise ConfigError(f"{flag} {path!r} is not a readable .npy array ({type(e).__name__})") from None
    if arr.dtype.kind not in "fiub":
        raise ConfigError(f"{flag} {path!r} must hold numbers, got dtype {arr.dtype}")
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))


def _load_png(path: str, shape: tuple[int, int, int], task: str) -> torch.Tensor:
    """An image file as (1, C, h, w) in [-1, 1]: the model's channels; the model's size unless superres."""
    im = _read_image(path)
    c, h, w = shape
    size = (im.height, im.width) if task == "superres" else (h, w)
    return to_domain(im.convert("RGB"), (c, *size)).clamp(-1, 1)


def load_inputs(a: argparse.Namespace, shape: tuple[int, int, int]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(images (N, C, h, w), mask (N or 1, 1, H, W) or None) from --input and --mask."""
    png = not a.input.lower().endswith(".npy")
    x = _load_png(a.input, shape, a.task) if png else _load_npy("--input", a.input)
    mask = None
    if a.mask:
        if a.mask.lower().endswith(".npy"):
            mask = _load_npy("--mask", a.mask)
        else:
            mask = (to_domain(_read_image(a.mask).convert("RGB"), (1, *shape[1:])) > 0).float()
    return x, mask


def run(a: argparse.Namespace, path: str) -> dict[str, Any]:
    """Carry out `restore` for `path` (a checkpoint, an exported folder or a Hub repo id); returns the report."""
    if not a.out.lower().endswith((".npy", ".png")):
        raise ConfigError(f"--out must end in .npy or .png, got {a.out!r}")
    nets, mc, _ = open_model(path)
    space_of(nets)  # a model with no latent says so before any file is read
    shape = tuple(int(s) for s in mc.data_shape)
    x, mask = load_inputs(a, shape)
    r = restore(nets, x, task=a.task, mask=mask, steps=a.steps, seed=a.seed, plus=a.plus)
    folder = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(folder, exist_ok=True)
    if a.out.lower().endswith(".npy"):
        np.save(a.out, r.images.numpy().astype(np.float32))
    else:
        given = x if mask is None else x * mask + (mask - 1)  # missing pixels drawn black
        given = F.interpolate(given, size=shape[1:], mode="nearest")
        row = torch.stack([match_channels(t, shape[0]) for t in (given, r.images, r.projection)], 1)
        save_png(image_grid(row.flatten(0, 1), nrow=3, upscale=PNG_UPSCALE), a.out)
    return {"out": a.out, "task": a.task, "n": int(x.shape[0]), "shape": list(r.images.shape),
            "space": r.space, "classes": None if r.y is None else r.y.tolist(),
            "loss": [round(float(v), 5) for v in r.loss]}


__all__ = ["add_parser", "load_inputs", "run"]
