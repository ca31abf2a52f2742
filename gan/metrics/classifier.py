"""Classifiers that the image and pair scores share: a small CNN trained once on a dataset, cached by fingerprint."""
from __future__ import annotations

import hashlib
import math
import os
import time
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoint import save_state
from ..data.spec import Dataset
from ..errors import safe_name

Tensor = torch.Tensor


CLASSIFIER_FORMAT = "gan-lab-classifier"


# A subfolder, so that classifier files never show up as GAN checkpoints in checkpoints/.
DEFAULT_CACHE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                 "checkpoints", "classifiers")


CLASSIFIER_VERSION = 1
_DIMS = ("in_channels", "n_classes", "feat_dim", "size")  # Classifier's arguments, stored beside its weights


class Classifier(nn.Module):
    """A small CNN for CPU speed: two stride-2 convs (16, 32 channels) -> 64 penultimate features -> logits."""

    def __init__(self, in_channels: int = 1, n_classes: int = 10, feat_dim: int = 64, size: int = 28) -> None:
        super().__init__()
        self.in_channels, self.n_classes, self.feat_dim, self.size = in_channels, n_classes, feat_dim, size
        s = (size + 3) // 4  # after two stride-2 convs
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
            nn.Linear(32 * s * s, feat_dim), nn.ReLU(),
        )
        self.head = nn.Linear(feat_dim, n_classes)

    def features(self, x: Tensor) -> Tensor:
        """(B, C, H, W) in [-1, 1] -> (B, feat_dim) penultimate features."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def _split(n: int, n_test: int, seed: int) -> tuple[Tensor, Tensor]:
    """A seeded permutation split into (train indices, held-out indices)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_test = min(n_test, max(1, n // 5))
    return perm[n_test:], perm[:n_test]


@torch.no_grad()
def _predict(model: Classifier, x: Tensor, batch: int = 500) -> tuple[Tensor, Tensor]:
    """(features (N, F), logits (N, K)) in eval mode, batched."""
    model.eval()
    if x.shape[0] == 0:
        return torch.empty(0, model.feat_dim), torch.empty(0, model.n_classes)
    feats, logits = [], []
    for i in range(0, x.shape[0], batch):
        f = model.features(x[i:i + batch].float())
        feats.append(f)
        logits.append(model.head(f))
    return torch.cat(feats), torch.cat(logits)


def _shifted(x: Tensor, shift: int, gen: torch.Generator) -> Tensor:
    """Each image of x (B, C, H, W) moved by its own random whole-pixel offset in [-shift, shift]², edges padded
    with the background (-1)."""
    b, _, h, w = x.shape
    padded = F.pad(x, (shift,) * 4, value=-1.0)  # (B, C, H + 2s, W + 2s)
    dy, dx = (torch.randint(0, 2 * shift + 1, (b,), generator=gen) for _ in range(2))
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None].expand(b, x.shape[1], h, w + 2 * shift)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :].expand(b, x.shape[1], h, w)
    return padded.gather(2, rows).gather(3, cols)


