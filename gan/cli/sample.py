"""The CLI's `sample` command: samples of a checkpoint as a picture, raw samples, or a synthetic dataset.

    python -m gan sample --checkpoint CKPT --n 64 --out FILE.png       # a picture (grid or scatter)
    python -m gan sample --checkpoint CKPT --n 1000 --out FILE.npy     # raw samples, float32
    python -m gan sample --checkpoint CKPT --n 10000 --out FILE.npz    # x (N, C, H, W) in [-1, 1], y (int64)
    python -m gan sample --checkpoint CKPT --n 10000 --out FILE.zip    # PNGs, one folder per class, README.txt

For a class-conditional model the .npz and .zip are balanced over the classes (`--classes 0,3,7`: over those).
"""
from __future__ import annotations

import argparse
import os
from typing import Any, Callable

import numpy as np

from ..data.spec import dataset_spec
from ..data.synthetic import parse_classes, readme, synthesize, write_dataset
from ..errors import ConfigError
from ..family import family_of
from ..hub import open_model
from ..images import picture, save_png
from . import translate

DATASET_EXTS = (".npz", ".zip")


def add_parser(sub: Any, number: Callable[..., Callable[[str], Any]]) -> argparse.ArgumentParser:
    """The `sample` subcommand's flags (`number` is the CLI's checked number type)."""
    s = sub.add_parser("sample", help="draw samples from a checkpoint (a picture, raw samples or a dataset)")
    s.add_argument("--checkpoint", help="checkpoint file, exported folder or Hub repo id (default: the newest in "
                                        "checkpoints/)")
    s.add_argument("--n", type=number("n", integer=True, lo=1), default=64)
    s.add_argument("--seed", type=number("seed", integer=True, lo=0), default=0)
    s.add_argument("--classes", help="conditional models, .npz/.zip: comma-separated classes to draw, balanced "
                                     "(default: all)")
    s.add_argument("--out", help="FILE.npy (raw samples), FILE.png (a picture), FILE.npz (x, y: a dataset) or "
                                 "FILE.zip (PNGs in one folder per class); default <checkpoint>_samples.png")
    return s


def run(a: argparse.Namespace, path: str) -> dict[str, Any]:
    """Write the samples `a` asks for from the model at `path`; returns the JSON report."""
    nets, mc, meta = open_model(path)  # a checkpoint file, an exported folder or a Hub repo id
    fam = family_of(mc.model)
    here = os.path.exists(path)  # else a Hub repo id: USER/NAME -> USER_NAME_samples.png
    out = a.out or (os.path.splitext(path.rstrip("/\\"))[0] if here else path.replace("/", "_")) + "_samples.png"
    ext = os.path.splitext(out)[1].lower()
    classes = parse_classes(getattr(a, "classes", None))
    if classes is not None and ext not in DATASET_EXTS:
        raise ConfigError("--classes goes with a dataset output (--out FILE.npz or FILE.zip)")
    if ext in DATASET_EXTS:
        if len(mc.data_shape) != 3 or mc.data_shape_b:
            raise ConfigError("a synthetic dataset needs an image generator (not points, not a translation model)")
        x, y = synthesize(nets, fam, a.n, seed=a.seed, classes=classes)
        tc = meta["train_config"]
        about = readme(model=str(tc.get("model") or mc.model), step=int(meta["step"]), seed=a.seed, n=a.n,
                       dataset=str(tc.get("dataset")), classes=None if y is None else sorted(set(y.tolist())))
        write_dataset(out, x, y, about=about)
        return {"out": out, "n": a.n, "shape": list(x.shape), "classes": None if y is None else
                sorted(set(y.tolist()))}
    x = fam.sample(nets, a.n, seed=a.seed, **translate.sample_kwargs(mc, meta))
    if ext == ".npy":
        np.save(out, x.numpy().astype(np.float32))
    elif ext == ".png":
        save_png(picture(x, nrow=10 if mc.n_classes == 10 else None) if x.dim() == 4 else picture(x), out)
    else:
        raise ConfigError(f"--out must end in .npy, .png, .npz or .zip, got {out!r}")
    report: dict[str, Any] = {"out": out, "n": a.n, "shape": list(x.shape)}
    try:
        spec = dataset_spec(meta["train_config"]["dataset"])
    except ConfigError:
        spec = None  # a dataset this installation does not know: nothing to score against
    if spec is not None and spec.modes is not None:
        from ..metrics.modes import mode_score

        report["score"] = mode_score(x, spec.modes.means, spec.modes.std)
    return report


__all__ = ["add_parser", "run"]
