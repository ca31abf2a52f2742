import json
import os

import numpy as np
import pytest

from tests.helpers import EXAMPLES
from tests.helpers import gan_process as run


@pytest.mark.parametrize("args,words", [
    (["train", "--dataset", "ring8", "--lr", "-0.1"], "lr must be > 0"),
    (["train", "--dataset", "ring8", "--lr", "nan"], "lr must be a finite number"),
    (["train", "--dataset", "ring8", "--batch-size", "0"], "batch_size must be >= 1"),
    (["train", "--dataset", "ring8", "--batch-size", "many"], "batch_size must be a whole number"),
    (["train", "--dataset", "nope"], "unknown dataset 'nope'"),
    (["train", "--dataset", "ring8", "--loss", "magic"], "unknown loss 'magic'"),
    (["train", "--dataset", "ring8", "--r1", "-2"], "r1 must be >= 0"),
    (["train", "--dataset", "ring8", "--lr-d-mult", "0"], "lr_d_mult must be > 0"),
    (["train", "--dataset", "ring8", "--steps", "5", "--seconds", "3"], "not allowed with argument"),
    (["train", "--dataset", "ring8", "--seconds", "-1"], "seconds must be > 0"),
    (["train", "--dataset", "ring8", "--bogus"], "unrecognized arguments: --bogus"),
    (["sample", "--checkpoint", "/nonexistent.pt", "--out", "x.npy"], "does not exist"),
])
def test_bad_flags_exit_2_with_one_line(args, words, capsys):
    from gan.cli.main import main
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert words in lines[0] and "Traceback" not in err


def test_bad_value_through_a_real_process_exits_2():
    r = run("train", "--dataset", "ring8", "--lr", "-1")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "lr must be > 0" in r.stderr


def test_train_sample_info_round_trip(tmp_path):
    ckpt = str(tmp_path / "ring.pt")
    r = run("train", "--dataset", "ring8", "--steps", "30", "--batch-size", "32", "--out", ckpt)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["step"] == 30
    assert "step" in r.stderr  # the progress bar
    npy = str(tmp_path / "s.npy")
    r = run("sample", "--checkpoint", ckpt, "--n", "100", "--out", npy)
    assert r.returncode == 0, r.stderr
    x = np.load(npy)
    assert x.shape == (100, 2) and x.dtype == np.float32
    assert json.loads(r.stdout)["score"]["n_modes"] == 8
    png = str(tmp_path / "s.png")
    assert run("sample", "--checkpoint", ckpt, "--out", png).returncode == 0
    assert open(png, "rb").read(4) == b"\x89PNG"
    r = run("info", "--checkpoint", ckpt)
    info = json.loads(r.stdout)
    assert info["step"] == 30 and info["model_config"]["model"] == "toy" and "d_loss" in info["last"]
    r = run("train", "--dataset", "ring8", "--steps", "5", "--resume", ckpt, "--quiet")
    assert r.returncode == 0 and json.loads(r.stdout)["step"] == 35


def test_resuming_a_shipped_example_never_writes_over_it(tmp_path):
    """`train --resume checkpoints/examples/X.pt` writes checkpoints/<dataset>.pt; the example stays as shipped."""
    import shutil

    (tmp_path / "examples").mkdir()
    example = tmp_path / "examples" / "ring8-toy.pt"
    shutil.copy(os.path.join(EXAMPLES, "ring8-toy.pt"), example)
    before = example.read_bytes()
    r = run("train", "--resume", str(example), "--steps", "3", "--quiet", "--no-score", cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert example.read_bytes() == before
    assert json.loads(r.stdout.strip().splitlines()[-1])["checkpoint"] == os.path.join("checkpoints", "ring8.pt")
    assert (tmp_path / "checkpoints" / "ring8.pt").exists()
