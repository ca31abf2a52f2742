"""Latent-space tools for exploring a trained generator (no UI): seeds, truncation, slerp and
GANSpace-style principal directions.

All functions take and return CPU tensors. `G` is any generator of this library (`G(z, y)`), e.g. the
frozen copy from `Trainer.frozen_nets()["G"]` or `gan.checkpoint.load_generator(state)`.
"""
from __future__ import annotations

import torch
from torch import nn


def latent_for(seed: int, z_dim: int) -> torch.Tensor:
    """The latent vector (z_dim,) that `seed` names: z ~ N(0, I), the same on every machine."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(z_dim, generator=g)


def truncate(z: torch.Tensor, psi: float, mean: torch.Tensor | None = None) -> torch.Tensor:
    """The truncation trick: pull z toward the mean (0 for z ~ N(0, I)) by psi; psi=1 is a no-op, 0 the mean."""
    centre = torch.zeros_like(z) if mean is None else mean.to(z)
    return centre + float(psi) * (z - centre)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Spherical interpolation from a (t=0) to b (t=1) along the last dimension.

    `t` may be a number or a 1-D tensor of T values, giving (T, *a.shape). The norm is interpolated
    linearly, so for two N(0, I) samples the path keeps a typical norm instead of cutting through the
    low-density middle as linear interpolation does. Nearly parallel vectors fall back to lerp.
    """
    t_in = torch.as_tensor(t, dtype=a.dtype)
    ts = t_in.reshape(-1, *([1] * a.dim()))  # (T, 1, ..., 1)
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    ua, ub = a / na.clamp_min(1e-12), b / nb.clamp_min(1e-12)
    dot = (ua * ub).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.acos(dot)
    so = torch.sin(omega)
    near = so.abs() < 1e-6
    safe = torch.where(near, torch.ones_like(so), so)
    wa = torch.where(near, 1 - ts, torch.sin((1 - ts) * omega) / safe)
    wb = torch.where(near, ts, torch.sin(ts * omega) / safe)
    direction = wa * ua + wb * ub  # unit when not near-parallel
    direction = direction / direction.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    out = direction * ((1 - ts) * na + ts * nb)
    return out[0] if t_in.dim() == 0 else out


def edit(z: torch.Tensor, directions: torch.Tensor, offsets) -> torch.Tensor:
    """z + sum_i offsets[i] * directions[i]; z is (z_dim,) or (B, z_dim), directions (k, z_dim).

    Fewer offsets than directions leave the rest at 0; extra offsets are an error.
    """
    off = torch.as_tensor(offsets, dtype=z.dtype).reshape(-1)
    k = directions.shape[0]
    if off.numel() > k:
        raise ValueError(f"{off.numel()} offsets given for {k} directions")
    full = torch.zeros(k, dtype=z.dtype)
    full[:off.numel()] = off
    return z + full @ directions.to(z)


def raw_directions(z_dim: int, k: int) -> torch.Tensor:
    """The first k raw z axes as directions (k, z_dim): the alternative to principal directions."""
    return torch.eye(z_dim)[:min(k, z_dim)]


class _Captured(Exception):
    """Raised from a forward hook to stop G once the features are captured."""


def _first_activation(g: nn.Module) -> nn.Module | None:
    acts = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh)
    return next((m for m in g.modules() if isinstance(m, acts)), None)


@torch.no_grad()
def features(g: nn.Module, z: torch.Tensor, y: torch.Tensor | None = None, layer: str = "hidden") -> torch.Tensor:
    """G's features for z, (n, F): its first hidden activations ('hidden', as GANSpace does for
    BigGAN) or its flattened output ('output'). The forward pass stops early at the hidden layer."""
    was_training = g.training
    g.eval()
    try:
        module = _first_activation(g) if layer == "hidden" else None
        if module is None:
            return g(z, y).reshape(z.shape[0], -1).float()
        box: list[torch.Tensor] = []

        def hook(_m, _inp, out):
            box.append(out.detach().reshape(out.shape[0], -1).float().clone())
            raise _Captured

        handle = module.register_forward_hook(hook)
        try:
            g(z, y)
        except _Captured:
            pass
        finally:
            handle.remove()
        return box[0]
    finally:
        g.train(was_training)


@torch.no_grad()
def principal_directions(g: nn.Module, *, n: int = 2000, k: int = 10, seed: int = 0,
                         layer: str = "hidden") -> tuple[torch.Tensor, torch.Tensor]:
    """GANSpace-style directions in z: returns (directions (k', z_dim) orthonormal, explained (k',)).

    1. Sample n latents z (and uniform labels for class-conditional G) and take G's features.
    2. PCA of the features: the top-k components and each sample's coordinates c (n, k).
    3. Regress z on c by least squares (z ~ c @ U); row i of U is the latent direction that moves
       the features along component i (GANSpace, Harkonen et al. 2020, sec. 2).
    4. Orthonormalise the rows in order of variance (QR), keeping each sign.
    `explained` is the fraction of feature variance each component carries. k' = min(k, z_dim, n-1).
    """
    z_dim = int(g.cfg.z_dim)
    n_classes = int(getattr(g.cfg, "n_classes", 0))
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.randn(n, z_dim, generator=gen)
    y = torch.randint(0, n_classes, (n,), generator=gen) if n_classes > 0 else None
    x = features(g, z, y, layer=layer)  # (n, F)
    x = x - x.mean(0, keepdim=True)
    k = max(1, min(k, z_dim, n - 1, x.shape[1]))
    q = min(k + 8, min(x.shape))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        _, s, v = torch.svd_lowrank(x, q=q, niter=4)  # v: (F, q); svd_lowrank draws from the global RNG
    v, s = v[:, :k], s[:k]
    coords = x @ v  # (n, k)
    coords = coords / coords.std(0, keepdim=True).clamp_min(1e-12)
    u = torch.linalg.lstsq(coords, z).solution  # (k, z_dim)
    qm, r = torch.linalg.qr(u.T)  # (z_dim, k), r upper-triangular
    signs = torch.sign(torch.diagonal(r))
    signs[signs == 0] = 1
    directions = (qm * signs).T.contiguous()  # (k, z_dim), row i has the sign of u[i]
    total = x.pow(2).sum() / max(n - 1, 1)
    explained = (s.pow(2) / max(n - 1, 1)) / total.clamp_min(1e-12)
    if not torch.isfinite(directions).all():
        raise ValueError("could not compute principal directions: the generator's features are degenerate")
    return directions, explained


__all__ = ["latent_for", "truncate", "slerp", "edit", "raw_directions", "features", "principal_directions"]
