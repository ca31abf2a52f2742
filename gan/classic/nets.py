"""The classic GAN networks: MLP and DCGAN generators and discriminators (the `toy`, `mlp` and `dcgan` models,
registered in gan/classic/family.py; gan.family.build_nets builds any model by role).

Every D returns raw logits (B,); losses apply their own numerically safe link. Class-conditional models
(n_classes > 0) embed the label into G's input and use a projection term in D.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from ..config import ModelConfig
from ..errors import ConfigError


def _prod(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape))


class _Conditioner(nn.Module):
    """Shared label handling: concatenates a label embedding to G's z, adds a projection term to D's logit."""

    def __init__(self, n_classes: int, dim: int) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.embed = nn.Embedding(n_classes, dim) if n_classes > 0 else None

    def join(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """(B, z) -> (B, z + dim) when conditional."""
        if self.embed is None:
            return z
        if y is None:
            raise ValueError("this model is class-conditional: pass class labels y")
        return torch.cat([z, self.embed(y)], dim=1)

    def project(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Projection-discriminator term <embed(y), h>, (B,); zero when unconditional."""
        if self.embed is None:
            return h.new_zeros(h.shape[0])
        if y is None:
            raise ValueError("this model is class-conditional: pass class labels y")
        return (self.embed(y) * h).sum(dim=1)


def _packs(x: torch.Tensor, pac: int, packed: bool) -> torch.Tensor:
    """PacGAN's input: (B, C, ...) -> (B // pac, pac * C, ...), consecutive rows joined along dim 1 when `packed`,
    else each row as a pack of `pac` copies of itself (so that a plain call scores every sample)."""
    if pac > 1:
        if not packed:
            x = x.repeat_interleave(pac, 0)
        x = x.reshape(-1, pac * x.shape[1], *x.shape[2:])
    return x


class _PackedDiscriminator(nn.Module):
    """The MLP and DCGAN discriminators' logit: a linear head on `features(x, packed)` plus the projection term."""

    head: nn.Linear
    cond: _Conditioner

    def features(self, x: torch.Tensor, *, packed: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, *, packed: bool = False) -> torch.Tensor:
        h = self.features(x, packed=packed)
        return self.head(h).squeeze(1) + self.cond.project(h, y)  # (B,) or (B // pac,)


class MLPGenerator(nn.Module):
    """MLP generator: z -> hidden layers -> prod(data_shape), optional Tanh, reshaped to data_shape."""

    def __init__(self, cfg: ModelConfig, hidden: list[int], *, act: Callable[[], nn.Module], tanh: bool) -> None:
        super().__init__()
        self.cfg = cfg
        self.cond = _Conditioner(cfg.n_classes, cfg.z_dim if cfg.n_classes else 0)
        dims = [cfg.z_dim * (2 if cfg.n_classes else 1)] + hidden
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), act()]
        layers.append(nn.Linear(dims[-1], _prod(cfg.data_shape)))
        if tanh:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        self.register_buffer("scale", torch.tensor(float(cfg.out_scale)), persistent=False)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = self.net(self.cond.join(z, y)) * self.scale  # (B, prod(shape))
        return out.view(z.shape[0], *self.cfg.data_shape)


class MLPDiscriminator(_PackedDiscriminator):
    """MLP discriminator: flattened input -> hidden layers -> one logit.

    With cfg.pac > 1 (PacGAN) it sees `pac` samples concatenated: `forward(x, packed=True)` scores
    consecutive packs, (B,) -> (B // pac,); by default each row is scored as a pack of its own copies,
    so plots of D(x) over single points still work.
    """

    def __init__(self, cfg: ModelConfig, hidden: list[int], *, act: Callable[[], nn.Module]) -> None:
        super().__init__()
        self.cfg = cfg
        self.pac = cfg.pac
        dims = [_prod(cfg.data_shape) * cfg.pac] + hidden
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), act()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(dims[-1], 1)
        self.cond = _Conditioner(cfg.n_classes, dims[-1])
        self.register_buffer("scale", torch.tensor(float(cfg.out_scale)), persistent=False)

    def features(self, x: torch.Tensor, *, packed: bool = False) -> torch.Tensor:
        """(B, *data_shape) -> (B, hidden[-1]), or (B // pac, hidden[-1]) when packed."""
        flat = x.reshape(x.shape[0], -1) / self.scale  # (B, D)
        return self.body(_packs(flat, self.pac, packed))  # packed: (B // pac, pac * D)


