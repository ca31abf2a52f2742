"""Datasets: what a dataset is (`Dataset`, `PairDataset`), how it is described (`DatasetSpec`, the one place
that knows a dataset's kind, shape, classes, defaults and, for the toy sets, exact density and modes), the
registry and the loaders.

Providers register specs: gan/data/toy.py (gaussian1d, ring8, grid25, spiral), gan/data/images.py (digits,
MNIST, Fashion-MNIST and the `folder:PATH` prefix), gan/data/stacked.py (the stacked sets) and gan/data/pairs.py
(the two-domain sets and the `pair:DIR_A,DIR_B` prefix). A user's own set is one
`register_dataset(DatasetSpec(...))` call; the CLI, the trainer and the app read everything from the spec.

Every set lives in memory as tensors; batches are drawn with an explicit torch.Generator so a run is
reproducible and resumable. Toy sets are sampled fresh for each batch, in data coordinates. Image sets are
float32 (N, C, H, W) in [-1, 1].
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..errors import ConfigError, DatasetError, unknown
from ..registry import DATASETS

Tensor = torch.Tensor
TOY_EPOCH = 10_000  # a nominal epoch for infinite toy data, in samples
KINDS = ("points", "image", "pair")


@dataclass(frozen=True)
class Mixture:
    """An equal-weight isotropic Gaussian mixture: means (K, D) and one std."""

    means: Tensor
    std: float


@dataclass
class Dataset:
    """An in-memory dataset, or a sampler for an infinite toy distribution."""

    name: str
    kind: str  # "points" or "image"
    shape: tuple[int, ...]
    n_classes: int = 0
    x: Tensor | None = None  # (N, *shape) for finite sets
    y: Tensor | None = None  # (N,) int64 labels, or None
    sampler: Callable[[int, torch.Generator], Tensor] | None = None  # toy: n -> (n, *shape)
    scale: float = 1.0  # typical magnitude of the data, for the toy generator's output
    modes: Tensor | None = None  # (K, D) benchmark mode centres, for mode-coverage scoring
    std: float = 0.0  # the modes' std
    density: Mixture | None = None  # exact p_data (toy sets), for the Theory view
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return TOY_EPOCH if self.x is None else self.x.shape[0]

    @property
    def dim(self) -> int:
        """1 or 2 for point sets (the data dimension), 0 for images."""
        return self.shape[0] if self.kind == "points" else 0

    def sample_real(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """n random real samples (with labels when labelled), independent of any batch stream."""
        if self.sampler is not None:
            return self.sampler(n, generator), None
        idx = torch.randint(0, len(self), (n,), generator=generator)
        return self.x[idx], None if self.y is None else self.y[idx]


@dataclass
class PairDataset:
    """Two unpaired image domains A and B (CycleGAN), each a Dataset drawn from its own stream."""

    name: str
    a: Dataset
    b: Dataset
    kind: str = "pair"
    info: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.a.shape

    @property
    def n_classes(self) -> int:
        return 0  # labels exist per domain for scoring, but translation is never conditioned on them

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))


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


# ---- the spec --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DatasetSpec:
    """Everything the library and the app know about a dataset, in one place.

    `load(data_dir=..., seed=..., image_size=...)` returns the Dataset (or PairDataset). `defaults` are its
    training defaults over its kind's (`KIND_DEFAULTS`); `model_defaults[model]` apply on top when that
    model trains it; `data_defaults(data)`, when given, adds defaults known only once the data is loaded (a
    folder's channel count), as a pair (defaults, model_defaults). Toy sets give `density` (exact p_data, for
    the Theory view) and, for the mode-collapse benchmarks, `modes` (scored by the VEEGAN / PacGAN protocol).
    """

    name: str
    kind: str  # "points", "image" or "pair"
    shape: tuple[int, ...]  # (D,) or (C, H, W); domain A for pairs
    load: Callable[..., Any]
    doc: str = ""
    n_classes: int = 0
    defaults: dict[str, Any] = field(default_factory=dict)
    model_defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    density: Mixture | None = None
    modes: Mixture | None = None
    shape_b: tuple[int, ...] = ()  # pairs: domain B
    scale: float = 1.0  # typical magnitude of point data (the toy generator's output scale)
    files: str = ""  # what files it reads from --data-dir, for help and errors ("" = built in)
    # defaults that depend on the loaded data: data -> (defaults, model_defaults), laid over the two above
    data_defaults: Callable[[Any], tuple[dict[str, Any], dict[str, dict[str, Any]]]] | None = None
    # sets read from files: data_dir -> whether they are there (without reading them); None: built in
    present: Callable[[str | None], bool] | None = None
    source: str = ""  # sets read from files: which files (e.g. "mnist"), as downloads and messages name them

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(unknown("dataset kind", self.kind, KINDS))

    @property
    def dim(self) -> int:
        """1 or 2 for point sets, 0 otherwise."""
        return self.shape[0] if self.kind == "points" else 0


# Training defaults per kind, applied to TrainConfig fields left as None (a spec's own defaults go on top).
# 2-D mixtures: the hinge loss with D learning twice as fast as G keeps every mode of ring8 and grid25 for
# every seed tried (bce dropped 1-4 of them on some seeds); see bench/bench_modes.py and bench/RESULTS.md.
KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "points": {"model": "toy", "loss": "hinge", "batch_size": 512, "lr": 1e-3, "lr_d_mult": 2.0, "beta1": 0.5,
               "beta2": 0.999, "z_dim": 8, "width": 64, "ema": 0.999, "conditional": False, "r1": 0.0,
               "r2": 0.0, "r1_every": 1, "pac": 1},
    "image": {"model": "dcgan", "loss": "bce", "batch_size": 32, "lr": 5e-4, "lr_d_mult": 1.0, "beta1": 0.5,
              "beta2": 0.999, "z_dim": 64, "width": 16, "ema": 0.999, "conditional": True, "r1": 0.0,
              "r2": 0.0, "r1_every": 1, "pac": 1},
    "pair": {"model": "cyclegan", "loss": "lsgan", "batch_size": 8, "lr": 2e-4, "lr_d_mult": 1.0, "beta1": 0.5,
             "beta2": 0.999, "z_dim": 1, "width": 16, "ema": 0.0, "conditional": False, "r1": 0.0, "r2": 0.0,
             "r1_every": 1, "pac": 1, "cycle": 10.0, "identity": 0.5, "pool": 50},
}

# ---- the registry ----------------------------------------------------------------------------------

# prefix -> (spec for a given rest of the name, without loading); e.g. "folder" -> folder spec for PATH
_PREFIXES: dict[str, Callable[[str, int | None], DatasetSpec]] = {}


def register_dataset(spec: DatasetSpec, *, replace: bool = False) -> DatasetSpec:
    """Add a dataset: from then on the CLI, the trainer and the app offer it."""
    return DATASETS.register(spec.name, spec, replace=replace)


def register_prefix(prefix: str, spec_for: Callable[[str, int | None], DatasetSpec]) -> None:
    """Names "prefix:REST" resolve to spec_for(REST, image_size) (e.g. folder:PATH)."""
    _PREFIXES[prefix] = spec_for


def dataset_names() -> list[str]:
    """Registered names (a prefixed name such as folder:PATH is accepted too)."""
    return DATASETS.names()


def dataset_spec(name: str, *, image_size: int | None = None) -> DatasetSpec:
    """The spec of a registered name or of a prefixed one (folder:PATH); ConfigError if unknown."""
    if isinstance(name, str) and ":" in name:
        prefix, rest = name.split(":", 1)
        if prefix in _PREFIXES:
            return _PREFIXES[prefix](rest, image_size)
    if name not in DATASETS:
        extra = "".join(f" or {p}:PATH" for p in _PREFIXES)
        raise ConfigError(unknown("dataset", name, DATASETS.names(), extra=extra))
    return DATASETS.get(name)


KIND_WORDS = {"points": "1-D or 2-D points", "image": "images", "pair": "a pair of image domains"}


def dataset_kind(name: str, *, image_size: int | None = None) -> str | None:
    """The kind ("points", "image" or "pair") of a registered or prefixed dataset name, without loading it;
    None when the name is unknown or malformed (loading it says why)."""
    try:
        return dataset_spec(name, image_size=image_size).kind
    except (ConfigError, DatasetError, TypeError, ValueError):
        return None


def files_missing(name: str, *, data_dir: str | None = None) -> str:
    """For a set read from files that are not in `data_dir` (nor where a download keeps them), which files it
    reads (its spec's `source`, e.g. "mnist"); '' when its files are there, or it is built in or unknown."""
    try:
        spec = dataset_spec(name)
    except (ConfigError, DatasetError, TypeError, ValueError):
        return ""
    if spec.present is None or spec.present(data_dir):
        return ""
    return spec.source or spec.name


def load_dataset(name: str, *, data_dir: str | None = None, seed: int = 0,
                 image_size: int | None = None) -> Any:
    """Load a dataset by name, raising DatasetError with advice on failure (ConfigError if unknown)."""
    spec = dataset_spec(name, image_size=image_size)
    return spec.load(data_dir=data_dir, seed=seed, image_size=image_size)


def spec_defaults(spec: DatasetSpec) -> dict[str, Any]:
    """The dataset's training defaults: its kind's, then its own."""
    return {**KIND_DEFAULTS[spec.kind], **spec.defaults}


_CACHE: OrderedDict[tuple, Any] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_LOADING: dict[tuple, threading.Lock] = {}  # a lock per set being loaded: a second caller waits, not loads again
if hasattr(os, "register_at_fork"):  # a forked worker never waits on a load of a thread its parent had
    os.register_at_fork(after_in_child=_LOADING.clear)
CACHE_SIZE = 2


def _cached(key: tuple) -> Any:
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    return None


def cached_dataset(name: str, *, data_dir: str | None = None, seed: int = 0,
                   image_size: int | None = None) -> Any:
    """load_dataset, remembered for the last CACHE_SIZE sets: the one dataset cache of a process (the app's
    runs and a forked ZeroGPU worker, which inherits it, share it). Callers asking for a set while another
    loads it wait for that load (the app's examples digits-dcgan and digits-stylegan load digits at once)."""
    key = (name, data_dir, seed, image_size)
    if (data := _cached(key)) is not None:
        return data
    with _CACHE_LOCK:
        loading = _LOADING.setdefault(key, threading.Lock())
    with loading:
        try:
            if (data := _cached(key)) is not None:  # loaded by the caller this one waited for
                return data
            data = load_dataset(name, data_dir=data_dir, seed=seed, image_size=image_size)
            with _CACHE_LOCK:
                _CACHE[key] = data
                while len(_CACHE) > CACHE_SIZE:
                    _CACHE.popitem(last=False)
            return data
        finally:
            with _CACHE_LOCK:
                if _LOADING.get(key) is loading:
                    del _LOADING[key]


def remember_dataset(data: Any, name: str, *, data_dir: str | None = None, seed: int = 0,
                     image_size: int | None = None) -> None:
    """Put an already loaded dataset in the cache (so a forked worker inherits it)."""
    with _CACHE_LOCK:
        _CACHE[(name, data_dir, seed, image_size)] = data
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)


__all__ = ["BatchStream", "Dataset", "DatasetError", "DatasetSpec", "KIND_DEFAULTS", "KIND_WORDS", "Mixture",
           "PairDataset", "TOY_EPOCH", "cached_dataset", "dataset_kind", "dataset_names", "dataset_spec",
           "files_missing", "load_dataset", "register_dataset",
           "register_prefix", "remember_dataset", "spec_defaults"]
