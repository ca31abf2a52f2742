"""The `cyclegan` model and family (Zhu et al. 2017): unpaired translation between two image domains A and B.

Roles: G_ab (the paper's G: A -> B) and G_ba (its F: B -> A), small ResNet generators of `width` base channels
and `n_blocks` residual blocks (gan/cyclegan/nets.py); D_a and D_b, PatchGAN discriminators of the same width.

One step (`CycleGanFamily.step`):
- G's update, both generators at once: adversarial(G_ab(a) for D_b) + adversarial(G_ba(b) for D_a)
  + cycle * (|G_ba(G_ab(a)) - a|_1 + |G_ab(G_ba(b)) - b|_1)
  + cycle * identity * (|G_ab(b) - b|_1 + |G_ba(a) - a|_1), where grey <-> colour inputs are matched first
  (`match_channels`: grey repeated to colour, colour averaged to grey);
- D's update, both discriminators at once, each on a real batch of its domain and on fakes drawn from a pool of
  the last `pool` (50) generated images (half the time a past one), drawn with the trainer's generator so that
  resuming is exact; the pools are checkpointed in family_state.
Any registry loss works (lsgan by default, as in the paper; relativistic ones get D's logits on real images;
wgan-gp's penalty and r1/r2 apply per discriminator). With pac > 1 each D judges packs of `pac` images stacked
on the channels (PacGAN), which catches a generator that covers only part of its target domain.

The paper's weights are the kind's defaults: cycle (lambda) 10, identity 0.5 lambda, pool 50. Note that this
project's lsgan G loss is 0.5 E[(D(G(a)) - 1)^2], half the paper's E[(D(G(a)) - 1)^2], so at lambda = 10 the
cycle term weighs twice as much against the adversarial term as in the paper; we keep lambda = 10 as the issue
asks. The built-in digit pairs default to pac 4, no identity loss and lr 5e-4 (gan/data/pairs.py says why). The
paper's linear learning-rate decay over the second half of a budget is the trainer's `decay_steps`. EMA copies
of the generators are off by default (ema 0) and work if set.

Sampling means translating: `sample` translates held-out A images (A -> B); `watch` draws A -> B -> A and
B -> A -> B triplets; gan.cyclegan.nets.translate does any batch in either direction.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from ..data.pairs import held_out
from ..data.spec import BatchStream
from ..errors import ConfigError
from ..family import Family, ModelSpec, StepContext, zero_centred_penalties
from ..losses import gradient_penalty
from ..registry import FAMILIES, MODELS
from .nets import ImagePool, PatchDiscriminator, ResnetGenerator, match_channels, translate

Tensor = torch.Tensor
N_BLOCKS = 3  # residual blocks per generator (bench/bench_cyclegan.py: fastest to the targets on 2 cores)
WATCHED = 8  # triplets per direction in the watched grid


def build_cyclegan(mc: ModelConfig) -> dict[str, nn.Module]:
    """The four nets: G_ab (A -> B), G_ba (B -> A), D_a, D_b."""
    c_a, c_b = mc.data_shape[0], mc.data_shape_b[0]
    return {"G_ab": ResnetGenerator(c_a, c_b, width=mc.width, n_blocks=mc.n_blocks),
            "G_ba": ResnetGenerator(c_b, c_a, width=mc.width, n_blocks=mc.n_blocks),
            "D_a": PatchDiscriminator(c_a * mc.pac, width=mc.width, n_layers=2),
            "D_b": PatchDiscriminator(c_b * mc.pac, width=mc.width, n_layers=2)}


def check_cyclegan(mc: ModelConfig) -> None:
    """Both domains are grey or colour images of the same size, at least 16 px (instance norm after two halvings)."""
    a, b = mc.data_shape, mc.data_shape_b
    if len(a) != 3 or len(b) != 3:
        raise ConfigError(f"cyclegan needs two image domains (C, H, W), got {a} and {b}")
    if a[0] not in (1, 3) or b[0] not in (1, 3):
        raise ConfigError(f"cyclegan needs grey (1) or colour (3) channels, got {a[0]} and {b[0]}")
    if a[1:] != b[1:]:
        raise ConfigError(f"cyclegan needs both domains at the same size, got {a[1]}x{a[2]} and {b[1]}x{b[2]}")
    if min(a[1:]) < 16:
        raise ConfigError(f"cyclegan needs images of at least 16 px, got {a[1]}x{a[2]}")


def _pools(t: StepContext) -> dict[str, ImagePool]:
    """The run's two pools of past fakes, kept on the trainer (`t.pools`), created on first use."""
    pools = getattr(t, "pools", None)
    if pools is None:
        pools = {"a": ImagePool(int(t.cfg.pool)), "b": ImagePool(int(t.cfg.pool))}
        t.pools = pools  # type: ignore[attr-defined]
    return pools


