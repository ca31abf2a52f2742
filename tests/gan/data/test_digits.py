"""Tests for the procedural digits data set (gan/data/digits.py)."""

import torch

from gan.data.digits import make_digits


def test_shapes_dtype_range() -> None:
    x, y = make_digits(50, seed=1)
    assert x.shape == (50, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (50,) and y.dtype == torch.int64
    assert x.min().item() >= -1.0 and x.max().item() <= 1.0
    assert x.min().item() == -1.0 and x.max().item() == 1.0  # real background and full ink
    assert 0 <= int(y.min()) and int(y.max()) <= 9


def test_other_size() -> None:
    x, y = make_digits(10, seed=0, size=32)
    assert x.shape == (10, 1, 32, 32) and y.shape == (10,)


def test_labels_balanced() -> None:
    _, y = make_digits(1003, seed=2)
    counts = torch.bincount(y, minlength=10)
    assert counts.numel() == 10
    assert int(counts.max() - counts.min()) <= 1
    assert not torch.equal(y[:20], torch.arange(20) % 10)  # shuffled, not in class order


def test_deterministic_per_seed() -> None:
    x1, y1 = make_digits(64, seed=7)
    x2, y2 = make_digits(64, seed=7)
    x3, y3 = make_digits(64, seed=8)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    assert not torch.equal(y1, y3)


def test_ink_fraction() -> None:
    x, _ = make_digits(500, seed=3)
    per_image = (x > 0).float().mean(dim=(1, 2, 3))  # (n,)
    assert per_image.min().item() > 0.03  # no blank image
    assert 0.08 < per_image.mean().item() < 0.35
    # ink stays inside the frame: the outermost 2-pixel border is nearly empty
    border = torch.ones(28, 28, dtype=torch.bool)
    border[2:-2, 2:-2] = False
    assert (x[..., border] > 0).float().mean().item() < 0.01


def test_classes_differ() -> None:
    x, y = make_digits(2000, seed=4)
    means = torch.stack([x[y == c].mean(0).flatten() for c in range(10)])  # (10, 784)
    dist = torch.cdist(means, means)  # (10, 10)
    off_diag = dist[~torch.eye(10, dtype=torch.bool)]
    assert off_diag.min().item() > 4.0  # observed ~8
    # the same class under another seed is closer to itself than to any other class
    x2, y2 = make_digits(2000, seed=5)
    means2 = torch.stack([x2[y2 == c].mean(0).flatten() for c in range(10)])  # (10, 784)
    assert torch.equal(torch.cdist(means2, means).argmin(1), torch.arange(10))


def test_thread_count_restored() -> None:
    before = torch.get_num_threads()
    make_digits(20, seed=0)
    assert torch.get_num_threads() == before