def _dcgan_plan(size: int) -> tuple[int, int]:
    """(start size, number of x2 upsamplings) so that start * 2**k == size and 4 <= start <= 8."""
    k = 0
    while size % 2 == 0 and size // 2 >= 4 and size > 8:
        size //= 2
        k += 1
    return size, k


class DCGANGenerator(nn.Module):
    """DCGAN generator: z -> (C0, s, s) -> k transposed convs (x2 each) -> (C, H, W) with Tanh."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c, h, _ = cfg.data_shape
        start, k = _dcgan_plan(h)
        chans = [cfg.width * 2 ** (k - 1 - i) for i in range(k)]  # e.g. k=2: [2w, w]
        self.start, self.c0 = start, chans[0]
        self.cond = _Conditioner(cfg.n_classes, cfg.z_dim if cfg.n_classes else 0)
        zin = cfg.z_dim * (2 if cfg.n_classes else 1)
        self.fc = nn.Sequential(nn.Linear(zin, chans[0] * start * start, bias=False),
                                nn.BatchNorm1d(chans[0] * start * start), nn.ReLU(True))
        ups: list[nn.Module] = []
        for a, b in zip(chans[:-1], chans[1:]):
            ups += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        ups += [nn.ConvTranspose2d(chans[-1], c, 4, 2, 1), nn.Tanh()]
        self.ups = nn.Sequential(*ups)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.fc(self.cond.join(z, y)).view(-1, self.c0, self.start, self.start)  # (B, C0, s, s)
        return self.ups(h)  # (B, C, H, W)


class DCGANDiscriminator(_PackedDiscriminator):
    """DCGAN discriminator: k strided convs (/2 each) with LeakyReLU(0.2) -> linear logit.

    With cfg.pac > 1 (PacGAN) it sees packs of `pac` images stacked along the channels; as for the MLP
    discriminator, `forward(x, packed=True)` scores consecutive packs and plain calls score each image as
    a pack of its own copies.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.pac = cfg.pac
        c, h, _ = cfg.data_shape
        start, k = _dcgan_plan(h)
        chans = [cfg.width * 2 ** i for i in range(k)]  # e.g. k=2: [w, 2w]
        layers: list[nn.Module] = []
        for a, b in zip([c * cfg.pac] + chans[:-1], chans):
            layers += [nn.Conv2d(a, b, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        self.convs = nn.Sequential(*layers)
        feat = chans[-1] * start * start
        self.head = nn.Linear(feat, 1)
        self.cond = _Conditioner(cfg.n_classes, feat)

    def features(self, x: torch.Tensor, *, packed: bool = False) -> torch.Tensor:
        """(B, C, H, W) -> (B, C_k * s * s), or (B // pac, ...) when packed."""
        return self.convs(_packs(x, self.pac, packed)).flatten(1)  # packed: (B // pac, pac * C, H, W)


def check_square(cfg: ModelConfig, *, lo: int = 8, hi: int = 256) -> None:
    """Convolutional models need square images of lo-hi px whose size halves down to 4-8 px."""
    _, h, w = cfg.data_shape
    if h != w or not lo <= h <= hi or _dcgan_plan(h)[1] < 1:
        raise ConfigError(f"model {cfg.model!r} needs square images of {lo}-{hi} px with an even size, got {h}x{w}")


