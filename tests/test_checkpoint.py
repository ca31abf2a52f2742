import os
import pickle

import pytest
import torch

from conftest import tiny_config
from gan.checkpoint import CheckpointError, load_generator, load_state, load_trainer, save_checkpoint
from gan.trainer import Trainer


def _flat(m):
    return torch.cat([p.detach().flatten() for p in m.state_dict().values() if p.is_floating_point()])


@pytest.mark.parametrize("dataset", ["ring8", "digits"])
def test_resume_continues_exactly(tmp_path, dataset, small_digits):
    data = small_digits if dataset == "digits" else None
    cfg = tiny_config(dataset=dataset, loss="wgan-gp" if dataset == "ring8" else "bce")
    straight = Trainer(cfg, data=data)
    straight.train(steps=6)
    half = Trainer(cfg, data=data)
    half.train(steps=3)
    path = save_checkpoint(half, str(tmp_path / "run.pt"))
    resumed = load_trainer(path) if data is None else _resume_with(path, data)
    assert resumed.step_count == 3
    resumed.train(steps=3)
    for a, b in [(straight.G, resumed.G), (straight.D, resumed.D), (straight.G_ema, resumed.G_ema)]:
        assert torch.equal(_flat(a), _flat(b))
    timing = {"images_per_s"}  # wall-clock speed is the one series that may differ
    a, b = straight.history.columns(), resumed.history.columns()
    assert {k: v for k, v in a.items() if k not in timing} == {k: v for k, v in b.items() if k not in timing}


def _resume_with(path, data):
    from gan.checkpoint import model_config
    from gan.config import TrainConfig, from_dict
    state = load_state(path)
    t = Trainer(from_dict(TrainConfig, dict(state["train_config"])), data=data, model_config=model_config(state))
    t.load_state_dict(state)
    return t


def test_checkpoint_is_weights_only_and_self_describing(tmp_path):
    t = Trainer(tiny_config(dataset="ring8"))
    t.train(steps=2)
    path = save_checkpoint(t, str(tmp_path / "a.pt"))
    raw = torch.load(path, weights_only=True)
    assert raw["step"] == 2 and raw["model_config"]["model"] == "toy"
    for key in ("G", "D", "G_ema", "opt_g", "opt_d", "rng", "history", "train_config", "stream"):
        assert key in raw
    g = load_generator(raw)
    assert torch.allclose(g(torch.zeros(3, 8)), t.G_ema(torch.zeros(3, 8)))
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_code_smuggling_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "gan-lab-checkpoint", "payload": _Evil(str(marker))}, path)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="refused"):
        load_state(str(path))
    assert not marker.exists(), "the pickle's code ran"
    # a bare pickle (not a torch zip) is refused the same way
    with open(tmp_path / "evil2.pt", "wb") as f:
        pickle.dump(_Evil(str(marker)), f)
    with pytest.raises(CheckpointError):
        load_state(str(tmp_path / "evil2.pt"))
    assert not marker.exists()


def test_truncated_foreign_and_unknown_model_checkpoints(tmp_path):
    t = Trainer(tiny_config(dataset="ring8"))
    good = save_checkpoint(t, str(tmp_path / "good.pt"))
    data = open(good, "rb").read()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_state(str(tmp_path / "trunc.pt"))
    torch.save({"state_dict": {"w": torch.zeros(2)}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a checkpoint of this app"):
        load_state(str(tmp_path / "foreign.pt"))
    state = torch.load(good, weights_only=True)
    state["model_config"]["model"] = "stylegan9"
    torch.save(state, tmp_path / "alien.pt")
    with pytest.raises(CheckpointError, match="unknown model 'stylegan9'"):
        load_state(str(tmp_path / "alien.pt"))
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_state(str(tmp_path / "empty.pt"))
