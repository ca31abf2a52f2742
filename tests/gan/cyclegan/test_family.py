"""CycleGAN through the family seam: pair datasets, two-step training, exact resume, translate, the pair meter
and the CLI (gan/data/pairs.py, gan/cyclegan/family.py, gan/metrics/translation.py, gan/cli/translate.py)."""
import gzip
import json
import math

import numpy as np
import pytest
import torch

from gan.checkpoint import load_sampler, load_state, save_checkpoint
from gan.config import TrainConfig
from gan.data.colordigits import colorize
from gan.cyclegan.nets import to_domain, translate
from gan.data.spec import DatasetError, DatasetSpec, load_dataset, register_dataset
from gan.losses import LOSSES
from gan.metrics.translation import PairMeter
from gan.metrics.advice import translation_warning
from gan.data.pairs import digits2colordigits, held_out, load_held_out
from gan.registry import DATASETS
from gan.metrics.scores import build_meter, score
from gan.train.trainer import Trainer
from tests.helpers import run_cli

ROLES = ("G_ab", "G_ba", "D_a", "D_b")


@pytest.fixture(scope="module")
def pair():
    return digits2colordigits(n=64, n_held=24, seed=0)


@pytest.fixture
def tiny_pair(pair):
    """A registered 'tiny-pair' dataset (the small pair above), so the CLI can load it by name."""
    register_dataset(DatasetSpec("tiny-pair", "pair", (1, 28, 28), lambda **_: pair, n_classes=10,
                                 shape_b=(3, 28, 28)))
    yield "tiny-pair"
    DATASETS.unregister("tiny-pair")


def tiny(pair, **kw):
    base = dict(dataset="digits2colordigits", width=4, batch_size=4, seed=0, device="cpu", pool=3)
    return Trainer(TrainConfig(**{**base, **kw}), data=pair)


def flat(net):
    return torch.cat([p.detach().flatten().clone() for p in net.parameters()])


@pytest.mark.slow
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_two_steps_move_every_net(pair, loss):
    t = tiny(pair, loss=loss, pac=2 if loss == "lsgan" else 1)
    assert t.cfg.model == "cyclegan" and t.cfg.ema == 0.999 and t.cfg.cycle == 10 and t.cfg.identity == 0  # digit pairs
    assert t.model_config.data_shape == (1, 28, 28) and t.model_config.data_shape_b == (3, 28, 28)
    before = {r: flat(t.nets[r]) for r in ROLES}
    for step in (1, 2):
        s = t.step()
        assert s["step"] == step
        for k in ("d_loss", "g_loss", "g_ab", "g_ba", "d_a", "d_b", "cycle", "identity", "images_per_s"):
            assert isinstance(s[k], float) and math.isfinite(s[k]), k
    for r in ROLES:
        assert not torch.equal(before[r], flat(t.nets[r])), f"{r} did not move"
    assert t.fixed["a"].shape == (8, 1, 28, 28) and t.fixed["b"].shape == (8, 3, 28, 28)
    assert t.fixed_samples().shape == (48, 3, 28, 28) and t.family.watch_columns(t.model_config) == 6
    assert t.sample(5, seed=1).shape == (5, 3, 28, 28)
    assert t.sample(30, seed=1).shape == (30, 3, 28, 28)  # more than the 24 held-out images: repeated


def test_ema_works_when_asked(pair):
    t = tiny(pair, ema=0.9)
    assert set(t.ema) == {"G_ab", "G_ba"}
    t.step()
    assert not torch.equal(flat(t.ema["G_ab"]), flat(t.nets["G_ab"]))


def test_watched_inputs_are_one_per_class(pair):
    t = tiny(pair)
    ha, hb = held_out(pair)["a"], held_out(pair)["b"]
    for tag, (x, y) in (("a", ha), ("b", hb)):
        idx = [int(((x == img).flatten(1).all(1)).nonzero()[0]) for img in t.fixed[tag]]
        assert sorted(y[idx].tolist()) == list(range(8))


