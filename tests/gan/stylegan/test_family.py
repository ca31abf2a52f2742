"""The stylegan model and family: training through the Trainer, exact resume, the latent tools, and `gan mix`."""
import math

import numpy as np
import pytest
import torch

from tests.helpers import tiny_config
from gan.stylegan import family as sf
from gan.checkpoint import load_sampler, load_state, save_checkpoint
from gan.cli.main import main
from gan.config import ModelConfig
from gan.errors import ConfigError
from gan.latent import latent_for
from gan.family import build_nets
from gan.train.trainer import Trainer


def style_config(**kw):
    base = dict(dataset="digits", model="stylegan", batch_size=8, width=4, z_dim=8, r1_every=2)
    base.update(kw)
    return tiny_config(**base)


def params(m):
    return torch.cat([p.detach().flatten().clone() for p in m.parameters()])


@pytest.fixture(scope="module")
def trained(small_digits):
    """A tiny unconditional stylegan after 3 steps (w_avg tracked, EMA copy)."""
    t = Trainer(style_config(conditional=False), data=small_digits)
    for _ in range(3):
        t.step()
    return t


def plain(g, seed, y=None, psi=1.0):
    """The plain sample of a seed: G(latent_for(seed)) with constant noise."""
    z = latent_for(seed, g.z_dim)[None]
    with torch.no_grad():
        return g(z, None if y is None else torch.tensor([y]), psi=psi, noise_mode="const")[0]


@pytest.mark.parametrize("conditional", [False, True])
def test_two_steps_move_the_weights(small_digits, conditional):
    t = Trainer(style_config(conditional=conditional), data=small_digits)
    assert t.family.name == "stylegan" and t.cfg.mixing == 0.9 and t.cfg.loss == "bce"
    assert t.conditional == conditional
    g0, d0 = params(t.G), params(t.D)
    for _ in range(2):
        s = t.step()
        for k in ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"):
            assert math.isfinite(s[k]), k
    assert not torch.equal(g0, params(t.G)) and not torch.equal(d0, params(t.D))
    assert int(t.G.w_avg_count) == 2 and t.G.w_avg.abs().sum() > 0
    assert torch.equal(t.G_ema.w_avg, t.G.w_avg)  # the EMA copy carries the tracked average
    x = t.fixed_samples()
    assert x.shape == (100 if conditional else 64, 1, 28, 28) and torch.isfinite(x).all() and x.abs().max() <= 1
    assert t.sample(5, seed=1).shape == (5, 1, 28, 28)


@pytest.mark.slow
def test_exact_resume(small_digits, tmp_path):
    cfg = style_config(conditional=False)
    straight = Trainer(cfg, data=small_digits)
    for _ in range(4):  # r1_every=2: the lazy R1 runs in both halves
        straight.step()
    half = Trainer(cfg, data=small_digits)
    half.step(), half.step()
    path = save_checkpoint(half, str(tmp_path / "half.pt"))
    resumed = Trainer.from_state(load_state(path), data=small_digits)
    resumed.step(), resumed.step()
    for role in ("G", "D"):
        a, b = straight.nets[role].state_dict(), resumed.nets[role].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), role
    a, b = straight.G_ema.state_dict(), resumed.G_ema.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(straight.G_ema.w_avg, resumed.G_ema.w_avg) and int(resumed.G.w_avg_count) == 4


def test_mixing_grid_sources_are_plain_samples(trained):
    g = trained.G_ema
    grid = sf.mixing_grid(g, [1, 2, 3], [7, 8], crossover=2)
    assert grid.shape == (4, 3, 1, 28, 28) and torch.equal(grid[0, 0], torch.zeros(1, 28, 28))
    for i, s in enumerate([1, 2, 3]):
        assert torch.allclose(grid[i + 1, 0], plain(g, s), atol=1e-5)
    for j, s in enumerate([7, 8]):
        assert torch.allclose(grid[0, j + 1], plain(g, s), atol=1e-5)
    w = sf.w_of(g, [2, 8])
    ws = torch.cat([w[:1].expand(2, -1), w[1:].expand(g.num_ws - 2, -1)])[None]  # row's first 2, column's rest
    assert torch.allclose(grid[2, 2], sf.render(g, ws)[0], atol=1e-5)
    assert torch.allclose(sf.mixing_grid(g, [1], [7], crossover=g.num_ws)[1, 1], plain(g, 1), atol=1e-5)


