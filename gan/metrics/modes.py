"""Mode coverage (the VEEGAN/PacGAN protocol): the toy mixtures' mode score and the stacked sets' StackedMeter."""
from __future__ import annotations

import math
import time
from typing import Any

import torch

from ..data.spec import Dataset
from ..data.stacked import N_MODES, is_stacked
from .classifier import DEFAULT_CACHE_DIR, Classifier, load_or_train_classifier

Tensor = torch.Tensor


def mode_score(samples: torch.Tensor, modes: torch.Tensor, std: float) -> dict[str, float]:
    """Score 2-D samples against mixture means, exactly as the ring8/grid25 benchmarks do.

    A sample is high quality if it lies within 3 std (Euclidean) of its nearest mean; a mode is captured
    if it is the nearest mean of at least one high-quality sample; reverse KL = sum_k p_k log(K p_k)
    over the nearest-mean assignment of all samples.
    """
    samples = samples.reshape(samples.shape[0], -1).float()
    dist = torch.cdist(samples, modes.float())  # (N, K)
    nearest_d, nearest = dist.min(dim=1)
    good = nearest_d <= 3 * std
    k = modes.shape[0]
    captured = torch.unique(nearest[good]).numel()
    p = torch.bincount(nearest, minlength=k).float() / max(samples.shape[0], 1)
    nz = p > 0
    reverse_kl = float((p[nz] * torch.log(k * p[nz])).sum())
    return {"modes": int(captured), "n_modes": int(k), "high_quality": float(good.float().mean()),
            "reverse_kl": reverse_kl if math.isfinite(reverse_kl) else float("inf")}


BENCH_SAMPLES = 2500  # the VEEGAN / PacGAN protocol draws 2,500 samples


def class_kl(labels: torch.Tensor, n_classes: int) -> float:
    """KL(histogram of integer labels || uniform over n_classes) in nats: 0 when balanced, log K for one class."""
    p = torch.bincount(labels.reshape(-1).long(), minlength=n_classes).double()
    p = p / max(float(p.sum()), 1.0)
    nz = p > 0
    return float((p[nz] * torch.log(n_classes * p[nz])).sum())


PROTOCOL_SAMPLES = 26_000  # the VEEGAN / PacGAN protocol: 26,000 generated samples per score


# The live panel's count. A perfect generator covers 1000 * (1 - exp(-n / 1000)) modes of n samples, and its
# histogram's KL from uniform has a sampling floor of about 999 / (2 n) nats: 5,000 samples could never show
# more than ~993 modes and KL ~0.1, 10,000 show all 1,000 (999.95 expected) with a floor of ~0.05, for about
# a second of one CPU core per score, which the app's monitor spreads to every ~30 s of training (4%).
LIVE_SAMPLES = 10_000


SCORE_CHUNK = 2000  # samples generated and classified at a time (bounded memory)


def mode_stats(modes: Tensor, *, n_modes: int = N_MODES) -> dict[str, float]:
    """Modes covered (read by at least one sample) and KL of the mode histogram from uniform, in nats."""
    covered = int(torch.unique(modes).numel()) if modes.numel() else 0
    return {"modes": covered, "n_modes": n_modes, "mode_kl": class_kl(modes, n_modes)}


class StackedMeter:
    """Scores generated stacked images by the triple a digit classifier reads on their channels."""

    def __init__(self, data: Dataset, *, cache_dir: str | None = DEFAULT_CACHE_DIR, epochs: int = 3,
                 max_train: int = 10_000, seed: int = 0, samples: int = LIVE_SAMPLES,
                 classifier: Classifier | None = None, **_: Any) -> None:
        """`data` is a stacked set; the classifier trains on its single digits (cached), unless given.
        Other meter settings (n_real, min_share, ...) are accepted and ignored, so one Meters serves all sets."""
        if not is_stacked(data):
            raise ValueError(f"StackedMeter needs a stacked dataset (stacked-mnist, stacked-digits), not "
                             f"{getattr(data, 'name', data)!r}")
        self.data, self.samples, self.n_modes = data, int(samples), N_MODES
        if classifier is not None:
            self.classifier, self.info = classifier.eval(), {"accuracy": math.nan, "cached": True}
        else:
            self.classifier, self.info = load_or_train_classifier(
                data.info["singles"], cache_dir=cache_dir, epochs=epochs, max_train=max_train, seed=seed)

    @property
    def accuracy(self) -> float:
        """Held-out accuracy of the digit classifier on single digits (nan when it was given)."""
        return float(self.info.get("accuracy", math.nan))

    @torch.no_grad()
    def read(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Images (N, 3, H, W) in [-1, 1] -> (mode labels (N,), mean top probability per image (N,))."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"expected stacked images (N, 3, H, W), got {tuple(images.shape)}")
        n = images.shape[0]
        self.classifier.eval()
        singles = images.detach().float().cpu().reshape(n * 3, 1, *images.shape[2:])  # (3N, 1, H, W)
        probs = torch.cat([torch.softmax(self.classifier(singles[i:i + 3000]), 1)
                           for i in range(0, 3 * n, 3000)]) if n else torch.empty(0, 10)
        conf, digit = probs.max(1)  # (3N,)
        d = digit.view(n, 3)
        return d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2], conf.view(n, 3).mean(1)

    def score(self, images: Tensor, y: Tensor | None = None) -> dict[str, Any]:
        """Mode numbers of generated images (N, 3, H, W): modes, n_modes, mode_kl, confidence, n, seconds."""
        t0 = time.perf_counter()
        ok = torch.isfinite(images.flatten(1)).all(1)
        modes, conf = self.read(images[ok])
        return {**mode_stats(modes), "confidence": float(conf.mean()) if conf.numel() else 0.0,
                "n": int(images.shape[0]), "seconds": time.perf_counter() - t0}

    def score_nets(self, nets: dict[str, Any], family: Any, *, n: int | None = None,
                   seed: int = 4321) -> dict[str, float]:
        """Sample n images (default: self.samples) from a run's sampling nets, in chunks, and score them."""
        n = self.samples if n is None else int(n)
        t0 = time.perf_counter()
        modes, conf = [], []
        for i, start in enumerate(range(0, n, SCORE_CHUNK)):
            images = family.sample(nets, min(SCORE_CHUNK, n - start), seed=seed + i)  # (b, 3, H, W)
            ok = torch.isfinite(images.flatten(1)).all(1)
            m, c = self.read(images[ok])
            modes.append(m)
            conf.append(c)
        m, c = torch.cat(modes), torch.cat(conf)
        out = {**mode_stats(m), "confidence": float(c.mean()) if c.numel() else 0.0, "samples": n,
               "score_seconds": time.perf_counter() - t0}
        return {k: float(v) for k, v in out.items()}


__all__ = ["BENCH_SAMPLES", "LIVE_SAMPLES", "PROTOCOL_SAMPLES", "StackedMeter", "class_kl", "mode_score", "mode_stats"]
