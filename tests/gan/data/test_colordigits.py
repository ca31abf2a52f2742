"""Tests for the colordigits domain (gan/data/colordigits.py): colour textures under readable digits."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gan.data.colordigits import colorize, make_colordigits
from gan.data.digits import make_digits

_LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def test_shape_range_dtype() -> None:
    x, _ = make_digits(40, seed=0)
    c = colorize(x, seed=0)
    assert c.shape == (40, 3, 28, 28) and c.dtype == torch.float32
    assert c.min() >= -1 and c.max() <= 1
    assert colorize(x, seed=0, size=32).shape == (40, 3, 32, 32)


def test_deterministic_per_seed() -> None:
    x, _ = make_digits(30, seed=1)
    assert torch.equal(colorize(x, seed=3), colorize(x, seed=3))
    assert not torch.equal(colorize(x, seed=3), colorize(x, seed=4))
    a, ya = make_colordigits(30, seed=5)
    b, yb = make_colordigits(30, seed=5)
    c, _ = make_colordigits(30, seed=6)
    assert torch.equal(a, b) and torch.equal(ya, yb) and not torch.equal(a, c)
    assert a.shape == (30, 3, 28, 28) and ya.dtype == torch.int64 and 0 <= int(ya.min()) <= int(ya.max()) <= 9


def test_colours_vary_across_images() -> None:
    x, _ = make_digits(200, seed=2)
    c = colorize(x, seed=0)
    mean = c.mean((2, 3))  # (N, 3) per-image mean colour
    assert (mean.std(0) > 0.2).all()  # not one palette
    assert torch.cdist(mean, mean).add(torch.eye(200) * 9).min() > 1e-3  # every image its own colours
    chroma = (c - c.mean(1, keepdim=True)).abs().mean()
    assert chroma > 0.05  # coloured, not grey
    texture = colorize(torch.full_like(x, -1.0), seed=0)
    spread = texture.flatten(2).std(2).mean(1)  # pixel spread of the texture alone, per image
    assert spread.median() > 0.07 and spread.min() > 0.01  # patterned, not flat


def test_stroke_is_detectable_and_readable() -> None:
    x, _ = make_digits(300, seed=4)
    c = colorize(x, seed=9)
    texture = colorize(torch.full_like(x, -1.0), seed=9)  # same draws, no ink
    background = (x == -1).expand_as(c)
    assert torch.equal(c[background], texture[background])  # ink only changes inked pixels
    ink = (x > 0.9).squeeze(1)  # (N, H, W)
    luma_diff = ((c - texture) * _LUMA).sum(1).abs() / 2  # luma in [0, 1] units
    assert luma_diff[ink].min() > 0.25  # every full-ink pixel stands out from the texture beneath it
    assert luma_diff[ink].mean() > 0.4


def test_domain_differs_from_grey_digits() -> None:
    x, _ = make_digits(100, seed=6)
    c = colorize(x, seed=6)
    assert (c - x.expand_as(c)).abs().mean() > 0.4


@pytest.mark.slow
def test_tiny_classifier_learns_classes() -> None:
    torch.manual_seed(0)
    x, y = make_colordigits(1200, seed=3)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
                        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(4):
        order = torch.randperm(1000, generator=gen)
        for i in range(0, 1000, 32):
            idx = order[i:i + 32]
            loss = F.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        acc = (net(x[1000:]).argmax(1) == y[1000:]).float().mean()
    assert acc > 0.8  # held-out accuracy (chance is 0.1)