def test_conditional_mixing_grid_labels_each_seed(small_digits):
    g = Trainer(style_config(), data=small_digits).G_ema
    grid = sf.mixing_grid(g, [3], [4])
    assert torch.allclose(grid[1, 0], plain(g, 3, y=3), atol=1e-5)
    assert torch.allclose(grid[0, 1], plain(g, 4, y=4), atol=1e-5)
    assert torch.allclose(sf.mixing_grid(g, [3], [4], y=7)[1, 0], plain(g, 3, y=7), atol=1e-5)


def test_truncation_psi_zero_gives_one_image(trained):
    g = trained.G_ema
    grid = sf.mixing_grid(g, [0, 1, 2], [3, 4], psi=0.0)
    sources = torch.cat([grid[1:, 0], grid[0, 1:]])
    assert torch.allclose(sources, sources[:1].expand_as(sources), atol=1e-6)
    x = trained.family.sample({"G": g}, 4, seed=5, psi=0.0)
    assert torch.allclose(x, x[:1].expand_as(x), atol=1e-6)
    assert not torch.allclose(grid[1, 0], sf.mixing_grid(g, [0], [3])[1, 0])  # psi=1 differs


def test_w_directions_orthonormal_and_edits_by_layer(trained):
    g = trained.G_ema
    d, explained = sf.w_directions(g, n=300, k=5, seed=0)
    assert d.shape == (5, g.w_dim) and torch.allclose(d @ d.T, torch.eye(5), atol=1e-5)
    assert (explained[:-1] >= explained[1:]).all() and 0 < explained.sum() <= 1 + 1e-6
    assert torch.equal(d, sf.w_directions(g, n=300, k=5, seed=0)[0])
    assert sf.direction_std(g, d, n=300).shape == (5,)
    w = sf.w_of(g, [3])[0]
    ws = sf.edit_ws(g, w, d, [2.0], layers=sf.layer_range(g, "fine"))
    assert ws.shape == (1, g.num_ws, g.w_dim)
    assert torch.equal(ws[0, :3], w.expand(3, -1)) and torch.allclose(ws[0, 3:], (w + 2 * d[0]).expand(3, -1))
    assert torch.allclose(sf.edit_ws(g, w, d, [0.0] * 5)[0], w.expand(g.num_ws, -1))
    with pytest.raises(ValueError, match="layers"):
        sf.edit_ws(g, w, d, [1.0], layers=range(0, 99))


@pytest.mark.parametrize("shape,ranges", [
    ((1, 28, 28), (range(0, 1), range(1, 3), range(3, 6))), ((3, 32, 32), (range(0, 1), range(1, 3), range(3, 6))),
    ((3, 64, 64), (range(0, 3), range(3, 5), range(5, 8))),
])
def test_layer_ranges_by_resolution(shape, ranges):
    g = build_nets(ModelConfig(model="stylegan", data_shape=shape, z_dim=8, width=2))["G"]
    assert tuple(sf.layer_range(g, n) for n in ("coarse", "middle", "fine")) == ranges
    assert sf.layer_range(g, "all") == range(g.num_ws) and sf.default_crossover(g) == ranges[2].start
    with pytest.raises(ValueError, match="layer range"):
        sf.layer_range(g, "top")


def test_noise_variation_and_zw_strips(trained):
    g = trained.G_ema
    for m in g.convs:
        m.noise_strength.data.fill_(0.2)
    try:
        imgs, std = sf.noise_variation(g, 3, n=4)
        assert imgs.shape == (4, 1, 28, 28) and std.shape == (28, 28) and std.max() > 0
        z_strip, w_strip = sf.zw_strips(g, 1, 2, steps=5)
    finally:
        for m in g.convs:
            m.noise_strength.data.zero_()
    assert z_strip.shape == w_strip.shape == (5, 1, 28, 28)
    assert torch.allclose(z_strip[0], w_strip[0], atol=1e-5) and torch.allclose(z_strip[-1], w_strip[-1], atol=1e-5)


