import math

import pytest
import torch
from tests.helpers import tiny_config

from gan.data.spec import load_dataset
from gan.losses import LOSSES
from gan.registry import MODELS
from gan.train.trainer import Trainer, TrainingDiverged


def _params(m):
    return torch.cat([p.detach().flatten().clone() for p in m.parameters()])


def _two_steps(trainer):
    g0, d0 = _params(trainer.G), _params(trainer.D)
    stats = [trainer.step(), trainer.step()]
    for s in stats:
        for k in ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm", "images_per_s"):
            assert isinstance(s[k], float) and math.isfinite(s[k]), k
    assert not torch.equal(g0, _params(trainer.G)), "G did not move"
    assert not torch.equal(d0, _params(trainer.D)), "D did not move"
    return stats


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_every_loss_trains_two_finite_steps(loss):
    _two_steps(Trainer(tiny_config(dataset="ring8", loss=loss)))


@pytest.mark.parametrize("dataset,model", [("gaussian1d", "toy"), ("spiral", "toy"), ("grid25", "mlp"),
                                           ("digits", "dcgan"), ("digits", "mlp")])
def test_models_train_on_their_data(dataset, model, small_digits):
    data = small_digits if dataset == "digits" else load_dataset(dataset)
    t = Trainer(tiny_config(dataset=dataset, model=model), data=data)
    stats = _two_steps(t)
    assert stats[-1]["step"] == 2
    assert t.fixed_samples().shape[1:] == data.shape


def test_every_model_is_trained_somewhere():
    assert {"toy", "mlp", "dcgan", "stylegan", "cyclegan"} == set(MODELS)  # stylegan, cyclegan: their own tests


def test_conditional_default_on_labelled_images(small_digits):
    t = Trainer(tiny_config(dataset="digits"), data=small_digits)
    assert t.conditional and t.fixed["y"].tolist()[:20] == [0] * 10 + [1] * 10
    t2 = Trainer(tiny_config(dataset="digits", conditional=False), data=small_digits)
    assert not t2.conditional and t2.fixed["y"] is None


def test_same_seed_same_run_and_other_seed_differs():
    runs = []
    for seed in (0, 0, 1):
        t = Trainer(tiny_config(dataset="ring8", seed=seed))
        for _ in range(3):
            t.step()
        runs.append(_params(t.G))
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


def test_ema_copy_lags_the_generator():
    t = Trainer(tiny_config(dataset="ring8", ema=0.99))
    for _ in range(5):
        t.step()
    assert t.G_ema is not None and not torch.equal(_params(t.G), _params(t.G_ema))
    assert t.sampler_module() is t.G_ema


def test_callbacks_see_every_step():
    t = Trainer(tiny_config(dataset="ring8"))
    seen = []
    t.add_callback("on_step", lambda tr, st: seen.append(st["step"]))
    t.train(steps=3)
    assert seen == [1, 2, 3]


def test_nan_loss_stops_without_touching_weights():
    t = Trainer(tiny_config(dataset="ring8"))
    t.step()
    before = _params(t.D)
    with torch.no_grad():
        next(t.D.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="became nan"):
        t.step()
    assert t.step_count == 1
    assert torch.isnan(_params(t.D)).any() and not torch.isnan(before).any()


@pytest.mark.slow
def test_history_is_bounded_over_many_steps():
    t = Trainer(tiny_config(dataset="gaussian1d", batch_size=4, width=4), history_points=50)
    t.train(steps=400)
    assert len(t.history) < 50
    assert t.history.data["step"][-1] >= 384 and t.history.stride >= 8


def test_decay_steps_halves_then_falls_linearly_to_zero_and_resumes_on_schedule():
    from gan.train.trainer import lr_factor
    assert lr_factor(3, None) == 1.0 and lr_factor(4, 10) == 1.0 and lr_factor(10, 10) == 0.0
    assert lr_factor(7.5, 10) == pytest.approx(0.5)
    t = Trainer(tiny_config(dataset="ring8", lr=1e-3, decay_steps=10))
    seen = []
    t.add_callback("on_step", lambda tr, st: seen.append(tr.opt_g.param_groups[0]["lr"]))
    t.train(steps=6)
    again = Trainer.from_state(t.state_dict())  # the schedule is keyed to the step, so it survives resume
    again.add_callback("on_step", lambda tr, st: seen.append(tr.opt_g.param_groups[0]["lr"]))
    again.train(steps=4)
    assert seen[:5] == [pytest.approx(1e-3)] * 5 and seen == sorted(seen, reverse=True)
    assert seen[-1] == pytest.approx(1e-3 * lr_factor(9, 10))


