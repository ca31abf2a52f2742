"""The two-player game made visible, for the 1-D and 2-D toy datasets.

Exact data densities, kernel density estimates (KDE) of generated samples, the optimal discriminator
D*(x) = p_data / (p_data + p_g), a Jensen-Shannon estimate, the value V(D, G), plot-ready snapshots of
a running GAN (`theory_snapshot`); gan/theory_plots.py draws them.
Everything is a plain function of tensors / numpy arrays; nothing here imports a UI library.

Conventions: points are (N, D) tensors in data coordinates (D = 1 or 2); log densities are natural logs;
divergences are in nats, so JS lies in [0, log 2] and V(D*, G) = -log 4 + 2 JS lies in [-log 4, 0].
"""
from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .datasets import GAUSS1D_MEAN, GAUSS1D_STD, Dataset
from .metrics import mode_score

Tensor = torch.Tensor
LOG2 = math.log(2.0)
LOG4 = math.log(4.0)

__all__ = [
    "LOG2", "LOG4", "KDE", "CAPTIONS", "data_log_prob", "data_cell_density", "gaussian_mixture_log_prob",
    "mixture_cell_density", "scott_bandwidth", "silverman_bandwidth", "cv_bandwidth", "kde_log_prob",
    "knn_log_prob", "optimal_discriminator", "optimal_discriminator_log", "js_from_log_probs", "js_divergence",
    "value_function", "theory_snapshot",
]


# ---- exact data densities ------------------------------------------------------------------------

