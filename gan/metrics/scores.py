"""One quality score for any run, used by the CLI (stored in the checkpoint's metrics) and by the app's live
quality chart: mode coverage and JS for the toy sets, classifier Fréchet distance and class coverage for
labelled images, diversity for unlabelled ones, precision/recall and density/coverage for both (gan.metrics.prdc), modes of 1,000 and their KL for the stacked sets (StackedMeter),
and whatever a family scores for itself (CycleGAN).
"""
from __future__ import annotations

import math
from typing import Any, TextIO

import torch

from .. import settings
from ..data.stacked import is_stacked
from ..theory.density import js_estimate
from .frechet import QualityMeter
from .modes import BENCH_SAMPLES, PROTOCOL_SAMPLES, StackedMeter, mode_score
from .prdc import PRDC_KEYS, PRDC_SAMPLES, prdc
from .translation import PairMeter

QUALITY_SAMPLES = 500  # generated images per live score: ~0.1 s on a CPU, enough for a stable class histogram
IMAGE_KEYS = ("frechet", "diversity", "classes_covered", "n_classes", "class_kl", "confidence", *PRDC_KEYS)


def score_points(nets: dict[str, Any], family: Any, data: Any, *, seed: int = 4321) -> dict[str, float]:
    """Toy sets: the VEEGAN / PacGAN mode score on 2,500 samples (benchmark sets), a JS estimate, and precision,
    recall, density and coverage in data space (2,000 of each)."""
    out: dict[str, float] = {}
    fake = family.sample(nets, BENCH_SAMPLES, seed=seed)
    if getattr(data, "sampler", None) is not None:
        out.update(prdc(data.sampler(PRDC_SAMPLES, torch.Generator().manual_seed(seed + 2)), fake[:PRDC_SAMPLES]))
    if data.modes is not None:
        out.update(mode_score(fake, data.modes, data.std))
    if getattr(data, "density", None) is not None:
        real = data.sampler(1000, torch.Generator().manual_seed(seed + 1))
        finite = fake[torch.isfinite(fake).all(1)][:1000]
        if finite.shape[0] >= 20:
            out["js"] = js_estimate(data, real, finite)[0]
    return {k: float(v) for k, v in out.items()}


def score_images(nets: dict[str, Any], family: Any, meter: QualityMeter, *, n: int | None = None,
                 n_pr: int | None = None, seed: int = 4321) -> dict[str, float]:
    """Image sets: the QualityMeter's numbers on n samples (default: GAN_QUALITY_SAMPLES; balanced classes
    for a conditional G), precision/recall/density/coverage on n_pr of them (default: GAN_PR_SAMPLES)."""
    n = int(settings.get("GAN_QUALITY_SAMPLES") or QUALITY_SAMPLES) if n is None else n
    n_pr = int(settings.get("GAN_PR_SAMPLES") or PRDC_SAMPLES) if n_pr is None else n_pr
    g = next(iter(nets.values()))
    k = int(getattr(g.cfg, "n_classes", 0))
    y = torch.arange(max(n, n_pr)) % k if k else None
    images = family.sample(nets, max(n, n_pr), seed=seed, y=y)  # the first n: the same as sampling n alone
    s = meter.score(images[:n], None if y is None else y[:n], pr_images=images[:n_pr] if n_pr > 0 else None)
    return {key: float(s[key]) for key in IMAGE_KEYS if isinstance(s.get(key), (int, float))
            and math.isfinite(float(s[key]))}


def score(nets: dict[str, Any], family: Any, data: Any, *, meter: Any = None) -> dict[str, float]:
    """The run's quality numbers from its sampling nets (frozen or live EMA copies)."""
    own = getattr(family, "score", None)
    if own is not None:
        return own(nets, data, meter=meter)
    if data.kind == "points":
        return score_points(nets, family, data)
    if meter is None:
        return {}
    if isinstance(meter, StackedMeter):  # its own sample count (LIVE_SAMPLES, or the protocol's at the end)
        return meter.score_nets(nets, family)
    return score_images(nets, family, meter)


def build_meter(data: Any, **kw: Any) -> QualityMeter | PairMeter | StackedMeter:
    """The meter of a dataset, built once per dataset: a QualityMeter for images, a PairMeter (CycleGAN's
    translation scores, gan.metrics.translation) for pairs, a StackedMeter (modes of 1,000) for the stacked sets; `kw`
    are their settings (cache_dir, epochs, ...)."""
    if getattr(data, "kind", None) == "pair":
        return PairMeter(data, **kw)
    if is_stacked(data):
        return StackedMeter(data, **kw)
    return QualityMeter(data, **kw)


def run_scores(trainer: Any, *, log: TextIO | None = None) -> dict[str, float]:
    """score() for a trainer at the end of a CLI run; image sets build (or load the cached) classifier."""
    meter = None
    if trainer.data.kind != "points":
        if log is not None:
            print("scoring: the quality classifier trains once per dataset (cached) ...", file=log)
        try:
            final = {"samples": PROTOCOL_SAMPLES} if is_stacked(trainer.data) else {}  # as the papers score
            meter = build_meter(trainer.data, **final)
        except (ValueError, RuntimeError) as e:
            if log is not None:
                print(f"no quality score: {e}", file=log)
            return {}
    return score(trainer.sampling_nets(), trainer.family, trainer.data, meter=meter)


__all__ = ["IMAGE_KEYS", "QUALITY_SAMPLES", "build_meter", "run_scores", "score", "score_images", "score_points"]
