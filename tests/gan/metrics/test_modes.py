import math

import pytest
import torch

from gan.data.spec import load_dataset
from gan.metrics.modes import BENCH_SAMPLES, class_kl, mode_score


def score_points(x, data):
    return mode_score(x, data.modes, data.std)


@pytest.fixture(scope="module")
def ring8():
    return load_dataset("ring8")


def test_samples_from_one_ring8_mode_cover_one_of_eight(ring8):
    g = torch.Generator().manual_seed(0)
    one = ring8.modes[3] + ring8.std * torch.randn(BENCH_SAMPLES, 2, generator=g)
    s = mode_score(one, ring8.modes, ring8.std)
    assert s["modes"] == 1 and s["n_modes"] == 8
    assert s["high_quality"] > 0.98
    assert s["reverse_kl"] == pytest.approx(math.log(8), abs=1e-5)  # all mass on one of 8 modes


def test_samples_from_all_ring8_modes_cover_eight_of_eight(ring8):
    s = score_points(ring8.sampler(BENCH_SAMPLES, torch.Generator().manual_seed(1)), ring8)
    assert s["modes"] == 8 and s["high_quality"] > 0.98 and s["reverse_kl"] < 0.01


def test_grid25_coverage_and_low_quality_samples():
    grid = load_dataset("grid25")
    g = torch.Generator().manual_seed(2)
    five = grid.modes[:5].repeat(BENCH_SAMPLES // 5, 1) + grid.std * torch.randn(BENCH_SAMPLES, 2, generator=g)
    assert score_points(five, grid)["modes"] == 5
    blurry = grid.sampler(BENCH_SAMPLES, g) + 0.5 * torch.randn(BENCH_SAMPLES, 2, generator=g)
    s = score_points(blurry, grid)
    assert s["high_quality"] < 0.2  # far more than 3 std from their nearest mean


def test_modes_come_from_the_spec_and_class_kl():
    from gan.data.spec import dataset_spec

    assert dataset_spec("spiral").modes is None and load_dataset("spiral").modes is None  # no benchmark modes
    assert dataset_spec("ring8").modes.means.shape == (8, 2) and dataset_spec("grid25").modes.std == 0.05
    assert class_kl(torch.arange(100) % 10, 10) == pytest.approx(0.0, abs=1e-12)
    assert class_kl(torch.full((50,), 4), 10) == pytest.approx(math.log(10))
