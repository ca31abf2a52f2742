"""Tests for CycleGAN's networks, history pool and schedule (gan/cyclegan/nets.py)."""
import itertools

import pytest
import torch

from gan.cyclegan.nets import (ImagePool, PatchDiscriminator, ResnetGenerator, generator_losses, match_channels)
from gan.losses import d_least_squares, g_least_squares


@pytest.mark.parametrize("c_in,c_out,size", [(1, 3, 28), (3, 1, 28), (3, 3, 32), (3, 3, 64), (1, 1, 30)])
def test_generator_shapes_and_range(c_in: int, c_out: int, size: int) -> None:
    torch.manual_seed(0)
    g = ResnetGenerator(c_in, c_out, width=8, n_blocks=2)
    y = g(torch.randn(2, c_in, size, size) * 3)  # large inputs push tanh towards its limits
    assert y.shape == (2, c_out, size, size)
    assert torch.isfinite(y).all() and y.min() >= -1 and y.max() <= 1


@pytest.mark.parametrize("size,n_layers,patch", [(28, 2, 5), (32, 2, 6), (64, 2, 14), (28, 1, 12), (64, 3, 6)])
def test_patch_discriminator_shape(size: int, n_layers: int, patch: int) -> None:
    torch.manual_seed(0)
    d = PatchDiscriminator(3, width=8, n_layers=n_layers)
    out = d(torch.randn(4, 3, size, size))
    assert out.shape == (4, 1, patch, patch) and torch.isfinite(out).all()


def test_receptive_field() -> None:
    assert [PatchDiscriminator.receptive_field_of(n) for n in (1, 2, 3)] == [16, 34, 70]  # 70: the paper's
    assert PatchDiscriminator(1, n_layers=2).receptive_field == 34


def test_init_std() -> None:
    torch.manual_seed(0)
    g = ResnetGenerator(1, 3, width=16, n_blocks=3)
    w = torch.cat([m.weight.detach().flatten() for m in g.modules() if isinstance(m, torch.nn.Conv2d)])
    assert abs(float(w.std()) - 0.02) < 0.002 and abs(float(w.mean())) < 0.002


def test_patch_logits_work_with_project_losses() -> None:
    real, fake = torch.full((4, 1, 5, 5), 1.0), torch.zeros(4, 1, 5, 5)
    assert float(d_least_squares(real, fake)) == 0.0 and float(g_least_squares(fake)) == 0.5
    torch.manual_seed(0)
    d = PatchDiscriminator(3, width=8)
    x = torch.randn(4, 3, 28, 28)
    patches = d(x)
    loss = d_least_squares(patches, d(-x))
    assert loss.dim() == 0
    assert torch.allclose(g_least_squares(patches), 0.5 * ((patches - 1) ** 2).mean())


@pytest.mark.slow
def test_one_adam_step_moves_every_parameter() -> None:
    torch.manual_seed(0)
    g_ab, g_ba = ResnetGenerator(1, 3, width=4, n_blocks=1), ResnetGenerator(3, 1, width=4, n_blocks=1)
    d_a, d_b = PatchDiscriminator(1, width=4), PatchDiscriminator(3, width=4)
    real_a, real_b = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4, 3, 28, 28) * 2 - 1
    nets = {"g_ab": g_ab, "g_ba": g_ba, "d_a": d_a, "d_b": d_b}
    before = {k: [p.detach().clone() for p in m.parameters()] for k, m in nets.items()}
    opt_g = torch.optim.Adam(itertools.chain(g_ab.parameters(), g_ba.parameters()), lr=1e-3)
    opt_d = torch.optim.Adam(itertools.chain(d_a.parameters(), d_b.parameters()), lr=1e-3)

    d_a.requires_grad_(False), d_b.requires_grad_(False)
    loss_g, parts, fake_a, fake_b = generator_losses(g_ab, g_ba, d_a, d_b, real_a, real_b)
    assert set(parts) == {"adv", "cycle", "identity", "total"} and fake_a.shape == real_a.shape
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()

    d_a.requires_grad_(True), d_b.requires_grad_(True)
    gen = torch.Generator().manual_seed(0)
    pool_a, pool_b = ImagePool(2), ImagePool(2)
    loss_d = (d_least_squares(d_a(real_a), d_a(pool_a.query(fake_a, gen)))
              + d_least_squares(d_b(real_b), d_b(pool_b.query(fake_b, gen))))
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()

    for k, m in nets.items():
        for (name, p), p0 in zip(m.named_parameters(), before[k]):
            assert not torch.equal(p, p0), f"{k}.{name} did not move"


