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

from .registry import LOSSES

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


def d_relativistic(real: Tensor, fake: Tensor) -> Tensor:
    """RpGAN (relativistic pairing): E[softplus(D(G(z)) - D(x))] over pairs of a real and a fake sample."""
    return F.softplus(fake.reshape(fake.shape[0], -1).mean(1) - real.reshape(real.shape[0], -1).mean(1)).mean()


def g_relativistic(fake: Tensor, real: Tensor) -> Tensor:
    """RpGAN for G: E[softplus(D(x) - D(G(z)))], with D's logits on real data held fixed."""
    return d_relativistic(fake, real)


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
    """R1 (Mescheder et al. 2018): E[||grad_x D(x)||^2] at real x, which keeps D flat on the data.

    Called with generated samples instead it is R2, the same zero-centred penalty on the fakes (R3GAN)."""
    real = real.detach().requires_grad_(True)
    # materialize_grads: a D whose output ignores its input has gradient 0 there, not an error
    (grad,) = torch.autograd.grad(d(real, y).sum(), real, create_graph=True, materialize_grads=True)  # (B, *shape)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


@dataclass(frozen=True)
class Loss:
    """A registry entry: the two loss functions, the constraint on D they need, and a one-line description."""

    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[..., Tensor]  # g(fake_logits) or, when relativistic, g(fake_logits, real_logits)
    penalty: bool = False  # add gp_weight * gradient_penalty to D's loss
    clip: bool = False  # clip D's weights to [-clip, clip] after each D step
    relativistic: bool = False  # G's loss also needs D's logits on real data
    doc: str = ""

    def g_loss(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        """G's loss from D's logits on fakes (and on reals, for relativistic losses)."""
        return self.g(fake, real) if self.relativistic else self.g(fake)


for _name, _loss in {
    "bce": Loss(d_bce, g_nonsaturating, doc="non-saturating GAN: G maximises log D(G(z))"),
    "minimax": Loss(d_bce, g_minimax, doc="the original saturating game: G minimises log(1 - D(G(z)))"),
    "wgan": Loss(d_wasserstein, g_wasserstein, clip=True, doc="Wasserstein GAN with weight clipping"),
    "wgan-gp": Loss(d_wasserstein, g_wasserstein, penalty=True, doc="Wasserstein GAN with gradient penalty"),
    "hinge": Loss(d_hinge, g_wasserstein, doc="hinge loss (SNGAN, BigGAN)"),
    "lsgan": Loss(d_least_squares, g_least_squares, doc="least-squares GAN"),
    "rpgan": Loss(d_relativistic, g_relativistic, relativistic=True,
                  doc="relativistic pairing GAN (R3GAN): D compares each real with a fake"),
}.items():
    LOSSES.register(_name, _loss)


def get_loss(name: str) -> Loss:
    """The registry entry for `name`, or a ConfigError (a ValueError) that lists the choices."""
    return LOSSES.get(name)