@pytest.mark.slow
def test_domains_are_unpaired_independent_streams(pair):
    a, b = pair.a, pair.b
    assert a.shape == (1, 28, 28) and b.shape == (3, 28, 28) and len(a) == len(b) == 64
    assert a.y is not None and b.y is not None and pair.n_classes == 0  # labels for scoring, never conditioned on
    assert (a.y != b.y).float().mean() > 0.5  # different digits at the same index
    def likeness(x, b_images):  # mean |correlation| of A images with B images' grey (1 for the colourisation)
        grey = b_images.mean(1)
        return sum(abs(float(torch.corrcoef(torch.stack([x[i].flatten(), grey[i].flatten()]))[0, 1]))
                   for i in range(32)) / 32

    same, shifted = likeness(a.x, b.x), likeness(a.x, b.x.roll(1, 0))
    assert same < shifted + 0.1, "B images look like colourisations of the A images at their index"
    assert likeness(a.x, colorize(a.x, seed=5)) > same + 0.3  # what a paired set would look like
    ha, hb = held_out(pair)["a"][0], held_out(pair)["b"][0]
    assert ha.shape == (24, 1, 28, 28) and hb.shape == (24, 3, 28, 28)
    assert not any(bool((a.x == h).flatten(1).all(1).any()) for h in ha), "a held-out A image is in training"
    assert torch.equal(digits2colordigits(n=64, n_held=24, seed=0).a.x, a.x)
    assert not torch.equal(digits2colordigits(n=64, n_held=24, seed=1).a.x, a.x)
    t = tiny(pair)
    t.step()
    sa, sb = t.streams["stream_a"], t.streams["stream_b"]
    assert sa.data is a and sb.data is b and not torch.equal(sa.perm, sb.perm)


@pytest.mark.slow
def test_exact_resume(pair, tmp_path):
    straight = tiny(pair)
    for _ in range(4):
        straight.step()
    first = tiny(pair)
    for _ in range(2):
        first.step()
    save_checkpoint(first, str(tmp_path / "half.pt"))
    resumed = Trainer.from_state(load_state(str(tmp_path / "half.pt")), data=pair)
    assert resumed.pools["a"].count == 3  # the pool (3 < batch 4) was full and is restored
    for _ in range(2):
        resumed.step()
    for r in ROLES:
        assert torch.equal(flat(straight.nets[r]), flat(resumed.nets[r])), r
    for k in ("a", "b"):
        assert torch.equal(straight.pools[k].images, resumed.pools[k].images)
    cols_a, cols_b = straight.history.columns(), resumed.history.columns()
    assert set(cols_a) == set(cols_b) and "cycle" in cols_a
    assert all(cols_a[k] == cols_b[k] for k in cols_a if k != "images_per_s")  # every stat but the speed


@pytest.mark.slow
def test_checkpoint_loads_through_load_sampler(pair, tmp_path):
    t = tiny(pair)
    t.step()
    path = save_checkpoint(t, str(tmp_path / "c.pt"))
    nets = load_sampler(load_state(path))
    assert set(nets) == {"G_ab", "G_ba"}
    x = held_out(pair)["b"][0][:3]
    y, rec = translate(nets, x, "b2a")
    assert y.shape == (3, 1, 28, 28) and rec.shape == (3, 3, 28, 28)
    assert torch.allclose(y, translate(t.sampling_nets(), x, "b2a")[0])
    with pytest.raises(ValueError, match="domain A"):
        translate(nets, x, "a2b")
    with pytest.raises(ValueError, match="direction"):
        translate(nets, x, "sideways")


def test_to_domain_turns_a_sketch_into_a_digit():
    canvas = np.zeros((300, 300, 4), np.uint8)  # transparent, as a sketchpad gives it
    canvas[60:240, 140:160] = (0, 0, 0, 255)  # a black vertical stroke: a "1"
    like = digits2colordigits(n=10, n_held=20).info["held_out"]["a"][0]
    x = to_domain(canvas, (1, 28, 28), like=like)
    assert x.shape == (1, 1, 28, 28) and float(x.min()) >= -1 and float(x.max()) <= 1
    assert float(x[0, 0, 0, 0]) == -1.0 and float(x.max()) > 0.9  # white ink on black, as the digits domain
    rows = (x[0, 0] > 0).any(1).nonzero().flatten()
    assert 18 <= int(rows[-1] - rows[0]) + 1 <= 23  # scaled like a digit (21 of 28 px tall)
    assert to_domain(canvas, (3, 32, 32)).shape == (1, 3, 32, 32)
    assert to_domain(torch.zeros(3, 28, 28), (1, 28, 28)).shape == (1, 1, 28, 28)


