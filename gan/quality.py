"""Live quality metrics for image GANs, a mode-collapse warning in plain words, and help for reading losses.

For labelled sets (digits, MNIST, Fashion-MNIST) a small CNN is trained once on the dataset itself and
cached in checkpoints/classifiers/; `QualityMeter.score(images)` then reports a Fréchet distance between its
penultimate features of generated and real images, the classes covered and the KL of the class histogram
from uniform. For unlabelled folders it reports a diversity measure in a fixed random-projection space.
Nothing here imports a UI library; scoring is fast enough to run every few hundred steps in a thread.
"""
from __future__ import annotations

import hashlib
import math
import os
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import save_state
from .datasets import Dataset
from .errors import safe_name
from .metrics import class_kl

Tensor = torch.Tensor
CLASSIFIER_FORMAT = "gan-lab-classifier"
# A subfolder, so that classifier files never show up as GAN checkpoints in checkpoints/.
DEFAULT_CACHE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "checkpoints",
                                 "classifiers")
CLASSIFIER_VERSION = 1

__all__ = [
    "DEFAULT_CACHE_DIR", "Classifier", "train_classifier", "load_or_train_classifier", "classifier_cache_path", "frechet_distance",
    "QualityMeter", "collapse_warning", "loss_help", "LOSS_EQUILIBRIUM",
]


# ---- the feature network ---------------------------------------------------------------------------

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
def _predict(model: nn.Module, x: Tensor, batch: int = 500) -> tuple[Tensor, Tensor]:
    """(features (N, F), logits (N, K)) in eval mode, batched."""
    model.eval()
    feats, logits = [], []
    for i in range(0, x.shape[0], batch):
        f = model.features(x[i:i + batch].float())
        feats.append(f)
        logits.append(model.head(f))
    return torch.cat(feats), torch.cat(logits)


def train_classifier(data: Dataset, *, epochs: int = 3, max_train: int = 10_000, n_test: int = 1000,
                     batch_size: int = 64, lr: float = 3e-3, seed: int = 0) -> tuple[Classifier, float]:
    """Train the CNN on up to max_train labelled images of `data`; returns (model, held-out accuracy)."""
    if data.x is None or data.y is None or data.n_classes < 2:
        raise ValueError(f"dataset {data.name!r} has no class labels to train a classifier on")
    train_idx, test_idx = _split(data.x.shape[0], n_test, seed)
    train_idx = train_idx[:max_train]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Classifier(data.x.shape[1], data.n_classes, size=data.x.shape[-1])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(
        1, epochs * math.ceil(len(train_idx) / batch_size)), pct_start=0.15)
    gen = torch.Generator().manual_seed(seed + 1)
    model.train()
    for _ in range(epochs):
        order = train_idx[torch.randperm(len(train_idx), generator=gen)]
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(data.x[idx].float()), data.y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    model.eval().requires_grad_(False)
    _, logits = _predict(model, data.x[test_idx])
    acc = float((logits.argmax(1) == data.y[test_idx]).float().mean())
    return model, acc


