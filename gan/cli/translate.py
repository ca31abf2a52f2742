"""The CLI's `translate` command (CycleGAN checkpoints), and the held-out images that `sample` translates.

    python -m gan translate --checkpoint CKPT --direction a2b|b2a [--n N] [--seed S] --out FILE.npz
    python -m gan translate --checkpoint CKPT --direction a2b --input IMG --out OUT.png

The .npz holds x (N held-out source images, (N, C_in, H, W)), y (their translations, (N, C_out, H, W)) and rec
(the reconstructions, (N, C_in, H, W)), float32 in [-1, 1], and label (int64 (N,), the inputs' classes) when the
source domain is labelled. The PNG shows the input (converted to the source domain), its translation and its
reconstruction side by side.
"""
from __future__ import annotations

import argparse
import os
from typing import Any, Callable

import numpy as np
import torch

from ..config import ModelConfig
from ..cyclegan.nets import DIRECTIONS, match_channels, to_domain, translate
from ..data.pairs import HeldOut
from ..errors import ConfigError
from ..hub import held_out_of, open_model
from ..images import image_grid, save_png

PNG_UPSCALE = 8  # 28 px -> 224 px per image in the --input picture


def add_parser(sub: Any, number: Callable[..., Callable[[str], Any]]) -> argparse.ArgumentParser:
    """The `translate` subcommand's flags (`number` is the CLI's checked number type)."""
    t = sub.add_parser("translate", help="translate held-out images, or one image, with a CycleGAN checkpoint")
    t.add_argument("--checkpoint", help="CycleGAN checkpoint, exported folder or Hub repo id (default: the newest "
                                        "in checkpoints/)")
    t.add_argument("--direction", choices=DIRECTIONS, default="a2b", help="a2b (G: A->B) or b2a (F: B->A)")
    t.add_argument("--n", type=number("n", integer=True, lo=1), default=16, help="held-out images to translate")
    t.add_argument("--seed", type=number("seed", integer=True, lo=0), default=0, help="which held-out images")
    t.add_argument("--input", help="translate this image file instead (PNG, JPEG...); --out must be a .png")
    t.add_argument("--data-dir", help="where the dataset's files are, if not where the checkpoint was trained")
    t.add_argument("--out", required=True, help="FILE.npz (x, y, rec, label) or, with --input, FILE.png")
    return t


def checkpoint_held_out(state: dict[str, Any], *, data_dir: str | None = None) -> HeldOut:
    """The held-out images {"a": (x, y), "b": (x, y)} of the pair set a checkpoint (or an export's meta, both
    holding "train_config") was trained on."""
    tc = state["train_config"]
    return held_out_of({**tc, "data_dir": data_dir or tc.get("data_dir")})


def sample_kwargs(mc: ModelConfig, meta: dict[str, Any]) -> dict[str, Any]:
    """Extra arguments of `family.sample` for `gan sample`: the held-out images for a pair model, else none
    (mc, meta as gan.hub.open_model gives them)."""
    return {"data": checkpoint_held_out(meta)} if mc.data_shape_b else {}


def _read_image(path: str) -> Any:
    """An image file as RGBA (PIL), or ConfigError naming --input."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.width * im.height > 25_000_000:
                raise ConfigError(f"--input {path!r} is too large ({im.width}x{im.height}); use a smaller image")
            im.draft("RGB", (512, 512))  # a large JPEG decodes reduced
            return im.convert("RGBA")
    except ConfigError:
        raise
    except Exception as e:  # noqa: BLE001 - missing, not an image, truncated, a decompression bomb
        raise ConfigError(f"--input {path!r} is not a readable image ({type(e).__name__})") from None


def run(a: argparse.Namespace, path: str) -> dict[str, Any]:
    """Carry out `translate` for `path` (a checkpoint, an exported folder or a Hub repo id); returns the report."""
    nets, mc, meta = open_model(path)
    if not mc.data_shape_b:
        raise ConfigError(f"translate needs a CycleGAN checkpoint; {os.path.basename(path.rstrip('/'))!r} holds a "
                          f"{mc.model!r} model (use sample)")
    src = "a" if a.direction == "a2b" else "b"
    want = ".png" if a.input else ".npz"
    if not a.out.lower().endswith(want):
        raise ConfigError(f"--out must end in {want}" + (" with --input" if a.input else "") + f", got {a.out!r}")
    held = checkpoint_held_out(meta, data_dir=a.data_dir)
    hx, hy = held[src]
    shape = tuple(mc.data_shape if src == "a" else mc.data_shape_b)
    if a.input:
        x = to_domain(_read_image(a.input), shape, like=hx[:200])  # (1, C_in, H, W)
        y, rec = translate(nets, x, a.direction)
        row = torch.cat([match_channels(t, 3) for t in (x, y, rec)])  # (3, 3, H, W)
        save_png(image_grid(row, nrow=3, upscale=PNG_UPSCALE), a.out)
        return {"out": a.out, "direction": a.direction, "input": a.input, "shape": list(x.shape[1:])}
    if a.n > hx.shape[0]:
        raise ConfigError(f"n must be at most {hx.shape[0]} (the held-out images of domain {src.upper()}), got {a.n}")
    idx = torch.randperm(hx.shape[0], generator=torch.Generator().manual_seed(int(a.seed)))[:a.n]
    x = hx[idx].float()
    y, rec = translate(nets, x, a.direction)
    arrays = {"x": x.numpy().astype(np.float32), "y": y.numpy().astype(np.float32),
              "rec": rec.numpy().astype(np.float32)}
    if hy is not None:
        arrays["label"] = hy[idx].numpy().astype(np.int64)
    folder = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(folder, exist_ok=True)
    np.savez(a.out, **arrays)
    return {"out": a.out, "direction": a.direction, "n": int(a.n), "x": list(x.shape), "y": list(y.shape),
            "labels": hy is not None}


__all__ = ["add_parser", "checkpoint_held_out", "run", "sample_kwargs"]