@pytest.mark.slow
def test_pair_meter_and_warning(pair, tmp_path):
    t = tiny(pair)
    t.step()
    meter = build_meter(pair, cache_dir=str(tmp_path), epochs=1)
    assert isinstance(meter, PairMeter)
    numbers = score(t.sampling_nets(), t.family, pair, meter=meter)
    for k in ("label_kept_ab", "label_kept_ba", "domain_ab", "domain_ba", "diversity_ab", "diversity_ba"):
        assert 0 <= numbers[k] <= (1 if "div" not in k else 10), k
    assert numbers["cycle_aba"] > 0 and meter.info["cycle_baseline_a"] > 0
    assert score(t.sampling_nets(), t.family, pair, meter=None) == {}
    good = {"label_kept_ab": 0.95, "label_kept_ba": 0.9, "diversity_ab": 0.9, "diversity_ba": 0.9, "cycle_aba": 0.1}
    assert translation_warning([good, good]) is None and translation_warning([]) is None
    fell = translation_warning([good, {**good, "label_kept_ab": 0.5, "cycle_aba": 0.05}])
    assert "A→B" in fell and "50%" in fell and "hidden" in fell
    same = translation_warning([{**good, "diversity_ba": 0.1}, {**good, "diversity_ba": 0.05}])
    assert "B→A" in same and "look alike" in same


@pytest.mark.slow
def test_pair_folders_and_mnist_files(tmp_path):
    from PIL import Image

    for name, mode in (("A", "L"), ("B", "RGB")):
        (tmp_path / name).mkdir()
        for i in range(5):
            Image.new(mode, (20, 20), i * 40 if mode == "L" else (i * 40, 9, 200)).save(tmp_path / name / f"{i}.png")
    data = load_dataset(f"pair:{tmp_path / 'A'},{tmp_path / 'B'}", image_size=16)
    assert data.kind == "pair" and data.a.shape == (1, 16, 16) and data.b.shape == (3, 16, 16)
    assert len(data.a) == 4 and held_out(data)["a"][0].shape[0] == 1 and held_out(data)["b"][1] is None
    t = Trainer(TrainConfig(dataset=f"pair:{tmp_path / 'A'},{tmp_path / 'B'}", width=4, batch_size=2, device="cpu",
                            image_size=16), data=data)
    assert (t.cfg.cycle, t.cfg.identity, t.cfg.pool, t.cfg.pac, t.cfg.loss) == (10, 0.5, 50, 1, "lsgan")  # the paper's
    assert math.isfinite(t.step()["g_loss"])
    (tmp_path / "one").mkdir()
    Image.new("L", (20, 20)).save(tmp_path / "one" / "x.png")
    with pytest.raises(DatasetError, match="at least 2"):
        load_dataset(f"pair:{tmp_path / 'A'},{tmp_path / 'one'}")

    n = 60  # MNIST-format idx files: image i carries its index in its first pixels
    imgs = np.zeros((n, 28, 28), np.uint8)
    imgs[:, 0, 0], imgs[:, 5:20, 10:14] = np.arange(n), 255
    for stem, arr, dims in (("train-images-idx3-ubyte", imgs, (n, 28, 28)),
                            ("train-labels-idx1-ubyte", np.arange(n, dtype=np.uint8) % 10, (n,))):
        head = bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
        with gzip.open(tmp_path / f"{stem}.gz", "wb") as f:
            f.write(head + arr.tobytes())
    m = load_dataset("mnist2colormnist", data_dir=str(tmp_path))
    idx = lambda x: set(((x[:, 0, 0, 0] + 1) * 127.5).round().long().tolist())  # noqa: E731
    ha = load_held_out("mnist2colormnist", data_dir=str(tmp_path))["a"]
    assert len(m.a) == len(m.b) == 24 and ha[0].shape == (6, 1, 28, 28) and m.b.shape == (3, 28, 28)
    assert not idx(m.a.x) & idx(ha[0]) and torch.equal(ha[1], held_out(m)["a"][1])