def test_identity_channel_matching() -> None:
    a, b = torch.rand(2, 1, 16, 16), torch.rand(2, 3, 16, 16)
    assert match_channels(a, 3).shape == (2, 3, 16, 16) and torch.equal(match_channels(a, 3)[:, 2], a[:, 0])
    assert torch.allclose(match_channels(b, 1), b.mean(1, keepdim=True))
    assert match_channels(b, 3) is b
    torch.manual_seed(0)
    g = ResnetGenerator(3, 3, width=4, n_blocks=1)
    _, parts, _, _ = generator_losses(g, g, PatchDiscriminator(3, width=4), PatchDiscriminator(3, width=4),
                                      b * 2 - 1, b * 2 - 1, lambda_identity=0.0)
    assert "identity" not in parts


def test_pool_fills_then_swaps_and_is_bounded() -> None:
    pool, gen = ImagePool(size=5), torch.Generator().manual_seed(0)
    first = torch.randn(3, 1, 4, 4)
    assert torch.equal(pool.query(first, gen), first) and pool.count == 3
    second = torch.randn(2, 1, 4, 4)
    assert torch.equal(pool.query(second, gen), second) and pool.count == 5  # still room: returned as is
    stored = pool.images.clone()
    assert torch.equal(stored, torch.cat([first, second]))
    swaps = 0
    for _ in range(20):
        new = torch.randn(4, 1, 4, 4)
        out = pool.query(new, gen)
        assert out.shape == new.shape and pool.count == 5 and pool.images.shape[0] == 5
        for o, n in zip(out, new):
            swaps += int(not torch.equal(o, n))
    assert 20 < swaps < 60  # about half of the 80 images came from the history


def test_pool_requires_no_grad_and_zero_size() -> None:
    x = torch.randn(2, 1, 4, 4, requires_grad=True)
    assert not ImagePool(3).query(x * 2, torch.Generator()).requires_grad
    assert torch.equal(ImagePool(0).query(x, torch.Generator()), x)


def _run_pool(pool: ImagePool, gen: torch.Generator, batches: list[torch.Tensor]) -> list[torch.Tensor]:
    return [pool.query(b, gen) for b in batches]


def test_pool_deterministic_and_resumes_exactly() -> None:
    data = torch.Generator().manual_seed(1)
    batches = [torch.randn(4, 3, 6, 6, generator=data) for _ in range(12)]
    out1 = _run_pool(ImagePool(8), torch.Generator().manual_seed(3), batches)
    out2 = _run_pool(ImagePool(8), torch.Generator().manual_seed(3), batches)
    out3 = _run_pool(ImagePool(8), torch.Generator().manual_seed(4), batches)
    assert all(torch.equal(a, b) for a, b in zip(out1, out2))
    assert not all(torch.equal(a, b) for a, b in zip(out1, out3))

    pool, gen = ImagePool(8), torch.Generator().manual_seed(3)
    _run_pool(pool, gen, batches[:6])
    state, gen_state = pool.state_dict(), gen.get_state()
    assert isinstance(state["images"], torch.Tensor) and state["images"].shape == (8, 3, 6, 6)
    assert state["size"] == 8 and state["count"] == 8
    resumed, gen2 = ImagePool(), torch.Generator()
    resumed.load_state_dict(state)
    gen2.set_state(gen_state)
    rest = _run_pool(resumed, gen2, batches[6:])
    assert all(torch.equal(a, b) for a, b in zip(rest, out1[6:]))

    half = ImagePool(50)  # a pool saved before it filled up
    half.query(batches[0], gen)
    again = ImagePool()
    again.load_state_dict(half.state_dict())
    assert again.count == 4 and torch.equal(again.images[:4], batches[0])
    empty = ImagePool(7)
    fresh = ImagePool()
    fresh.load_state_dict(empty.state_dict())
    assert fresh.size == 7 and fresh.count == 0 and fresh.images is None


def test_linear_decay() -> None:  # the paper's schedule is the trainer's lr_factor (decay_steps = total)
    from gan.train.trainer import lr_factor
    assert lr_factor(0, 1000) == 1.0
    assert lr_factor(500, 1000) == 1.0
    assert lr_factor(750, 1000) == pytest.approx(0.5)
    assert lr_factor(1000, 1000) == 0.0
    assert lr_factor(1200, 1000) == 0.0
    assert lr_factor(30.0, 60) == 1.0 and lr_factor(45.0, 60) == pytest.approx(0.5)  # fractional steps too
    assert lr_factor(5, 0) == 1.0  # no decay_steps: no decay
