"""gan.restore.invert on tiny seeded models: a model's own samples come back, inpaint keeps the given pixels,
the search is deterministic, StyleGAN searches w and w+, and a CycleGAN says it has no latent."""
import pytest
import torch

from gan.config import ModelConfig
from gan.errors import ConfigError
from gan.family import build_nets
from gan.restore.degrade import degrade
from gan.restore.invert import NO_LATENT, restore, space_of


def tiny(model: str, n_classes: int = 0) -> dict:
    """A seeded untrained model whose last layer is scaled up, so its samples have visible contrast."""
    torch.manual_seed(0)
    nets = build_nets(ModelConfig(model=model, data_shape=(1, 16, 16), z_dim=8, n_classes=n_classes, width=8))
    G = nets["G"].eval()
    if model == "stylegan":
        with torch.no_grad():
            G.update_w_avg(G.mapping(torch.randn(256, 8), torch.arange(256) % n_classes if n_classes else None))
    else:
        last = [m for m in G.modules() if isinstance(m, (torch.nn.Linear, torch.nn.ConvTranspose2d))][-1]
        with torch.no_grad():
            last.weight.mul_(30)
    return nets


def sources(nets: dict, n: int = 4, seed: int = 5) -> tuple[torch.Tensor, torch.Tensor | None]:
    G = nets["G"]
    nc = G.cfg.n_classes
    y = torch.arange(n) % nc if nc else None
    with torch.no_grad():
        z = torch.randn(n, 8, generator=torch.Generator().manual_seed(seed))
        return G(z, y).clamp(-1, 1), y


@pytest.mark.parametrize("model,n_classes", [("mlp", 3), ("dcgan", 0)])
def test_a_tiny_model_restores_its_own_samples(model, n_classes):
    nets = tiny(model, n_classes)
    x, y = sources(nets)
    other, _ = sources(nets, seed=99)  # other samples of the same model: how far apart two samples are
    r = restore(nets, x, task="project", steps=150, seed=0)
    err = (r.images - x).square().mean()
    assert err < 0.1 * (other - x).square().mean()
    assert r.images.shape == x.shape and r.space == "z"
    if n_classes:
        assert r.y.tolist() == y.tolist()  # the class it came from, found among all


def test_inpaint_keeps_the_given_pixels_exactly():
    nets = tiny("mlp", 3)
    x, _ = sources(nets)
    mask = torch.ones(1, 1, 16, 16)
    mask[..., 8:, :] = 0
    r = restore(nets, degrade(x, "inpaint", mask=mask), task="inpaint", mask=mask, steps=20)
    known = mask.expand_as(x) > 0
    assert torch.equal(r.images[known], x[known])
    assert not torch.equal(r.images[~known], degrade(x, "inpaint", mask=mask)[~known])  # the hole is filled


def test_superres_and_denoise_fit_better_than_their_inputs():
    nets = tiny("dcgan")
    x, _ = sources(nets)
    low = degrade(x, "superres", factor=4)  # (4, 1, 4, 4)
    up = torch.nn.functional.interpolate(low, scale_factor=4, mode="nearest")
    r = restore(nets, low, task="superres", steps=100)
    assert (r.images - x).square().mean() < (up - x).square().mean()
    noisy = degrade(x, "denoise", sigma=0.5, seed=1)
    r = restore(nets, noisy, task="denoise", steps=100)
    assert (r.images - x).square().mean() < (noisy - x).square().mean()


def test_the_search_is_seeded_and_deterministic():
    nets = tiny("mlp", 3)
    x, _ = sources(nets, n=3)
    a, b = (restore(nets, x, task="project", steps=10, seed=7) for _ in range(2))
    c = restore(nets, x, task="project", steps=10, seed=8)
    assert torch.equal(a.latent, b.latent) and torch.equal(a.images, b.images)
    assert not torch.equal(a.latent, c.latent)


@pytest.mark.parametrize("plus", [False, True])
def test_stylegan_restores_its_own_samples_in_w_and_w_plus(plus):
    nets = tiny("stylegan", 2)
    G = nets["G"]
    with torch.no_grad():
        x = G(torch.randn(2, 8, generator=torch.Generator().manual_seed(3)), torch.tensor([0, 1]),
              noise_mode="const").clamp(-1, 1)
    r = restore(nets, x, task="project", steps=120, plus=plus)
    start = G.synthesis(G.w_avg[None, None].expand(2, G.num_ws, -1), noise_mode="const")
    assert (r.images - x).square().mean() < 0.25 * (start - x).square().mean()
    assert r.space == ("w+" if plus else "w")
    assert r.latent.shape == ((2, G.num_ws, G.w_dim) if plus else (2, G.w_dim))


def test_a_cyclegan_has_no_latent():
    nets = build_nets(ModelConfig(model="cyclegan", data_shape=(1, 16, 16), data_shape_b=(3, 16, 16), width=4))
    with pytest.raises(ConfigError, match="no latent"):
        space_of(nets)
    with pytest.raises(ConfigError) as e:
        restore(nets, torch.zeros(1, 1, 16, 16), task="project")
    assert str(e.value) == NO_LATENT and "\n" not in NO_LATENT
