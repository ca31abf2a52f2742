"""Issue 29, a learner's first hour, without a browser: Explore follows the run it shows (and fills StyleGAN's panels
at once, with a mixing grid across classes and the model's own default crossover), 1-D and 2-D samples read as
pictures with axes and a legend (and show where a slider moves them), run names tell the model apart, and the
time-lapse GIF is readable and has its own slot. The page-side halves are in tests/browser/test_learner_pages.py."""
import io
import re
import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import ROOT, wait_for

from demo.page import Page
from demo.runs.manager import RunManager
from gan.config import TrainConfig

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
EXAMPLES = Path(ROOT) / "checkpoints" / "examples"
TINY = dict(batch_size=16, width=8, z_dim=8, seed=0, device="cpu")


def request(session: str):
    return type("R", (), {"session_hash": session, "headers": {}})()


def controls(**kw) -> dict:
    """The Explore tab's control values as the page sends them to Explore.follow (demo/tabs/explore.py build)."""
    v = dict(seed=0, sliders=[0.0] * 8, psi=1.0, label=0, axes="principal", layers="all", seed_a=1, seed_b=2,
             steps=8, rows="1, 2, 3, 4", cols="5, 6, 7, 8", cross=2, each_class=True, n=8, zw_a=1, zw_b=2,
             zw_steps=8, seen={})
    v.update(kw)
    return v


def drawn(out: tuple) -> dict:
    """Explore.follow's answer by name: the pictures it drew (skips left out), and the new `seen`."""
    from demo.tabs.explore import VIEWS

    seen, *values = out
    return {"seen": seen, **{k: v for k, v in zip(VIEWS, values) if not (isinstance(v, dict) and v == gr.skip())}}


def orange(img: np.ndarray) -> np.ndarray:
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return (r > 200) & (g > 100) & (g < 170) & (b < 80)


def dark(img: np.ndarray) -> int:
    return int((img.max(axis=2) < 100).sum())


@pytest.fixture
def examples_manager(tmp_path):
    for name in ("digits-stylegan", "ring8-toy"):
        assert (EXAMPLES / f"{name}.pt").is_file(), "make them: python scripts/make_examples.py"
    root = tmp_path / "ckpt"
    shutil.copytree(EXAMPLES, root / "examples")
    manager = RunManager(max_runs=2, checkpoint_dir=root, autosave_every=0, publish_every=0.2, chunk_runner=None)
    manager.load_examples()
    wait_for(lambda: manager.example("style") and manager.example("theory") and manager.example("explore"),
             timeout=60, what="the examples to publish")
    yield manager
    manager.shutdown()


# ---- 13: 1-D and 2-D samples as pictures a learner can read --------------------------------------------------

def test_1d_samples_are_drawn_as_histograms_with_axes_and_a_legend():
    from gan.images import scatter

    g = torch.Generator().manual_seed(0)
    real, fake = 4 + 0.5 * torch.randn(1000, 1, generator=g), 3 + torch.randn(500, 1, generator=g)
    img = scatter(fake, real=real, size=360, extent=6.0)
    assert img.shape == (360, 360, 3) and img.dtype == np.uint8
    rows = np.flatnonzero(orange(img).any(axis=1))
    assert rows.size and rows.max() - rows.min() > 0.25 * 360  # a density's shape, not a thin bar
    assert dark(img) > 100  # tick labels and the legend's words


def test_2d_scatter_has_axes_and_a_legend():
    from gan.images import scatter

    g = torch.Generator().manual_seed(0)
    img = scatter(0.5 * torch.randn(300, 2, generator=g), real=torch.randn(300, 2, generator=g), size=360)
    assert dark(img) > 100
    legend = img[:22]  # the legend row above the plot: generated (orange) and real (blue) swatches
    assert orange(legend).any() and ((legend[..., 2] > 150) & (legend[..., 0] < 60)).any()


@pytest.mark.slow
def test_explore_on_points_shows_the_cloud_and_where_a_slider_moves_it(examples_manager):
    from demo.tabs import explore_pictures as pictures

    sampler = examples_manager.example("theory").snapshot().sampler
    dirs = pictures.Directions(k=8).axes(sampler, "principal")

    def grey(img: np.ndarray) -> int:
        return int(((np.abs(img.astype(int) - 150) < 8).all(axis=2)).sum())

    still = pictures.latent_image(sampler, 0, [0.0] * 8, directions=dirs)
    moved = pictures.latent_image(sampler, 0, [3.0] + [0.0] * 7, directions=dirs)
    assert grey(moved) - grey(still) > 200  # the unmoved cloud, in grey, beside the moved one
    assert orange(moved).sum() > 200


# ---- 5: Explore follows the run ---------------------------------------------------------------------------

