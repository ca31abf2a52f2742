"""Quality metrics that need no UI: mode coverage for the mixture benchmarks (the VEEGAN/PacGAN protocol)."""
from __future__ import annotations

import math

import torch


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
