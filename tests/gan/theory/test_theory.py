import math

import numpy as np
import pytest
import torch

from gan.config import TrainConfig
from gan.data.spec import load_dataset
from gan.data.images import digits
from gan.theory.density import (LOG2, LOG4, KDE, cv_bandwidth, data_cell_density, data_log_prob, js_estimate, js_from_log_probs, kde_log_prob, optimal_discriminator, optimal_discriminator_log, scott_bandwidth, silverman_bandwidth)
from gan.theory.state import theory_state, value_function
from gan.theory.plots import render_1d, render_2d
from gan.train.trainer import Trainer


def js_divergence(data, fake, *, n_real=1000, seed=0):
    """JS from generated points against fresh real samples (the estimator the Theory view uses)."""
    real = data.sampler(n_real, torch.Generator().manual_seed(seed))
    return js_estimate(data, real, fake)[0]


def _normal_logpdf(x, mu, sd):
    return -0.5 * ((x - mu) / sd) ** 2 - math.log(sd * math.sqrt(2 * math.pi))


def test_optimal_discriminator_on_known_densities():
    p = torch.tensor([0.3, 2.0, 0.0, 0.0, 3.0, 1e-300])
    q = torch.tensor([0.3, 0.0, 1.5, 0.0, 1.0, 1e-300])
    d = optimal_discriminator(p, q)
    assert torch.allclose(d, torch.tensor([0.5, 1.0, 0.0, 0.5, 0.75, 0.5]))
    same = torch.rand(100) + 0.1
    assert torch.equal(optimal_discriminator(same, same), torch.full((100,), 0.5))
    # the log form agrees, and 0/0 (both log densities -inf) gives 1/2
    lp, lq = torch.log(p.double()), torch.log(q.double())
    assert torch.allclose(optimal_discriminator_log(lp, lq), d.double())


def test_value_function_is_minus_log4_when_d_is_half_everywhere():
    assert value_function(torch.zeros(10), torch.zeros(7)) == pytest.approx(-LOG4, abs=1e-12)
    # a confident, correct D: V -> 0; a confident, wrong one: very negative but finite
    assert value_function(torch.full((5,), 50.0), torch.full((5,), -50.0)) == pytest.approx(0.0, abs=1e-12)
    assert -200 < value_function(torch.full((5,), -50.0), torch.full((5,), 50.0)) < -99


def test_js_and_value_match_a_case_computed_by_hand():
    # p_data = U[0, 1], p_g = U[0.5, 1.5]: D* = 1, 1/2, 0 on the three pieces,
    # JS = 1/2 log 2 and V(D*, G) = -log 2 = -log 4 + 2 JS exactly.
    u = (torch.arange(10_000, dtype=torch.float64) + 0.5) / 10_000
    real, fake = u, u + 0.5

    def logp(x, lo):
        inside = (x >= lo) & (x <= lo + 1)
        return torch.where(inside, torch.zeros_like(x), torch.full_like(x, -math.inf))

    lpd_r, lpg_r, lpd_f, lpg_f = logp(real, 0), logp(real, 0.5), logp(fake, 0), logp(fake, 0.5)
    js = js_from_log_probs(lpd_r, lpg_r, lpd_f, lpg_f)
    assert js == pytest.approx(0.5 * LOG2, abs=1e-3)
    v = value_function(lpd_r - lpg_r, lpd_f - lpg_f)  # D*'s logit is log p_data - log p_g
    assert v == pytest.approx(-LOG2, abs=1e-3)
    assert v == pytest.approx(-LOG4 + 2 * js, abs=1e-3)


def test_monte_carlo_js_and_v_of_d_star_agree_with_quadrature():
    # p_data = N(0, 1), p_g = N(1.5, 1): JS by quadrature, then by Monte Carlo from samples.
    xs = torch.linspace(-12, 14, 200_001, dtype=torch.float64)
    lp, lq = _normal_logpdf(xs, 0, 1), _normal_logpdf(xs, 1.5, 1)
    m = torch.logaddexp(lp, lq) - LOG2
    integrand = 0.5 * lp.exp() * (lp - m) + 0.5 * lq.exp() * (lq - m)
    js_true = float(torch.trapezoid(integrand, xs))
    assert 0.1 < js_true < 0.4
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(40_000, generator=g, dtype=torch.float64), 1.5 + torch.randn(40_000, generator=g, dtype=torch.float64)
    lpd_r, lpg_r = _normal_logpdf(real, 0, 1), _normal_logpdf(real, 1.5, 1)
    lpd_f, lpg_f = _normal_logpdf(fake, 0, 1), _normal_logpdf(fake, 1.5, 1)
    assert js_from_log_probs(lpd_r, lpg_r, lpd_f, lpg_f) == pytest.approx(js_true, abs=0.01)
    v_star = value_function(lpd_r - lpg_r, lpd_f - lpg_f)
    assert v_star == pytest.approx(-LOG4 + 2 * js_true, abs=0.02)
    # any other D does worse for D: V(D, G) <= V(D*, G)
    assert value_function(0.5 * (lpd_r - lpg_r), 0.5 * (lpd_f - lpg_f)) < v_star


