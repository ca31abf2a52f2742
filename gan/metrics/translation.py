"""How well a CycleGAN translates, on held-out images of both domains: the pair meter behind the live quality
chart, `gan train`'s stored metrics and bench/bench_cyclegan.py.

Per direction (ab: A->B, ba: B->A) `PairMeter.score(nets)` reports
- label_kept_ab / _ba: the share of translations that the target domain's digit classifier reads as the
  source image's class (labelled domains only; each domain has its own small CNN, gan.metrics.classifier's, trained once
  on that domain's training images and cached);
- domain_ab / _ba: the share of translations that a small A-vs-B classifier puts in the target domain. It sees
  3-channel images and is trained with half of B greyed and two thirds of A given random plain grey or colour
  backgrounds and ink, so neither colour nor the background level decides: a translation must have the
  target's kind of background (plain or textured);
- cycle_aba / cycle_bab: the mean L1 (on the [-1, 1] scale) between held-out images and their reconstructions.
  `meter.info["cycle_baseline_a"/"_b"]` is the L1 of answering every image with its domain's mean image, the
  best reconstruction that keeps nothing of the particular input;
- diversity_ab / _ba: the mean pairwise distance of the translations over that of real target images (pixels);
  near 0 means every input gets the same output.
gan.metrics.advice.translation_warning turns a history of these rows into a warning when translations stop
keeping content.
"""
from __future__ import annotations

import math
import os
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import settings
from ..cyclegan.nets import match_channels, translate
from ..data.pairs import held_out
from ..errors import safe_name
from .classifier import (DEFAULT_CACHE_DIR, Classifier, _fingerprint, _predict, cached_classifier,
                         load_or_train_classifier)
from .frechet import mean_pairwise

Tensor = torch.Tensor
DOMAIN_FORMAT = "gan-lab-domain-classifier"
DOMAIN_VERSION = 2
SCORE_SAMPLES = 500  # held-out images per direction and score (GAN_QUALITY_SAMPLES overrides)
SPREAD_SAMPLES = 300  # images whose mean pairwise distance is a set's spread (the diversity's scale)
KEYS = ("label_kept_ab", "label_kept_ba", "domain_ab", "domain_ba", "cycle_aba", "cycle_bab", "diversity_ab",
        "diversity_ba")


def _augment(x: Tensor, gen: torch.Generator, *, tint: bool) -> Tensor:
    """(N, C, H, W) in [-1, 1] -> 3 channels, half of them greyed; with `tint` (domain A), two thirds instead get a
    random plain background and ink, grey levels or colours: the domain classifier must then tell a plain
    background (A) from a textured one (B), not black from not-black or grey from colour."""
    x3 = match_channels(x, 3).clone()
    n = x3.shape[0]
    grey = x3.mean(1, keepdim=True).expand_as(x3)
    coin = torch.rand(n, generator=gen)
    if not tint:
        return torch.where((coin < 0.5).view(n, 1, 1, 1), grey, x3)
    lo, hi = torch.rand(n, 3, 1, 1, generator=gen) * 2 - 1, torch.rand(n, 3, 1, 1, generator=gen) * 2 - 1
    level = coin.view(n, 1, 1, 1) < 2 / 3  # grey levels for the first third, colours for the second
    lo = torch.where(coin.view(n, 1, 1, 1) < 1 / 3, lo[:, :1].expand_as(lo), lo)
    hi = torch.where(coin.view(n, 1, 1, 1) < 1 / 3, hi[:, :1].expand_as(hi), hi)
    tinted = lo + (grey + 1) / 2 * (hi - lo)
    return torch.where(level, tinted, x3)