@pytest.mark.slow
def test_explore_redraws_when_the_run_it_shows_publishes_and_only_then(examples_manager):
    page = Page(examples_manager)
    alice = request("alice")
    first = drawn(page.explore.follow(controls(), alice))
    assert isinstance(first.get("image"), np.ndarray) and isinstance(first.get("strip"), np.ndarray)
    assert set(drawn(page.explore.follow(controls(seen=first["seen"]), alice))) == {"seen"}  # nothing new: no work

    run = examples_manager.start("alice", TrainConfig(dataset="digits", model="mlp", **TINY))
    wait_for(lambda: run.snapshot().sampler is not None, timeout=60, what="the run's first generator")
    mine = drawn(page.explore.follow(controls(seen=first["seen"]), alice))
    assert mine["seen"]["mark"][0] == run.id and isinstance(mine.get("image"), np.ndarray)
    version = mine["seen"]["mark"][1]
    wait_for(lambda: run.snapshot().part_version("grid") > version, timeout=60, what="a new publish")
    again = drawn(page.explore.follow(controls(seen=mine["seen"]), alice))
    assert isinstance(again.get("image"), np.ndarray)  # redrawn without any control moving


@pytest.mark.slow
def test_style_views_fill_at_once_across_classes_with_the_default_crossover(examples_manager):
    from demo.tabs.explore_pictures import generator
    from gan.stylegan.family import default_crossover

    page = Page(examples_manager)
    bob = request("bob")
    examples_manager.load("bob", examples_manager.storage.examples / "digits-stylegan.pt")
    run = examples_manager.own_run("bob")
    wait_for(lambda: run.snapshot().sampler is not None, timeout=60, what="the loaded StyleGAN")
    got = drawn(page.explore.follow(controls(cross=2), bob, force=True))
    for name in ("image", "mix", "vary", "spread", "in_z", "in_w"):
        assert isinstance(got.get(name), np.ndarray), name
    k = default_crossover(generator(run.snapshot().sampler))
    assert k == 3 and got["cross"]["value"] == k  # the measured best K, not the slider's old 2
    # the grid takes each seed's own class: its rows and columns span classes, unlike one class for all
    spans = page.explore.mix("1, 2, 3, 4", "5, 6, 7, 8", k, 1.0, -1, request=bob)
    single = page.explore.mix("1, 2, 3, 4", "5, 6, 7, 8", k, 1.0, 0, request=bob)
    assert np.array_equal(got["mix"], spans) and not np.array_equal(spans, single)
    # the user's K is kept while the same StyleGAN is shown
    later = drawn(page.explore.follow(controls(cross=1, seen=got["seen"]), bob, force=True))
    assert "cross" not in later and not np.array_equal(later["mix"], spans)


# ---- 11 and 15: names, the time-lapse --------------------------------------------------------------------------

@pytest.mark.slow
def test_run_names_tell_the_model_apart(tmp_path):
    manager = RunManager(max_runs=2, checkpoint_dir=tmp_path, autosave_every=0, chunk_runner=None)
    try:
        a = manager.start("a", TrainConfig(dataset="digits", model="mlp", loss="bce", **TINY))
        b = manager.start("b", TrainConfig(dataset="digits", model="stylegan", loss="bce", **TINY))
        assert a.id.startswith("digits-mlp-bce-") and b.id.startswith("digits-stylegan-bce-")
        manager.reset("b")
        auto = manager.start("b", TrainConfig(dataset="digits", loss="bce", **TINY))  # the form's "auto"
        assert auto.id.startswith("digits-mlp-bce-"), auto.id  # named by the model it trains, not "auto"
        for run in (a, auto):
            assert re.fullmatch(r"[A-Za-z0-9._-]+", run.id)  # still a safe folder and file name
            wait_for(lambda: run.status()["step"] > 0, timeout=60, what=f"{run.id} to step")  # stopped while
            manager.stop(run.owner)  # loading, a run has nothing to save
            assert run.checkpoint.name == f"{run.id}.pt"
    finally:
        manager.shutdown()


@pytest.mark.slow
def test_the_timelapse_is_readable_and_has_its_own_slot(tmp_path):
    from demo.app import build_app

    manager = RunManager(max_runs=1, checkpoint_dir=tmp_path, autosave_every=0, publish_every=0.1, chunk_runner=None)
    try:
        demo = build_app(manager)
        outputs = {fn.api_name: [o._id for o in fn.outputs] for fn in demo.fns.values() if fn.api_name}
        assert set(outputs["timelapse"]).isdisjoint(outputs["download_checkpoint"])  # no shared slot
        run = manager.start("carol", TrainConfig(dataset="digits", model="mlp", **TINY))
        wait_for(lambda: len(run.frames) >= 3, timeout=60, what="a few time-lapse frames")
        manager.stop("carol")
        gif = Image.open(io.BytesIO(Path(demo.page.files.timelapse(request("carol"))).read_bytes()))
        first = Image.open(io.BytesIO(run.frames[0]))
        assert gif.n_frames >= 3
        assert min(gif.size) >= 480 and gif.size[0] % first.size[0] == 0  # scaled up by whole pixels
        assert gif.info["duration"] >= 120
    finally:
        manager.shutdown()