@pytest.mark.parametrize("name", ["gaussian1d", "ring8", "grid25", "spiral"])
def test_js_estimate_is_near_zero_for_identical_and_log2_for_disjoint(name):
    data = load_dataset(name)
    g = torch.Generator().manual_seed(3)
    same = data.sampler(1000, g)
    js_same = js_divergence(data, same, n_real=1000, seed=1)
    assert js_same < 0.05, js_same
    far = same + 20.0  # the same shape, nowhere near the data
    js_far = js_divergence(data, far, n_real=1000, seed=1)
    assert js_far > LOG2 - 0.01, js_far
    assert 0.0 <= js_same <= LOG2 and 0.0 <= js_far <= LOG2


def test_js_of_one_ring8_mode_sits_between():
    data = load_dataset("ring8")
    g = torch.Generator().manual_seed(0)
    one = data.modes[0] + data.std * torch.randn(1000, 2, generator=g)  # all samples on mode 0
    js = js_divergence(data, one, n_real=2000)
    # a mixture with 1 of 8 components matched: JS = 1/2 (7/8 log 2 + 1/8 log(2/(1+8)) + log(16/9)) ~ 0.48
    exact = 0.5 * (7 / 8 * LOG2 + 1 / 8 * math.log(2 / 9)) + 0.5 * math.log(16 / 9)
    assert js == pytest.approx(exact, abs=0.05)


def test_data_densities_are_normalised_and_exact():
    x = torch.linspace(0, 8, 50)[:, None]
    g1 = load_dataset("gaussian1d")
    assert torch.allclose(data_log_prob(g1, x), _normal_logpdf(x[:, 0].double(), 4.0, 0.5), atol=1e-9)
    ring = load_dataset("ring8")
    at_mode = data_log_prob(ring, ring.modes[:1])
    assert float(at_mode) == pytest.approx(math.log(1 / 8 / (2 * math.pi * 0.01 ** 2)), abs=1e-4)
    for name, half in (("ring8", 1.5), ("grid25", 5.5), ("spiral", 1.3)):
        data = load_dataset(name)
        c = torch.linspace(-half, half, 601, dtype=torch.float64)
        dens = data_cell_density(data, [c, c])  # cell averages: exact mass even for narrow modes
        cell = float(c[1] - c[0]) ** 2
        assert float(dens.sum()) * cell == pytest.approx(1.0, abs=2e-3), name
    # the spiral's quadrature density is high on its real samples and tiny just off the curve
    sp = load_dataset("spiral")
    real = sp.sampler(500, torch.Generator().manual_seed(0))
    assert float(data_log_prob(sp, real).mean()) > float(data_log_prob(sp, real * 1.12).mean()) + 2.0


def test_kde_bandwidths_and_leave_one_out():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(400, 1, generator=g)
    for rule in (scott_bandwidth, silverman_bandwidth, cv_bandwidth):
        assert 0.1 < rule(s) < 1.0, rule
    sharp = torch.cat([torch.randn(300, 2, generator=g) * 0.01 + torch.tensor([k, 0.0]) for k in range(3)])
    assert cv_bandwidth(sharp) < 0.05 < scott_bandwidth(sharp)  # CV adapts to narrow clusters
    kde = KDE.fit(s, "scott")
    c = torch.linspace(-8, 8, 2001, dtype=torch.float64)
    assert float(kde.cell_density([c]).sum()) * float(c[1] - c[0]) == pytest.approx(1.0, abs=1e-3)
    loo = kde.log_prob(s[:10], leave_one_out=True)
    full = kde.log_prob(s[:10])
    assert (loo < full + 1e-6).all()
    manual = kde_log_prob(s[1:], s[:1], kde.bandwidth)
    assert float(loo[0]) == pytest.approx(float(manual[0]), abs=1e-5)


def _trainer(name):
    return Trainer(TrainConfig(dataset=name, seed=0, device="cpu"))