def _pack(x: Tensor, pac: int) -> Tensor:
    """PacGAN: (B, C, H, W) -> (B / pac, pac * C, H, W), consecutive images stacked on the channels."""
    return x if pac == 1 else x.reshape(x.shape[0] // pac, pac * x.shape[1], *x.shape[2:])


def _judge(d: nn.Module, pac: int) -> Any:
    """D on packs of images, called as d(x, y) (the penalties' form; a PatchGAN takes no labels)."""
    return lambda v, _y=None: d(_pack(v, pac))


class CycleGanFamily(Family):
    """Two generators and two discriminators playing two GAN games tied by the cycle loss."""

    name = "cyclegan"
    roles = ("G_ab", "G_ba", "D_a", "D_b")
    latent = None  # it translates images: nothing for gan.restore to search
    generators = ("G_ab", "G_ba")
    explore = ("translate",)
    charts = {"Losses": {"g_ab": "G (A→B)", "g_ba": "F (B→A)", "d_a": "D_A", "d_b": "D_B"},
              "Cycle and identity losses": {"cycle": "cycle L1 (A→B→A + B→A→B)",
                                            "identity": "identity L1 (G(b) - b + F(a) - a)"}}
    defaults: dict[str, dict[str, Any]] = {}  # the "pair" kind's defaults (gan.data.spec.KIND_DEFAULTS) apply

    def streams(self, t: StepContext) -> dict[str, BatchStream]:
        """One stream per domain, so A and B batches are drawn independently."""
        b = t.cfg.batch_size
        return {"stream_a": BatchStream(t.data.a, b), "stream_b": BatchStream(t.data.b, b)}

    def step(self, t: StepContext) -> dict[str, float]:
        cfg, loss = t.cfg, t.loss
        g_ab, g_ba = t.nets["G_ab"], t.nets["G_ba"]
        pac = t.model_config.pac
        d_a, d_b = _judge(t.nets["D_a"], pac), _judge(t.nets["D_b"], pac)  # packs of `pac` images (PacGAN)
        real_a = t.shard(t.streams["stream_a"].next(t.gen)[0]).to(t.device, non_blocking=True)  # (B/ranks, C_a, H, W)
        real_b = t.shard(t.streams["stream_b"].next(t.gen)[0]).to(t.device, non_blocking=True)  # (B/ranks, C_b, H, W)
        lam, idt = float(cfg.cycle), float(cfg.cycle) * float(cfg.identity)

        discs = [t.nets["D_a"], t.nets["D_b"]]
        for d in discs:
            d.requires_grad_(False)  # no weight grads for D during G's step
        fake_b, fake_a = g_ab(real_a), g_ba(real_b)  # (B, C_b, H, W), (B, C_a, H, W)
        rel = loss.relativistic
        adv_ab = loss.g_loss(d_b(fake_b), d_b(real_b).detach() if rel else None)
        adv_ba = loss.g_loss(d_a(fake_a), d_a(real_a).detach() if rel else None)
        cycle = F.l1_loss(g_ba(fake_b), real_a) + F.l1_loss(g_ab(fake_a), real_b)
        total = adv_ab + adv_ba + lam * cycle
        identity = torch.zeros(())
        if idt > 0:
            identity = (F.l1_loss(g_ab(match_channels(real_b, real_a.shape[1])), real_b)
                        + F.l1_loss(g_ba(match_channels(real_a, real_b.shape[1])), real_a))
            total = total + idt * identity
        g_v, g_grad = t.update("g", total, [g_ab, g_ba], who="G")

        for d in discs:
            d.requires_grad_(True)
        pools = _pools(t)
        d_losses, outs = [], []
        for d, real, fake, pool in ((d_a, real_a, fake_a, pools["a"]), (d_b, real_b, fake_b, pools["b"])):
            past = pool.query(fake, t.gen)  # (B, C, H, W), detached; half of them older fakes once full
            real_out, fake_out = d(torch.cat([real, past])).chunk(2)  # one pass (instance norm is per image)
            dl = loss.d(real_out, fake_out)
            if loss.penalty:
                dl = dl + cfg.gp_weight * gradient_penalty(d, real, past, None, generator=t.gen)
            d_losses.append(dl + zero_centred_penalties(t, d, real, past, None))
            outs.append((real_out.detach(), fake_out.detach()))
        d_v, d_grad = t.update("d", d_losses[0] + d_losses[1], discs, who="D")
        if loss.clip:
            with torch.no_grad():
                for p in (*discs[0].parameters(), *discs[1].parameters()):
                    p.clamp_(-cfg.clip, cfg.clip)
        return {"d_loss": d_v, "g_loss": g_v, "g_ab": adv_ab.detach(), "g_ba": adv_ba.detach(),
                "d_a": d_losses[0].detach(), "d_b": d_losses[1].detach(),
                "cycle": cycle.detach(), "identity": identity.detach(),  # 0-dim; the trainer reads them back
                "d_real": torch.cat([torch.sigmoid(o[0]).mean().view(1) for o in outs]).mean(),
                "d_fake": torch.cat([torch.sigmoid(o[1]).mean().view(1) for o in outs]).mean(),
                "d_grad_norm": d_grad, "g_grad_norm": g_grad}

    def state_dict(self, t: StepContext) -> dict[str, Any]:
        """The two pools of past fakes."""
        return {f"pool_{k}": p.state_dict() for k, p in _pools(t).items()}

    def load_state_dict(self, t: StepContext, state: dict[str, Any]) -> None:
        pools = _pools(t)
        for k, p in pools.items():
            if state.get(f"pool_{k}") is not None:
                p.load_state_dict(state[f"pool_{k}"])

    # ---- sampling ---------------------------------------------------------------------------------------
    def fixed_inputs(self, *, seed: int, mc: ModelConfig, kind: str, data: Any = None) -> dict[str, Tensor | None]:
        """WATCHED held-out images of each domain ({"a": (8, C_a, H, W), "b": (8, C_b, H, W)}): with labels, one
        of each class 0-7 (the first of a seeded shuffle), else the first 8 of that shuffle."""
        if data is None:
            raise ValueError("CycleGAN's watched grid needs the dataset's held-out images: pass data=")
        out: dict[str, Tensor | None] = {}
        for tag, (x, y) in held_out(data).items():
            order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed + 12345))
            if y is not None:
                firsts = [int(order[y[order] == c][0]) for c in range(WATCHED) if bool((y[order] == c).any())]
                picked = firsts + [int(i) for i in order if int(i) not in firsts]
                order = torch.tensor(picked[:WATCHED])
            out[tag] = x[order[:WATCHED]]
        return out

    def watch(self, nets: dict[str, nn.Module], fixed: dict[str, Tensor | None]) -> Tensor:
        """Rows of six 3-channel images: a, G(a), F(G(a)) | b, F(b), G(F(b)); (6 * 8, 3, H, W) in [-1, 1]."""
        a, b = fixed["a"], fixed["b"]
        fake_b, rec_a = translate(nets, a, "a2b")
        fake_a, rec_b = translate(nets, b, "b2a")
        cols = [a, fake_b, rec_a, b, fake_a, rec_b]
        n = min(c.shape[0] for c in cols)
        return torch.stack([match_channels(c[:n].float(), 3) for c in cols], 1).flatten(0, 1)  # (6n, 3, H, W)

    def watch_columns(self, mc: Any) -> int:
        return 6

    def sample(self, nets: dict[str, nn.Module], n: int, *, seed: int, y: Tensor | None = None,
               data: Any = None, **_: Any) -> Tensor:
        """A -> B translations of n held-out A images, chosen by a seeded shuffle (repeated when n exceeds them);
        `data` is the pair set or its held-out dict {"a": (x, y), "b": (x, y)}."""
        if data is None:
            raise ValueError("CycleGAN samples are translations of held-out images: pass data= (the pair set or "
                             "gan.data.pairs.held_out(...))")
        x = held_out(data)["a"][0]
        order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(int(seed)))
        idx = order.repeat(-(-n // max(1, x.shape[0])))[:n]
        return translate(nets, x[idx], "a2b")[0]  # (n, C_b, H, W)

    def model_config_fields(self, cfg: Any, data: Any) -> dict[str, Any]:
        """Shapes from the pair (a loaded PairDataset or its DatasetSpec), width from cfg, N_BLOCKS blocks."""
        a = data.a.shape if hasattr(data, "a") else data.shape
        b = data.b.shape if hasattr(data, "b") else data.shape_b
        return dict(model=cfg.model, data_shape=a, data_shape_b=b, z_dim=cfg.z_dim, n_classes=0, width=cfg.width,
                    n_blocks=N_BLOCKS, pac=cfg.pac)

    def score(self, nets: dict[str, nn.Module], data: Any, *, meter: Any = None) -> dict[str, float]:
        """Label kept, domain score, cycle L1 and diversity per direction (gan.metrics.translation's PairMeter), or
        {} without its meter."""
        if meter is None or not hasattr(meter, "held"):
            return {}
        return meter.score(nets)


FAMILIES.register("cyclegan", CycleGanFamily())
MODELS.register("cyclegan", ModelSpec(
    "cyclegan", build_cyclegan, ("pair",),
    "CycleGAN: two small ResNet generators (A→B, B→A) and two PatchGAN discriminators for unpaired translation",
    extra_check=check_cyclegan))

__all__ = ["CycleGanFamily", "N_BLOCKS", "build_cyclegan", "check_cyclegan"]
