"""Densities for the toy sets and estimators for generated samples: exact Gaussian-mixture densities (the
spec's `density`), kernel density estimates (KDE) and k-nearest-neighbour densities of samples, the optimal
discriminator D*(x) = p_data / (p_data + p_g) and a Jensen-Shannon estimate.

Plain functions of tensors; nothing here imports a UI library. Points are (N, D) tensors in data
coordinates (D = 1 or 2); log densities are natural logs; divergences are in nats, so JS lies in [0, log 2].
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

Tensor = torch.Tensor
LOG2 = math.log(2.0)
LOG4 = math.log(4.0)

__all__ = [
    "KDE", "LOG2", "LOG4", "cv_bandwidth", "data_cell_density", "data_log_prob", "gaussian_mixture_log_prob",
    "js_estimate", "js_from_log_probs", "kde_log_prob", "knn_log_prob", "mixture_cell_density",
    "optimal_discriminator", "optimal_discriminator_log", "scott_bandwidth", "silverman_bandwidth",
]


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


def _density(data: Any):
    """The dataset's exact density (a Mixture), or ValueError for sets that have none."""
    mix = getattr(data, "density", None)
    if mix is None:
        raise ValueError(f"{getattr(data, 'name', data)!r} has no known density (only the toy point sets do)")
    return mix


def data_cell_density(data: Any, centres: list[Tensor]) -> Tensor:
    """p_data averaged over each cell of a grid (see mixture_cell_density): (Rx,) in 1-D, (Ry, Rx) in 2-D."""
    mix = _density(data)
    return mixture_cell_density(mix.means, mix.std, centres)


def data_log_prob(data: Any, x: Tensor) -> Tensor:
    """Exact log p_data at points x (N, D) -> (N,) float64, from the dataset's density (a Gaussian mixture:
    exact for the mixtures, a fine quadrature of the noisy arc for spiral)."""
    mix = _density(data)
    x = _as_points(x, mix.means.shape[1])
    return gaussian_mixture_log_prob(x, mix.means, mix.std)



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


def js_estimate(data: Any, real: Tensor, fake: Tensor, *, k: int = 10) -> tuple[float, Tensor, Tensor]:
    """JS(p_data || p_g) in nats from real and generated samples: exact p_data, p_g by k-nearest neighbours
    (leaving each fake out of its own estimate). Returns (js, log p_data(real), log p_g(real)).

    A k-NN density is used because a single-bandwidth KDE over-smooths generated samples that have a sharp
    core and wide tails, and then underestimates JS.
    """
    real, fake = _as_points(real), _as_points(fake)
    lpd_r, lpg_r = data_log_prob(data, real), knn_log_prob(fake, real, k)
    lpd_f, lpg_f = data_log_prob(data, fake), knn_log_prob(fake, fake, k, leave_one_out=True)
    return js_from_log_probs(lpd_r, lpg_r, lpd_f, lpg_f), lpd_r, lpg_r
