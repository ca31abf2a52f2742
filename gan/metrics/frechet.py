"""The image meter, `QualityMeter`: Fréchet distance, class coverage and diversity of generated images.

For labelled sets (digits, MNIST, Fashion-MNIST) a small CNN is trained once on the dataset itself and
cached in checkpoints/classifiers/; `QualityMeter.score(images)` then reports a Fréchet distance between its
penultimate features of generated and real images, the classes covered and the KL of the class histogram
from uniform. For unlabelled folders it reports a diversity measure in a fixed random-projection space.
Nothing here imports a UI library; scoring is fast enough to run every few hundred steps in a thread.
"""
from __future__ import annotations

import math
import time
from typing import Any

import torch
import torch.nn.functional as F

from ..data.spec import Dataset
from .classifier import DEFAULT_CACHE_DIR, Classifier, _predict, load_or_train_classifier
from .modes import class_kl
from .prdc import PRDCReference

Tensor = torch.Tensor
SPREAD_SAMPLES = 500  # feature vectors whose mean pairwise distance is a set's spread (the diversity's scale)


# ---- statistics --------------------------------------------------------------------------------------

def _sqrt_psd(c: Tensor) -> Tensor:
    """Symmetric square root of a PSD matrix via eigendecomposition (float64)."""
    w, v = torch.linalg.eigh(c.double())
    return (v * w.clamp_min(0).sqrt()) @ v.T


def _mean_cov(f: Tensor) -> tuple[Tensor, Tensor]:
    f = f.double()
    mu = f.mean(0)
    d = f - mu
    return mu, d.T @ d / max(f.shape[0] - 1, 1)


def frechet_distance(mu1: Tensor, cov1: Tensor, mu2: Tensor, cov2: Tensor, *, sqrt_cov1: Tensor | None = None) -> float:
    """||mu1 - mu2||^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)), with tr (C1 C2)^(1/2) = tr (s1 C2 s1)^(1/2), s1 = C1^(1/2)."""
    s1 = _sqrt_psd(cov1) if sqrt_cov1 is None else sqrt_cov1
    m = s1 @ cov2.double() @ s1
    tr_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    fd = (mu1.double() - mu2.double()).square().sum() + torch.trace(cov1.double()) + torch.trace(cov2.double()) - 2 * tr_sqrt
    return max(float(fd), 0.0)


def mean_pairwise(x: Tensor, max_n: int) -> float:
    """Mean Euclidean distance between distinct pairs of rows of x (N, ...), each flattened (of an evenly spread
    subset of at most max_n): the feature spread here, the pixel spread of translations (metrics/translation.py)."""
    if x.shape[0] > max_n:
        x = x[torch.linspace(0, x.shape[0] - 1, max_n).long()]
    n = x.shape[0]
    if n < 2:
        return 0.0
    f = x.reshape(n, -1).float()
    return float(torch.cdist(f, f).sum() / (n * (n - 1)))


