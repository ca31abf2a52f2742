"""`gan restore`: the CLI contract (npy and PNG in and out, the mask) and bad inputs as one line, exit 2."""
import json

import numpy as np
import pytest
from PIL import Image

from tests.helpers import run_cli, tiny_config


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A tiny conditional mlp on 200 digits after 2 steps."""
    from gan.checkpoint import save_checkpoint
    from gan.data.images import digits
    from gan.train.trainer import Trainer

    t = Trainer(tiny_config(dataset="digits", model="mlp"), data=digits(n=200, seed=0))
    for _ in range(2):
        t.step()
    return save_checkpoint(t, str(tmp_path_factory.mktemp("restore") / "digits-mlp.pt"))


def test_npy_in_npy_out_keeps_the_given_pixels(ckpt, tmp_path, capsys):
    x = np.random.default_rng(0).uniform(-1, 1, (2, 1, 28, 28)).astype(np.float32)
    mask = np.ones((1, 1, 28, 28), np.float32)
    mask[..., 14:, :] = 0
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "m.npy", mask)
    code, out, err = run_cli(capsys, "restore", "--checkpoint", ckpt, "--task", "inpaint", "--input",
                             tmp_path / "x.npy", "--mask", tmp_path / "m.npy", "--out", tmp_path / "y.npy",
                             "--steps", 3)
    assert code == 0, err
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.float32 and y.shape == (2, 1, 28, 28) and np.abs(y).max() <= 1
    assert np.array_equal(y[..., :14, :], x[..., :14, :])
    report = json.loads(out)
    assert report["task"] == "inpaint" and len(report["classes"]) == 2


def test_superres_from_7x7_and_png_in_png_out(ckpt, tmp_path, capsys):
    np.save(tmp_path / "low.npy", np.zeros((3, 1, 7, 7), np.float32))
    code, _, err = run_cli(capsys, "restore", "--checkpoint", ckpt, "--task", "superres", "--input",
                           tmp_path / "low.npy", "--out", tmp_path / "y.npy", "--steps", 2)
    assert code == 0, err
    assert np.load(tmp_path / "y.npy").shape == (3, 1, 28, 28)
    Image.new("RGB", (50, 40), (250, 250, 250)).save(tmp_path / "in.png")
    code, out, err = run_cli(capsys, "restore", "--checkpoint", ckpt, "--task", "denoise", "--input",
                             tmp_path / "in.png", "--out", tmp_path / "out.png", "--steps", 2)
    assert code == 0, err
    assert Image.open(tmp_path / "out.png").size[0] > 3 * 28  # input, restored, projection side by side


@pytest.mark.parametrize("task,shape,mask,words", [
    ("project", (1, 3, 28, 28), None, "3 channels"),
    ("denoise", (1, 1, 32, 32), None, "28x28"),
    ("superres", (1, 1, 9, 9), None, "whole factor"),
    ("inpaint", (2, 1, 28, 28), (2, 1, 14, 14), "mask must be"),
    ("inpaint", (2, 1, 28, 28), None, "needs a mask"),
])
def test_bad_shapes_exit_2_with_one_line(ckpt, tmp_path, capsys, task, shape, mask, words):
    np.save(tmp_path / "x.npy", np.zeros(shape, np.float32))
    args = ["restore", "--checkpoint", ckpt, "--task", task, "--input", tmp_path / "x.npy", "--out",
            tmp_path / "y.npy"]
    if mask:
        np.save(tmp_path / "m.npy", np.ones(mask, np.float32))
        args += ["--mask", tmp_path / "m.npy"]
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and words in err and err.count("\n") == 1 and not (tmp_path / "y.npy").exists()


def test_a_cyclegan_checkpoint_says_it_has_no_latent(tmp_path, capsys):
    from tests.helpers import EXAMPLES

    np.save(tmp_path / "x.npy", np.zeros((1, 1, 28, 28), np.float32))
    code, _, err = run_cli(capsys, "restore", "--checkpoint", f"{EXAMPLES}/digits2colordigits-cyclegan.pt",
                           "--task", "project", "--input", tmp_path / "x.npy", "--out", tmp_path / "y.npy")
    assert code == 2 and "no latent" in err and err.count("\n") == 1
