"""The `gan` command: bad flags exit 2 with one line, train / sample / info round-trip, a shipped example is never
written over, and what a new user meets: a file that is not a checkpoint, a flag that contradicts the
checkpoint, an offline MNIST, a folder of mixed images."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import EXAMPLES, ROOT, run_cli
from tests.helpers import gan_process as run
from gan.checkpoint import load_state


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


@pytest.mark.slow
def test_bad_value_through_a_real_process_exits_2():
    r = run("train", "--dataset", "ring8", "--lr", "-1")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "lr must be > 0" in r.stderr


@pytest.mark.slow
def test_train_sample_info_round_trip(tmp_path, capsys):
    """Trains in a real process, then samples, reads and resumes its checkpoint with `gan` in this process (each
    child costs ~2 s of torch import; test_bad_value_through_a_real_process covers the entry point's exit)."""
    ckpt = str(tmp_path / "ring.pt")
    r = run("train", "--dataset", "ring8", "--steps", "30", "--batch-size", "32", "--out", ckpt)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["step"] == 30
    assert "step" in r.stderr  # the progress bar
    npy = str(tmp_path / "s.npy")
    code, out, err = run_cli(capsys, "sample", "--checkpoint", ckpt, "--n", "100", "--out", npy)
    assert code == 0, err
    x = np.load(npy)
    assert x.shape == (100, 2) and x.dtype == np.float32
    assert json.loads(out)["score"]["n_modes"] == 8
    png = str(tmp_path / "s.png")
    assert run_cli(capsys, "sample", "--checkpoint", ckpt, "--out", png)[0] == 0
    assert open(png, "rb").read(4) == b"\x89PNG"
    info = json.loads(run_cli(capsys, "info", "--checkpoint", ckpt)[1])
    assert info["step"] == 30 and info["model_config"]["model"] == "toy" and "d_loss" in info["last"]
    code, out, err = run_cli(capsys, "train", "--dataset", "ring8", "--steps", "5", "--resume", ckpt, "--quiet")
    assert code == 0 and json.loads(out)["step"] == 35, err


@pytest.mark.slow
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



# ---- as a new user meets it ---------------------------------------------------------------------------------
def test_sample_of_a_non_checkpoint_says_what_the_file_is_and_never_suggests_unsafe_loading(tmp_path, capsys):
    from gan.cli.main import main

    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(4096))
    real = tmp_path / "ring.pt"
    assert main(["train", "--dataset", "ring8", "--steps", "2", "--batch-size", "16", "--width", "8", "--out",
                 str(real), "--quiet", "--no-score"]) == 0
    cut = tmp_path / "cut.pt"
    cut.write_bytes(real.read_bytes()[:3000])
    capsys.readouterr()
    readme = Path(ROOT) / "README.md"
    for path, words in ((readme, "'README.md' is not a checkpoint: it is not a PyTorch file (it is text)"),
                        (junk, "'junk.pt' is not a checkpoint"), (cut, "'cut.pt' is truncated or corrupt")):
        assert main(["sample", "--checkpoint", str(path), "--out", str(tmp_path / "s.png")]) == 2
        err = capsys.readouterr().err
        assert words in err, err
        assert "weights_only" not in err and "possibly code" not in err and "Traceback" not in err, err
        assert err.strip().count("\n") == 0, err


def test_resume_refuses_a_flag_that_contradicts_the_checkpoint(tmp_path, capsys):
    from gan.cli.main import build_parser, main

    ckpt = tmp_path / "ring8.pt"
    assert main(["train", "--dataset", "ring8", "--steps", "2", "--batch-size", "16", "--width", "8", "--out",
                 str(ckpt), "--quiet", "--no-score"]) == 0
    before = ckpt.read_bytes()
    capsys.readouterr()
    assert main(["train", "--dataset", "grid25", "--resume", str(ckpt), "--steps", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--dataset grid25 contradicts" in err and "ring8" in err, err
    assert main(["train", "--width", "32", "--resume", str(ckpt), "--steps", "2", "--quiet"]) == 2
    assert "--width 32 contradicts" in capsys.readouterr().err
    assert ckpt.read_bytes() == before  # nothing was trained or written
    sub = build_parser()._subparsers._group_actions[0].choices["train"]
    assert "MORE steps" in " ".join(sub.format_help().split())


def test_offline_mnist_creates_no_folders(tmp_path, monkeypatch, capsys):
    from gan.cli.main import main

    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):  # offline even where there is a network
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    for args in (["--dataset", "mnist"], ["--dataset", "fashion-mnist"],
                 ["--dataset", "mnist", "--data-dir", str(tmp_path / "nowhere" / "deeper")]):
        assert main(["train", *args, "--steps", "1", "--quiet", "--no-score"]) == 2
        err = capsys.readouterr().err
        assert "download failed" in err and "--data-dir" in err, err
    assert sorted(os.listdir(tmp_path)) == [], f"created: {sorted(os.listdir(tmp_path))}"


def test_cli_trains_on_a_folder_of_mixed_images_skipping_other_files(tmp_path, capsys):
    from PIL import Image
    img = tmp_path / "imgs"
    (img / "sub").mkdir(parents=True)
    Image.new("RGB", (20, 30), (255, 0, 0)).save(img / "a.png")
    Image.new("L", (12, 12), 90).save(img / "sub" / "b.jpg")
    Image.new("RGBA", (40, 16), (0, 0, 255, 100)).save(img / "c.png")
    (img / "notes.txt").write_text("hello")
    from gan.cli.main import main
    out = str(tmp_path / "f.pt")
    assert main(["train", "--dataset", f"folder:{img}", "--steps", "2", "--batch-size", "2", "--width", "8",
                 "--image-size", "16", "--out", out, "--quiet"]) == 0
    st = load_state(out)
    assert st["step"] == 2 and tuple(st["model_config"]["data_shape"]) == (3, 16, 16)
    from gan.data.spec import load_dataset
    assert load_dataset(f"folder:{img}", image_size=16).info == {"images": 3, "skipped": 1}