class QualityMeter:
    """Scores batches of generated images against one dataset's real images.

    Labelled sets: classifier features (trained once, cached in `cache_dir`). Unlabelled sets: a fixed
    random projection of 16x16-pooled pixels. Real statistics are computed once, here.
    """

    def __init__(self, data: Dataset, *, cache_dir: str | None = DEFAULT_CACHE_DIR, epochs: int = 3,
                 max_train: int = 10_000, n_real: int = 2000, seed: int = 0, min_share: float = 0.01,
                 min_confidence: float = 0.5, classifier: Classifier | None = None) -> None:
        if data.kind != "image" or data.x is None:
            raise ValueError(f"QualityMeter needs an image dataset, not {data.name!r}; use gan.metrics.modes.mode_score "
                             f"or gan.theory for points")
        self.data, self.min_share, self.min_confidence = data, min_share, min_confidence
        self.labelled = data.y is not None and data.n_classes >= 2
        self.info: dict[str, Any] = {}
        self.classifier: Classifier | None = None
        if self.labelled:
            if classifier is not None:
                self.classifier, self.info = classifier.eval(), {"accuracy": math.nan, "cached": True}
            else:
                self.classifier, self.info = load_or_train_classifier(
                    data, cache_dir=cache_dir, epochs=epochs, max_train=max_train, seed=seed)
        else:
            g = torch.Generator().manual_seed(seed + 777)
            c = data.x.shape[1]
            self._proj = torch.randn(c * 16 * 16, 64, generator=g) / math.sqrt(c * 16 * 16)
        idx = torch.randperm(data.x.shape[0], generator=torch.Generator().manual_seed(seed + 99))[:n_real]
        real = data.x[idx]
        f, _ = self._features(real)
        self.real_mu, self.real_cov = _mean_cov(f)
        self._real_sqrt = _sqrt_psd(self.real_cov)
        self.real_spread = mean_pairwise(f, SPREAD_SAMPLES)
        self.prdc = PRDCReference(f)  # precision/recall and density/coverage in the same feature space
        self.n_classes = data.n_classes if self.labelled else 0

    @property
    def accuracy(self) -> float:
        """Held-out accuracy of the classifier (nan when unlabelled or given)."""
        return float(self.info.get("accuracy", math.nan))

    @property
    def feature_space(self) -> str:
        return "classifier" if self.labelled else "random-projection"

    @torch.no_grad()
    def _features(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        x = images.detach().float().cpu()
        if self.classifier is not None:
            return _predict(self.classifier, x)
        pooled = F.adaptive_avg_pool2d(x, 16).flatten(1)
        return pooled @ self._proj, None

    def score(self, images: Tensor, y: Tensor | None = None, *, pr_images: Tensor | None = None) -> dict[str, Any]:
        """Metrics for generated images (N, C, H, W) in [-1, 1] (y: the classes asked of a conditional G;
        pr_images: more of them for precision/recall/density/coverage, whose k-NN balls depend on the count).

        Keys: n, frechet (lower is better), diversity (mean pairwise feature distance relative to real
        images: ~1 is healthy, near 0 means collapse), precision, recall, density, coverage (gan.metrics.prdc,
        against as many real images), features, seconds; for labelled sets also
        classes_covered (classes predicted with confidence >= min_confidence for >= min_share of the
        samples), n_classes, class_kl (KL of the predicted-class histogram from uniform, 0 to log K),
        class_hist, confidence (mean top probability) and, when y is given, label_accuracy.
        """
        t0 = time.perf_counter()
        if images.dim() != 4 or tuple(images.shape[1:]) != tuple(self.data.x.shape[1:]):
            raise ValueError(f"expected images of shape (N, {', '.join(map(str, self.data.x.shape[1:]))}), "
                             f"got {tuple(images.shape)}")
        f, logits = self._features(images)
        ok = torch.isfinite(f).all(1)
        f = f[ok]
        out: dict[str, Any] = {"n": int(images.shape[0]), "features": self.feature_space}
        if f.shape[0] >= 2:
            mu, cov = _mean_cov(f)
            out["frechet"] = frechet_distance(self.real_mu, self.real_cov, mu, cov, sqrt_cov1=self._real_sqrt)
            out["diversity"] = mean_pairwise(f, SPREAD_SAMPLES) / max(self.real_spread, 1e-12)
            if pr_images is None:
                out.update(self.prdc.score(f))
        else:
            out["frechet"], out["diversity"] = math.inf, 0.0
        if pr_images is not None:
            fp = self._features(pr_images)[0]
            out.update(self.prdc.score(fp[torch.isfinite(fp).all(1)]))
        if logits is not None:
            k = self.n_classes
            p = torch.softmax(logits[ok].double(), 1)
            conf, pred = p.max(1)
            hist = torch.bincount(pred, minlength=k).double() / max(pred.numel(), 1)
            confident = torch.bincount(pred[conf >= self.min_confidence], minlength=k).double()
            share = confident / max(pred.numel(), 1)
            out.update({
                "classes_covered": int((share >= self.min_share).sum()), "n_classes": k,
                "class_kl": class_kl(pred, k),
                "class_hist": [round(float(v), 4) for v in hist], "confidence": float(conf.mean()) if conf.numel() else 0.0,
            })
            if y is not None:
                out["label_accuracy"] = float((pred == y.cpu()[ok]).double().mean())
        out["seconds"] = time.perf_counter() - t0
        return out

__all__ = ["QualityMeter", "SPREAD_SAMPLES", "frechet_distance", "mean_pairwise"]
