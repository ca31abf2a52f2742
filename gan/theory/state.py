"""The two-player game made visible, for the 1-D and 2-D toy datasets: plot-ready states of a running GAN
(`theory_state`) with densities, D, D*, V(D, G), JS and G's warp; gan/theory/plots.py draws them.

Everything comes from the dataset's spec (its exact `density` and benchmark `modes`) and gan/theory/density.py's
estimators; nothing here imports a UI library or knows a dataset by name.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..metrics.modes import mode_score
from .density import KDE, LOG4, data_cell_density, js_estimate, optimal_discriminator, optimal_discriminator_log

Tensor = torch.Tensor

__all__ = ["CAPTIONS", "ROW_KEYS", "theory_row", "theory_state", "value_function"]


def value_function(d_real_logits: Tensor, d_fake_logits: Tensor) -> float:
    """V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))] from D's logits, computed with logsigmoid."""
    r = torch.as_tensor(d_real_logits, dtype=torch.float64).flatten()
    f = torch.as_tensor(d_fake_logits, dtype=torch.float64).flatten()
    return float(F.logsigmoid(r).mean() + F.logsigmoid(-f).mean())


# ---- snapshots for the Theory tab ----------------------------------------------------------------

CAPTIONS = {
    1: ("Blue: the real density p_data; orange: the generator's density p_g (a KDE of its samples); "
           "green: the learned D(x); dashed: the optimal D*(x) = p_data / (p_data + p_g). "
           "D* is 1/2 where the two densities match; as G learns, p_g slides onto p_data and D and D* flatten to 1/2."),
    2: ("Background: the learned D(x), blue where D says 'real', orange where it says 'fake', white at 1/2. "
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


ROW_KEYS = ("v", "js", "v_star", "d_real", "d_fake", "d_gap")


def theory_row(snap: dict[str, Any], step: int) -> dict[str, Any]:
    """The numbers of a theory_state snapshot as one row of a run's history: step, V, JS, V*, mean D on real and
    generated samples, |D - D*|, and for the mode benchmarks modes, n_modes, high_quality and reverse_kl."""
    row: dict[str, Any] = {"step": int(step), **{k: float(snap[k]) for k in ROW_KEYS}}
    ms = snap.get("mode_score")
    if ms:
        row.update(modes=int(ms["modes"]), n_modes=int(ms["n_modes"]), high_quality=float(ms["high_quality"]),
                   reverse_kl=float(ms["reverse_kl"]))
    return row


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


def _grid_data_density(data: Any, centres: list[Tensor]) -> Tensor:
    """data_cell_density on a view grid, cached: the view rarely changes between snapshots."""
    key = (data.name, id(data.density)) + tuple(
        (float(c[0]), float(c[-1]), c.numel()) for c in centres)
    if key not in _GRID_CACHE:
        if len(_GRID_CACHE) >= 16:
            _GRID_CACHE.pop(next(iter(_GRID_CACHE)))
        _GRID_CACHE[key] = data_cell_density(data, centres)
    return _GRID_CACHE[key]


def _logits(d: nn.Module, x: Tensor) -> Tensor:
    return d(x.float()).reshape(-1).double()


def _data_box(data: Any, real: Tensor) -> tuple[Tensor, float]:
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


def _view_box(data: Any, real: Tensor, fake: Tensor, extent_cap: float) -> tuple[Tensor, float]:
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


def theory_state(G: nn.Module, D: nn.Module, data: Any, *, n: int = 1000, n_eval: int = 500, seed: int = 0,
                 grid: int | None = None, prev: dict[str, Any] | None = None, **view: Any) -> dict[str, Any]:
    """Plot-ready state of the game for a 1-D or 2-D toy dataset: densities, D, D*, V, JS and G's warp.

    G and D are the (unconditional) networks; call it between training steps, or give copies. Models off
    the CPU are copied there first. The same `seed` gives the same z and real samples, so successive states of
    a running GAN animate smoothly. Pass the previous state as `prev` when animating: its view is kept while
    it still fits (no jitter) and its KDE bandwidth seeds the bandwidth search. `view` tunes the pictures
    (see `_one_d` and `_two_d`).

    Keys for both: dim (1 or 2), dataset, real (n, D), fake (n, D) (numpy float32), v (V(D, G) with the
    learned D), v_star (-log 4 + 2 js, V with the optimal D), js (exact p_data against a k-NN density of
    the fakes, at the first n_eval of each), d_gap (E_pdata |D - D*|), d_real, d_fake (mean D on real /
    generated samples), d_star_real (mean D* on real samples); then the keys of `_one_d` or `_two_d`.
    """
    if data.kind != "points" or getattr(data, "density", None) is None or data.sampler is None:
        raise ValueError(f"the theory view needs a 1-D or 2-D toy dataset with a known density, not {data.name!r}")
    if not all(p.device.type == "cpu" for p in list(G.parameters()) + list(D.parameters())):
        G, D = _frozen(G), _frozen(D)  # the maths below runs on the CPU
    zd = _z_dim(G, view.pop("z_dim", None))
    gen = torch.Generator().manual_seed(seed)
    n_gen = max(n, 2500) if data.modes is not None else n
    n_eval = max(2, min(n_eval, n))
    with torch.no_grad():
        fake_all = G(torch.randn(n_gen, zd, generator=gen)).reshape(n_gen, -1).double()
        real = data.sampler(n, gen).reshape(n, -1).double()
        fake = fake_all[:n]
        lr, lf = _logits(D, real), _logits(D, fake)
    finite = torch.isfinite(fake).all(1)
    fit = fake[finite] if finite.sum() >= 2 else real  # a diverged G cannot be estimated; fall back
    js, lpd_r, lpg_r = js_estimate(data, real[:n_eval], fit[:n_eval], k=view.pop("knn", 10))
    d_star_real = optimal_discriminator_log(lpd_r, lpg_r)
    out: dict[str, Any] = {
        "dim": data.shape[0], "dataset": data.name, "n": n, "seed": seed,
        "v": value_function(lr, lf), "js": js, "v_star": -LOG4 + 2 * js,
        "d_real": float(torch.sigmoid(lr).mean()), "d_fake": float(torch.sigmoid(lf).mean()),
        "d_star_real": float(d_star_real.mean()),
        "d_gap": float((torch.sigmoid(lr[:n_eval]) - d_star_real).abs().mean()),
        "real": real.float().numpy(), "fake": fake.float().numpy(),
    }
    same = prev is not None and prev.get("dataset") == data.name and prev.get("dim") == out["dim"]
    box = _view_box(data, real, fake[finite], view.pop("extent_cap", 2.5))
    draw = _one_d if out["dim"] == 1 else _two_d
    out.update(draw(G, D, data, fit, box, zd, prev=prev if same else None, grid=grid, **view))
    if data.modes is not None and out["dim"] == 2:
        out["mode_score"] = mode_score(fake_all.float(), data.modes, data.std)
    return out


def _one_d(G: nn.Module, D: nn.Module, data: Any, fit: Tensor, box: tuple[Tensor, float], zd: int, *,
           prev: dict[str, Any] | None, grid: int | None = None, z_range: float = 2.0) -> dict[str, Any]:
    """1-D keys: x (M,), p_data, p_g (averaged over each grid cell, so narrow peaks are not missed; p_g is a
    cross-validated KDE of the fakes), d, d_star, support (M,) bool where D* is defined, xlim, bandwidth,
    z_map {z, x} (G along the first z dimension, the rest 0)."""
    kde = KDE.fit(fit, "cv", hint=prev.get("bandwidth") if prev else None)
    centre, half = box
    lo, hi = _nice_lim(float(centre[0]) - half, float(centre[0]) + half, 0.5)
    if prev and _keep_view(prev["xlim"], (lo, hi)):
        lo, hi = prev["xlim"]
    xs = torch.linspace(lo, hi, grid or 240, dtype=torch.float64)
    pd, pg = _grid_data_density(data, [xs]), kde.cell_density([xs])
    with torch.no_grad():
        d_x = torch.sigmoid(_logits(D, xs[:, None]))
        zs = torch.zeros(41, zd)
        zs[:, 0] = torch.linspace(-z_range * 1.5, z_range * 1.5, 41)
        gz = G(zs).reshape(-1).double()
    tot = pd + pg
    f32 = lambda t: t.float().numpy()  # noqa: E731
    return {"x": f32(xs), "p_data": f32(pd), "p_g": f32(pg), "d": f32(d_x), "bandwidth": kde.bandwidth,
            "d_star": f32(optimal_discriminator(pd, pg)), "support": (tot > 1e-3 * float(tot.max())).numpy(),
            "xlim": (lo, hi), "z_map": {"z": f32(zs[:, 0].double()), "x": f32(gz)}}


def _two_d(G: nn.Module, D: nn.Module, data: Any, fit: Tensor, box: tuple[Tensor, float], zd: int, *,
           prev: dict[str, Any] | None, grid: int | None = None, z_grid: int = 9, z_range: float = 2.0,
           arrows: int = 80) -> dict[str, Any]:
    """2-D keys: extent (x0, x1, y0, y1), d_grid (R, R) with row i at the i-th y, warp (2k, L, 2) polylines of
    G's image of a k x k grid of (z1, z2) in [-z_range, z_range]^2, arrows {at (m, 2), grad (m, 2)} (the
    gradient of D's logit at generated points), modes (K, 2) or None (mode_score is added by the caller)."""
    centre, half = box
    r = grid or 64
    step = 10 ** math.floor(math.log10(half)) / 4
    x0, x1 = _nice_lim(float(centre[0]) - half, float(centre[0]) + half, step)
    y0, y1 = _nice_lim(float(centre[1]) - half, float(centre[1]) + half, step)
    if prev and _keep_view(prev["extent"], (x0, x1, y0, y1)):
        x0, x1, y0, y1 = prev["extent"]
    gx = torch.linspace(x0, x1, r, dtype=torch.float64)
    gy = torch.linspace(y0, y1, r, dtype=torch.float64)
    yy, xx = torch.meshgrid(gy, gx, indexing="ij")
    with torch.no_grad():
        d_grid = torch.sigmoid(_logits(D, torch.stack([xx.flatten(), yy.flatten()], 1)))  # row-major over y
        k, L = max(z_grid, 2), 33
        ticks, fine = torch.linspace(-z_range, z_range, k), torch.linspace(-z_range, z_range, L)
        zz = torch.zeros(2, k, L, zd)
        zz[0, :, :, 0] = fine[None, :]  # lines of constant z2, varying z1
        zz[1, :, :, 0] = ticks[:, None]  # lines of constant z1, varying z2
        if zd > 1:
            zz[0, :, :, 1] = ticks[:, None]
            zz[1, :, :, 1] = fine[None, :]
        warp = G(zz.reshape(-1, zd)).reshape(2 * k, L, 2)[: (1 if zd == 1 else 2 * k)]
    at = fit[:min(arrows, fit.shape[0])].float().clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(D(at).sum(), at)
    return {"extent": (x0, x1, y0, y1), "d_grid": d_grid.reshape(r, r).float().numpy(),
            "warp": warp.float().numpy(), "arrows": {"at": at.detach().numpy(), "grad": grad.numpy()},
            "modes": data.modes.float().numpy() if data.modes is not None else None}
