"""Precision, recall, density and coverage on synthetic feature sets whose answers are known by construction."""
import math

import pytest
import torch

from gan.metrics.prdc import PRDCReference, knn_radii, prdc


def blobs(n: int, centres: torch.Tensor, *, seed: int, std: float = 0.05) -> torch.Tensor:
    """n points spread evenly over the given centres (K, D), with Gaussian noise."""
    g = torch.Generator().manual_seed(seed)
    c = centres[torch.arange(n) % centres.shape[0]]
    return c + std * torch.randn(c.shape, generator=g)


CENTRES = 4.0 * torch.eye(8, 16)  # 8 well-separated modes in 16-D
_ANGLES = torch.arange(8) * 2 * math.pi / 8
RING = 4.0 * torch.stack([_ANGLES.cos(), _ANGLES.sin()], 1)  # 8 modes on a ring in 2-D, as ring8 (data space)


def test_identical_sets_score_one():
    x = blobs(400, CENTRES, seed=0)
    s = prdc(x, x.clone())
    assert s["precision"] == 1.0 and s["recall"] == 1.0 and s["coverage"] == 1.0
    assert s["density"] > 0.9


def test_disjoint_sets_score_zero():
    real = blobs(400, CENTRES, seed=0)
    s = prdc(real, blobs(400, CENTRES + 100.0, seed=1))
    assert s == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_half_the_modes_give_recall_near_a_half_and_full_precision():
    real = blobs(800, RING, seed=0)
    half = blobs(800, RING[:4], seed=1)  # all samples where real data lives, on 4 of the 8 modes
    s = prdc(real, half)
    assert s["precision"] > 0.9
    assert s["recall"] == pytest.approx(0.5, abs=0.08)
    assert s["coverage"] == pytest.approx(0.5, abs=0.08)


def test_knn_radii_are_the_kth_neighbour_distances():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert knn_radii(x, k=1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert knn_radii(x, k=2, chunk=1).tolist() == [3.0, 2.0, 3.0, 6.0]


def test_chunking_does_not_change_the_numbers():
    real, fake = blobs(300, CENTRES, seed=0, std=1.0), blobs(250, CENTRES[:5], seed=2, std=1.0)
    assert prdc(real, fake, chunk=37) == pytest.approx(prdc(real, fake, chunk=4096))


def test_reference_compares_equal_sizes_and_reuses_its_radii():
    real = blobs(600, CENTRES, seed=0)
    ref = PRDCReference(real)
    fake = blobs(200, CENTRES, seed=3)
    assert ref.score(fake) == pytest.approx(prdc(real[:200], fake))
    more = blobs(900, CENTRES, seed=4)  # more fakes than real rows: as many of each as the reference holds
    assert ref.score(more) == pytest.approx(prdc(real, more[:600]))