def _as_points(x: Tensor | np.ndarray, dim: int | None = None) -> Tensor:
    """Any array of points -> float64 (N, D) tensor."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x).detach().to(torch.float64).cpu()
    if t.dim() == 1:
        t = t[:, None]
    t = t.reshape(t.shape[0], -1)
    if dim is not None and t.shape[1] != dim:
        raise ValueError(f"expected points of dimension {dim}, got shape {tuple(t.shape)}")
    return t


def _sq_dist(a: Tensor, b: Tensor) -> Tensor:
    """Squared distances (M, N) in float32 after centring both sets (keeps float32 accurate)."""
    c = b.mean(0, keepdim=True)
    return torch.cdist((a - c).float(), (b - c).float()).square_()


def gaussian_mixture_log_prob(x: Tensor, means: Tensor, std: float | Tensor) -> Tensor:
    """log density of an equal-weight isotropic Gaussian mixture at points x (N, D) -> (N,) float64."""
    x, means = _as_points(x), _as_points(means)
    d = x.shape[1]
    var = float(std) ** 2
    if means.shape[0] == 1:  # one Gaussian: closed form in float64
        sq = (x - means).square().sum(1)
        return -sq / (2 * var) - 0.5 * d * math.log(2 * math.pi * var)
    comp = _sq_dist(x, means).mul_(-1.0 / (2 * var))  # (N, K)
    lse = torch.logsumexp(comp, dim=1).double()
    return lse - 0.5 * d * math.log(2 * math.pi * var) - math.log(means.shape[0])


SPIRAL_NODES = 600  # nodes along the arc, <= 0.011 apart: about half the noise std, so the sum is exact to ~1e-30
SPIRAL_NOISE = 0.02


@functools.lru_cache(maxsize=1)
def _spiral_nodes() -> Tensor:
    """Equal-weight points on the noise-free spiral at the mid-quantiles of its arc parameter, (M, 2)."""
    u = (torch.arange(SPIRAL_NODES, dtype=torch.float64) + 0.5) / SPIRAL_NODES
    t = torch.sqrt(u) * 4 * math.pi  # the sampler draws t = sqrt(U) * 4 pi, so u-quantiles are equal-mass
    r = t / (4 * math.pi)
    return torch.stack([r * torch.cos(t), r * torch.sin(t)], 1)


_FALLBACK: dict[tuple[str, int], "KDE"] = {}


def _fallback_kde(data: Dataset, n: int = 20_000) -> "KDE":
    """A cross-validated KDE of many real samples, for toy sets without a closed-form density."""
    key = (data.name, id(data.sampler))
    if key not in _FALLBACK:
        real = data.sampler(n, torch.Generator().manual_seed(1234))
        _FALLBACK[key] = KDE.fit(real, bandwidth="cv")
    return _FALLBACK[key]


def _cell_edges(centres: Tensor) -> tuple[Tensor, Tensor]:
    """Lower and upper edges of the cells around evenly spaced centres (R,)."""
    c = centres.double()
    half = (c[1] - c[0]) / 2 if c.numel() > 1 else torch.tensor(0.5, dtype=torch.float64)
    return c - half, c + half


def mixture_cell_density(means: Tensor, std: float, centres: list[Tensor]) -> Tensor:
    """Average density over each grid cell of an equal-weight isotropic Gaussian mixture (exact, via erf).

    `centres` holds the evenly spaced cell centres per axis: [gx] -> (Rx,), [gx, gy] -> (Ry, Rx).
    Averages over cells, unlike values at nodes, do not miss modes narrower than a cell.
    """
    means = _as_points(means)
    sd = max(float(std), 1e-12) * math.sqrt(2.0)
    mass = []
    for axis, c in enumerate(centres):
        lo, hi = _cell_edges(c)
        mu = means[:, axis:axis + 1]  # (K, 1)
        m = 0.5 * (torch.erf((hi[None] - mu) / sd) - torch.erf((lo[None] - mu) / sd))  # (K, R) mass per cell
        mass.append(m / (hi - lo)[None])  # density averaged over the cell, per axis
    k = means.shape[0]
    if len(centres) == 1:
        return mass[0].sum(0) / k
    return mass[1].T @ mass[0] / k  # (Ry, Rx)


def data_cell_density(data: Dataset, centres: list[Tensor]) -> Tensor:
    """p_data averaged over each cell of a grid (see mixture_cell_density): (Rx,) in 1-D, (Ry, Rx) in 2-D."""
    if data.name == "gaussian1d":
        means = torch.tensor([[float(data.info.get("mean", GAUSS1D_MEAN))]])
        return mixture_cell_density(means, float(data.info.get("std", GAUSS1D_STD)), centres)
    if data.modes is not None and data.std > 0:
        return mixture_cell_density(data.modes, data.std, centres)
    if data.name == "spiral":
        return mixture_cell_density(_spiral_nodes(), SPIRAL_NOISE, centres)
    kde = _fallback_kde(data)
    return mixture_cell_density(kde.samples, kde.bandwidth, centres)


def data_log_prob(data: Dataset, x: Tensor) -> Tensor:
    """Exact log p_data at points x (N, D) -> (N,) float64 for the toy sets (a fine quadrature for spiral)."""
    if data.kind not in ("1d", "2d"):
        raise ValueError(f"data_log_prob needs a 1-D or 2-D toy dataset, not {data.name!r} ({data.kind})")
    x = _as_points(x, data.shape[0])
    if data.name == "gaussian1d":
        mean = float(data.info.get("mean", GAUSS1D_MEAN))
        std = float(data.info.get("std", GAUSS1D_STD))
        return gaussian_mixture_log_prob(x, torch.tensor([[mean]]), std)
    if data.modes is not None and data.std > 0:
        return gaussian_mixture_log_prob(x, data.modes, data.std)
    if data.name == "spiral":
        # The spiral is a 1-D curve blurred by N(0, 0.02^2 I); integrating over its arc parameter with
        # equal-mass nodes makes its density an equal-weight mixture, exact up to quadrature error.
        return gaussian_mixture_log_prob(x, _spiral_nodes(), SPIRAL_NOISE)
    return _fallback_kde(data).log_prob(x)


# ---- kernel density estimates of generated samples -----------------------------------------------

def scott_bandwidth(samples: Tensor) -> float:
    """Scott's rule for an isotropic Gaussian kernel: n^(-1/(d+4)) times the mean per-axis std."""
    s = _as_points(samples)
    n, d = s.shape
    sd = float(s.std(dim=0, unbiased=True).mean()) if n > 1 else 0.0
    return max(sd, 1e-12) * n ** (-1.0 / (d + 4))


