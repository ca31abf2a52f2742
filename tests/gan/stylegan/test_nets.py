"""StyleGenerator / StyleDiscriminator: shapes, gradients, truncation, determinism, mixing, noise, w_avg."""
import types

import pytest
import torch
import torch.nn.functional as F

from gan.stylegan.nets import StyleDiscriminator, StyleGenerator


def make_cfg(shape=(1, 28, 28), n_classes=0, *, z_dim=8, width=4, w_dim=0, mapping_layers=2):
    return types.SimpleNamespace(data_shape=shape, z_dim=z_dim, n_classes=n_classes, width=width, w_dim=w_dim,
                                 mapping_layers=mapping_layers)


def labels(n, n_classes):
    return torch.arange(n) % n_classes if n_classes else None


@pytest.mark.parametrize("shape,n_classes,num_ws", [
    ((1, 28, 28), 0, 6), ((1, 28, 28), 10, 6), ((3, 32, 32), 0, 6), ((3, 32, 32), 3, 6),
    ((3, 64, 64), 0, 8), ((3, 64, 64), 3, 8),
])
def test_shapes_and_finiteness(shape, n_classes, num_ws):
    torch.manual_seed(0)
    cfg = make_cfg(shape, n_classes, width=8, w_dim=6)
    g, d = StyleGenerator(cfg), StyleDiscriminator(cfg)
    assert g.cfg is cfg and d.cfg is cfg
    assert g.num_ws == num_ws and len(g.ws_res) == num_ws and g.ws_res[-1] == shape[1]
    z, y = torch.randn(4, 8), labels(4, n_classes)
    w = g.mapping(z, y)
    assert w.shape == (4, 6)
    x = g(z, y)
    assert x.shape == (4, *shape) and torch.isfinite(x).all()
    assert x.abs().max() <= 1 and 0.02 < x.std() < 0.6  # Tanh output, not saturated at init
    assert g.synthesis(w[:, None].expand(-1, num_ws, -1)).shape == (4, *shape)
    logits = d(x, y)
    assert logits.shape == (4,) and torch.isfinite(logits).all()
    assert d(x[:1], None if y is None else y[:1]).shape == (1,)  # minibatch stddev copes with any batch size


def test_out_tanh_off_gives_the_raw_skip_sum():
    torch.manual_seed(0)
    g = StyleGenerator(make_cfg()).eval()
    torch.manual_seed(0)
    raw = StyleGenerator(make_cfg(), out_tanh=False).eval()
    z = torch.randn(3, 8)
    with torch.no_grad():
        assert torch.allclose(torch.tanh(raw(z)), g(z), atol=1e-6)


def test_conditional_models_need_labels():
    cfg = make_cfg(n_classes=3)
    g, d = StyleGenerator(cfg), StyleDiscriminator(cfg)
    with pytest.raises(ValueError, match="labels"):
        g(torch.randn(2, 8))
    with pytest.raises(ValueError, match="labels"):
        d(torch.randn(2, 1, 28, 28))


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="square"):
        StyleGenerator(make_cfg((1, 28, 32)))
    with pytest.raises(ValueError, match="4 <= s <= 8"):
        StyleDiscriminator(make_cfg((1, 36, 36)))


def _adam_step_moves_everything(model, loss_fn, skip=()):
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    opt.zero_grad()
    loss_fn().backward()
    for n, p in model.named_parameters():
        if n in skip:
            continue
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
    opt.step()
    moved = {n for n, p in model.named_parameters() if not torch.equal(p.detach(), before[n])}
    assert moved >= set(before) - set(skip), sorted(set(before) - moved)


@pytest.mark.parametrize("n_classes", [0, 3])
def test_one_adam_step_trains_every_parameter(n_classes):
    torch.manual_seed(0)
    cfg = make_cfg((3, 32, 32), n_classes)
    g, d = StyleGenerator(cfg).train(), StyleDiscriminator(cfg)
    z, y = torch.randn(8, 8), labels(8, n_classes)
    real = torch.rand(8, 3, 32, 32) * 2 - 1
    # noise strengths start at 0, so their gradient is the only one noise carries: they must still learn
    _adam_step_moves_everything(g, lambda: F.softplus(-d(g(z, y), y)).mean())
    d.zero_grad()
    fake = g(z, y).detach()
    _adam_step_moves_everything(d, lambda: F.softplus(-d(real, y)).mean() + F.softplus(d(fake, y)).mean())


def test_psi_zero_gives_one_image_for_every_z():
    torch.manual_seed(0)
    g = StyleGenerator(make_cfg(n_classes=3)).eval()
    g.update_w_avg(g.mapping(torch.randn(64, 8), labels(64, 3)))
    y = torch.full((4,), 2)
    with torch.no_grad():
        x = g(torch.randn(4, 8), y, psi=0.0)
        assert torch.allclose(x, x[:1].expand_as(x), atol=1e-6)
        assert not torch.allclose(g(torch.randn(4, 8), y), x, atol=1e-3)  # psi = 1 differs


