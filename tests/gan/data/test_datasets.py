import gzip

import numpy as np
import pytest
import torch

from gan.data.spec import BatchStream, DatasetError, load_dataset
from gan.metrics.modes import mode_score


@pytest.mark.parametrize("name,shape", [("gaussian1d", (1,)), ("ring8", (2,)), ("grid25", (2,)), ("spiral", (2,))])
def test_toy_sets_sample_in_data_coordinates(name, shape):
    data = load_dataset(name)
    x = data.sampler(500, torch.Generator().manual_seed(0))
    assert x.shape == (500, *shape) and torch.isfinite(x).all()
    if data.modes is not None:  # real samples score perfectly under the benchmark protocol
        s = mode_score(data.sampler(2500, torch.Generator().manual_seed(1)), data.modes, data.std)
        assert s["modes"] == data.modes.shape[0] and s["high_quality"] > 0.98


def test_ring8_and_grid25_have_the_published_parameters():
    r, g = load_dataset("ring8"), load_dataset("grid25")
    assert r.std == 0.01 and g.std == 0.05
    assert torch.allclose(r.modes.norm(dim=1), torch.ones(8))
    assert sorted(set(g.modes[:, 0].tolist())) == [-4, -2, 0, 2, 4] and g.modes.shape == (25, 2)


def test_digits_dataset_is_labelled_images(small_digits):
    assert small_digits.x.shape == (200, 1, 28, 28) and small_digits.n_classes == 10
    assert small_digits.x.min() >= -1 and small_digits.x.max() <= 1


def _write_idx(path, arr, gz):
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_whichever_idx_splits_are_present(tmp_path, gz):
    ext = ".gz" if gz else ""
    imgs = np.random.RandomState(0).randint(0, 256, (30, 28, 28))
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{ext}", imgs, gz)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{ext}", np.arange(30) % 10, gz)
    data = load_dataset("mnist", data_dir=str(tmp_path))
    assert data.x.shape == (30, 1, 28, 28) and data.n_classes == 10
    assert torch.allclose(data.x[0, 0], torch.from_numpy(imgs[0]).float() / 127.5 - 1)
    assert data.y.tolist() == (np.arange(30) % 10).tolist()


def test_mnist_offline_without_files_says_where_to_put_them(tmp_path, monkeypatch):
    def offline(*a, **k):
        raise OSError("network is unreachable")
    import torchvision
    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(DatasetError, match="Put train-images-idx3-ubyte.gz"):
        load_dataset("mnist", data_dir=str(tmp_path))


def test_truncated_idx_file_is_reported(tmp_path):
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((5, 28, 28)), False)
    p = tmp_path / "t10k-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="truncated"):
        load_dataset("mnist", data_dir=str(tmp_path))


def test_folder_of_mixed_images_is_resized_and_non_images_counted(tmp_path):
    from PIL import Image
    Image.new("RGB", (40, 30), (255, 0, 0)).save(tmp_path / "a.png")
    Image.new("L", (20, 50), 128).save(tmp_path / "b.jpg")
    Image.new("RGBA", (64, 64), (0, 0, 255, 128)).save(tmp_path / "c.png")
    (tmp_path / "notes.txt").write_text("not an image")
    data = load_dataset(f"folder:{tmp_path}", image_size=16)
    assert data.x.shape == (3, 3, 16, 16) and data.info["skipped"] == 1
    assert data.x[0, 0].mean() > 0.9 and data.x[0, 2].mean() < -0.9  # the red one stays red


def test_a_folder_of_grey_images_trains_the_mlp_and_a_colour_one_dcgan(tmp_path):
    from PIL import Image

    from gan.train.trainer import Trainer
    from tests.helpers import tiny_config

    for mode, sub in (("L", "grey"), ("RGB", "colour")):
        (tmp_path / sub).mkdir()
        for i in range(4):
            Image.new(mode, (16, 16), (40 * i,) * (1 if mode == "L" else 3)).save(tmp_path / sub / f"{i}.png")
    models = {}
    for sub in ("grey", "colour"):
        t = Trainer(tiny_config(dataset=f"folder:{tmp_path / sub}", image_size=16, batch_size=4))
        t.train(steps=1)
        models[sub] = (t.cfg.model, t.model_config.model, tuple(t.data.shape), t.cfg.loss, t.cfg.r2)
    assert models == {"grey": ("mlp", "mlp", (1, 16, 16), "bce", 0.0),
                      "colour": ("dcgan", "dcgan", (3, 16, 16), "rpgan", 1.0)}  # colour: R3GAN's recipe