def silverman_bandwidth(samples: Tensor) -> float:
    """Silverman's rule: 0.9 min(std, IQR/1.34) n^(-1/5) in 1-D, (4/(d+2))^(1/(d+4)) std n^(-1/(d+4)) in d-D."""
    s = _as_points(samples)
    n, d = s.shape
    if n < 2:
        return 1e-12
    if d == 1:
        sd = float(s.std())
        q = torch.quantile(s[:, 0], torch.tensor([0.25, 0.75], dtype=s.dtype))
        iqr = float(q[1] - q[0]) / 1.34
        spread = min(sd, iqr) if iqr > 0 else sd
        return max(spread, 1e-12) * 0.9 * n ** -0.2
    sd = float(s.std(dim=0).mean())
    return max(sd, 1e-12) * (4.0 / (d + 2)) ** (1.0 / (d + 4)) * n ** (-1.0 / (d + 4))


def _loo_log_lik(sq: Tensor, h: float, d: int) -> float:
    """Mean leave-one-out log-likelihood of a KDE with bandwidth h, from squared distances (inf diagonal)."""
    n = sq.shape[0]
    lse = torch.logsumexp(sq * (-0.5 / h ** 2), dim=1).double()
    return float(lse.mean()) - d * math.log(h) - math.log(n - 1)


def cv_bandwidth(samples: Tensor, *, max_n: int = 300, floor: float = 1e-4, hint: float | None = None) -> float:
    """Bandwidth maximising the leave-one-out likelihood of the samples, searched in steps of sqrt(2).

    Unlike Scott's or Silverman's rule it adapts to sharp multi-modal samples (ring8's modes have std 0.01).
    The search climbs from `hint` (e.g. the previous snapshot's bandwidth) or from Scott's h.
    """
    s = _as_points(samples)
    if s.shape[0] > max_n:  # an evenly spread subset keeps the O(n^2) search cheap
        s = s[torch.linspace(0, s.shape[0] - 1, max_n).long()]
    n, d = s.shape
    h0 = max(hint if hint and hint > 0 else scott_bandwidth(s), floor)
    if n < 3:
        return h0
    sq = _sq_dist(s, s)
    sq.fill_diagonal_(float("inf"))  # leave one out
    cache: dict[int, float] = {}

    def ll(k: int) -> float:  # k counts half-octaves from h0
        if k not in cache:
            h = h0 * 2 ** (k / 2)
            cache[k] = _loo_log_lik(sq, h, d) if h >= floor else -math.inf
        return cache[k]

    k = 0
    step = 1 if ll(1) > ll(0) else -1
    for _ in range(40):  # hill-climb; the LOO likelihood is unimodal in log h for all but odd samples
        if ll(k + step) > ll(k):
            k += step
        else:
            break
    return max(h0 * 2 ** (k / 2), floor)


def _leave_self_out(dist: Tensor, q: Tensor, s: Tensor) -> int:
    """Mask each query's own sample (q must be the first rows of s) in dist (M, n), in place; returns n - 1."""
    m, n = q.shape[0], s.shape[0]
    if m > n or not torch.equal(q, s[:m]):
        raise ValueError("leave_one_out needs x to be the first rows of the samples")
    dist[:, :m].fill_diagonal_(float("inf"))
    return n - 1


def kde_log_prob(samples: Tensor, x: Tensor, bandwidth: float, *, leave_one_out: bool = False) -> Tensor:
    """log of a Gaussian KDE with isotropic bandwidth h at x (M, D) -> (M,).

    With leave_one_out, x must be the first M of the samples themselves, and each x[i] leaves out samples[i].
    """
    s, q = _as_points(samples), _as_points(x)
    n, d = s.shape
    h2 = float(bandwidth) ** 2
    sq = _sq_dist(q, s)  # (M, n)
    if leave_one_out:
        n = _leave_self_out(sq, q, s)
    lse = torch.logsumexp(sq.mul_(-0.5 / h2), dim=1).double()
    return lse - math.log(max(n, 1)) - 0.5 * d * math.log(2 * math.pi * h2)


