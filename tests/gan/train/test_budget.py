"""The memory budget (gan/train/budget.py): a step too large for this server is refused from an estimate, in
the library and in the CLI, with a one-line message."""
import pytest

from gan.config import ConfigError, TrainConfig
from gan.train.trainer import Trainer


def test_memory_budget_refuses_in_the_library_and_the_cli(capsys, monkeypatch):
    with pytest.raises(ConfigError, match="per training step; this server allows"):
        Trainer(TrainConfig(dataset="ring8", batch_size=65536, width=4096, device="cpu"))
    monkeypatch.setenv("GAN_MAX_STEP_MB", "1")  # the budget is configurable
    with pytest.raises(ConfigError, match="allows 1 MiB"):
        Trainer(TrainConfig(dataset="ring8", batch_size=4096, width=64, device="cpu"))
    monkeypatch.delenv("GAN_MAX_STEP_MB")
    from gan.cli.main import main
    for args, words in [(["--batch-size", "65536", "--width", "4096"], "per training step"),
                        (["--width", "0"], "width must be >= 1"), (["--z-dim", "100000"], "z_dim must be <="),
                        (["--lr", "inf"], "lr must be a finite number"), (["--lr", "fast"], "lr must be a number"),
                        (["--model", "gpt"], "unknown model 'gpt'")]:
        assert main(["train", "--dataset", "ring8", "--steps", "1", *args]) == 2, args
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, (args, err)