def test_dataset_defaults_fill_unset_fields_only():
    t = Trainer(tiny_config(dataset="gaussian1d"))
    assert (t.cfg.beta1, t.cfg.beta2, t.cfg.lr) == (0.0, 0.9, 2e-4)
    t2 = Trainer(tiny_config(dataset="gaussian1d", beta1=0.5, lr=1e-3))
    assert (t2.cfg.beta1, t2.cfg.lr) == (0.5, 1e-3)
    assert Trainer(tiny_config(dataset="ring8")).cfg.beta1 == 0.5


def test_pacgan_packs_samples_for_d_and_still_scores_single_points():
    t = Trainer(tiny_config(dataset="ring8", pac=4, batch_size=16))
    assert t.model_config.pac == 4
    first = t.D.body[0].in_features
    assert first == 2 * 4  # D sees 4 points at once
    _two_steps(t)
    x = torch.randn(5, 2)
    assert t.D(x).shape == (5,)  # plots: each point scored as a pack of its copies
    assert t.D(torch.randn(8, 2), packed=True).shape == (2,)
    with pytest.raises(Exception, match="multiple of pac"):
        Trainer(tiny_config(dataset="ring8", pac=3, batch_size=16))
    from gan.config import ConfigError, ModelConfig
    with pytest.raises(ConfigError, match="class-conditional"):
        ModelConfig(model="dcgan", data_shape=(1, 28, 28), pac=2, n_classes=10)


def test_pacgan_packs_images_for_the_convolutional_d(small_digits):
    t = Trainer(tiny_config(dataset="digits", model="dcgan", conditional=False, pac=2, batch_size=8), data=small_digits)
    assert t.D.convs[0].in_channels == 2  # two grey images stacked along the channels
    before = [p.detach().clone() for p in t.D.parameters()]
    _two_steps(t)
    assert any(not torch.equal(a, b) for a, b in zip(before, t.D.parameters()))
    assert t.D(torch.randn(3, 1, 28, 28)).shape == (3,)
    assert t.D(torch.randn(4, 1, 28, 28), packed=True).shape == (2,)


def test_point_sets_default_to_hinge_with_d_learning_twice_as_fast():
    t = Trainer(tiny_config(dataset="ring8", lr=1e-3))
    assert t.cfg.loss == "hinge" and t.loss.d is LOSSES["hinge"].d
    assert t.opt_d.param_groups[0]["lr"] == pytest.approx(2e-3) and t.opt_g.param_groups[0]["lr"] == pytest.approx(1e-3)
    for name in ("gaussian1d", "digits"):  # the theory of D* is the bce game's; images train well with bce
        u = Trainer(tiny_config(dataset=name), data=None if name != "digits" else load_dataset("digits"))
        assert u.cfg.loss == "bce" and u.opt_d.param_groups[0]["lr"] == u.opt_g.param_groups[0]["lr"]
    own = Trainer(tiny_config(dataset="ring8", loss="lsgan", lr=1e-3, lr_d=5e-4))  # the user's choices win
    assert own.cfg.loss == "lsgan" and own.opt_d.param_groups[0]["lr"] == pytest.approx(5e-4)
    assert Trainer(tiny_config(dataset="ring8", lr=1e-3, lr_d_mult=3)).opt_d.param_groups[0]["lr"] == pytest.approx(3e-3)


def test_r1_penalty_changes_d_steps_and_stays_finite():
    plain = Trainer(tiny_config(dataset="ring8"))
    with_r1 = Trainer(tiny_config(dataset="ring8", r1=10.0))
    assert torch.equal(_params(plain.D), _params(with_r1.D))  # same seed, same start
    _two_steps(with_r1)
    plain.step(), plain.step()
    assert not torch.allclose(_params(plain.D), _params(with_r1.D)), "R1 did not change D's update"