@dataclass
class KDE:
    """A fitted Gaussian KDE: samples (n, D) and isotropic bandwidth h."""

    samples: Tensor
    bandwidth: float

    @classmethod
    def fit(cls, samples: Tensor, bandwidth: str | float = "cv", *, hint: float | None = None) -> "KDE":
        """Fit with bandwidth 'cv' (leave-one-out likelihood, searched from `hint`), 'scott', 'silverman' or a number."""
        s = _as_points(samples)
        rules = {"cv": lambda t: cv_bandwidth(t, hint=hint), "scott": scott_bandwidth, "silverman": silverman_bandwidth}
        if isinstance(bandwidth, str):
            if bandwidth not in rules:
                raise ValueError(f"unknown bandwidth rule {bandwidth!r}; choose from {', '.join(rules)} or a number")
            h = rules[bandwidth](s)
        else:
            h = float(bandwidth)
        if not h > 0:
            raise ValueError(f"bandwidth must be > 0, got {h}")
        return cls(s, h)

    def log_prob(self, x: Tensor, *, leave_one_out: bool = False) -> Tensor:
        """log p_g at x (M, D) -> (M,) float64 (leave_one_out: x is the first M samples)."""
        return kde_log_prob(self.samples, x, self.bandwidth, leave_one_out=leave_one_out)

    def cell_density(self, centres: list[Tensor]) -> Tensor:
        """p_g averaged over each cell of a grid: (Rx,) in 1-D, (Ry, Rx) in 2-D."""
        return mixture_cell_density(self.samples, self.bandwidth, centres)


# ---- the game's quantities -----------------------------------------------------------------------

def optimal_discriminator(p_data: Tensor, p_g: Tensor) -> Tensor:
    """D*(x) = p_data / (p_data + p_g) elementwise, and 1/2 where both densities are 0."""
    p_data, p_g = torch.as_tensor(p_data), torch.as_tensor(p_g)
    total = p_data + p_g
    safe = torch.where(total > 0, total, torch.ones_like(total))
    return torch.where(total > 0, p_data / safe, torch.full_like(total, 0.5))


def optimal_discriminator_log(log_p_data: Tensor, log_p_g: Tensor) -> Tensor:
    """D* from log densities: sigmoid(log p_data - log p_g), and 1/2 where both are -inf."""
    diff = torch.as_tensor(log_p_data) - torch.as_tensor(log_p_g)
    return torch.where(torch.isnan(diff), torch.full_like(diff, 0.5), torch.sigmoid(diff))


def js_from_log_probs(lpd_real: Tensor, lpg_real: Tensor, lpd_fake: Tensor, lpg_fake: Tensor) -> float:
    """Monte Carlo JS(p_data || p_g) in nats from log densities at real and at generated samples.

    JS = 1/2 E_pdata[log(2 p_d / (p_d + p_g))] + 1/2 E_pg[log(2 p_g / (p_d + p_g))], clamped to [0, log 2].
    """
    def half(lp_self: Tensor, lp_other: Tensor) -> Tensor:
        lp_self, lp_other = torch.as_tensor(lp_self, dtype=torch.float64), torch.as_tensor(lp_other, dtype=torch.float64)
        term = LOG2 + lp_self - torch.logaddexp(lp_self, lp_other)  # log 2 - log(1 + p_other / p_self)
        return torch.nan_to_num(term, nan=0.0, neginf=-50.0).clamp_max(LOG2).mean()

    js = 0.5 * half(lpd_real, lpg_real) + 0.5 * half(lpg_fake, lpd_fake)
    return float(min(max(float(js), 0.0), LOG2))