@pytest.mark.slow
def test_cli_round_trip(tiny_pair, tmp_path, capsys):
    ckpt = tmp_path / "cg.pt"
    code, out, err = run_cli(capsys, "train", "--dataset", tiny_pair, "--steps", 2, "--width", 4, "--batch-size", 4,
                             "--cycle", 5, "--identity", 0.2, "--pool", 4, "--decay-steps", 10, "--out", ckpt,
                             "--no-score", "--quiet")
    assert code == 0, err
    tc = load_state(str(ckpt))["train_config"]
    assert (tc["cycle"], tc["identity"], tc["pool"], tc["decay_steps"], tc["model"]) == (5, 0.2, 4, 10, "cyclegan")
    code, out, err = run_cli(capsys, "train", "--resume", ckpt, "--steps", 1, "--quiet", "--no-score")
    assert code == 0 and json.loads(out)["step"] == 3, err
    assert run_cli(capsys, "train", "--resume", ckpt, "--cycle", 3, "--steps", 1)[0] == 2

    npz = tmp_path / "t.npz"
    code, out, err = run_cli(capsys, "translate", "--checkpoint", ckpt, "--direction", "b2a", "--n", 5, "--seed", 3,
                             "--out", npz)
    assert code == 0, err
    f = np.load(npz)
    assert f["x"].shape == (5, 3, 28, 28) and f["y"].shape == (5, 1, 28, 28) and f["label"].shape == (5,)
    assert f["x"].dtype == np.float32 and f["y"].dtype == np.float32 and np.abs(f["y"]).max() <= 1
    hx, hy = held_out(load_dataset(tiny_pair))["b"]
    for x, label in zip(f["x"], f["label"]):
        i = int(((hx == torch.from_numpy(x)).flatten(1).all(1)).nonzero()[0])
        assert int(hy[i]) == int(label)
    code, _, _ = run_cli(capsys, "translate", "--checkpoint", ckpt, "--n", 4, "--out", npz)
    assert code == 0 and np.load(npz)["y"].shape == (4, 3, 28, 28)

    from PIL import Image

    img = tmp_path / "sketch.png"
    Image.new("RGB", (120, 120), "white").save(img)
    png = tmp_path / "one.png"
    code, out, err = run_cli(capsys, "translate", "--checkpoint", ckpt, "--input", img, "--out", png)
    assert code == 0, err
    assert Image.open(png).size[0] > 3 * Image.open(png).size[1] - 40  # input, translation, reconstruction

    code, out, err = run_cli(capsys, "sample", "--checkpoint", ckpt, "--n", 6, "--out", tmp_path / "s.npy")
    assert code == 0 and np.load(tmp_path / "s.npy").shape == (6, 3, 28, 28), err
    code, out, _ = run_cli(capsys, "info", "--checkpoint", ckpt)
    assert code == 0 and json.loads(out)["model_config"]["data_shape_b"] == [3, 28, 28]

    for bad, words in ((["--direction", "up"], "invalid choice"), (["--n", 0], "n must be"),
                       (["--n", 999], "at most 24"),
                       (["--input", tmp_path / "nope.png", "--out", png], "not a readable"),
                       (["--out", tmp_path / "t.txt"], ".npz")):
        argv = ["translate", "--checkpoint", ckpt, *bad] + ([] if "--out" in bad else ["--out", npz])
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and words in err and len(err.strip().splitlines()) == 1, (bad, err)


def test_translate_refuses_a_plain_gan_checkpoint(small_digits, tmp_path, capsys):
    t = Trainer(TrainConfig(dataset="digits", width=8, z_dim=8, batch_size=8, device="cpu"), data=small_digits)
    path = save_checkpoint(t, str(tmp_path / "g.pt"))
    code, _, err = run_cli(capsys, "translate", "--checkpoint", path, "--out", tmp_path / "x.npz")
    assert code == 2 and "CycleGAN checkpoint" in err