def test_empty_folder_and_unknown_name_fail_clearly(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DatasetError, match="no images found"):
        load_dataset(f"folder:{tmp_path}")
    from gan.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown dataset 'nope'; choose from .*ring8.* or folder:PATH"):
        load_dataset("nope")


def test_batch_stream_covers_an_epoch_without_repeats(small_digits):
    s = BatchStream(small_digits, 50)
    g = torch.Generator().manual_seed(0)
    seen = torch.cat([s.next(g)[1] for _ in range(4)])
    assert s.epoch == 0 and seen.shape == (200,)
    assert torch.equal(torch.sort(seen).values, torch.sort(small_digits.y).values)
    s.next(g)
    assert s.epoch == 1


def test_measured_defaults_reach_the_train_form():
    """Issue 18's measured defaults live in the registry and are what the app's Train form shows for 'auto'."""
    from demo.present import control_defaults
    from gan.family import train_defaults

    assert train_defaults("mnist")["model"] == "mlp" and train_defaults("fashion-mnist")["model"] == "dcgan"
    assert train_defaults("digits")["model"] == "mlp"
    assert train_defaults("folder:/x")["model"] == "dcgan"  # before loading: colour at most
    from gan.data.spec import Dataset

    grey = Dataset("folder:/x", "image", (1, 32, 32), x=torch.zeros(4, 1, 32, 32))
    colour = Dataset("folder:/x", "image", (3, 32, 32), x=torch.zeros(4, 3, 32, 32))
    assert train_defaults("folder:/x", data=grey)["model"] == "mlp"  # measured: grey folders train best as mlp
    assert train_defaults("folder:/x", data=colour)["model"] == "dcgan"
    recipe = {k: train_defaults("folder:/x", data=colour)[k] for k in ("loss", "r1", "r2", "r1_every", "width")}
    assert recipe == {"loss": "rpgan", "r1": 1.0, "r2": 1.0, "r1_every": 4, "width": 32}  # measured on colour folders
    assert train_defaults("folder:/x", "dcgan", data=grey)["loss"] == "bce"  # the recipe is for colour images
    assert train_defaults("folder:/x", "mlp", data=colour)["loss"] == "bce"  # and for dcgan only
    assert control_defaults("upload:x-1234", data=colour)["loss"] == "rpgan"  # the page shows what will train
    assert train_defaults("folder:/x", "dcgan", data=grey)["model"] == "dcgan"  # a chosen model is kept
    assert train_defaults("ring8")["lr"] == 2e-3 and train_defaults("grid25")["lr"] == 1e-3
    assert train_defaults("ring8")["ema"] == 0.997 and train_defaults("grid25")["ema"] == 0.999
    assert control_defaults("ring8", "auto")["lr"] == 2e-3
    assert control_defaults("mnist", "dcgan")["width"] == train_defaults("mnist", "dcgan")["width"]


def test_default_model_is_what_a_run_without_a_model_trains_and_none_for_an_unknown_set():
    from gan.config import TrainConfig
    from gan.family import default_model
    from gan.train.trainer import Trainer

    for name in ("ring8", "digits"):
        assert default_model(name) == Trainer(TrainConfig(dataset=name, device="cpu", batch_size=8)).cfg.model
    assert default_model("no-such-set") is None


def test_callers_asking_for_a_set_while_it_loads_wait_for_that_load(monkeypatch):
    """The app's examples digits-dcgan and digits-stylegan ask for digits at once: one draws it, the other waits."""
    import threading
    import time

    import gan.data.spec as spec

    loads = []

    def slow(name, **kw):
        loads.append(name)
        time.sleep(0.3)
        return load_dataset(name, **kw)
    monkeypatch.setattr(spec, "load_dataset", slow)
    monkeypatch.setattr(spec, "_CACHE", type(spec._CACHE)())
    got = []
    threads = [threading.Thread(target=lambda: got.append(spec.cached_dataset("ring8", seed=7))) for _ in range(4)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert loads == ["ring8"] and len(got) == 4 and all(d is got[0] for d in got) and not spec._LOADING

    def broken(name, **kw):
        loads.append(name)
        raise DatasetError("no such files")
    monkeypatch.setattr(spec, "load_dataset", broken)  # a failed load is not kept: the next caller tries again
    for _ in range(2):
        with pytest.raises(DatasetError):
            spec.cached_dataset("gaussian1d")
    assert loads == ["ring8", "gaussian1d", "gaussian1d"] and not spec._LOADING