def test_every_image_shape_and_the_refusals(small_digits):
    for shape, n_classes in (((1, 28, 28), 10), ((3, 28, 28), 0), ((3, 32, 32), 3), ((3, 64, 64), 0)):
        nets = build_nets(ModelConfig(model="stylegan", data_shape=shape, z_dim=8, width=2, n_classes=n_classes))
        y = torch.arange(2) % n_classes if n_classes else None
        assert nets["D"](nets["G"](torch.randn(2, 8), y), y).shape == (2,)
    with pytest.raises(ConfigError, match="square images"):
        ModelConfig(model="stylegan", data_shape=(1, 36, 36))
    with pytest.raises(ConfigError, match="pac"):
        ModelConfig(model="stylegan", data_shape=(1, 28, 28), pac=2)
    with pytest.raises(ConfigError, match="multiple of 4"):
        Trainer(style_config(batch_size=10), data=small_digits)


def test_folder_dataset_trains(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    t = Trainer(style_config(dataset=f"folder:{tmp_path}", image_size=32, batch_size=4))
    assert t.model_config.data_shape == (3, 32, 32) and not t.conditional
    t.step()
    assert t.sample(2, seed=0).shape == (2, 3, 32, 32)


def test_cli_mix_round_trip(trained, tmp_path, capsys):
    ckpt = save_checkpoint(trained, str(tmp_path / "sg.pt"))
    out = tmp_path / "mix.npy"
    assert main(["mix", "--checkpoint", ckpt, "--n", "3", "--seed", "4", "--out", str(out)]) == 0
    grid = np.load(out)
    assert grid.dtype == np.float32 and grid.shape == (4, 4, 1, 28, 28) and np.abs(grid).max() <= 1
    assert not grid[0, 0].any()
    g = load_sampler(load_state(ckpt))["G"]
    assert np.allclose(grid[1, 0], plain(g, 4).numpy(), atol=1e-5)  # rows: seeds 4, 5, 6
    assert np.allclose(grid[0, 1], plain(g, 7).numpy(), atol=1e-5)  # columns: seeds 7, 8, 9
    expected = sf.mixing_grid(g, [4, 5, 6], [7, 8, 9], crossover=sf.default_crossover(g))
    assert np.allclose(grid, expected.numpy(), atol=1e-6)
    png = tmp_path / "mix.png"
    assert main(["mix", "--checkpoint", ckpt, "--n", "2", "--crossover", "1", "--psi", "0.5", "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    for bad, word in ((["--crossover", "99"], "--crossover"), (["--psi", "7"], "--psi"), (["--n", "0"], "n"),
                      (["--out", str(tmp_path / "x.txt")], "--out")):
        args = ["mix", "--checkpoint", ckpt, *bad]
        if "--out" not in bad:
            args += ["--out", str(out)]
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and word in err


def test_cli_refuses_mix_for_other_models(small_digits, tmp_path, capsys):
    t = Trainer(tiny_config(dataset="digits", model="dcgan"), data=small_digits)
    ckpt = save_checkpoint(t, str(tmp_path / "dc.pt"))
    assert main(["mix", "--checkpoint", ckpt, "--out", str(tmp_path / "m.npy")]) == 2
    assert "stylegan" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_train_resume_and_sample(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (32, 32), dtype=np.uint8)).save(folder / f"{i}.png")
    ckpt = str(tmp_path / "run.pt")
    base = ["train", "--dataset", f"folder:{folder}", "--model", "stylegan", "--steps", "2", "--width", "4",
            "--z-dim", "8", "--batch-size", "4", "--mixing", "0.5", "--r1-every", "2", "--no-score", "--quiet",
            "--out", ckpt]
    assert main(base) == 0
    state = load_state(ckpt)
    assert state["train_config"]["mixing"] == 0.5 and state["model_config"]["data_shape"] == [1, 32, 32]
    assert main(["train", "--resume", ckpt, "--steps", "2", "--no-score", "--quiet"]) == 0
    assert load_state(ckpt)["step"] == 4
    assert main(["sample", "--checkpoint", ckpt, "--n", "3", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (3, 1, 32, 32)
    capsys.readouterr()
    assert main([*base[:-2], "--mixing", "2", "--out", ckpt]) == 2
    assert "mixing" in capsys.readouterr().err
