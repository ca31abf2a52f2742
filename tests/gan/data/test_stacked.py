"""Stacked digits (1,000 modes): labels match channels, the mode scorer reads real data as 1,000 modes with KL ~ 0
and a collapsed set as a few, the live quality path shows it; rpgan, R2 and packing on the convolutional D."""
import math
from types import SimpleNamespace

import pytest
import torch

from tests.helpers import tiny_config
from gan.config import ModelConfig, TrainConfig
from gan.data.spec import dataset_spec
from gan.family import train_defaults, zero_centred_penalties
from gan.family import build_nets
from gan.metrics.advice import collapse_warning
from gan.metrics.scores import build_meter, score
from gan.data.stacked import N_MODES, stack_digits, stacked_digits, triples
from gan.metrics.modes import StackedMeter, mode_stats
from gan.train.trainer import Trainer


@pytest.fixture(scope="module")
def stacked():
    """15,000 stacked procedural digits (enough for every mode: 1000 (1 - e^-15) expected)."""
    return stacked_digits(n=15_000, seed=3)


@pytest.fixture(scope="module")
def meter(stacked, tmp_path_factory):
    """A StackedMeter with a classifier trained quickly (1 epoch on 3,000 digits) in a temporary cache."""
    m = StackedMeter(stacked, cache_dir=str(tmp_path_factory.mktemp("classifiers")), epochs=1, max_train=3000,
                     samples=2000)
    assert m.accuracy > 0.95
    return m


def test_labels_are_the_triples_of_the_channels(stacked):
    singles = stacked.info["singles"]
    label_of = {bytes(row.numpy()): int(y) for row, y in zip(singles.x.flatten(1).to(torch.int8), singles.y)}
    x, d = stacked.x[:300], triples(stacked.y[:300])  # (300, 3, 28, 28), (300, 3)
    for c in range(3):
        got = [label_of[bytes(img.numpy())] for img in x[:, c].flatten(1).to(torch.int8)]
        assert got == d[:, c].tolist()
    assert stacked.shape == (3, 28, 28) and stacked.n_classes == N_MODES
    assert int(stacked.y.min()) >= 0 and int(stacked.y.max()) <= 999


def test_stack_digits_draws_independent_channels_and_is_seeded():
    x = torch.arange(10.0).view(10, 1, 1, 1).expand(10, 1, 4, 4)  # image k is filled with k, its label
    imgs, y = stack_digits(x, torch.arange(10), n=2000, seed=0)
    assert torch.equal(imgs[:, :, 0, 0].long(), triples(y))
    assert torch.equal(stack_digits(x, torch.arange(10), n=2000, seed=0)[1], y)
    assert mode_stats(y)["modes"] > 800  # 2,000 independent triples: ~865 of 1,000 modes expected
    with pytest.raises(ValueError, match="single-channel"):
        stack_digits(torch.zeros(5, 3, 4, 4), torch.zeros(5), n=3, seed=0)


@pytest.mark.slow
def test_real_stacked_data_reads_as_all_modes_with_kl_near_zero(stacked, meter):
    s = meter.score(stacked.x)
    assert s["modes"] == 1000 and s["n_modes"] == 1000
    assert s["mode_kl"] < 0.1  # the sampling floor alone is ~999 / (2 * 15,000) = 0.033
    assert mode_stats(stacked.y)["modes"] == 1000


@pytest.mark.slow
def test_a_collapsed_set_reads_as_few_modes(stacked, meter):
    collapsed = stacked.x[:5].repeat(400, 1, 1, 1)  # 2,000 samples of 5 images
    s = meter.score(collapsed)
    assert s["modes"] <= 5 and s["mode_kl"] > math.log(1000 / 5) - 0.1
    rows = [{"step": i, "modes": m, "n_modes": 1000} for i, m in enumerate([900, 950, 400, 120, s["modes"]])]
    assert "of 1000 modes are covered" in collapse_warning(rows)


