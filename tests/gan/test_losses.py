import pytest
import torch
import torch.nn.functional as F

from gan.losses import LOSSES, get_loss


def test_bce_matches_sigmoid_bce_and_stays_finite_when_confident():
    real, fake = torch.tensor([0.3, -1.2, 2.0]), torch.tensor([-0.5, 0.7, 1.5])
    ref = F.binary_cross_entropy(torch.sigmoid(real), torch.ones(3)) + \
        F.binary_cross_entropy(torch.sigmoid(fake), torch.zeros(3))
    assert torch.allclose(LOSSES["bce"].d(real, fake), ref, atol=1e-6)
    big = torch.tensor([200.0])
    assert torch.isfinite(LOSSES["bce"].d(-big, big))
    assert torch.isfinite(LOSSES["bce"].g(-big))
    assert torch.isfinite(LOSSES["minimax"].g(big))


def test_minimax_is_log_one_minus_d():
    fake = torch.tensor([0.2, -0.4])
    assert torch.allclose(LOSSES["minimax"].g(fake), torch.log(1 - torch.sigmoid(fake)).mean(), atol=1e-6)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_are_scalars_with_gradients(name):
    real = torch.randn(8, requires_grad=True)
    fake = torch.randn(8, requires_grad=True)
    loss = get_loss(name)
    d, g = loss.d(real, fake), loss.g_loss(fake, real.detach())
    assert d.dim() == 0 and g.dim() == 0
    d.backward()
    assert real.grad is not None and real.grad.abs().sum() > 0


def test_unknown_loss_fails_loudly():
    with pytest.raises(ValueError, match="unknown loss 'nope'; choose from"):
        get_loss("nope")


def test_rpgan_pairs_each_real_with_a_fake():
    from gan.losses import d_relativistic, g_relativistic

    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.0, -1.0])
    # softplus(fake - real) per pair: softplus(-2), softplus(0)
    expected = (torch.nn.functional.softplus(torch.tensor(-2.0)) + torch.log(torch.tensor(2.0))) / 2
    assert float(d_relativistic(real, fake)) == pytest.approx(float(expected))
    assert float(g_relativistic(fake, real)) == pytest.approx(float(d_relativistic(fake, real)))
    assert get_loss("rpgan").relativistic and not get_loss("bce").relativistic


def test_r1_penalty_of_a_linear_d_is_its_squared_weight_norm():
    from gan.losses import r1_penalty
    w = torch.tensor([3.0, -4.0], requires_grad=True)
    x = torch.randn(7, 2)
    pen = r1_penalty(lambda v, y: v @ w, x, None)  # grad_x (x . w) = w for every x
    assert pen.item() == pytest.approx(25.0)
    pen.backward()  # differentiable in D's weights: d|w|^2/dw = 2w
    assert torch.allclose(w.grad, 2 * w.detach())
    assert not x.requires_grad  # the caller's batch is left alone
