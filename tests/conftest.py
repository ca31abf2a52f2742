"""Shared fixtures: a small seeded dataset, a RunManager, a launched app, and one thread for determinism.
Plain helpers (waits, configs, a controllable clock, zips) are in tests/helpers.py.

The project is installed (`pip install -e .`, in requirements-dev.txt), so `gan` and `demo` import as packages;
tests/ is a package too, so test files in different folders may share a name and import `tests.helpers`."""
import os
from typing import Any, NamedTuple

import pytest
import torch

import gan.data.spec as spec
from demo.runs.storage import Storage
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, TINY_PAIR, run_manager, serve_app

torch.set_num_threads(1)

# The app keeps the last 2 datasets it loaded (gan.data.spec.CACHE_SIZE, for a Space's memory); the suite's modules
# load the shipped examples' sets again and again (digits ~2 s, digits2colordigits ~8 s of drawing each time), with
# ring8s and uploads in between. The suite keeps 12: a few hundred MiB at most. No test measures the eviction.
spec.CACHE_SIZE = 12


@pytest.fixture(scope="session")
def small_digits():
    """A 200-image digits set, built once per test session."""
    from gan.data.images import digits

    return digits(n=200, seed=0)


@pytest.fixture
def manager_options() -> dict:
    """Keyword arguments for the `manager` fixture's RunManager over its defaults; a module overrides this
    fixture to change them (e.g. autosave_every)."""
    return {}


@pytest.fixture
def manager(tmp_path, manager_options):
    """A RunManager (one slot, no autosave, a publish every 0.1 s, training in-process) saving to tmp_path; shut
    down after the test."""
    m = run_manager(tmp_path, **{"publish_every": 0.1, **manager_options})
    yield m
    m.shutdown()


class Served(NamedTuple):
    """A launched app: its URL, its RunManager and its Gradio Blocks (`app.page` is the page's handlers)."""

    url: str
    manager: Any
    app: Any


@pytest.fixture(scope="module")
def served_options() -> dict:
    """Keyword arguments for the `served` app's RunManager over run_manager's defaults; a module overrides this
    (module-scoped) fixture to change them, or to make `served` depend on its own fixtures."""
    return {}


@pytest.fixture(scope="module")
def served(tmp_path_factory, served_options):
    """The app on a free local port for the whole module (one slot, no autosave, checkpoints in a temporary
    folder), shut down after the module's last test."""
    m = run_manager(tmp_path_factory.mktemp("ckpt"), **served_options)
    with serve_app(m) as (url, app):
        yield Served(url, m, app)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Playwright, for the module; the test is skipped where /usr/bin/chromium or
    playwright is not installed (CI installs both)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def clean(served):
    """The `served` app with no active run, the cap at 1 and a publish every 0.3 s, before and after the test."""
    manager = served.manager
    manager.shutdown()
    manager.max_runs, manager.limits.publish_every = 1, 0.3
    yield served
    manager.shutdown()
    manager.max_runs, manager.limits.publish_every = 1, 0.3


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    """The app in shared mode (GAN_SHARED=1, as on a public Space) for the whole module: per-visitor folders
    under a temporary folder named SECRET (which must never reach a reply), quotas, retention and the upload TTL
    off unless a test sets them, and its own data folder. Yields a namespace: url, app, page, manager, storage,
    base."""
    from types import SimpleNamespace

    from demo.runs.state import Limits
    from demo.runs.storage import Storage
    from tests.helpers import SECRET

    base = tmp_path_factory.mktemp(SECRET)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GAN_SHARED", "1")
        for var in ("GAN_KEEP_CHECKPOINTS", "GAN_VISITOR_DISK_MB", "GAN_TOTAL_DISK_MB", "GAN_UPLOAD_TTL_S"):
            mp.setenv(var, "0")  # off unless a test sets it
        (base / "server-data").mkdir()
        mp.setenv("GAN_DATA_DIR", str(base / "server-data"))
        storage = Storage(base / "checkpoints", shared=True, upload_dir=base / "uploads")
        storage.exports = base / "exports"
        manager = run_manager(None, storage=storage, limits=Limits(autosave_every=0, publish_every=0.2))
        with serve_app(manager) as (url, app):
            yield SimpleNamespace(url=url, app=app, page=app.page, manager=manager, storage=storage, base=base)


