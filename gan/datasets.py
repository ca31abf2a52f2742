"""Datasets in a registry. Every set lives in memory as tensors; batches are drawn with an explicit
torch.Generator so a run is reproducible and resumable.

Toy sets (`gaussian1d`, `ring8`, `grid25`, `spiral`) are sampled fresh for each batch, in data coordinates.
Image sets are float32 (N, C, H, W) in [-1, 1].
"""
from __future__ import annotations

import gzip
import math
import os
from dataclasses import dataclass, field
from typing import Callable

import torch

Tensor = torch.Tensor
TOY_EPOCH = 10_000  # a nominal epoch for infinite toy data, in samples


class DatasetError(ValueError):
    """The dataset cannot be loaded; the message says why and what to do."""


@dataclass
class Dataset:
    """An in-memory dataset, or a sampler for an infinite toy distribution."""

    name: str
    kind: str  # "1d", "2d" or "image"
    shape: tuple[int, ...]
    n_classes: int = 0
    x: Tensor | None = None  # (N, *shape) for finite sets
    y: Tensor | None = None  # (N,) int64 labels, or None
    sampler: Callable[[int, torch.Generator], Tensor] | None = None  # toy: n -> (n, *shape)
    scale: float = 1.0  # typical magnitude of the data, for the toy generator's output
    modes: Tensor | None = None  # (K, D) mixture means, for mode-coverage scoring
    std: float = 0.0  # mixture component std
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return TOY_EPOCH if self.x is None else self.x.shape[0]

    def sample_real(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """n random real samples (with labels when labelled), independent of any batch stream."""
        if self.sampler is not None:
            return self.sampler(n, generator), None
        idx = torch.randint(0, len(self), (n,), generator=generator)
        return self.x[idx], None if self.y is None else self.y[idx]


class BatchStream:
    """Endless shuffled batches over a Dataset; its position is part of the checkpointed state."""

    def __init__(self, data: Dataset, batch_size: int) -> None:
        self.data, self.batch_size = data, batch_size
        self.perm: Tensor | None = None
        self.pos = 0
        self.epoch = 0
        self.seen = 0

    def next(self, gen: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """The next batch: (B, *shape) and labels (B,) or None."""
        b = self.batch_size
        self.seen += b
        if self.data.sampler is not None:
            self.epoch = self.seen // TOY_EPOCH
            return self.data.sampler(b, gen), None
        n = len(self.data)
        if self.perm is None or self.pos + b > n:
            if self.perm is not None:
                self.epoch += 1
            self.perm, self.pos = torch.randperm(n, generator=gen), 0
        idx = self.perm[self.pos:self.pos + min(b, n)]
        self.pos += b
        return self.data.x[idx], None if self.data.y is None else self.data.y[idx]

    def state_dict(self) -> dict:
        return {"perm": self.perm, "pos": self.pos, "epoch": self.epoch, "seen": self.seen}

    def load_state_dict(self, s: dict) -> None:
        self.perm, self.pos, self.epoch, self.seen = s["perm"], int(s["pos"]), int(s["epoch"]), int(s["seen"])


# ---- toy distributions -------------------------------------------------------------------------

def _mixture(name: str, means: Tensor, std: float) -> Dataset:
    def sample(n: int, gen: torch.Generator) -> Tensor:
        k = torch.randint(0, means.shape[0], (n,), generator=gen)
        return means[k] + std * torch.randn(n, means.shape[1], generator=gen)  # (n, D)
    return Dataset(name, "2d", (2,), sampler=sample, scale=float(means.abs().max()),
                   modes=means, std=std)


def ring8(**_: object) -> Dataset:
    """8 Gaussians on the unit circle, std 0.01 (VEEGAN / PacGAN benchmark)."""
    k = torch.arange(8, dtype=torch.float32)
    means = torch.stack([torch.cos(2 * math.pi * k / 8), torch.sin(2 * math.pi * k / 8)], 1)
    return _mixture("ring8", means, 0.01)


def grid25(**_: object) -> Dataset:
    """25 Gaussians on {-4,-2,0,2,4}^2, std 0.05 (VEEGAN / PacGAN benchmark)."""
    v = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    means = torch.cartesian_prod(v, v)
    return _mixture("grid25", means, 0.05)


GAUSS1D_MEAN, GAUSS1D_STD = 4.0, 0.5


def gaussian1d(**_: object) -> Dataset:
    """N(4, 0.5^2) in 1-D, as in the 1-D illustration of the original GAN paper."""
    def sample(n: int, gen: torch.Generator) -> Tensor:
        return GAUSS1D_MEAN + GAUSS1D_STD * torch.randn(n, 1, generator=gen)  # (n, 1)
    return Dataset("gaussian1d", "1d", (1,), sampler=sample, scale=GAUSS1D_MEAN + 3 * GAUSS1D_STD,
                   info={"mean": GAUSS1D_MEAN, "std": GAUSS1D_STD})


def spiral(**_: object) -> Dataset:
    """A two-turn spiral of radius up to 1 with noise std 0.02."""
    def sample(n: int, gen: torch.Generator) -> Tensor:
        t = torch.sqrt(torch.rand(n, generator=gen)) * 4 * math.pi  # uniform along the arc, roughly
        r = t / (4 * math.pi)
        pts = torch.stack([r * torch.cos(t), r * torch.sin(t)], 1)
        return pts + 0.02 * torch.randn(n, 2, generator=gen)  # (n, 2)
    return Dataset("spiral", "2d", (2,), sampler=sample, scale=1.0)


# ---- image sets ----------------------------------------------------------------------------------

def digits(*, seed: int = 0, n: int = 20_000, **_: object) -> Dataset:
    """Procedurally drawn digits 0-9 at 28x28: the offline default for images."""
    from .digits import make_digits

    x, y = make_digits(n, seed=seed)
    return Dataset("digits", "image", (1, 28, 28), n_classes=10, x=x, y=y)


_IDX_NAMES = {"images": "{split}-images-idx3-ubyte", "labels": "{split}-labels-idx1-ubyte"}


def _read_idx(path: str) -> Tensor:
    """Read an idx file (raw or .gz) into a uint8 tensor of its stored shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise DatasetError(f"{path} is not an idx file of unsigned bytes")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = raw[4 + 4 * ndim:]
    if len(body) != math.prod(dims):
        raise DatasetError(f"{path} is truncated: expected {math.prod(dims)} bytes of data, found {len(body)}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).view(*dims)


def _find(data_dir: str, stem: str) -> str | None:
    for name in (stem + ".gz", stem):
        p = os.path.join(data_dir, name)
        if os.path.isfile(p):
            return p
    return None


def _idx_images(name: str, data_dir: str | None) -> Dataset:
    """MNIST-format idx files: every split (train, t10k) whose images are in `data_dir`."""
    sub = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}[name]
    candidates = [d for d in (data_dir, os.path.join(data_dir, sub, "raw") if data_dir else None) if d]
    xs, ys = [], []
    for d in candidates:
        for split in ("train", "t10k"):
            img = _find(d, _IDX_NAMES["images"].format(split=split))
            if img is None:
                continue
            x = _read_idx(img)
            lab = _find(d, _IDX_NAMES["labels"].format(split=split))
            y = _read_idx(lab).long() if lab else None
            if y is not None and y.shape[0] != x.shape[0]:
                y = None
            xs.append(x)
            ys.append(y)
        if xs:
            break
    if not xs:
        xs, ys = _torchvision_download(name, data_dir)
    x = torch.cat(xs).float().div_(127.5).sub_(1.0).unsqueeze(1)  # (N, 1, 28, 28) in [-1, 1]
    y = torch.cat(ys) if all(t is not None for t in ys) else None
    return Dataset(name, "image", (1, 28, 28), n_classes=10 if y is not None else 0, x=x, y=y)


def _torchvision_download(name: str, data_dir: str | None) -> tuple[list[Tensor], list[Tensor]]:
    where = data_dir or os.path.join(os.getcwd(), "data")
    try:
        import torchvision

        cls = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
        ds = cls(where, train=True, download=True)
        return [ds.data], [ds.targets]
    except Exception as e:  # offline, or a broken download
        raise DatasetError(
            f"no {name} files found in {where!r} and the download failed ({type(e).__name__}). "
            f"Put train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz (or the t10k-* files; "
            f".gz or raw) in that folder and pass --data-dir") from None


def mnist(*, data_dir: str | None = None, **_: object) -> Dataset:
    """MNIST from idx files in data_dir (or a torchvision download when online)."""
    return _idx_images("mnist", data_dir)


def fashion_mnist(*, data_dir: str | None = None, **_: object) -> Dataset:
    """Fashion-MNIST from idx files in data_dir (or a torchvision download when online)."""
    return _idx_images("fashion-mnist", data_dir)


DATASETS: dict[str, Callable[..., Dataset]] = {
    "gaussian1d": gaussian1d, "ring8": ring8, "grid25": grid25, "spiral": spiral,
    "digits": digits, "mnist": mnist, "fashion-mnist": fashion_mnist,
}


def dataset_names() -> list[str]:
    """Registered names; `folder:PATH` is accepted too."""
    return list(DATASETS)


def load_dataset(name: str, *, data_dir: str | None = None, seed: int = 0,
                 image_size: int | None = None) -> Dataset:
    """Load a registered dataset or `folder:PATH`, raising DatasetError with advice on failure."""
    if name.startswith("folder:"):
        from .folder import load_folder

        return load_folder(name[len("folder:"):], image_size=image_size or 32)
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)} or folder:PATH")
    return DATASETS[name](data_dir=data_dir, seed=seed)


# Per-dataset training defaults, applied to TrainConfig fields left as None.
# 2-D mixtures: the hinge loss with D learning twice as fast as G keeps every mode of ring8 and grid25 for
# every seed tried (bce dropped 1-4 of them on some seeds); see bench/bench_modes.py and bench/RESULTS.md.
TOY_DEFAULTS = {"pac": 1, "beta1": 0.5, "beta2": 0.999, "model": "toy", "batch_size": 512, "lr": 1e-3, "z_dim": 8, "width": 64, "ema": 0.999,
                "conditional": False, "r1": 0.0, "lr_d_mult": 2.0, "loss": "hinge"}
IMAGE_DEFAULTS = {"pac": 1, "beta1": 0.5, "beta2": 0.999, "model": "dcgan", "batch_size": 32, "lr": 5e-4, "z_dim": 64, "width": 16, "ema": 0.999,
                  "conditional": True, "r1": 0.0, "lr_d_mult": 1.0, "loss": "bce"}


# gaussian1d oscillates around p_data with Adam(0.5, 0.999) at 1e-3; Adam(0, 0.9) at 2e-4 settles so that
# D(x) meets D*(x) = 1/2 (JS ~ 0 after 2,000 steps), which is what the Theory tab sets out to show.
DATASET_DEFAULTS = {"gaussian1d": {"lr": 2e-4, "batch_size": 128, "beta1": 0.0, "beta2": 0.9, "lr_d_mult": 1.0,
                                   "loss": "bce"}}


TOY_SETS = ("gaussian1d", "ring8", "grid25", "spiral")  # sampled fresh; every other dataset holds images


def default_train_settings(data: Dataset | str) -> dict:
    """Defaults that train this dataset (or the dataset of this name, not loaded) well on a CPU."""
    name = data if isinstance(data, str) else data.name
    toy = name in TOY_SETS if isinstance(data, str) else data.kind != "image"
    return {**(TOY_DEFAULTS if toy else IMAGE_DEFAULTS), **DATASET_DEFAULTS.get(name, {})}
