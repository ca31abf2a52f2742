"""The CLI's Hub side: export / push commands, and sample / mix / translate taking an exported folder."""
import json

import numpy as np
import pytest

from tests.helpers import gan_process, run_cli, tiny_config
from gan.checkpoint import save_checkpoint
from gan.config import TrainConfig
from gan.data.spec import DatasetSpec, register_dataset
from gan.data.pairs import digits2colordigits
from gan.registry import DATASETS
from gan.train.trainer import Trainer


@pytest.fixture(scope="module")
def dcgan_ckpt(tmp_path_factory, small_digits):
    t = Trainer(tiny_config(dataset="digits"), data=small_digits)
    t.train(steps=2)
    return save_checkpoint(t, str(tmp_path_factory.mktemp("ck") / "dc.pt"))


def test_export_then_sample_the_folder_equals_sampling_the_checkpoint(dcgan_ckpt, tmp_path, capsys):
    code, out, err = run_cli(capsys, "export", "--checkpoint", dcgan_ckpt, "--out", tmp_path / "exp")
    assert code == 0, err
    report = json.loads(out)
    assert {"model.safetensors", "config.json", "README.md", "samples.png"} <= set(report["files"])
    for src, name in ((dcgan_ckpt, "a.npy"), (tmp_path / "exp", "b.npy")):
        code, out, err = run_cli(capsys, "sample", "--checkpoint", src, "--n", 6, "--seed", 5, "--out", tmp_path / name)
        assert code == 0, err
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert a.shape == (6, 1, 28, 28) and np.array_equal(a, b)
    code, out, err = run_cli(capsys, "sample", "--checkpoint", str(tmp_path / "exp") + "/", "--n", 2)
    assert code == 0 and json.loads(out)["out"] == str(tmp_path / "exp") + "_samples.png", err
    assert run_cli(capsys, "mix", "--checkpoint", tmp_path / "exp", "--out", tmp_path / "m.npy")[0] == 2


def test_mix_takes_an_exported_stylegan(small_digits, tmp_path, capsys):
    t = Trainer(tiny_config(dataset="digits", model="stylegan", width=4), data=small_digits)
    t.step()
    ckpt = save_checkpoint(t, str(tmp_path / "sg.pt"))
    assert run_cli(capsys, "export", "--checkpoint", ckpt, "--out", tmp_path / "sg")[0] == 0
    for src, name in ((ckpt, "a.npy"), (tmp_path / "sg", "b.npy")):
        code, out, err = run_cli(capsys, "mix", "--checkpoint", src, "--n", 2, "--seed", 3, "--out", tmp_path / name)
        assert code == 0, err
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert a.shape == (3, 3, 1, 28, 28) and np.array_equal(a, b)


@pytest.fixture
def hub_pair():
    pair = digits2colordigits(n=48, n_held=16, seed=0)
    register_dataset(DatasetSpec("hub-tiny-pair", "pair", (1, 28, 28), lambda **_: pair, n_classes=10,
                                 shape_b=(3, 28, 28)))
    yield "hub-tiny-pair", pair
    DATASETS.unregister("hub-tiny-pair")


def test_translate_takes_an_exported_cyclegan(hub_pair, tmp_path, capsys):
    name, pair = hub_pair
    t = Trainer(TrainConfig(dataset=name, width=4, batch_size=4, seed=0, device="cpu", pool=3), data=pair)
    t.step()
    ckpt = save_checkpoint(t, str(tmp_path / "cg.pt"))
    assert run_cli(capsys, "export", "--checkpoint", ckpt, "--out", tmp_path / "cg")[0] == 0
    for src, out in ((ckpt, "a.npz"), (tmp_path / "cg", "b.npz")):
        code, _, err = run_cli(capsys, "translate", "--checkpoint", src, "--direction", "b2a", "--n", 4, "--seed", 1,
                               "--out", tmp_path / out)
        assert code == 0, err
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert a["y"].shape == (4, 1, 28, 28) and np.array_equal(a["y"], b["y"]) and np.array_equal(a["x"], b["x"])
    code, _, err = run_cli(capsys, "sample", "--checkpoint", tmp_path / "cg", "--n", 3, "--out", tmp_path / "s.npy")
    assert code == 0 and np.load(tmp_path / "s.npy").shape[0] == 3, err


def test_push_without_a_token_is_one_line(dcgan_ckpt, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    code, out, err = run_cli(capsys, "push", "--checkpoint", dcgan_ckpt, "--repo", "someone/gan")
    assert code != 0 and out == "" and err.count("\n") == 1 and "no Hugging Face token" in err
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    code, out, err = run_cli(capsys, "push", "--checkpoint", dcgan_ckpt, "--repo", "not-a-repo-id")
    assert code != 0 and err.count("\n") == 1 and "USER/NAME" in err


@pytest.mark.slow
@pytest.mark.parametrize("argv", [["push", "--checkpoint", "CKPT", "--repo", "someone/gan"],
                                  ["sample", "--checkpoint", "someone/some-gan", "--out", "OUT.png"]])
def test_offline_hub_commands_exit_non_zero_without_traceback(argv, dcgan_ckpt, tmp_path):
    argv = [a.replace("CKPT", dcgan_ckpt).replace("OUT", str(tmp_path / "x")) for a in argv]
    p = gan_process(*argv, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), HF_TOKEN="hf_not_a_real_token")
    assert p.returncode != 0 and "Traceback" not in p.stderr and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "Hugging Face Hub" in p.stderr and "offline" in p.stderr, p.stderr