def knn_log_prob(samples: Tensor, x: Tensor, k: int = 10, *, leave_one_out: bool = False) -> Tensor:
    """log of the k-nearest-neighbour density k / (n V_d r_k(x)^d) at x (M, D) -> (M,) float64.

    Adaptive by construction, so unlike a one-bandwidth KDE it follows a sharp core and wide tails at once.
    With leave_one_out, x must be the first M of the samples and each leaves itself out.
    """
    s, q = _as_points(samples), _as_points(x)
    n, d = s.shape
    dist = torch.cdist(q, s)  # (M, n), float64
    if leave_one_out:
        n = _leave_self_out(dist, q, s)
    k = max(1, min(k, n))
    rk = dist.topk(k, dim=1, largest=False).values[:, -1].clamp_min(1e-9)
    log_vol = 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1)
    return math.log(k) - math.log(n) - log_vol - d * torch.log(rk)


def js_divergence(data: Dataset, fake: Tensor, *, real: Tensor | None = None, n_real: int = 1000,
                  method: str = "knn", k: int = 10, bandwidth: str | float = "cv", seed: int = 0) -> float:
    """JS(p_data || p_g) in nats: exact p_data; p_g from `fake` by k-nearest neighbours ('knn') or a KDE ('kde').

    Both leave each fake out of its own estimate. The k-NN density is the default: with a single bandwidth a
    KDE over-smooths generated samples that have a sharp core and wide tails, and then underestimates JS.
    """
    fake = _as_points(fake, data.shape[0])
    if real is None:
        real = data.sampler(n_real, torch.Generator().manual_seed(seed))
    real = _as_points(real, data.shape[0])
    if method == "knn":
        lpg_r, lpg_f = knn_log_prob(fake, real, k), knn_log_prob(fake, fake, k, leave_one_out=True)
    elif method == "kde":
        kde = KDE.fit(fake, bandwidth)
        lpg_r, lpg_f = kde.log_prob(real), kde.log_prob(fake, leave_one_out=True)
    else:
        raise ValueError(f"unknown method {method!r}; use 'knn' or 'kde'")
    return js_from_log_probs(data_log_prob(data, real), lpg_r, data_log_prob(data, fake), lpg_f)


def value_function(d_real_logits: Tensor, d_fake_logits: Tensor) -> float:
    """V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))] from D's logits, computed with logsigmoid."""
    r = torch.as_tensor(d_real_logits, dtype=torch.float64).flatten()
    f = torch.as_tensor(d_fake_logits, dtype=torch.float64).flatten()
    return float(F.logsigmoid(r).mean() + F.logsigmoid(-f).mean())


# ---- snapshots for the Theory tab ----------------------------------------------------------------

CAPTIONS = {
    "1d": ("Blue: the real density p_data; orange: the generator's density p_g (a KDE of its samples); "
           "green: the learned D(x); dashed: the optimal D*(x) = p_data / (p_data + p_g). "
           "D* is 1/2 where the two densities match; as G learns, p_g slides onto p_data and D and D* flatten to 1/2."),
    "2d": ("Background: the learned D(x), blue where D says 'real', orange where it says 'fake', white at 1/2. "
           "Blue dots are real samples, red dots generated ones; arrows show where D pushes the fakes "
           "(the gradient of D's logit); grey lines are the image under G of a square grid of z "
           "(the first two z dimensions, the rest 0): how G folds its input space onto the data."),
    "value": ("Green: V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))] with the learned D. Purple: V with the optimal "
              "D*, which equals -log 4 + 2 JS(p_data || p_g) (read JS on the right axis). D* is the best possible D, "
              "so green stays below purple (up to estimation noise); both reach -log 4 ≈ -1.386 exactly when "
              "p_g = p_data."),
    "js": ("Jensen-Shannon divergence between p_data and p_g, estimated from samples (in nats): log 2 ≈ 0.693 "
           "when they do not overlap at all, 0 when they are equal."),
    "modes": ("Modes captured (a mode counts if at least one of 2,500 samples lies within 3 std of it) and the "
              "share of high-quality samples, by the VEEGAN / PacGAN protocol. Mode collapse shows as a drop in "
              "modes while quality stays high."),
}


