"""gan.latent: seeds, truncation, slerp, edits and GANSpace-style principal directions."""
import math

import pytest
import torch

from gan.latent import edit, latent_for, principal_directions, raw_directions, slerp, truncate
from gan.family import build_models
from gan.config import ModelConfig


def test_latent_for_is_deterministic_per_seed():
    assert torch.equal(latent_for(3, 16), latent_for(3, 16))
    assert not torch.equal(latent_for(3, 16), latent_for(4, 16))
    assert latent_for(0, 16).shape == (16,)


def test_slerp_endpoints_norm_and_batch():
    a, b = latent_for(1, 64), latent_for(2, 64)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5)
    assert torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    mid = slerp(a, b, 0.5)
    # the norm stays between the endpoints' norms (lerp would shrink it toward the origin)
    assert min(a.norm(), b.norm()) - 1e-4 <= mid.norm() <= max(a.norm(), b.norm()) + 1e-4
    assert mid.norm() > ((a + b) / 2).norm() + 0.5
    path = slerp(a, b, torch.linspace(0, 1, 7))
    assert path.shape == (7, 64)
    # equal angular steps on the unit sphere
    u = path / path.norm(dim=1, keepdim=True)
    angles = torch.acos((u[1:] * u[:-1]).sum(1).clamp(-1, 1))
    assert torch.allclose(angles, angles.mean().expand(6), atol=1e-4)
    # parallel vectors fall back to lerp without NaN
    par = slerp(a, 2 * a, 0.5)
    assert torch.isfinite(par).all() and torch.allclose(par, 1.5 * a, atol=1e-4)


def test_truncation():
    z = latent_for(5, 32)
    assert torch.equal(truncate(z, 1.0), z)
    assert torch.allclose(truncate(z, 0.0), torch.zeros(32))
    assert torch.allclose(truncate(z, 0.5), z / 2)
    mean = torch.ones(32)
    assert torch.allclose(truncate(z, 0.0, mean), mean)


def test_edit_adds_offsets_along_directions():
    d = raw_directions(8, 3)
    z = torch.zeros(8)
    out = edit(z, d, [1.0, -2.0])
    assert out.tolist() == [1.0, -2.0, 0, 0, 0, 0, 0, 0]
    assert edit(torch.zeros(4, 8), d, [0, 0, 3.0])[:, 2].tolist() == [3.0] * 4
    with pytest.raises(ValueError):
        edit(z, d, [0, 0, 0, 1.0])


@pytest.mark.parametrize("model,shape,n_classes", [("dcgan", (1, 28, 28), 10), ("toy", (2,), 0), ("mlp", (1, 28, 28), 0)])
def test_principal_directions_orthonormal_and_meaningful(model, shape, n_classes):
    torch.manual_seed(0)
    g, _ = build_models(ModelConfig(model=model, data_shape=shape, z_dim=16, n_classes=n_classes, width=16))
    g.eval()
    dirs, explained = principal_directions(g, n=400, k=6, seed=0)
    assert dirs.shape == (6, 16)
    assert torch.allclose(dirs @ dirs.T, torch.eye(6), atol=1e-4)
    assert explained.shape == (6,) and (explained > 0).all() and explained.sum() <= 1 + 1e-4
    assert (explained[:-1] >= explained[1:] - 1e-6).all()  # sorted by variance
    again, _ = principal_directions(g, n=400, k=6, seed=0)
    assert torch.allclose(dirs, again, atol=1e-5)  # deterministic for a seed
    # moving along the first direction changes G's output, more than a random orthogonal nudge does
    z = latent_for(1, 16)
    y = torch.tensor([3]) if n_classes else None
    with torch.no_grad():
        base = g(z[None], y)
        moved = g(edit(z, dirs, [3.0])[None], y)
    assert (moved - base).abs().max() > 1e-3
    assert math.isfinite(float(moved.sum()))


def test_principal_directions_capped_by_z_dim():
    g, _ = build_models(ModelConfig(model="toy", data_shape=(2,), z_dim=4, width=8))
    dirs, explained = principal_directions(g, n=200, k=10)
    assert dirs.shape == (4, 4) and explained.shape == (4,)