def train_domain_classifier(a: Any, b: Any, *, epochs: int = 2, max_train: int = 4000, batch_size: int = 64,
                            lr: float = 3e-3, seed: int = 0) -> tuple[Classifier, float]:
    """A small CNN telling domain A (class 0) from B (class 1) on 3-channel images; (model, accuracy on the
    last fifth of each domain, held out from its training)."""
    gen = torch.Generator().manual_seed(seed)
    parts = []
    for label, d in ((0, a), (1, b)):
        idx = torch.randperm(d.x.shape[0], generator=gen)[:max_train + max_train // 4]
        cut = max(1, (idx.shape[0] * 4) // 5)
        parts.append((d.x[idx[:cut]], d.x[idx[cut:]], label, label == 0))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Classifier(3, 2, size=a.x.shape[-1])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        x = torch.cat([_augment(p[0], gen, tint=p[3]) for p in parts])
        y = torch.cat([torch.full((p[0].shape[0],), p[2]) for p in parts])
        order = torch.randperm(x.shape[0], generator=gen)
        for i in range(0, x.shape[0], batch_size):
            j = order[i:i + batch_size]
            loss = F.cross_entropy(model(x[j]), y[j])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    model.eval().requires_grad_(False)
    with torch.no_grad():
        x = torch.cat([_augment(p[1], gen, tint=p[3]) for p in parts])
        y = torch.cat([torch.full((p[1].shape[0],), p[2]) for p in parts])
        acc = float((model(x).argmax(1) == y).float().mean()) if x.shape[0] else math.nan
    return model, acc


def load_or_train_domain_classifier(a: Any, b: Any, *, cache_dir: str | None = DEFAULT_CACHE_DIR,
                                    seed: int = 0) -> tuple[Classifier, dict[str, Any]]:
    """The A-vs-B classifier of two domains, from the cache or trained now (a few seconds) and cached."""
    path = None
    if cache_dir:
        name = safe_name(a.name.rsplit(":", 1)[0], fallback="pair")
        key = _fingerprint(a, b, labels=False)
        path = os.path.join(cache_dir, f"domains-{name}-{key}-{DOMAIN_VERSION}-{seed}.pt")

    def train() -> tuple[Classifier, dict[str, Any]]:
        model, acc = train_domain_classifier(a, b, seed=seed)
        return model, {"accuracy": acc}

    model, record, cached = cached_classifier(path, DOMAIN_FORMAT, train, dims={"in_channels": 3, "n_classes": 2})
    return model, {"accuracy": float(record["accuracy"]), "cached": cached}


class PairMeter:
    """Scores a CycleGAN's translations of one pair set's held-out images (classifiers built once, here)."""

    def __init__(self, data: Any, *, cache_dir: str | None = DEFAULT_CACHE_DIR, epochs: int = 3,
                 max_train: int = 10_000, seed: int = 0, n: int | None = None, **_: Any) -> None:
        if getattr(data, "kind", None) != "pair":
            raise ValueError(f"PairMeter needs a pair of domains, not {getattr(data, 'name', data)!r}")
        t0 = time.perf_counter()
        self.data, self.n = data, n
        self.held = held_out(data)
        self.classifiers: dict[str, Classifier | None] = {}
        self.info: dict[str, Any] = {}
        for tag, d in (("a", data.a), ("b", data.b)):
            clf = None
            if d.y is not None and d.n_classes >= 2:
                clf, inf = load_or_train_classifier(d, cache_dir=cache_dir, epochs=epochs, max_train=max_train,
                                                    seed=seed)
                hx, hy = self.held[tag]
                if hy is not None:
                    inf["held_out_accuracy"] = float((_predict(clf, hx)[1].argmax(1) == hy).float().mean())
                self.info[f"classifier_{tag}"] = {k: v for k, v in inf.items() if k != "path"}
            self.classifiers[tag] = clf
        self.domain, inf = load_or_train_domain_classifier(data.a, data.b, cache_dir=cache_dir, seed=seed)
        for tag, label in (("a", 0), ("b", 1)):  # how often real held-out images are put in their own domain
            inf[f"held_out_{tag}"] = float((_predict(self.domain, match_channels(self.held[tag][0], 3))[1]
                                            .argmax(1) == label).float().mean())
        self.info["domain_classifier"] = inf
        for tag, d in (("a", data.a), ("b", data.b)):
            mean = d.x.float().mean(0, keepdim=True)  # (1, C, H, W): the domain's mean image
            self.info[f"cycle_baseline_{tag}"] = float((self.held[tag][0] - mean).abs().mean())
        self.spread = {tag: mean_pairwise(self.held[tag][0], SPREAD_SAMPLES) for tag in ("a", "b")}
        self.info["seconds"] = time.perf_counter() - t0

    def score(self, nets: dict[str, nn.Module], *, n: int | None = None) -> dict[str, float]:
        """The numbers above for both directions, on the first n held-out images of each domain."""
        n = n or self.n or int(settings.get("GAN_QUALITY_SAMPLES") or SCORE_SAMPLES)
        out: dict[str, float] = {}
        for src, dst, d in (("a", "b", "ab"), ("b", "a", "ba")):
            x, y = self.held[src]
            x, y = x[:n], None if y is None else y[:n]
            fake, rec = translate(nets, x, f"{src}2{dst}")
            clf = self.classifiers[dst]
            if clf is not None and y is not None:
                out[f"label_kept_{d}"] = float((_predict(clf, fake)[1].argmax(1) == y).float().mean())
            p = torch.softmax(_predict(self.domain, match_channels(fake, 3))[1], 1)[:, 1 if dst == "b" else 0]
            out[f"domain_{d}"] = float((p > 0.5).float().mean())
            out[f"cycle_{src}{dst}{src}"] = float((rec - x).abs().mean())
            out[f"diversity_{d}"] = mean_pairwise(fake, SPREAD_SAMPLES) / max(self.spread[dst], 1e-12)
        return {k: v for k, v in out.items() if math.isfinite(v)}


__all__ = ["KEYS", "PairMeter", "load_or_train_domain_classifier", "train_domain_classifier"]