def _nice_lim(lo: float, hi: float, step: float) -> tuple[float, float]:
    """Widen [lo, hi] outwards to multiples of step, so the axes do not jitter between snapshots."""
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def _frozen(m: nn.Module) -> nn.Module:
    """A CPU eval-mode copy with no weight gradients, safe to use while another thread trains `m`."""
    return copy.deepcopy(m).cpu().eval().requires_grad_(False)


def _z_dim(g: nn.Module, z_dim: int | None) -> int:
    if z_dim is not None:
        return int(z_dim)
    cfg = getattr(g, "cfg", None)
    if cfg is None or not hasattr(cfg, "z_dim"):
        raise ValueError("cannot tell G's z_dim; pass z_dim=")
    return int(cfg.z_dim)


_GRID_CACHE: dict[tuple, Tensor] = {}


def _grid_data_density(data: Dataset, centres: list[Tensor]) -> Tensor:
    """data_cell_density on a view grid, cached: the view rarely changes between snapshots."""
    key = (data.name, id(data.sampler), data.std) + tuple(
        (float(c[0]), float(c[-1]), c.numel()) for c in centres)
    if key not in _GRID_CACHE:
        if len(_GRID_CACHE) >= 16:
            _GRID_CACHE.pop(next(iter(_GRID_CACHE)))
        _GRID_CACHE[key] = data_cell_density(data, centres)
    return _GRID_CACHE[key]


def _logits(d: nn.Module, x: Tensor) -> Tensor:
    return d(x.float()).reshape(-1).double()


def _data_box(data: Dataset, real: Tensor) -> tuple[Tensor, float]:
    """(centre (D,), half-width) of the region the real data occupies, with a margin."""
    if data.modes is not None:
        lo, hi = data.modes.double().amin(0), data.modes.double().amax(0)
        half = float((hi - lo).max()) / 2
        half = half + max(0.15 * 2 * half, 6 * data.std)
    else:
        lo = torch.quantile(real, 0.001, dim=0)
        hi = torch.quantile(real, 0.999, dim=0)
        half = float((hi - lo).max()) / 2 * 1.15
    return (lo + hi) / 2, max(half, 1e-3)


def _view_box(data: Dataset, real: Tensor, fake: Tensor, extent_cap: float) -> tuple[Tensor, float]:
    """A square view over the data, widened to the bulk of the fakes (at most extent_cap data half-widths)."""
    centre, half = _data_box(data, real)
    if fake.shape[0] > 10:
        q = torch.quantile(fake, torch.tensor([0.02, 0.98], dtype=fake.dtype), dim=0)  # (2, D)
        need = float(torch.maximum((q[0] - centre).abs(), (q[1] - centre).abs()).max()) * 1.1
        need = min(need, extent_cap * half) if math.isfinite(need) else half
        if need > half:
            step = half / 4
            half = math.ceil(need / step) * step
    return centre, half


def _keep_view(old: tuple, new: tuple) -> bool:
    """Keep the old view if it holds the new one and is less than twice as wide."""
    old_w, new_w = old[1] - old[0], new[1] - new[0]
    holds = all(o_lo <= n_lo + 1e-9 and n_hi <= o_hi + 1e-9
                for o_lo, o_hi, n_lo, n_hi in zip(old[0::2], old[1::2], new[0::2], new[1::2]))
    return holds and old_w < 2 * new_w