def fit_classifier(x: Tensor, y: Tensor, n_classes: int, *, epochs: int = 3, batch_size: int = 64,
                   lr: float = 3e-3, seed: int = 0, shift: int = 0) -> Classifier:
    """The CNN trained on images x (N, C, H, W) in [-1, 1] with labels y (N,) (Adam, one-cycle schedule), each
    batch moved by up to `shift` pixels, in eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Classifier(x.shape[1], n_classes, size=x.shape[-1])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(
        1, epochs * math.ceil(x.shape[0] / batch_size)), pct_start=0.15)
    gen = torch.Generator().manual_seed(seed + 1)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(x.shape[0], generator=gen)
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            batch = x[idx].float()
            loss = F.cross_entropy(model(_shifted(batch, shift, gen) if shift else batch), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval().requires_grad_(False)


def accuracy(model: Classifier, x: Tensor, y: Tensor) -> float:
    """The share of images x (N, C, H, W) whose predicted class is y (N,)."""
    _, logits = _predict(model, x)
    return float((logits.argmax(1) == y).float().mean()) if y.numel() else math.nan


def train_classifier(data: Dataset, *, epochs: int = 3, max_train: int = 10_000, n_test: int = 1000,
                     batch_size: int = 64, lr: float = 3e-3, seed: int = 0) -> tuple[Classifier, float]:
    """Train the CNN on up to max_train labelled images of `data`; returns (model, held-out accuracy)."""
    if data.x is None or data.y is None or data.n_classes < 2:
        raise ValueError(f"dataset {data.name!r} has no class labels to train a classifier on")
    train_idx, test_idx = _split(data.x.shape[0], n_test, seed)
    train_idx = train_idx[:max_train]
    model = fit_classifier(data.x[train_idx], data.y[train_idx], data.n_classes, epochs=epochs,
                           batch_size=batch_size, lr=lr, seed=seed)
    return model, accuracy(model, data.x[test_idx], data.y[test_idx])


def _fingerprint(*datasets: Any, labels: bool = True) -> str:
    """A short hash of the datasets' names, sizes, shapes and a spread of their pixels (with `labels`, also of
    their class counts and labels)."""
    h = hashlib.sha1()
    for d in datasets:
        n = d.x.shape[0]
        h.update(repr((d.name, n, tuple(d.x.shape[1:])) + ((d.n_classes,) if labels else ())).encode())
        step = max(1, n // 256)
        h.update(d.x[::step].float().mul(127.5).round().to(torch.int16).numpy().tobytes())
        if labels:
            h.update(d.y[::step].numpy().tobytes())
    return h.hexdigest()[:12]


def classifier_cache_path(data: Dataset, cache_dir: str, **settings: Any) -> str:
    """<cache_dir>/classifier-<dataset>-<hash of data and settings>.pt"""
    key = hashlib.sha1(repr((_fingerprint(data), CLASSIFIER_VERSION, sorted(settings.items()))).encode())
    name = safe_name(data.name, fallback="data")
    return os.path.join(cache_dir, f"classifier-{name}-{key.hexdigest()[:10]}.pt")


def cached_classifier(path: str | None, fmt: str, train: Callable[[], tuple[Classifier, dict[str, Any]]], *,
                      version: int | None = None, dims: dict[str, int] | None = None
                      ) -> tuple[Classifier, dict[str, Any], bool]:
    """The classifier saved at `path` in format `fmt` (and `version`), or `train()` -> (model, record) now, saved
    there with its record; returns (model, record, loaded from the file). `dims` are the Classifier arguments
    that a format's files may not store (domain classifier files store only the size)."""
    if path and os.path.isfile(path):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if state.get("format") != fmt or state.get("version") != version:
                raise ValueError("not a classifier file of this format and version")
            model = Classifier(**{**(dims or {}), **{k: int(state[k]) for k in _DIMS if k in state}})
            model.load_state_dict(state["state_dict"])
            return model.eval().requires_grad_(False), state, True
        except Exception:  # a stale or corrupt cache is retrained and overwritten, never fatal
            pass
    model, record = train()
    if path:
        save_state({"format": fmt, **({} if version is None else {"version": version}),
                    **{k: getattr(model, k) for k in _DIMS}, "state_dict": model.state_dict(), **record}, path)
    return model, record, False


def load_or_train_classifier(data: Dataset, *, cache_dir: str | None = DEFAULT_CACHE_DIR, epochs: int = 3,
                             max_train: int = 10_000, n_test: int = 1000, seed: int = 0, lr: float = 3e-3,
                             batch_size: int = 64) -> tuple[Classifier, dict[str, Any]]:
    """The dataset's classifier from the cache, or trained now and cached; returns (model, info).

    info: accuracy (held out), n_train, epochs, path (None when not cached), cached (loaded from file),
    seconds (training time, 0 when loaded).
    """
    settings = {"epochs": epochs, "max_train": max_train, "n_test": n_test, "seed": seed, "lr": lr,
                "batch_size": batch_size}
    path = classifier_cache_path(data, cache_dir, **settings) if cache_dir else None
    seconds = 0.0

    def train() -> tuple[Classifier, dict[str, Any]]:
        nonlocal seconds
        t0 = time.perf_counter()
        model, acc = train_classifier(data, epochs=epochs, max_train=max_train, n_test=n_test, seed=seed, lr=lr,
                                      batch_size=batch_size)
        seconds = time.perf_counter() - t0
        n_train = min(max_train, data.x.shape[0] - min(n_test, max(1, data.x.shape[0] // 5)))
        return model, {"dataset": data.name, "accuracy": acc, "n_train": n_train, **settings}

    model, record, cached = cached_classifier(path, CLASSIFIER_FORMAT, train, version=CLASSIFIER_VERSION)
    return model, {"accuracy": float(record["accuracy"]), "n_train": int(record["n_train"]), "epochs": epochs,
                   "path": path, "cached": cached, "seconds": seconds}


__all__ = ["CLASSIFIER_FORMAT", "Classifier", "DEFAULT_CACHE_DIR", "accuracy", "cached_classifier",
           "classifier_cache_path", "fit_classifier", "load_or_train_classifier", "train_classifier"]