@pytest.fixture
def srv(shared_app):
    """The shared-mode app with no active run and default limits, before and after each test."""
    m = shared_app.manager
    m.shutdown()
    m.max_runs, m.limits.seconds, m.limits.steps, m.limits.idle = 1, 0.0, 0, 0.0
    yield shared_app
    m.shutdown()
    m.max_runs, m.limits.seconds, m.limits.steps, m.limits.idle = 1, 0.0, 0, 0.0


def _with_examples(folder):
    """Storage whose shipped examples are the ones a test planted in folder/examples (not the repository's)."""
    return Storage(folder, examples_dir=folder / "examples")


@pytest.fixture
def style_app(tmp_path, small_digits):
    """The app with a tiny StyleGAN shipped as the example `digits-stylegan.pt` (tests.helpers.style_checkpoint);
    yields (url, manager)."""
    from tests.helpers import style_checkpoint

    style_checkpoint(tmp_path / "ckpt", small_digits)
    manager = run_manager(tmp_path / "ckpt", storage=_with_examples(tmp_path / "ckpt"))
    with serve_app(manager) as (url, _):
        yield url, manager


def _shipped_example(tmp_path, trainer, name: str):
    """A run manager over tmp_path/ckpt whose shipped example `name` is `trainer` after 3 steps, examples loaded."""
    from gan.checkpoint import save_checkpoint

    for _ in range(3):
        trainer.step()
    (tmp_path / "ckpt" / "examples").mkdir(parents=True)
    save_checkpoint(trainer, str(tmp_path / "ckpt" / "examples" / name))
    manager = run_manager(tmp_path / "ckpt", storage=_with_examples(tmp_path / "ckpt"))
    manager.load_examples()
    return manager


@pytest.fixture
def digits_app(tmp_path, small_digits):
    """The app with a tiny conditional dcgan shipped as the explore example (digits-dcgan.pt); yields its URL."""
    from gan.train.trainer import Trainer
    from tests.helpers import tiny_config, wait_for

    t = Trainer(tiny_config(dataset="digits", model="dcgan", width=8), data=small_digits)
    manager = _shipped_example(tmp_path, t, "digits-dcgan.pt")
    with serve_app(manager) as (url, _):
        wait_for(lambda: manager.example("explore"), what="the example to publish")
        yield url


@pytest.fixture(scope="module")
def pair_name():
    """A small digits -> colour digits pair (64 training, 24 held-out images) registered as TINY_PAIR for the
    module."""
    from gan.data.pairs import digits2colordigits
    from gan.data.spec import DatasetSpec, register_dataset
    from gan.registry import DATASETS

    pair = digits2colordigits(n=64, n_held=24, seed=0)
    register_dataset(DatasetSpec(TINY_PAIR, "pair", (1, 28, 28), lambda **_: pair, n_classes=10, shape_b=(3, 28, 28)))
    yield TINY_PAIR
    DATASETS.unregister(TINY_PAIR)


@pytest.fixture
def cyclegan_example_app(tmp_path, pair_name):
    """The app with no run of the visitor's own and a tiny CycleGAN (3 steps on pair_name) shipped as the
    cyclegan example, published before the app starts; yields its URL."""
    from gan.config import TrainConfig
    from gan.data.spec import load_dataset
    from gan.train.trainer import Trainer
    from tests.helpers import wait_for

    t = Trainer(TrainConfig(dataset=pair_name, model="cyclegan", width=4, batch_size=4, seed=0, device="cpu", pool=3),
                data=load_dataset(pair_name))
    manager = _shipped_example(tmp_path, t, "digits2colordigits-cyclegan.pt")
    wait_for(lambda: manager.example("translate") is not None, what="the cyclegan example to publish")
    with serve_app(manager) as (url, _):
        yield url


def pytest_collection_modifyitems(items):
    """A test that uses the `browser` fixture is a browser test wherever it lives (tests/browser/ marks its own)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