def theory_snapshot(G: nn.Module, D: nn.Module, data: Dataset, *, n: int = 1000, n_eval: int = 500,
                    seed: int = 0, grid: int | None = None, z_grid: int = 9, z_range: float = 2.0,
                    arrows: int = 80, bandwidth: str | float = "cv", extent_cap: float = 2.5,
                    z_dim: int | None = None, copy_models: bool = True, knn: int = 10,
                    prev: dict[str, Any] | None = None) -> dict[str, Any]:
    """Plot-ready state of the game for a 1-D or 2-D toy dataset: densities, D, D*, V, JS and G's warp.

    G and D are the live (unconditional) networks; by default they are copied first, so a training thread
    may keep updating them. The same `seed` gives the same z and real samples, so successive snapshots of a
    running GAN animate smoothly. Arrays are numpy float32 (see the keys below); scalars are floats.
    The p_g curves and heatmaps are a KDE of n generated samples (bandwidth by cross-validation); JS and D* at
    samples use a k-nearest-neighbour density of them (adaptive to sharp modes), at the first n_eval of each.
    Pass the previous snapshot as `prev` when animating: its view is kept while it still fits (no jitter)
    and its KDE bandwidth seeds the bandwidth search (faster).

    Keys for both kinds: kind, dataset, real (n, D), fake (n, D), v (V(D, G) with the learned D),
    v_star (-log 4 + 2 js, V with the optimal D), js, d_gap (E_pdata |D - D*|), d_real, d_fake (mean D on
    real / generated samples), d_star_real (mean D* on real samples), bandwidth (of the p_g KDE), caption.
    1-D: x (M,), p_data, p_g (averaged over each grid cell, so narrow peaks are not missed), d, d_star,
    support (M,) bool where D* is defined (some density), xlim, z_map {z, x} (G along the first z
    dimension, the rest 0). 2-D: gx (R,), gy (R,), extent (x0, x1, y0, y1), d_grid, d_star_grid,
    p_data_grid, p_g_grid, support_grid (R, R) with row i at gy[i], warp (2k, L, 2) polylines of G's
    image of a k x k grid of (z1, z2) in [-z_range, z_range]^2, arrows {at (m, 2), grad (m, 2)} (the
    gradient of D's logit at generated points), modes (K, 2) or None, mode_score (the brief's protocol on
    2,500 samples) or None.
    """
    if data.kind not in ("1d", "2d") or data.sampler is None:
        raise ValueError(f"the theory view needs a 1-D or 2-D toy dataset, not {data.name!r}")
    on_cpu = all(p.device.type == "cpu" for p in list(G.parameters()) + list(D.parameters()))
    if copy_models or not on_cpu:  # the maths below runs on the CPU
        G, D = _frozen(G), _frozen(D)
    dim = data.shape[0]
    zd = _z_dim(G, z_dim)
    gen = torch.Generator().manual_seed(seed)
    n_gen = max(n, 2500) if data.modes is not None else n
    n_eval = max(2, min(n_eval, n))
    with torch.no_grad():
        z = torch.randn(n_gen, zd, generator=gen)
        fake_all = G(z).reshape(n_gen, -1).double()
        real = data.sampler(n, gen).reshape(n, -1).double()
        fake = fake_all[:n]
        lr, lf = _logits(D, real), _logits(D, fake)
    finite = torch.isfinite(fake).all(1)
    fit = fake[finite] if finite.sum() >= 2 else real  # a diverged G cannot be estimated; fall back
    same = prev is not None and prev.get("dataset") == data.name and prev.get("kind") == data.kind
    kde = KDE.fit(fit, bandwidth, hint=prev.get("bandwidth") if same else None)
    re, fe = real[:n_eval], fit[:n_eval]
    lpd_r, lpg_r = data_log_prob(data, re), knn_log_prob(fit, re, knn)  # k-NN: see js_divergence
    lpd_f, lpg_f = data_log_prob(data, fe), knn_log_prob(fit, fe, knn, leave_one_out=True)
    js = js_from_log_probs(lpd_r, lpg_r, lpd_f, lpg_f)
    d_real = torch.sigmoid(lr[:n_eval])
    d_star_real = optimal_discriminator_log(lpd_r, lpg_r)
    out: dict[str, Any] = {
        "kind": data.kind, "dataset": data.name, "n": n, "seed": seed,
        "v": value_function(lr, lf), "js": js, "v_star": -LOG4 + 2 * js,
        "d_real": float(torch.sigmoid(lr).mean()), "d_fake": float(torch.sigmoid(lf).mean()),
        "d_star_real": float(d_star_real.mean()), "d_gap": float((d_real - d_star_real).abs().mean()),
        "bandwidth": kde.bandwidth, "caption": CAPTIONS[data.kind],
        "real": real.float().numpy(), "fake": fake.float().numpy(),
    }
    f32 = lambda t: t.float().numpy()  # noqa: E731
    centre, half = _view_box(data, real, fake[finite], extent_cap)
    if dim == 1:
        m = grid or 240
        lo, hi = _nice_lim(float(centre[0]) - half, float(centre[0]) + half, 0.5)
        if same and _keep_view(prev["xlim"], (lo, hi)):
            lo, hi = prev["xlim"]
        xs = torch.linspace(lo, hi, m, dtype=torch.float64)
        pd, pg = _grid_data_density(data, [xs]), kde.cell_density([xs])
        with torch.no_grad():
            d_x = torch.sigmoid(_logits(D, xs[:, None]))
            zs = torch.zeros(41, zd)
            zs[:, 0] = torch.linspace(-z_range * 1.5, z_range * 1.5, 41)
            gz = G(zs).reshape(-1).double()
        tot = pd + pg
        out.update({
            "x": f32(xs), "p_data": f32(pd), "p_g": f32(pg), "d": f32(d_x),
            "d_star": f32(optimal_discriminator(pd, pg)),
            "support": (tot > 1e-3 * float(tot.max())).numpy(), "xlim": (lo, hi),
            "z_map": {"z": f32(zs[:, 0].double()), "x": f32(gz)},
        })
        return out

    r = grid or 64
    step = 10 ** math.floor(math.log10(half)) / 4
    x0, x1 = _nice_lim(float(centre[0]) - half, float(centre[0]) + half, step)
    y0, y1 = _nice_lim(float(centre[1]) - half, float(centre[1]) + half, step)
    if same and _keep_view(prev["extent"], (x0, x1, y0, y1)):
        x0, x1, y0, y1 = prev["extent"]
    gx = torch.linspace(x0, x1, r, dtype=torch.float64)
    gy = torch.linspace(y0, y1, r, dtype=torch.float64)
    yy, xx = torch.meshgrid(gy, gx, indexing="ij")
    pts = torch.stack([xx.flatten(), yy.flatten()], 1)  # (R*R, 2), row-major over y
    pd, pg = _grid_data_density(data, [gx, gy]), kde.cell_density([gx, gy])  # (R, R)
    with torch.no_grad():
        d_grid = torch.sigmoid(_logits(D, pts))
        k, L = max(z_grid, 2), 33
        ticks = torch.linspace(-z_range, z_range, k)
        fine = torch.linspace(-z_range, z_range, L)
        zz = torch.zeros(2, k, L, zd)
        zz[0, :, :, 0] = fine[None, :]  # lines of constant z2, varying z1
        zz[1, :, :, 0] = ticks[:, None]  # lines of constant z1, varying z2
        if zd > 1:
            zz[0, :, :, 1] = ticks[:, None]
            zz[1, :, :, 1] = fine[None, :]
        warp = G(zz.reshape(-1, zd)).reshape(2 * k, L, 2)
        if zd == 1:
            warp = warp[:1]
    m = min(arrows, n)
    at = fake[:m].float().clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(D(at).sum(), at)
    tot = pd + pg
    out.update({
        "gx": f32(gx), "gy": f32(gy), "extent": (x0, x1, y0, y1),
        "d_grid": f32(d_grid.reshape(r, r)), "d_star_grid": f32(optimal_discriminator(pd, pg)),
        "p_data_grid": f32(pd), "p_g_grid": f32(pg),
        "support_grid": (tot > 1e-3 * float(tot.max())).numpy(),
        "warp": warp.float().numpy(), "arrows": {"at": at.detach().numpy(), "grad": grad.numpy()},
        "modes": data.modes.float().numpy() if data.modes is not None else None,
        "mode_score": mode_score(fake_all.float(), data.modes, data.std) if data.modes is not None else None,
    })
    return out