def test_eval_mode_is_deterministic_and_train_mode_is_not():
    torch.manual_seed(0)
    g = StyleGenerator(make_cfg())
    for m in g.convs:
        torch.nn.init.constant_(m.noise_strength, 0.5)
    z = torch.randn(3, 8)
    g.eval()
    assert torch.equal(g(z), g(z))
    g.train()
    assert not torch.allclose(g(z), g(z))  # fresh noise each call
    assert torch.equal(g(z, noise_mode="const"), g.eval()(z))


def test_mix_crossover_ends_equal_each_source():
    torch.manual_seed(0)
    g = StyleGenerator(make_cfg()).eval()
    wa = g.mapping(torch.randn(3, 8))[:, None].expand(-1, g.num_ws, -1)
    wb = g.mapping(torch.randn(3, 8))[:, None].expand(-1, g.num_ws, -1)
    with torch.no_grad():
        assert torch.equal(g.synthesis(g.mix(wa, wb, g.num_ws)), g.synthesis(wa))
        assert torch.equal(g.synthesis(g.mix(wa, wb, 0)), g.synthesis(wb))
    ws = g.mix(wa, wb, torch.tensor([0, 2, 6]))  # per-sample crossover
    assert torch.equal(ws[0], wb[0]) and torch.equal(ws[2], wa[2])
    assert torch.equal(ws[1, :2], wa[1, :2]) and torch.equal(ws[1, 2:], wb[1, 2:])


def test_mixing_regularised_ws():
    torch.manual_seed(0)
    g = StyleGenerator(make_cfg())
    z = torch.randn(200, 8)
    w = g.mapping(z)
    ws = g.mixing_regularised_ws(z, prob=0.9, generator=torch.Generator().manual_seed(1))
    assert ws.shape == (200, g.num_ws, 8)
    assert torch.allclose(ws[:, 0], w, atol=1e-6)  # style 0 always comes from z
    switched = (ws - ws[:, :1]).abs().amax(dim=(1, 2)) > 0
    assert 150 < int(switched.sum()) < 200  # ~90% mix
    none = g.mixing_regularised_ws(z, prob=0.0, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(none, w[:, None].expand_as(none), atol=1e-6)
    ws.sum().backward()  # differentiable into the mapping network
    assert g.mapping_net[0].weight.grad is not None


def test_noise_generators_matter_only_with_nonzero_strength():
    torch.manual_seed(0)
    g = StyleGenerator(make_cfg()).eval()
    z = torch.randn(2, 8)

    def draw(seed):
        return g(z, noise_mode="random", noise_generator=torch.Generator().manual_seed(seed))

    with torch.no_grad():
        assert torch.equal(draw(1), draw(2))  # strengths start at 0
        assert torch.equal(g(z, noise_mode="none"), g(z, noise_mode="const"))
        for m in g.convs:
            torch.nn.init.constant_(m.noise_strength, 0.3)
        assert torch.equal(draw(1), draw(1))
        assert not torch.allclose(draw(1), draw(2), atol=1e-4)
        assert not torch.allclose(g(z, noise_mode="none"), g(z, noise_mode="const"), atol=1e-4)
    with pytest.raises(ValueError, match="noise_mode"):
        g(z, noise_mode="fresh")


def test_update_w_avg_moves_toward_the_batch_mean():
    torch.manual_seed(0)
    g = StyleGenerator(make_cfg())
    w = g.mapping(torch.randn(16, 8)).detach()
    g.update_w_avg(w)
    assert torch.allclose(g.w_avg, w.mean(0))  # the first update starts from the batch mean
    w2 = w + 1.0
    before = (g.w_avg - w2.mean(0)).norm()
    g.update_w_avg(w2, beta=0.9)
    assert torch.allclose(g.w_avg, 0.9 * w.mean(0) + 0.1 * w2.mean(0), atol=1e-6)
    assert (g.w_avg - w2.mean(0)).norm() < before
    assert "w_avg" in dict(g.named_buffers())


def test_upsampling_conv_is_nearest_upsampling_then_conv():
    from gan.stylegan.nets import _nearest_phases, _up_conv

    torch.manual_seed(0)
    x, w = torch.randn(2, 3, 5, 5), torch.randn(4, 3, 3, 3)
    ref = F.conv2d(F.interpolate(x, scale_factor=2.0, mode="nearest"), w, padding=1)  # (2, 4, 10, 10)
    assert torch.allclose(_up_conv(x, w, _nearest_phases()), ref, atol=1e-5)
