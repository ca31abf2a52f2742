"""gan.restore.degrade: each task's input checks refuse bad shapes in one line, and the degradations do what
their names say."""
import pytest
import torch

from gan.errors import ConfigError
from gan.restore.degrade import check_task, degrade, psnr

SHAPE = (1, 28, 28)


@pytest.mark.parametrize("task,x,mask,words", [
    ("blur", torch.zeros(1, 1, 28, 28), None, "task must be one of"),
    ("project", torch.zeros(1, 28, 28), None, "(N, C, H, W)"),
    ("project", torch.zeros(1, 3, 28, 28), None, "3 channels"),
    ("denoise", torch.zeros(1, 1, 27, 27), None, "must be 28x28"),
    ("project", torch.full((1, 1, 28, 28), 2.0), None, "[-1, 1]"),
    ("superres", torch.zeros(1, 1, 9, 9), None, "whole factor"),
    ("superres", torch.zeros(1, 1, 7, 14), None, "whole factor"),
    ("inpaint", torch.zeros(2, 1, 28, 28), None, "needs a mask"),
    ("inpaint", torch.zeros(2, 1, 28, 28), torch.ones(3, 1, 28, 28), "mask must be"),
    ("inpaint", torch.zeros(2, 1, 28, 28), torch.ones(1, 1, 14, 14), "mask must be"),
    ("inpaint", torch.zeros(2, 1, 28, 28), torch.full((1, 1, 28, 28), 0.5), "only 0"),
    ("project", torch.zeros(1, 1, 28, 28), torch.ones(1, 1, 28, 28), "inpaint only"),
])
def test_bad_inputs_are_refused_in_one_line(task, x, mask, words):
    with pytest.raises(ConfigError) as e:
        check_task(task, x, SHAPE, mask)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_superres_factor_follows_from_the_shapes():
    assert check_task("superres", torch.zeros(2, 1, 7, 7), SHAPE).factor == 4
    assert check_task("superres", torch.zeros(2, 1, 14, 14), SHAPE).factor == 2
    t = check_task("inpaint", torch.zeros(3, 1, 28, 28), SHAPE, torch.ones(1, 1, 28, 28))
    assert t.mask.shape == (3, 1, 28, 28)


def test_degradations():
    x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    mask = torch.ones(1, 1, 28, 28)
    mask[..., 14:, :] = 0
    hole = degrade(x, "inpaint", mask=mask)
    assert torch.equal(hole[..., :14, :], x[..., :14, :]) and bool((hole[..., 14:, :] == -1).all())
    low = degrade(x, "superres", factor=4)
    assert low.shape == (2, 1, 7, 7) and torch.allclose(low[0, 0, 0, 0], x[0, 0, :4, :4].mean())
    noisy = degrade(x, "denoise", sigma=0.5, seed=3)
    assert torch.equal(noisy, degrade(x, "denoise", sigma=0.5, seed=3)) and float(noisy.abs().max()) <= 1
    assert float(psnr(noisy, x).mean()) < float(psnr(x + 0.01, x).mean())
