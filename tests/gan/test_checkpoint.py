import os
import pickle

import pytest
import torch

from tests.helpers import Evil, tiny_config
from gan.checkpoint import CheckpointError, load_generator, load_state, load_trainer, save_checkpoint
from gan.train.trainer import Trainer


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


def test_code_smuggling_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "gan-lab-checkpoint", "payload": Evil(str(marker))}, path)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="refused"):
        load_state(str(path))
    assert not marker.exists(), "the pickle's code ran"
    # a bare pickle (not a torch zip) is refused the same way
    with open(tmp_path / "evil2.pt", "wb") as f:
        pickle.dump(Evil(str(marker)), f)
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


# ---- what the message says about a file that is not a usable checkpoint -----------------------------------------
class _Exec:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('x')",))


def _refusal(path):
    with pytest.raises(CheckpointError) as e:
        load_state(str(path))
    msg = str(e.value)
    assert "\n" not in msg and "weights_only" not in msg and "trust" not in msg, msg
    return msg


def test_text_random_bytes_images_and_other_zips_are_not_pytorch_files(tmp_path):
    import random
    import zipfile

    from PIL import Image

    (tmp_path / "README.md").write_text("# GAN lab\n\nTrain a GAN in your browser.\n")
    assert _refusal(tmp_path / "README.md") == "'README.md' is not a checkpoint: it is not a PyTorch file (it is text)"
    noise = bytearray(random.Random(0).randbytes(4096))
    noise[0] = 0x13  # neither a zip nor a pickle header
    (tmp_path / "noise.pt").write_bytes(bytes(noise))
    assert _refusal(tmp_path / "noise.pt") == "'noise.pt' is not a checkpoint: it is not a PyTorch file"
    Image.new("RGB", (4, 4)).save(tmp_path / "pic.pt", "PNG")
    assert _refusal(tmp_path / "pic.pt") == "'pic.pt' is not a checkpoint: it is not a PyTorch file (it is a PNG image)"
    with zipfile.ZipFile(tmp_path / "photos.pt", "w") as z:
        z.writestr("a.txt", "hi")
    assert _refusal(tmp_path / "photos.pt") == ("'photos.pt' is not a checkpoint: it is a zip archive, "
                                                "not a PyTorch file")
    with open(tmp_path / "plain.pt", "wb") as f:
        pickle.dump({"step": 3, "w": [1.0, 2.0]}, f)
    assert _refusal(tmp_path / "plain.pt") == ("'plain.pt' is not a checkpoint: it is a plain Python pickle, "
                                               "not a PyTorch file")


def test_truncated_and_corrupt_files_say_so_in_one_line(tmp_path):
    torch.save({"w": torch.arange(100.0)}, tmp_path / "full.pt")
    data = (tmp_path / "full.pt").read_bytes()
    (tmp_path / "half.pt").write_bytes(data[: len(data) // 2])
    assert _refusal(tmp_path / "half.pt").startswith("'half.pt' is truncated or corrupt (")
    torch.save({"w": torch.arange(100.0)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    data = (tmp_path / "legacy.pt").read_bytes()
    (tmp_path / "legacy_half.pt").write_bytes(data[: len(data) // 2])
    assert _refusal(tmp_path / "legacy_half.pt").startswith("'legacy_half.pt' is truncated or corrupt (")


def test_a_legacy_format_checkpoint_still_loads(tmp_path):
    t = Trainer(tiny_config(dataset="ring8"))
    state = torch.load(save_checkpoint(t, str(tmp_path / "new.pt")), weights_only=True)
    torch.save(state, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    assert load_state(str(tmp_path / "old.pt"))["step"] == 0


@pytest.mark.parametrize("how", ["pickle", "pickle-protocol-2", "torch.save", "torch.save-legacy"])
def test_code_carrying_files_name_the_global_and_never_suggest_turning_safety_off(tmp_path, how):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pt"
    payload = {"format": "gan-lab-checkpoint", "x": _Exec(str(marker))}
    if how.startswith("pickle"):
        with open(path, "wb") as f:
            pickle.dump(payload, f, protocol=2 if how.endswith("2") else pickle.DEFAULT_PROTOCOL)
    else:
        torch.save(payload, path, _use_new_zipfile_serialization=not how.endswith("legacy"))
    assert _refusal(path) == ("refused 'evil.pt': it carries Python code or objects (e.g. `builtins.exec`) "
                              "that a checkpoint never needs; it was not loaded")
    assert not marker.exists(), "the pickle's code ran"
