"""The CAS judge's training shifts (gan.metrics.classifier._shifted): whole-pixel moves within the bound, content
kept, background filled, offsets drawn per image."""
import torch

from gan.metrics.classifier import _shifted


def test_each_image_moves_by_its_own_offset_within_the_bound_and_keeps_its_ink():
    x = torch.full((64, 1, 9, 9), -1.0)
    x[:, 0, 3:6, 4] = 1.0  # a short stroke in the middle: 3 ink pixels, far enough from every edge
    out = _shifted(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert torch.equal((out == 1).sum((1, 2, 3)), torch.full((64,), 3))  # the stroke survives whole
    assert set(out.unique().tolist()) == {-1.0, 1.0}  # moved by whole pixels, the new border is background
    rows = torch.stack([(o[0] == 1).nonzero()[0] for o in out])  # the stroke's top pixel per image
    dy, dx = rows[:, 0] - 3, rows[:, 1] - 4
    assert dy.abs().max() <= 2 and dx.abs().max() <= 2
    assert len(set(zip(dy.tolist(), dx.tolist()))) > 10  # per image: many of the 25 offsets appear
    assert torch.equal(_shifted(x, 2, torch.Generator().manual_seed(0)), out)  # seeded
