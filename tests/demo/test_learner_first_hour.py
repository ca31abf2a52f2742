"""Issue 29, "A learner's first hour": what a learner met on every tab, each checked where it happened (the library,
the CLI, the app through gradio_client, the page's live stream). The page-only ones are in
tests/browser/test_learner_first_hour.py."""
import re
import shlex
import threading
import time
from pathlib import Path

import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from tests.helpers import ROOT, cyclegan_export_zip, poll_status, serve_app, tiny_config, wait_for  # noqa: E402
from demo.runs import monitors  # noqa: E402
from demo.runs.manager import RunManager  # noqa: E402
from gan.config import TrainConfig  # noqa: E402
from gan.data.spec import DatasetSpec, dataset_spec, register_dataset  # noqa: E402
from gan.errors import ConfigError  # noqa: E402
from gan.registry import DATASETS, MODELS  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
EXAMPLES = Path(ROOT) / "checkpoints" / "examples"
RING = dict(dataset="ring8", model="auto", loss="hinge", batch_size=64, lr=None, seed=0, z_dim=None, width=16)
TINY = "tiny-digits-learner"


@pytest.fixture(scope="module")
def tiny_images():
    """A 200-image labelled set, registered under its own name (fast to load)."""
    from gan.data.images import digits

    data = digits(n=200, seed=0)
    register_dataset(DatasetSpec(TINY, "image", (1, 28, 28), lambda **_: data, n_classes=10))
    yield TINY
    DATASETS.unregister(TINY)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    manager = RunManager(max_runs=1, checkpoint_dir=tmp_path_factory.mktemp("ckpt"), autosave_every=0,
                         chunk_runner=None)
    with serve_app(manager) as (url, _):
        yield url, manager


def _error(fn, *args, **kw) -> str:
    with pytest.raises(Exception) as e:
        fn(*args, **kw)
    return str(e.value)


def _stop_all(manager):
    for r in manager.runs():
        r.stop()


# ---- 1. a model that cannot train the dataset is refused before anything starts ------------------------------

def test_every_model_and_dataset_kind_pair_is_checked_the_same_way():
    names = DATASETS.names() + ["folder:/nowhere/images", "pair:/nowhere/a,/nowhere/b"]
    for model, spec in MODELS.items():
        for name in names:
            kind = dataset_spec(name).kind
            cfg = TrainConfig(dataset=name, model=model)
            if kind in spec.kinds:
                cfg.validate()
            else:
                with pytest.raises(ConfigError, match=rf"model '{model}' cannot train .*Pick .*or auto"):
                    cfg.validate()