def test_theory_state_shapes_and_rendering():
    t = _trainer("gaussian1d")
    s = theory_state(t.G, t.D, t.data, n=400, grid=120)
    assert s["dim"] == 1 and s["x"].shape == (120,)
    for k in ("p_data", "p_g", "d", "d_star", "support"):
        assert s[k].shape == (120,), k
    assert s["real"].shape == (400, 1) and s["fake"].shape == (400, 1)
    assert np.isfinite(s["d_star"]).all() and ((s["d"] >= 0) & (s["d"] <= 1)).all()
    assert 0 <= s["js"] <= LOG2 and s["v_star"] == pytest.approx(-LOG4 + 2 * s["js"])
    assert s["js"] > 0.6 and s["d_star_real"] > 0.95  # at step 0, G's samples are nowhere near N(4, 0.5^2)
    img = render_1d(s)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3

    t = _trainer("ring8")
    s = theory_state(t.G, t.D, t.data, n=300, grid=32, z_grid=5, arrows=20)
    assert s["dim"] == 2 and s["d_grid"].shape == (32, 32)
    assert not {"d_star_grid", "p_data_grid", "p_g_grid", "support_grid"} & set(s)  # nothing shows them
    assert s["warp"].shape == (10, 33, 2) and s["arrows"]["at"].shape == (20, 2)
    assert s["arrows"]["grad"].shape == (20, 2) and s["mode_score"]["n_modes"] == 8
    x0, x1, y0, y1 = s["extent"]
    assert x0 <= -1 and x1 >= 1 and y0 <= -1 and y1 >= 1  # the whole ring is in view
    again = theory_state(t.G, t.D, t.data, n=300, grid=32, z_grid=5, arrows=20, prev=s)
    assert again["extent"] == s["extent"] and np.array_equal(again["fake"], s["fake"])  # same seed, same view
    img = render_2d(s)
    assert img.dtype == np.uint8 and img.shape[2] == 3
    with pytest.raises(ValueError, match="toy dataset"):
        theory_state(t.G, t.D, digits(n=20))


@pytest.mark.slow
def test_learned_d_approaches_d_star_and_one_half_on_gaussian1d():
    # Step 0: G's samples sit far from N(4, 0.5^2), so D* ~ 1 on the data while an untrained D is ~1/2.
    # A few hundred steps of the default trainer bring p_g onto p_data: D* falls towards 1/2, JS drops and
    # the gap E_pdata |D - D*| shrinks, with D itself near 1/2 on real and generated samples. (The toy GAN
    # then oscillates around the equilibrium, JS ~0.05-0.3, so the test averages three snapshots.)
    t = _trainer("gaussian1d")
    s0 = theory_state(t.G, t.D, t.data, n=600, n_eval=400)
    assert s0["d_gap"] > 0.4 and s0["js"] > 0.65 and s0["d_star_real"] > 0.95
    gaps, jss = [], []
    for _ in range(3):
        t.train(steps=100)
        s = theory_state(t.G, t.D, t.data, n=600, n_eval=400, prev=s0)
        gaps.append(s["d_gap"])
        jss.append(s["js"])
        assert abs(s["d_real"] - 0.5) < 0.1 and abs(s["d_fake"] - 0.5) < 0.1  # D near 1/2 on both
    assert sum(gaps) / 3 < 0.75 * s0["d_gap"], (s0["d_gap"], gaps)
    assert sum(jss) / 3 < 0.5 * s0["js"], (s0["js"], jss)


def test_knn_js_follows_generated_samples_with_a_sharp_core_and_wide_tails():
    # ring8 (std 0.01) against G samples: 90% on the modes with std 0.015, 10% with std 0.1 around them.
    # Truth by Monte Carlo with both exact densities; a one-bandwidth KDE over-smooths the core here.
    from gan.theory.density import gaussian_mixture_log_prob as gm

    data = load_dataset("ring8")
    g = torch.Generator().manual_seed(0)

    def draw(n):
        k = torch.randint(0, 8, (n,), generator=g)
        wide = torch.rand(n, generator=g) < 0.1
        sd = torch.where(wide, 0.1, 0.015)[:, None]
        return data.modes[k] + sd * torch.randn(n, 2, generator=g)

    def log_pg(x):
        return torch.logaddexp(math.log(0.9) + gm(x, data.modes, 0.015), math.log(0.1) + gm(x, data.modes, 0.1))

    big_r, big_f = data.sampler(100_000, g), draw(100_000)
    truth = js_from_log_probs(data_log_prob(data, big_r), log_pg(big_r), data_log_prob(data, big_f), log_pg(big_f))
    assert 0.05 < truth < 0.3
    est = js_divergence(data, draw(1000), n_real=1000, seed=4)  # k-NN density of the fakes, exact p_data
    assert est == pytest.approx(truth, abs=0.04), (est, truth)


def test_render_2d_survives_a_diverged_discriminator():
    """A NaN D (a run that just diverged) must still render: no arrows (drawing NaN ones is what hung), the same
    picture as with no arrows at all."""
    import torch

    from gan.config import TrainConfig
    from gan.theory.state import theory_state
    from gan.theory.plots import render_2d
    from gan.train.trainer import Trainer

    t = Trainer(TrainConfig(dataset="ring8", batch_size=16, width=8, device="cpu"))
    t.train(steps=2)
    with torch.no_grad():
        next(t.D.parameters()).fill_(float("nan"))
    state = theory_state(t.G, t.D, t.data, seed=0)
    grad = np.asarray(state["arrows"]["grad"])
    assert len(grad) and not np.isfinite(grad).all(1).any()  # D pushes nowhere it can say
    img = render_2d(state)
    none = dict(state, arrows={k: np.asarray(v)[:0] for k, v in state["arrows"].items()})
    assert img.ndim == 3 and np.array_equal(img, render_2d(none))  # so no arrow is drawn
