"""`gan sample` as a synthetic dataset: .npz (x, y balanced over the classes) and .zip (ImageFolder layout with a
README) load back; .npy and .png still work; a bad --out or --classes exits 2 with one line."""
import json
import os
import zipfile

import numpy as np
import pytest
import torchvision

from tests.helpers import EXAMPLES, run_cli, tiny_config

COND = os.path.join(EXAMPLES, "digits-dcgan.pt")  # a class-conditional digits model (10 classes), read only


@pytest.fixture(scope="module")
def uncond(tmp_path_factory):
    """A tiny unconditional digits generator, two steps trained."""
    from gan.checkpoint import save_checkpoint
    from gan.train.trainer import Trainer

    t = Trainer(tiny_config(dataset="digits", model="mlp", conditional=False))
    t.train(steps=2)
    path = str(tmp_path_factory.mktemp("uncond") / "u.pt")
    save_checkpoint(t, path)
    return path


def test_npz_of_a_conditional_model_is_balanced_and_in_range(tmp_path, capsys):
    out = tmp_path / "d.npz"
    code, stdout, err = run_cli(capsys, "sample", "--checkpoint", COND, "--n", 50, "--seed", 3, "--out", out)
    assert code == 0, err
    z = np.load(out)
    assert z["x"].shape == (50, 1, 28, 28) and z["x"].dtype == np.float32
    assert z["x"].min() >= -1 and z["x"].max() <= 1
    assert z["y"].dtype == np.int64 and np.bincount(z["y"]).tolist() == [5] * 10
    assert json.loads(stdout)["classes"] == list(range(10))


def test_classes_flag_draws_only_those_classes(tmp_path, capsys):
    out = tmp_path / "d.npz"
    code, _, err = run_cli(capsys, "sample", "--checkpoint", COND, "--n", 9, "--classes", "7,2", "--out", out)
    assert code == 0, err
    assert sorted(np.load(out)["y"].tolist()) == [2] * 5 + [7] * 4


def test_zip_is_an_image_folder_with_a_readme(tmp_path, capsys):
    out = tmp_path / "d.zip"
    code, _, err = run_cli(capsys, "sample", "--checkpoint", COND, "--n", 30, "--seed", 5, "--out", out)
    assert code == 0, err
    with zipfile.ZipFile(out) as z:
        about = z.read("README.txt").decode()
        z.extractall(tmp_path / "unzipped")
    assert "step:" in about and "seed: 5" in about and "dcgan" in about
    folder = torchvision.datasets.ImageFolder(str(tmp_path / "unzipped"))
    assert len(folder) == 30 and folder.classes == [str(c) for c in range(10)]
    image, label = folder[13]
    drawn = int(os.path.basename(folder.samples[13][0]).split(".")[0])  # the sample's number: drawn for drawn % 10
    assert image.size == (28, 28) and label == drawn % 10 and label == 13 // 3


def test_unconditional_model_writes_one_folder_and_npz_without_y(uncond, tmp_path, capsys):
    code, _, err = run_cli(capsys, "sample", "--checkpoint", uncond, "--n", 12, "--out", tmp_path / "u.zip")
    assert code == 0, err
    with zipfile.ZipFile(tmp_path / "u.zip") as z:
        folders = {n.split("/")[0] for n in z.namelist() if "/" in n}
    assert folders == {"samples"}
    assert run_cli(capsys, "sample", "--checkpoint", uncond, "--n", 12, "--out", tmp_path / "u.npz")[0] == 0
    assert set(np.load(tmp_path / "u.npz").files) == {"x"}
    code, _, err = run_cli(capsys, "sample", "--checkpoint", uncond, "--classes", "1", "--out", tmp_path / "v.npz")
    assert code == 2 and "unconditional" in err


def test_npy_and_png_still_work(tmp_path, capsys):
    assert run_cli(capsys, "sample", "--checkpoint", COND, "--n", 20, "--out", tmp_path / "s.npy")[0] == 0
    assert np.load(tmp_path / "s.npy").shape == (20, 1, 28, 28)
    assert run_cli(capsys, "sample", "--checkpoint", COND, "--out", tmp_path / "s.png")[0] == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args,words", [
    (["--out", "x.txt"], "must end in .npy, .png, .npz or .zip"),
    (["--out", "x.npz", "--classes", "3,x"], "comma-separated class numbers"),
    (["--out", "x.npz", "--classes", "12"], "not among the model's classes"),
    (["--out", "x.png", "--classes", "1"], "goes with a dataset output"),
])
def test_bad_out_or_classes_exit_2_with_one_line(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "sample", "--checkpoint", COND, *args)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1
