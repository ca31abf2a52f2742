"""The classic GAN family (`toy`, `mlp`, `dcgan`): one D update, then one G update on the same G(z)."""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from ..family import Family, ModelSpec, StepContext, zero_centred_penalties
from ..losses import gradient_penalty
from ..registry import FAMILIES, MODELS
from .nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator, check_square

Tensor = torch.Tensor


def _leaky() -> nn.Module:
    return nn.LeakyReLU(0.2)


def _build_mlp(cfg: ModelConfig) -> dict[str, nn.Module]:
    # The classic tutorial GAN, exactly: G 100-256-512-1024-out, D in-512-256-1, LeakyReLU(0.2), Tanh.
    return {"G": MLPGenerator(cfg, [256, 512, 1024], act=_leaky, tanh=True),
            "D": MLPDiscriminator(cfg, [512, 256], act=_leaky)}


def _build_toy(cfg: ModelConfig) -> dict[str, nn.Module]:
    w = cfg.width
    return {"G": MLPGenerator(cfg, [w, w, w], act=nn.ReLU, tanh=False),
            "D": MLPDiscriminator(cfg, [w, w, w], act=_leaky)}


def _build_dcgan(cfg: ModelConfig) -> dict[str, nn.Module]:
    return {"G": DCGANGenerator(cfg), "D": DCGANDiscriminator(cfg)}


MODELS.register("toy", ModelSpec("gan", _build_toy, ("points",),
                                 "small MLP for 1-D and 2-D data (3 hidden layers of `width`)"))


MODELS.register("mlp", ModelSpec("gan", _build_mlp, ("points", "image"),
                                 "the classic tutorial MLP GAN (G 100-256-512-1024, D 512-256)"))


MODELS.register("dcgan", ModelSpec("gan", _build_dcgan, ("image",),
                                   "convolutional G and D (DCGAN) for 8-256 px, grey or colour",
                                   extra_check=check_square))


class GanFamily(Family):
    """The classic game: one D update, then one G update on the same G(z) (toy, mlp, dcgan)."""

    name = "gan"
    explore = ("latent", "interpolate")
    charts = {"Losses": {"d_loss": "D loss", "g_loss": "G loss"},
              "Discriminator outputs": {"d_real": "mean D(x) (real)", "d_fake": "mean D(G(z)) (fake)"}}

    def fake_batch(self, t: StepContext, z: Tensor, y: Tensor | None) -> Tensor:
        """The step's generated batch G(z, y), (B, *shape); StyleGAN overrides it (style mixing, w_avg)."""
        return t.nets["G"](z, y)

    def step(self, t: StepContext) -> dict[str, float]:
        cfg, mc = t.cfg, t.model_config
        G, D = t.nets["G"], t.nets["D"]
        x, y = t.streams["stream"].next(t.gen)  # the global batch, drawn alike on every rank
        z = torch.randn(x.shape[0], mc.z_dim, generator=t.gen)
        x, y, z = t.shard(x), t.shard(y), t.shard(z)  # (B / ranks, ...): this rank's part
        x = x.to(t.device, non_blocking=True)
        y = y.to(t.device) if (y is not None and mc.n_classes) else None
        z = z.to(t.device)
        fake = self.fake_batch(t, z, y)  # (B, *shape); reused for the G step, never generated twice
        judge = (lambda v, c: D(v, c, packed=True)) if mc.pac > 1 else D

        D.requires_grad_(True)
        if t.joint_d:  # one D pass over real and fake: fewer ops, same result (D has no batch norm)
            both = judge(torch.cat([x, fake.detach()]), None if y is None else torch.cat([y, y]))
            d_real, d_fake = both.chunk(2)  # (B,), (B,) (or B // pac each)
        else:
            d_real, d_fake = judge(x, y), judge(fake.detach(), y)
        d_loss = t.loss.d(d_real, d_fake)
        if t.loss.penalty:
            d_loss = d_loss + cfg.gp_weight * gradient_penalty(judge, x, fake.detach(), y, generator=t.gen)
        d_loss = d_loss + zero_centred_penalties(t, judge, x, fake.detach(), y)
        d_loss_v, d_grad = t.update("d", d_loss, [D], who="D")
        if t.loss.clip:
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-cfg.clip, cfg.clip)

        D.requires_grad_(False)  # no weight grads for D during G's step
        real_for_g = judge(x, y).detach() if t.loss.relativistic else None
        g_loss = t.loss.g_loss(judge(fake, y), real_for_g)
        g_loss_v, g_grad = t.update("g", g_loss, [G], who="G")
        D.requires_grad_(True)
        return {"d_loss": d_loss_v, "g_loss": g_loss_v,
                "d_real": torch.sigmoid(d_real.detach()).mean(),
                "d_fake": torch.sigmoid(d_fake.detach()).mean(),
                "d_grad_norm": d_grad, "g_grad_norm": g_grad}


FAMILIES.register("gan", GanFamily())


__all__ = ["GanFamily"]
