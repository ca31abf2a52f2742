"""Shared fixtures: the repo root on sys.path, small seeded datasets, and one thread for determinism."""
import os
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def small_digits():
    """A 200-image digits set, built once per test session."""
    from gan.datasets import digits

    return digits(n=200, seed=0)


def tiny_config(**kw):
    """A TrainConfig small enough for two-step tests."""
    from gan.config import TrainConfig

    base = dict(batch_size=16, width=16, z_dim=8, seed=0, device="cpu")
    base.update(kw)
    return TrainConfig(**base)
