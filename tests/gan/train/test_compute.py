"""bf16 autocast, channels_last and torch.compile (gan/train/compute.py): they train, they change only how a step
computes, they are refused where they cannot work, and checkpoints cross between them and plain float32."""
import shutil

import pytest
import torch

from gan.train.compute import Compute
from gan.errors import ConfigError
from gan.train.trainer import Trainer
from tests.helpers import tiny_config


def _params(t):
    return {k: p.detach().clone() for k, p in t.nets["G"].named_parameters()}


def test_bf16_trains_in_float32_weights_and_differs_from_fp32(small_digits):
    plain = Trainer(tiny_config(dataset="digits", model="dcgan"), data=small_digits)
    bf16 = Trainer(tiny_config(dataset="digits", model="dcgan"), data=small_digits, compute=Compute("bf16"))
    before = _params(bf16)
    a, b = plain.train(steps=2), bf16.train(steps=2)
    assert all(torch.isfinite(torch.tensor(v)) for k, v in b.items() if k.endswith("loss"))
    assert all(p.dtype == torch.float32 for net in bf16.nets.values() for p in net.parameters())
    assert any(not torch.equal(before[k], p) for k, p in bf16.nets["G"].named_parameters())  # G moved
    # autocast was on: the numbers differ from float32's, but only by bf16 rounding
    assert a["d_loss"] != b["d_loss"]
    assert b["d_loss"] == pytest.approx(a["d_loss"], rel=0.05)
    assert bf16.sample(4).dtype == torch.float32


def test_channels_last_matches_contiguous_and_its_checkpoint_resumes_plain(small_digits):
    plain = Trainer(tiny_config(dataset="digits", model="dcgan"), data=small_digits)
    cl = Trainer(tiny_config(dataset="digits", model="dcgan"), data=small_digits,
                 compute=Compute(channels_last=True))
    conv = [p for p in cl.nets["D"].parameters() if p.ndim == 4]
    assert conv and all(p.is_contiguous(memory_format=torch.channels_last) for p in conv)
    plain.train(steps=3)
    cl.train(steps=3)
    for (k, p), q in zip(plain.nets["G"].named_parameters(), cl.nets["G"].parameters()):
        torch.testing.assert_close(q, p, rtol=1e-4, atol=1e-5, msg=k)  # same arithmetic, another memory layout
    # a checkpoint written in channels_last (and bf16) resumes in a plain float32 process, exactly
    state = cl.state_dict()
    back = Trainer.from_state(state, data=small_digits)
    assert back.step_count == 3 and back.compute == Compute()
    for k, p in cl.nets["G"].state_dict().items():
        assert torch.equal(back.nets["G"].state_dict()[k], p)
    assert torch.isfinite(torch.tensor(back.train(steps=1)["g_loss"]))


def test_refusals_are_one_clear_line(small_digits, monkeypatch):
    with pytest.raises(ConfigError, match="channels-last is for convolutional models"):
        Trainer(tiny_config(dataset="ring8"), compute=Compute(channels_last=True))
    with pytest.raises(ConfigError, match="unknown precision 'fp8'"):
        Trainer(tiny_config(dataset="ring8"), compute=Compute(precision="fp8"))
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    with pytest.raises(ConfigError, match="off on ZeroGPU"):
        Trainer(tiny_config(dataset="ring8"), compute=Compute(compile=True))


def test_cli_flags_reach_the_trainer_and_refuse_in_one_line(tmp_path, capsys):
    from gan.cli.main import main
    from gan.checkpoint import load_state

    out = tmp_path / "bf16.pt"
    assert main(["train", "--dataset", "digits", "--model", "dcgan", "--width", "8", "--batch-size", "16",
                 "--steps", "2", "--precision", "bf16", "--channels-last", "--quiet", "--no-score",
                 "--device", "cpu", "--out", str(out)]) == 0
    state = load_state(str(out))
    assert state["step"] == 2 and "precision" not in state["train_config"]  # a process setting, not the run's
    capsys.readouterr()
    assert main(["train", "--dataset", "ring8", "--steps", "2", "--channels-last"]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "channels-last is for convolutional models" in err[0]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                    reason="torch.compile on the CPU needs a C compiler")
def test_compiled_nets_train_like_eager_ones_and_keep_their_state_dict_keys():
    eager = Trainer(tiny_config(dataset="ring8", ema=0))
    compiled = Trainer(tiny_config(dataset="ring8", ema=0), compute=Compute(compile=True))
    eager.train(steps=3)
    compiled.train(steps=3)
    assert list(compiled.state_dict()["G"]) == list(eager.state_dict()["G"])  # no _orig_mod. prefix
    for (k, p), q in zip(eager.nets["G"].named_parameters(), compiled.nets["G"].parameters()):
        torch.testing.assert_close(q, p, rtol=1e-4, atol=1e-5, msg=k)
    assert compiled.frozen_nets()["G"](torch.zeros(2, compiled.model_config.z_dim)).shape == (2, 2)
