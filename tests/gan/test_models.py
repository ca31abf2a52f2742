import pytest
import torch

from gan.config import ModelConfig
from gan.family import build_models
from gan.registry import MODELS

CASES = [
    ("toy", (1,), 0), ("toy", (2,), 0), ("mlp", (2,), 0), ("mlp", (1, 28, 28), 0), ("mlp", (1, 28, 28), 10),
    ("dcgan", (1, 28, 28), 0), ("dcgan", (1, 28, 28), 10), ("dcgan", (3, 32, 32), 0), ("dcgan", (3, 64, 64), 3),
    ("stylegan", (1, 28, 28), 0), ("stylegan", (1, 28, 28), 10), ("stylegan", (3, 32, 32), 0),
    ("stylegan", (3, 64, 64), 3),
]


def test_every_registered_model_is_covered():
    assert {c[0] for c in CASES} == set(MODELS) - {"cyclegan"}  # four nets, not (G, D): tests/gan/cyclegan/


@pytest.mark.parametrize("name,shape,n_classes", CASES)
def test_shapes_and_finiteness(name, shape, n_classes):
    torch.manual_seed(0)
    cfg = ModelConfig(model=name, data_shape=shape, z_dim=8, width=8 if name != "mlp" else 64, n_classes=n_classes)
    g, d = build_models(cfg)
    z = torch.randn(4, 8)
    y = torch.arange(4) % n_classes if n_classes else None
    x = g(z, y)
    assert x.shape == (4, *shape)
    assert torch.isfinite(x).all()
    logits = d(x, y)
    assert logits.shape == (4,)
    assert torch.isfinite(logits).all()
    if len(shape) == 3:
        assert x.abs().max() <= 1.0  # Tanh output for images


def test_mlp_is_the_classic_architecture():
    g, d = build_models(ModelConfig(model="mlp", data_shape=(1, 28, 28), z_dim=100))
    g_lin = [m for m in g.modules() if isinstance(m, torch.nn.Linear)]
    d_lin = [m for m in d.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in g_lin] == [(100, 256), (256, 512), (512, 1024), (1024, 784)]
    assert [(m.in_features, m.out_features) for m in d_lin] == [(784, 512), (512, 256), (256, 1)]
    acts = [m for m in list(g.modules()) + list(d.modules()) if isinstance(m, torch.nn.LeakyReLU)]
    assert len(acts) == 5 and all(a.negative_slope == 0.2 for a in acts)
    assert isinstance(list(g.modules())[-1], torch.nn.Tanh)


def test_conditional_generator_depends_on_the_label():
    torch.manual_seed(0)
    g, _ = build_models(ModelConfig(model="dcgan", data_shape=(1, 28, 28), z_dim=8, width=8, n_classes=10))
    g.eval()
    z = torch.randn(1, 8).repeat(2, 1)
    out = g(z, torch.tensor([0, 1]))
    assert not torch.allclose(out[0], out[1])
    with pytest.raises(ValueError, match="class-conditional"):
        g(z)