def test_the_cli_refuses_stylegan_on_a_pair_in_one_line(capsys):
    from gan.cli.main import main

    assert main(["train", "--dataset", "digits2colordigits", "--model", "stylegan", "--steps", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "cannot train 'digits2colordigits'" in err and "cyclegan" in err


def test_every_documented_train_command_pairs_a_model_with_data_it_trains():
    pages = [Path(ROOT) / "README.md", *sorted((Path(ROOT) / "docs").glob("*.md"))]
    seen = 0
    for page in pages:
        for line in re.findall(r"python -m gan train ([^\n`]+)", page.read_text()):
            words = shlex.split(line.split("#")[0].replace("\\", " "))
            flags = dict(zip(words[::2], words[1::2]))
            if "--model" in flags and "--dataset" in flags and "PATH" not in flags["--dataset"]:
                TrainConfig(dataset=flags["--dataset"], model=flags["--model"]).validate()
                seen += 1
    assert seen >= 3


def test_the_app_refuses_it_in_one_plain_line_and_starts_nothing(served):
    url, manager = served
    c = Client(url, verbose=False)
    n = len(manager.runs())
    msg = _error(c.predict, "digits2colordigits", "stylegan", "lsgan", 8, None, 0, None, 16, api_name="/train")
    assert "stylegan cannot train" not in msg and "model 'stylegan' cannot train 'digits2colordigits'" in msg
    assert "Pick cyclegan" in msg and "\n" not in msg
    assert len(manager.runs()) == n


# ---- 14. number boxes: the form's words, blanks said aloud, a crawl warned of --------------------------------

def test_refusals_speak_the_forms_words(served):
    url, manager = served
    c = Client(url, verbose=False)
    lr = _error(c.predict, **{**RING, "lr": 0}, api_name="/train")
    assert lr == "The learning rate (lr) must be more than 0 (you gave 0)"  # the box's label, and the parameter's
    big = _error(c.predict, **{**RING, "batch_size": 70000}, api_name="/train")
    assert big == "The batch size (batch_size) must be at most 65536 (you gave 70000)"
    assert "must be a number (you gave 'abc')" in _error(c.predict, **{**RING, "lr": "abc"}, api_name="/train")


def test_blank_boxes_say_which_defaults_they_took(served):
    url, manager = served
    c = Client(url, verbose=False)
    note = c.predict(**{**RING, "lr": None, "z_dim": None}, api_name="/train")
    try:
        assert "Blank boxes took the dataset's defaults" in note
        from demo.present import control_defaults

        d = control_defaults("ring8", "auto")
        assert f"learning rate {d['lr']:g}" in note and f"z dimensions {d['z_dim']}" in note
        assert "batch size" not in note  # a box that was filled in is not mentioned
    finally:
        _stop_all(manager)


def test_a_run_that_would_crawl_is_warned_of_before_it_trains(served, monkeypatch):
    import demo.tabs.train as train_tab

    url, manager = served
    monkeypatch.setattr(train_tab, "estimate_step_seconds", lambda mc, batch: 5.0)
    c = Client(url, verbose=False)
    note = c.predict(**{**RING, "batch_size": 65536}, api_name="/train")
    try:
        assert "will crawl" in note and "65,536" in note and "0.2 steps a second" in note
    finally:
        _stop_all(manager)
    note = c.predict(**RING, api_name="/train")  # near the defaults: no estimate, no warning
    _stop_all(manager)
    assert "crawl" not in note


def test_the_step_estimate_grows_with_the_batch():
    from gan.config import ModelConfig
    from gan.train.budget import estimate_step_seconds

    mc = ModelConfig(model="mlp", data_shape=(1, 28, 28), z_dim=64, n_classes=10, width=16)
    assert estimate_step_seconds(mc, 65536) > 50 * estimate_step_seconds(mc, 32)


# ---- 10. MNIST with no files: told before a run starts, in the app's words ------------------------------------

def test_mnist_with_no_files_and_no_internet_is_refused_with_where_to_put_them(served, monkeypatch, tmp_path):
    from demo import form

    url, manager = served
    monkeypatch.setenv("GAN_DATA_DIR", str(tmp_path))  # an empty data folder
    monkeypatch.setattr(form, "download_reachable", lambda name: False)  # offline
    c = Client(url, verbose=False)
    n = len(manager.runs())
    for name in ("mnist", "fashion-mnist", "stacked-mnist"):
        msg = _error(c.predict, **{**RING, "dataset": name, "model": "auto", "loss": "bce"}, api_name="/train")
        assert "GAN_DATA_DIR" in msg and "cannot download" in msg and "--data-dir" not in msg, msg
        assert str(tmp_path) not in msg  # the server's folder is never named
    assert len(manager.runs()) == n
    monkeypatch.setattr(form, "download_reachable", lambda name: True)  # online: the notice says it downloads
    assert "downloads them first" in form.check_files("mnist", str(tmp_path))


# ---- 2. a slow score never stalls the training thread; the status goes out every second -----------------------

def test_a_slow_quality_score_does_not_stall_training_or_its_publishes(tiny_images, tmp_path, monkeypatch):
    release, started = threading.Event(), threading.Event()

    def slow_score(*args, **kw):
        started.set()
        release.wait(120)
        return {"frechet": 1.0}

    monkeypatch.setattr(monitors, "score", slow_score)
    monkeypatch.setattr(monitors.METERS, "get", lambda data: object())
    monkeypatch.setenv("GAN_QUALITY_EVERY", "0.1")
    manager = RunManager(checkpoint_dir=tmp_path, chunk_runner=None, autosave_every=0, publish_every=0.2)
    run = manager.start("me", tiny_config(dataset=tiny_images, model="mlp", batch_size=8))
    try:
        wait_for(started.is_set, 60, "the first score to start")
        snap = run.snapshot()
        grid, step = snap.part_version("grid"), snap.status["step"]
        wait_for(lambda: run.snapshot().part_version("grid") >= grid + 3 and run.snapshot().status["step"] > step + 5,
                 30, "grids and steps published while the score runs")
        assert not release.is_set()
    finally:
        release.set()
        manager.shutdown()
    assert run.snapshot().quality["numbers"].get("frechet") == 1.0  # the score arrived, later


def test_the_status_goes_out_every_second_when_a_grid_is_costly(tiny_images, tmp_path, monkeypatch):
    from demo.runs import run as run_module

    real = run_module.picture

    def slow_picture(*args, **kw):
        time.sleep(0.5)  # a costly grid: the next full publish waits 25 x this
        return real(*args, **kw)

    monkeypatch.setattr(run_module, "picture", slow_picture)
    manager = RunManager(checkpoint_dir=tmp_path, chunk_runner=None, autosave_every=0, publish_every=0.2)
    run = manager.start("me", tiny_config(dataset=tiny_images, model="mlp", batch_size=8))
    try:
        wait_for(lambda: run.state.value == "running", 60, "running")
        grid = run.snapshot().part_version("grid")
        wait_for(lambda: run.snapshot().part_version("grid") > grid, 30, "a costly publish while running")
        grid = run.snapshot().part_version("grid")  # the next one is due 25 x 0.5 s later
        steps = set()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 5 and run.snapshot().part_version("grid") == grid and len(steps) < 3:
            steps.add(run.snapshot().status["step"])
            time.sleep(0.05)
        assert len(steps) >= 3, steps  # the status moved on while the grid waited its turn (not 5 s more)
    finally:
        manager.shutdown()


# ---- 3. a CycleGAN export loads back to explore and translate -------------------------------------------------

@pytest.mark.slow
def test_a_cyclegan_export_loads_back_and_translates(served, tmp_path):
    url, manager = served
    c = Client(url, verbose=False)
    for dataset, held in ((None, "digits2colordigits"), ("mnist2colormnist", None)):  # its pair set, then absent
        _stop_all(manager)
        note = c.predict(handle_file(cyclegan_export_zip(tmp_path, dataset=dataset)), api_name="/load_export_zip")
        assert "Loaded the export" in note and "cyclegan" in note
        st = poll_status(c, lambda s: s["state"] == "stopped" and s.get("yours"), timeout=60, what="the export")
        assert st["error"] is None
        assert ("drawn digits stand in" in (st["warning"] or "")) == (held is None), st["warning"]
        run = manager.own_run(next(r.owner for r in manager.runs() if r.id == st["run_id"]))
        snap = run.snapshot()
        assert snap.grid and snap.sampler is not None and snap.sampler.held_out and snap.model["kind"] == "pair"
        for direction in ("a2b", "b2a"):
            x, y, rec = c.predict(None, direction, 3, api_name="/translate")
            assert Path(x).is_file() and Path(y).is_file() and Path(rec).is_file()


# ---- 4. the shipped examples and the classifier cache under GAN_CHECKPOINT_DIR ---------------------------------

def test_examples_come_with_the_code_wherever_checkpoints_go(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_CHECKPOINT_DIR", str(tmp_path / "elsewhere"))
    manager = RunManager(max_runs=1, chunk_runner=None)
    try:
        assert manager.checkpoint_dir == (tmp_path / "elsewhere").resolve()
        names = {r.example for r in manager.load_examples()}
        assert {"digits-dcgan", "ring8-toy"} <= names
        wait_for(lambda: manager.example("explore") and manager.example("theory"), 60, "the examples to publish")
        assert "examples/ring8-toy.pt" in [row[0] for row in manager.storage.table("someone")]
    finally:
        manager.shutdown()


def test_the_apps_classifier_cache_follows_gan_checkpoint_dir(tmp_path, monkeypatch, small_digits):
    monkeypatch.setenv("GAN_CHECKPOINT_DIR", str(tmp_path))
    assert monitors.classifier_dir() == str(tmp_path / "classifiers")
    seen = {}
    monkeypatch.setattr(monitors, "build_meter", lambda data, **kw: seen.update(kw) or "meter")
    meters = monitors.Meters(epochs=1)
    assert meters.future(small_digits).result(30) == "meter"
    assert seen["cache_dir"] == str(tmp_path / "classifiers")
    monkeypatch.delenv("GAN_CHECKPOINT_DIR")
    assert monitors.classifier_dir() == monitors.DEFAULT_CACHE_DIR


# ---- 7. slow motion and the replays ----------------------------------------------------------------------------

def test_slow_motion_paces_the_steps_and_the_replays_scrub_the_run(served):
    url, manager = served
    c = Client(url, verbose=False)
    _stop_all(manager)
    note = c.predict(**{**RING, "dataset": "gaussian1d"}, speed="20", api_name="/train")
    assert "Slow motion: at most 20 steps a second" in note
    try:
        st = poll_status(c, lambda s: s["state"] == "running" and s["step"] >= 10, timeout=60, what="slow steps")
        t0, s0 = time.monotonic(), st["step"]
        time.sleep(3)
        rate = (c.predict(api_name="/status")["step"] - s0) / (time.monotonic() - t0)
        assert rate <= 30, rate  # at most ~20 a second, however fast the machine
        run = next(r for r in manager.runs() if r.id == st["run_id"])
        wait_for(lambda: len(run.replay) >= 2 and len(run.theory_frames) >= 2, 60, "kept grids and pictures")
    finally:
        _stop_all(manager)
    first, last = (c.predict(where, api_name="/replay") for where in (0, 100))
    assert "Step 0" in first[1] or "Step 1" in first[1]
    assert first[0] and last[0] and first[1] != last[1]
    picture, caption = c.predict(0, api_name="/replay_theory")
    assert picture and "Step" in caption
    with pytest.raises(Exception, match="100"):
        c.predict(250, api_name="/replay")