@pytest.mark.slow
def test_stacked_sets_train_unconditionally_and_score_through_the_live_path(stacked, meter):
    for name in ("stacked-digits", "stacked-mnist"):
        spec = dataset_spec(name)
        assert spec.n_classes == 1000 and train_defaults(spec)["conditional"] is False
    t = Trainer(tiny_config(dataset="stacked-digits"), data=stacked)
    assert t.model_config.n_classes == 0 and t.model_config.data_shape == (3, 28, 28)
    t.step()
    numbers = score(t.sampling_nets(), t.family, stacked, meter=meter)  # what the CLI and the app call
    assert numbers["n_modes"] == 1000 and 1 <= numbers["modes"] <= 1000 and numbers["samples"] == 2000
    assert math.isfinite(numbers["mode_kl"])
    assert isinstance(build_meter(stacked, classifier=meter.classifier, n_real=10), StackedMeter)

    from demo.present import quality_frames, quality_summary

    cov, dist = quality_frames([{"step": 1, **numbers}])
    assert "modes captured (%)" in set(cov["series"]) and "KL(modes ‖ uniform), nats" in set(dist["series"])
    assert "modes" in quality_summary({"numbers": {"step": 1, **numbers}})


def _moved(trainer, steps=2):
    before = {r: [p.detach().clone() for p in trainer.nets[r].parameters()] for r in ("G", "D")}
    for _ in range(steps):
        s = trainer.step()
        assert all(math.isfinite(s[k]) for k in ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm"))
    for r, ps in before.items():
        assert any(not torch.equal(a, b) for a, b in zip(ps, trainer.nets[r].parameters())), f"{r} did not move"


def test_rpgan_with_r1_r2_and_packing_trains_the_convolutional_d(stacked):
    t = Trainer(tiny_config(dataset="stacked-digits", loss="rpgan", r1=1.0, r2=1.0, pac=2, batch_size=8),
                data=stacked)
    assert t.D.convs[0].in_channels == 6  # two RGB images stacked along the channels
    _moved(t)


def _context(**cfg):
    base = dict(r1=0.0, r2=0.0, r1_every=1)
    return SimpleNamespace(cfg=SimpleNamespace(**{**base, **cfg}), step_count=0, model_config=SimpleNamespace(pac=1))


def _penalty(ctx, d, real, fake, y):
    return float(zero_centred_penalties(ctx, d, real, fake, y).detach())


def test_r2_is_zero_where_d_is_flat_and_looks_only_at_the_fakes():
    torch.manual_seed(0)
    d = build_nets(ModelConfig(model="dcgan", data_shape=(3, 28, 28), width=4))["D"]
    real, fake = torch.randn(6, 3, 28, 28), torch.randn(6, 3, 28, 28)
    on = _context(r2=1.0)
    assert _penalty(on, d, real, fake, None) > 0
    assert _penalty(_context(), d, real, fake, None) == 0  # both off
    assert _penalty(on, d, torch.zeros_like(real), fake, None) == pytest.approx(
        _penalty(on, d, real, fake, None))  # R2 ignores the reals
    lazy = _context(r2=1.0, r1_every=4)
    assert _penalty(lazy, d, real, fake, None) == 0  # step 1 of 4: not applied
    with torch.no_grad():
        d.head.weight.zero_()  # D ignores its input: a flat D has zero gradient everywhere
    for cfg in ({"r1": 1.0}, {"r2": 1.0}, {"r1": 1.0, "r2": 1.0}):
        assert _penalty(_context(**cfg), d, real, fake, None) == 0.0

    def constant(v, y):  # a D whose output does not depend on its input at all
        return d.head.bias.expand(v.shape[0])

    assert _penalty(_context(r1=1.0, r2=1.0), constant, real, fake, None) == 0.0


@pytest.mark.slow
def test_r2_changes_the_d_step_of_a_convolutional_gan(stacked):
    plain = Trainer(tiny_config(dataset="stacked-digits", r1=0.0, r2=0.0), data=stacked)
    with_r2 = Trainer(tiny_config(dataset="stacked-digits", r1=0.0, r2=10.0, r1_every=1), data=stacked)
    _moved(with_r2)
    plain.step(), plain.step()
    diff = [not torch.allclose(a, b) for a, b in zip(plain.D.parameters(), with_r2.D.parameters())]
    assert any(diff), "R2 did not change D's update"


def test_defaults_are_a_valid_config():
    for name in ("stacked-digits", "stacked-mnist"):
        TrainConfig(dataset=name).resolved(train_defaults(name)).validate()
