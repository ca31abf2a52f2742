"""Two-domain image sets for CycleGAN (kind "pair"): `digits2colordigits` (built in), `mnist2colormnist` (MNIST
idx files in --data-dir) and the user's own two folders (`pair:DIR_A,DIR_B`).

Each is a `PairDataset` whose domains `a` and `b` are image Datasets drawn from independent streams: no image
of A has a partner in B (different digits, drawn from different seeds or disjoint halves of MNIST). Labels are
kept per domain for scoring only; training never reads them.

Held-out images, never trained on, live in `data.info["held_out"] = {"a": (x, y), "b": (x, y)}` (x float32
(N, C, H, W) in [-1, 1], y int64 (N,) or None for unlabelled folders); `held_out(data)` returns that dict and
`load_held_out(name, ...)` builds it alone (cheaply for the built-in sets), for the CLI's `translate`.
`data.info["domains"]` names the two domains, e.g. {"a": "digits", "b": "colordigits"}.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import torch

from .colordigits import colorize, make_colordigits
from .digits import make_digits
from .folder import load_folder
from .images import IDX_FILES, idx_files, idx_images, to_unit
from .spec import Dataset, DatasetError, DatasetSpec, PairDataset, dataset_spec, register_dataset, register_prefix

Tensor = torch.Tensor
HeldOut = dict[str, tuple[Tensor, Tensor | None]]
PAIR_N = 10_000  # training images per domain (300 s of CPU training sees each about twice)
HELD_N = 1_000  # held-out images per domain
# Seeds of the fixed streams, all >= 2**62, so never equal to a run's derived seeds (< 2**62): held-out digits (A),
# held-out colordigits (B), the MNIST split, held-out colour MNIST, training colour MNIST. The held-out sets do
# not depend on the run's seed, so scores compare across runs.
_FIXED = {k: 2**62 + i for i, k in enumerate(("held_a", "held_b", "mnist_split", "mnist_held_b", "mnist_b"))}


def _seeds(seed: int, k: int) -> list[int]:
    """k independent 62-bit seeds derived from `seed` (one per stream)."""
    return torch.randint(0, 2**62, (k,), generator=torch.Generator().manual_seed(int(seed))).tolist()


def make_pair(name: str, a: tuple[Tensor, Tensor | None], b: tuple[Tensor, Tensor | None], held: HeldOut, *,
              domains: tuple[str, str] = ("A", "B"), n_classes: int = 0) -> PairDataset:
    """A PairDataset from training images per domain ((N, C, H, W) in [-1, 1], labels or None) and held-out ones."""
    def domain(tag: str, xy: tuple[Tensor, Tensor | None]) -> Dataset:
        x, y = xy
        k = n_classes if y is not None else 0
        return Dataset(f"{name}:{tag}", "image", tuple(x.shape[1:]), n_classes=k, x=x.contiguous(), y=y)

    return PairDataset(name, domain("a", a), domain("b", b),
                       info={"held_out": held, "domains": {"a": domains[0], "b": domains[1]}})


def held_out(data: Any) -> HeldOut:
    """The held-out images of a pair set, {"a": (x, y), "b": (x, y)}; a dict of that form is passed through."""
    if isinstance(data, dict) and "a" in data and "b" in data:
        return data
    found = getattr(data, "info", {}).get("held_out")
    if not found:
        raise ValueError(f"dataset {getattr(data, 'name', data)!r} has no held-out images (not a pair set?)")
    return found


# ---- digits2colordigits --------------------------------------------------------------------------------

def _digits_held_out(n: int = HELD_N) -> HeldOut:
    return {"a": make_digits(n, seed=_FIXED["held_a"]), "b": make_colordigits(n, seed=_FIXED["held_b"])}


def digits2colordigits(*, seed: int = 0, n: int = PAIR_N, n_held: int = HELD_N, **_: Any) -> PairDataset:
    """Procedural digits (A, grey) and colordigits (B, colour textures), from two independent seeds derived
    from `seed`; the held-out sets come from fixed streams of their own."""
    sa, sb = _seeds(seed, 2)
    return make_pair("digits2colordigits", make_digits(n, seed=sa), make_colordigits(n, seed=sb),
                     _digits_held_out(n_held), domains=("digits", "colordigits"), n_classes=10)


# ---- mnist2colormnist ----------------------------------------------------------------------------------

def _mnist_split(data_dir: str | None, n_held: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """MNIST images and labels with a fixed permutation cut into (held A, held B, the rest)."""
    x, y = idx_images("mnist", data_dir)
    if y is None:
        raise DatasetError("mnist2colormnist needs the MNIST label files too: " + IDX_FILES)
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(_FIXED["mnist_split"]))
    h = min(n_held, x.shape[0] // 10)
    return to_unit(x), y, perm[:2 * h], perm[2 * h:]


def _colour(x: Tensor, seed: int) -> Tensor:
    return colorize(x, seed=seed) if x.shape[0] else torch.empty(0, 3, *x.shape[2:])


def _mnist_held(x: Tensor, y: Tensor, held: Tensor) -> HeldOut:
    h = held.shape[0] // 2
    ia, ib = held[:h], held[h:]
    return {"a": (x[ia], y[ia]), "b": (_colour(x[ib], _FIXED["mnist_held_b"]), y[ib])}


def mnist2colormnist(*, data_dir: str | None = None, n: int = PAIR_N, n_held: int = HELD_N, **_: Any) -> PairDataset:
    """MNIST (A) and MNIST colourised over textures (B), from disjoint halves (at most n each); fixed split."""
    x, y, held, rest = _mnist_split(data_dir, n_held)
    half = rest.shape[0] // 2
    ia, ib = rest[:half][:n], rest[half:][:n]
    return make_pair("mnist2colormnist", (x[ia], y[ia]), (_colour(x[ib], _FIXED["mnist_b"]), y[ib]),
                     _mnist_held(x, y, held), domains=("MNIST", "colour MNIST"), n_classes=10)


# ---- the user's two folders ------------------------------------------------------------------------------

def pair_from_folders(dir_a: str, dir_b: str, *, image_size: int = 32, name: str | None = None) -> PairDataset:
    """Two folders of images (e.g. two unpacked zips) as an unlabelled pair; a tenth of each (at most 500, at
    least 1) is held out. Both domains are resized to image_size; C is 1 if all of a folder is grey, else 3."""
    parts = []
    for tag, folder in (("A", dir_a), ("B", dir_b)):
        d = load_folder(folder, image_size=image_size)
        n = d.x.shape[0]
        if n < 2:
            raise DatasetError(f"domain {tag} ({os.path.basename(folder.rstrip(os.sep)) or folder!r}) has {n} "
                               f"image; it needs at least 2 (one is held out for the Translate view)")
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(0))
        h = max(1, min(500, n // 10))
        parts.append(((d.x[perm[h:]], None), (d.x[perm[:h]], None)))
    (a, ha), (b, hb) = parts
    names = tuple(os.path.basename(d.rstrip(os.sep)) or tag for d, tag in ((dir_a, "A"), (dir_b, "B")))
    return make_pair(name or f"pair:{dir_a},{dir_b}", a, b, {"a": ha, "b": hb}, domains=names)


def split_pair_name(rest: str) -> tuple[str, str]:
    """'DIR_A,DIR_B' -> (DIR_A, DIR_B); with more than one comma, the split whose two sides are folders."""
    cuts = [i for i, ch in enumerate(rest) if ch == ","]
    if not cuts:
        raise DatasetError(f"pair:{rest} needs two folders separated by a comma: pair:DIR_A,DIR_B")
    for i in cuts:
        if os.path.isdir(rest[:i]) and os.path.isdir(rest[i + 1:]):
            return rest[:i], rest[i + 1:]
    i = cuts[len(cuts) // 2]
    return rest[:i], rest[i + 1:]


def _pair_spec(rest: str, image_size: int | None) -> DatasetSpec:
    size = image_size or 32
    dir_a, dir_b = split_pair_name(rest)

    def load(**_: Any) -> PairDataset:
        return pair_from_folders(dir_a, dir_b, image_size=size, name=f"pair:{rest}")

    # colour at most: the exact channel counts are known once loaded
    return DatasetSpec(f"pair:{rest}", "pair", (3, size, size), load, shape_b=(3, size, size),
                       doc="your own two folders of images (domain A, domain B)", defaults={"conditional": False})


# ---- registration and held-out loading ---------------------------------------------------------------

_HELD_LOADERS: dict[str, Callable[..., HeldOut]] = {
    "digits2colordigits": lambda **_: _digits_held_out(),
    "mnist2colormnist": lambda *, data_dir=None, **_: _mnist_held(*_mnist_split(data_dir, HELD_N)[:3]),
}


def load_held_out(name: str, *, data_dir: str | None = None, seed: int = 0, image_size: int | None = None) -> HeldOut:
    """The held-out images of pair set `name`, without building its training images when it can."""
    if name in _HELD_LOADERS:
        return _HELD_LOADERS[name](data_dir=data_dir)
    spec = dataset_spec(name, image_size=image_size)
    if spec.kind != "pair":
        raise DatasetError(f"dataset {name!r} is not a pair of domains (it is {spec.kind})")
    return held_out(spec.load(data_dir=data_dir, seed=seed, image_size=image_size))


# CycleGAN's defaults on the grey <-> colour digit pairs (bench/bench_cyclegan.py, bench/RESULTS.md). Half of B has
# light textures under dark ink. With the paper's settings G (A->B) only ever paints dark backgrounds, and F (B->A)
# turns light B images into white blobs that G can colour back (label kept B->A stays at ~49% for 4,000+ steps).
# Two changes break that, and both are needed: D judges packs of 4 images (PacGAN), so an all-dark G is caught;
# and no identity loss, whose G(grey(b)) = b term teaches G "light in, light out", which makes F's blobs cheap
# (and which asks G to invent colour from grey). A higher lr (5e-4) gets there within 300 s on one core. An EMA of
# the generators (0.999) steadies the domain score A->B, which wobbles between readings without it (seed 0 at 300 s:
# 86.5% without, 92.9% with; both seeds >= 90% on every target with it).
PAIR_DIGIT_DEFAULTS = {"cyclegan": {"pac": 4, "identity": 0.0, "lr": 5e-4, "ema": 0.999}}

register_dataset(DatasetSpec(
    "digits2colordigits", "pair", (1, 28, 28), digits2colordigits, n_classes=10, shape_b=(3, 28, 28),
    model_defaults=PAIR_DIGIT_DEFAULTS,
    doc="unpaired domains for CycleGAN: grey procedural digits (A) and the same kind of digits over colour "
        "textures (B), drawn independently; built in"))
register_dataset(DatasetSpec(
    "mnist2colormnist", "pair", (1, 28, 28), mnist2colormnist, n_classes=10, shape_b=(3, 28, 28), files=IDX_FILES,
    present=idx_files("mnist"), source="mnist",
    model_defaults=PAIR_DIGIT_DEFAULTS,
    doc="unpaired domains for CycleGAN: MNIST (A) and MNIST over colour textures (B), disjoint halves, from "
        "idx files in --data-dir"))
register_prefix("pair", _pair_spec)

__all__ = ["HELD_N", "PAIR_N", "digits2colordigits", "held_out", "load_held_out", "make_pair", "mnist2colormnist",
           "pair_from_folders", "split_pair_name"]
