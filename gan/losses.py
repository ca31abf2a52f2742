"""GAN losses as pure functions of D's logits, chosen by name from a registry.

Each entry gives `d(real_logits, fake_logits) -> scalar` and `g(fake_logits) -> scalar`, plus the extra
constraint D needs (a gradient penalty or weight clipping). Log-likelihood losses work on logits
(softplus forms), never on Sigmoid + BCELoss, so they stay finite when D is confident.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def d_bce(real: Tensor, fake: Tensor) -> Tensor:
    """-log D(x) - log(1 - D(G(z))), with D = sigmoid(logit)."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def g_nonsaturating(fake: Tensor) -> Tensor:
    """-log D(G(z)): the non-saturating generator loss of the original paper's practical advice."""
    return F.softplus(-fake).mean()


def g_minimax(fake: Tensor) -> Tensor:
    """log(1 - D(G(z))): the saturating loss of the minimax game itself (weak gradients early on)."""
    return -F.softplus(fake).mean()


def d_wasserstein(real: Tensor, fake: Tensor) -> Tensor:
    """Critic loss E[D(G(z))] - E[D(x)] (negative Wasserstein estimate)."""
    return fake.mean() - real.mean()


def g_wasserstein(fake: Tensor) -> Tensor:
    """-E[D(G(z))]."""
    return -fake.mean()


def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    """E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def d_least_squares(real: Tensor, fake: Tensor) -> Tensor:
    """LSGAN: 0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2]."""
    return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean()


def g_least_squares(fake: Tensor) -> Tensor:
    """LSGAN: 0.5 E[(D(G(z)) - 1)^2]."""
    return 0.5 * ((fake - 1) ** 2).mean()


def gradient_penalty(d: Callable[..., Tensor], real: Tensor, fake: Tensor, y: Tensor | None,
                     *, generator: torch.Generator | None = None) -> Tensor:
    """WGAN-GP: E[(||grad D(x_hat)|| - 1)^2] on random interpolates x_hat of real and fake."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, generator=generator).to(real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = d(x_hat, y)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(d: Callable[..., Tensor], real: Tensor, y: Tensor | None) -> Tensor:
    """R1 (Mescheder et al. 2018): E[||grad_x D(x)||^2] at real x, which keeps D flat on the data."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(d(real, y).sum(), real, create_graph=True)  # (B, *shape)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


@dataclass(frozen=True)
class Loss:
    """A registry entry: the two loss functions and the constraint on D they need."""

    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[[Tensor], Tensor]
    penalty: bool = False  # add gp_weight * gradient_penalty to D's loss
    clip: bool = False  # clip D's weights to [-clip, clip] after each D step
    doc: str = ""


LOSSES: dict[str, Loss] = {
    "bce": Loss(d_bce, g_nonsaturating, doc="non-saturating GAN (default for images and 1-D): G maximises log D(G(z))"),
    "minimax": Loss(d_bce, g_minimax, doc="the original saturating game: G minimises log(1 - D(G(z)))"),
    "wgan": Loss(d_wasserstein, g_wasserstein, clip=True, doc="Wasserstein GAN with weight clipping"),
    "wgan-gp": Loss(d_wasserstein, g_wasserstein, penalty=True, doc="Wasserstein GAN with gradient penalty"),
    "hinge": Loss(d_hinge, g_wasserstein, doc="hinge loss (SNGAN, BigGAN)"),
    "lsgan": Loss(d_least_squares, g_least_squares, doc="least-squares GAN"),
}


def get_loss(name: str) -> Loss:
    """The registry entry for `name`, or a ValueError that lists the choices."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose from {', '.join(sorted(LOSSES))}")
    return LOSSES[name]