def _fingerprint(data: Dataset) -> str:
    """A short hash of the dataset's size, shape and a spread of its pixels and labels."""
    h = hashlib.sha1()
    n = data.x.shape[0]
    h.update(repr((data.name, n, tuple(data.x.shape[1:]), data.n_classes)).encode())
    step = max(1, n // 256)
    h.update(data.x[::step].float().mul(127.5).round().to(torch.int16).numpy().tobytes())
    h.update(data.y[::step].numpy().tobytes())
    return h.hexdigest()[:12]


def classifier_cache_path(data: Dataset, cache_dir: str, **settings: Any) -> str:
    """<cache_dir>/classifier-<dataset>-<hash of data and settings>.pt"""
    key = hashlib.sha1(repr((_fingerprint(data), CLASSIFIER_VERSION, sorted(settings.items()))).encode())
    name = safe_name(data.name, fallback="data")
    return os.path.join(cache_dir, f"classifier-{name}-{key.hexdigest()[:10]}.pt")


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
    if path and os.path.isfile(path):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if state.get("format") != CLASSIFIER_FORMAT or state.get("version") != CLASSIFIER_VERSION:
                raise ValueError("not a classifier file of this version")
            model = Classifier(int(state["in_channels"]), int(state["n_classes"]), int(state["feat_dim"]),
                               int(state["size"]))
            model.load_state_dict(state["state_dict"])
            model.eval().requires_grad_(False)
            return model, {"accuracy": float(state["accuracy"]), "n_train": int(state["n_train"]),
                           "epochs": epochs, "path": path, "cached": True, "seconds": 0.0}
        except Exception:  # a stale or corrupt cache is retrained and overwritten, never fatal
            pass
    t0 = time.perf_counter()
    model, acc = train_classifier(data, epochs=epochs, max_train=max_train, n_test=n_test, seed=seed, lr=lr,
                                  batch_size=batch_size)
    seconds = time.perf_counter() - t0
    n_train = min(max_train, data.x.shape[0] - min(n_test, max(1, data.x.shape[0] // 5)))
    if path:
        save_state({"format": CLASSIFIER_FORMAT, "version": CLASSIFIER_VERSION, "dataset": data.name,
                    "in_channels": model.in_channels, "n_classes": model.n_classes, "feat_dim": model.feat_dim,
                    "size": model.size, "state_dict": model.state_dict(), "accuracy": acc, "n_train": n_train, **settings}, path)
    return model, {"accuracy": acc, "n_train": n_train, "epochs": epochs, "path": path, "cached": False,
                   "seconds": seconds}


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


def _mean_pairwise(f: Tensor, max_n: int = 500) -> float:
    """Mean Euclidean distance between distinct pairs (of an evenly spread subset of at most max_n)."""
    if f.shape[0] > max_n:
        f = f[torch.linspace(0, f.shape[0] - 1, max_n).long()]
    n = f.shape[0]
    if n < 2:
        return 0.0
    d = torch.cdist(f.float(), f.float())
    return float(d.sum() / (n * (n - 1)))


class QualityMeter:
    """Scores batches of generated images against one dataset's real images.

    Labelled sets: classifier features (trained once, cached in `cache_dir`). Unlabelled sets: a fixed
    random projection of 16x16-pooled pixels. Real statistics are computed once, here.
    """

    def __init__(self, data: Dataset, *, cache_dir: str | None = DEFAULT_CACHE_DIR, epochs: int = 3,
                 max_train: int = 10_000, n_real: int = 2000, seed: int = 0, min_share: float = 0.01,
                 min_confidence: float = 0.5, classifier: Classifier | None = None) -> None:
        if data.kind != "image" or data.x is None:
            raise ValueError(f"QualityMeter needs an image dataset, not {data.name!r}; use gan.metrics.mode_score "
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
        self.real_spread = _mean_pairwise(f)
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

    def score(self, images: Tensor, y: Tensor | None = None) -> dict[str, Any]:
        """Metrics for generated images (N, C, H, W) in [-1, 1] (y: the classes asked of a conditional G).

        Keys: n, frechet (lower is better), diversity (mean pairwise feature distance relative to real
        images: ~1 is healthy, near 0 means collapse), features, seconds; for labelled sets also
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
            out["diversity"] = _mean_pairwise(f) / max(self.real_spread, 1e-12)
        else:
            out["frechet"], out["diversity"] = math.inf, 0.0
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


# ---- warnings and help -------------------------------------------------------------------------------

def _rows(history: Any) -> list[dict[str, Any]]:
    """A history as a list of dicts: accepts a list of dicts or a dict of equal-length lists."""
    if history is None:
        return []
    if isinstance(history, dict):
        keys = [k for k, v in history.items() if isinstance(v, (list, tuple))]
        n = min((len(history[k]) for k in keys), default=0)
        return [{k: history[k][i] for k in keys} for i in range(n)]
    return [dict(r) for r in history if isinstance(r, dict)]


def _remedies(loss: str | None, lr: float | None) -> str:
    alts = [name for name in ("wgan-gp", "hinge", "lsgan") if name != loss][:2]
    lower = f"lower the learning rate (e.g. {lr / 2:g})" if lr else "lower the learning rate (e.g. halve it)"
    return f"Try loss {alts[0]} or {alts[1]}, or {lower}."


def _series(rows: list[dict[str, Any]], key: str) -> list[float]:
    out = []
    for r in rows:
        v = r.get(key)
        if isinstance(v, (int, float)) and math.isfinite(float(v)):
            out.append(float(v))
    return out


def _collapsed(values: list[float], low: float, drop: float, warmup: int, patience: int) -> bool:
    """True if the latest value is low and either fell from a clearly higher peak or has stalled there."""
    if not values or values[-1] > low:
        return False
    now = values[-1]
    if max(values) - now >= drop:  # it was better before: a collapse
        return True
    if len(values) < max(warmup, patience + 1):
        return False  # still warming up
    recent, before = values[-patience:], values[:-patience]
    return max(recent) <= max(before)  # no progress for `patience` readings


def collapse_warning(history: Any, *, loss: str | None = None, lr: float | None = None,
                     warmup: int = 5, patience: int = 3) -> str | None:
    """A plain-words mode-collapse warning with remedies, or None, from a history of metric dicts.

    `history` is a list of dicts (or a dict of lists) of QualityMeter.score or gan.metrics.mode_score
    results, oldest first. It warns when coverage (classes or modes) or diversity is low and either
    dropped from a clearly higher level or has not improved for `patience` readings after `warmup`.
    """
    rows = _rows(history)
    if not rows:
        return None
    last = rows[-1]
    fix = _remedies(loss, lr)
    coverage = (("classes_covered", "n_classes", "classes appear", "a few kinds of image"),
                ("modes", "n_modes", "modes are covered", "a few modes"))
    for key, total, verb, onto in coverage:  # classes for labelled images, modes for ring8/grid25
        if key in last and last.get(total):
            k = int(last[total])
            cov = _series(rows, key)
            if _collapsed(cov, low=math.floor(0.7 * k), drop=max(2, math.ceil(0.2 * k)), warmup=warmup,
                          patience=patience):
                return (f"Only {int(cov[-1])} of {k} {verb}: the generator is collapsing onto {onto} "
                        f"(mode collapse). {fix}")
    div = _series(rows, "diversity")
    if _collapsed(div, low=0.5, drop=0.3, warmup=warmup, patience=patience):
        return (f"The samples look alike: their spread is {100 * div[-1]:.0f}% of the real images'. "
                f"The generator is collapsing (mode collapse). {fix}")
    return None


LOG2 = math.log(2.0)
# (D loss, G loss) when the game is at its equilibrium p_g = p_data with the optimal D; None: not fixed.
LOSS_EQUILIBRIUM: dict[str, tuple[float | None, float | None]] = {
    "bce": (2 * LOG2, LOG2), "minimax": (2 * LOG2, -LOG2), "lsgan": (0.25, 0.125), "hinge": (2.0, None),
    "wgan": (0.0, None), "wgan-gp": (0.0, None),
}

_GENERAL_HELP = """\
**How to read the charts.** GAN losses do not go steadily down: D and G play a game, so each one's loss
goes up when the other improves. Judge progress by the samples and the quality metric, and read the losses
for balance:

- **D(x)** is D's mean output on real images and **D(G(z))** on generated ones (the sigmoid of D's score).
  D(x) near 1 with D(G(z)) near 0 means D tells them apart easily: D is winning.
  Both near **0.5** means D cannot tell real from fake: either G is good (check the samples) or D is too
  weak to judge.
- A **D loss near 0** that stays there means D wins outright; G then learns little, and samples stop
  improving or collapse. Try a lower learning rate, or the wgan-gp or hinge loss.
- A **G loss climbing** steadily while the D loss falls is the same story seen from G's side.
- Losses that **swing** around their equilibrium are normal; losses that become **NaN** stop training
  and keep the last good checkpoint.
- **Mode collapse** shows in the quality chart, not in the losses: few classes (or modes) covered, a
  class KL far above 0, a falling diversity. The samples then look alike.
"""

_LOSS_HELP = {
    "bce": ("**bce (non-saturating GAN).** D loss = -log D(x) - log(1 - D(G(z))); G loss = -log D(G(z)). "
            "At the equilibrium D = 1/2 everywhere, so the **D loss is 2 log 2 ≈ 1.386** and the **G loss is "
            "log 2 ≈ 0.693**. A D loss well below 1.386 means D is ahead; above it, G is ahead."),
    "minimax": ("**minimax (the original saturating game).** D loss as in bce; G loss = log(1 - D(G(z))). "
                "Equilibrium: **D loss 2 log 2 ≈ 1.386, G loss -log 2 ≈ -0.693**. When D wins early, G's "
                "gradients vanish (the loss saturates near 0): that is why bce is the default."),
    "wgan": ("**wgan (weight clipping).** D is a critic that outputs a score, not a probability. D loss = "
             "E[D(G(z))] - E[D(x)]: minus an estimate of the Wasserstein distance, so it should rise "
             "towards 0 as G improves. The G loss has no fixed target; only its trend matters."),
    "wgan-gp": ("**wgan-gp.** As wgan, with a gradient penalty instead of clipping. D loss = E[D(G(z))] - "
                "E[D(x)] + 10 x penalty: its minus tracks the Wasserstein distance and should move towards 0 "
                "as samples improve. The G loss has no fixed target. D(x) and D(G(z)) show sigmoid(score): "
                "only their gap matters."),
    "hinge": ("**hinge.** D loss = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))], which is **2** when D cannot "
              "separate the two (equilibrium) and 0 when it separates them with a margin. G loss = -E[D(G(z))] "
              "has no fixed target."),
    "lsgan": ("**lsgan (least squares).** D loss = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2], G loss = "
              "1/2 E[(D(G(z)) - 1)^2]. At the equilibrium D's output is 1/2 everywhere: **D loss 0.25, "
              "G loss 0.125**."),
}


def loss_help(loss: str | None = None) -> str:
    """Markdown help on reading the losses, D(x) and D(G(z)); with `loss`, that loss's equilibrium values."""
    if loss is None:
        return _GENERAL_HELP + "\n" + "\n\n".join(_LOSS_HELP.values())
    return _GENERAL_HELP + "\n" + _LOSS_HELP.get(loss, f"**{loss}.** No notes for this loss.")

