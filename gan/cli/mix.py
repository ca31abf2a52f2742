"""The CLI's `mix` command: the style-mixing grid of a StyleGAN checkpoint.

    python -m gan mix --checkpoint CKPT [--n N] [--crossover K] [--seed S] [--psi P] --out FILE.npy|FILE.png

Row sources are seeds S .. S+N-1, column sources S+N .. S+2N-1 (z = gan.latent.latent_for(seed)); a
class-conditional model gives each seed the class seed % n_classes. The .npy is float32 (N+1, N+1, C, H, W) in
[-1, 1]: [0, 0] blank (zeros), [i+1, 0] row source i, [0, j+1] column source j, [i+1, j+1] row i's first K style
inputs with column j's others (gan.stylegan.family.mixing_grid, constant noise). The .png draws the same grid.
K defaults to gan.stylegan.family.default_crossover: every style below full resolution from the row.
"""
from __future__ import annotations

import argparse
import os
from typing import Any, Callable

import numpy as np

from ..errors import ConfigError
from ..hub import open_model
from ..images import image_grid, save_png
from ..stylegan.family import default_crossover, mixing_grid

MAX_N = 32
PSI_RANGE = (-1.0, 2.0)


def add_parser(sub: Any, number: Callable[..., Callable[[str], Any]]) -> argparse.ArgumentParser:
    """The `mix` subcommand's flags (`number` is the CLI's checked number type)."""
    m = sub.add_parser("mix", help="write the style-mixing grid of a StyleGAN checkpoint")
    m.add_argument("--checkpoint", help="stylegan checkpoint, exported folder or Hub repo id (default: the newest "
                                        "in checkpoints/)")
    m.add_argument("--n", type=number("n", integer=True, lo=1), default=5,
                   help=f"row and column sources (1-{MAX_N}; default 5)")
    m.add_argument("--crossover", type=number("crossover", integer=True, lo=0),
                   help="K: style inputs taken from the row source (default: every one below full resolution)")
    m.add_argument("--seed", type=number("seed", integer=True, lo=0), default=0,
                   help="first row seed; rows are seeds S..S+N-1, columns S+N..S+2N-1")
    m.add_argument("--psi", type=number("psi"), default=1.0, help="truncation about the average w (1: none)")
    m.add_argument("--out", help="FILE.npy (the grid) or FILE.png (a picture); default <checkpoint>_mix.png")
    return m


def run(a: argparse.Namespace, path: str) -> dict[str, Any]:
    """Carry out `mix` for `path` (a checkpoint, an exported folder or a Hub repo id); returns the JSON report."""
    here = os.path.exists(path)  # else a Hub repo id: USER/NAME -> USER_NAME_mix.png
    out = a.out or (os.path.splitext(path.rstrip("/\\"))[0] if here else path.replace("/", "_")) + "_mix.png"
    if not out.lower().endswith((".npy", ".png")):
        raise ConfigError(f"--out must end in .npy or .png, got {out!r}")
    if a.n > MAX_N:
        raise ConfigError(f"--n must be at most {MAX_N}, got {a.n}")
    if not PSI_RANGE[0] <= a.psi <= PSI_RANGE[1]:
        raise ConfigError(f"--psi must be between {PSI_RANGE[0]:g} and {PSI_RANGE[1]:g}, got {a.psi:g}")
    nets, mc, _ = open_model(path)
    if mc.model != "stylegan":
        raise ConfigError(f"mix needs a stylegan checkpoint; {os.path.basename(path.rstrip('/'))!r} holds a "
                          f"{mc.model!r} model (use sample)")
    g = nets["G"]
    k = default_crossover(g) if a.crossover is None else a.crossover
    if k > g.num_ws:
        raise ConfigError(f"--crossover must be between 0 and {g.num_ws} (this model has {g.num_ws} style "
                          f"inputs), got {k}")
    rows = list(range(a.seed, a.seed + a.n))
    cols = list(range(a.seed + a.n, a.seed + 2 * a.n))
    grid = mixing_grid(g, rows, cols, crossover=k, psi=a.psi)  # (N+1, N+1, C, H, W)
    if out.lower().endswith(".npy"):
        np.save(out, grid.numpy().astype(np.float32))
    else:
        save_png(image_grid(grid.flatten(0, 1), nrow=a.n + 1), out)
    return {"out": out, "shape": list(grid.shape), "crossover": k, "default_crossover": default_crossover(g),
            "num_ws": g.num_ws, "psi": a.psi, "row_seeds": rows, "column_seeds": cols}


__all__ = ["add_parser", "run"]
