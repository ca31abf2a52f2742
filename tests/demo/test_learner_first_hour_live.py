"""Issue 29, "A learner's first hour": what the page's live stream shows (demo/live.py Live.tick, the one function
behind every live output): the example on the Train tab before any training, captions that follow the run's loss,
fresh samples cleared when the run changes, the Translate note of a training CycleGAN, quality numbers that say
what they are measured against, and the examples' charts with a past."""
import pytest

from tests.helpers import tiny_config, wait_for
from demo.live import TICK_OUTPUTS
from demo.page import Page
from demo.present import quality_summary
from demo.runs.manager import RunManager
from gan.data.spec import DatasetSpec, register_dataset
from gan.registry import DATASETS

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
PAIR = "tiny-pair-learner"


@pytest.fixture(scope="module")
def examples():
    """A manager with the shipped examples published and nothing else."""
    manager = RunManager(max_runs=1, chunk_runner=None, autosave_every=0)
    manager.load_examples()
    wait_for(lambda: all(manager.example(v) for v in ("explore", "theory", "translate")), 120, "the examples")
    yield manager
    manager.shutdown()


@pytest.fixture
def fresh(tmp_path):
    manager = RunManager(max_runs=1, checkpoint_dir=tmp_path, chunk_runner=None, autosave_every=0)
    yield manager
    manager.shutdown()


def tick(page, seen=None):
    *values, seen = page.live.tick(seen, None)
    return dict(zip(TICK_OUTPUTS, values)), seen


def shown(value):
    return not (isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1)


def test_the_train_tab_shows_the_example_until_the_visitor_trains(examples):
    out, _ = tick(Page(examples))
    assert "**example** `digits-dcgan`" in out["status_line"] and "press **Train**" in out["status_line"]
    assert isinstance(out["grid"], str) and out["grid"].endswith(".png")
    assert out["loss_plot"] is not None and out["d_plot"] is not None  # its history, charted
    assert "Fréchet distance" in out["q_summary"]  # the quality it was trained to, with a past (its rows)
    assert out["q_cov"] is not None and out["q_dist"] is not None


def test_the_examples_charts_have_a_past(examples):
    theory = examples.example("theory").snapshot()
    rows = theory.quality["rows"]
    assert len([r for r in rows if "v" in r]) >= 20 and len([r for r in rows if r.get("n_modes")]) >= 20
    train = examples.example("explore").snapshot()
    assert len([r for r in train.quality["rows"] if "frechet" in r]) >= 10


def test_the_chart_captions_follow_the_runs_loss(fresh):
    page = Page(fresh)
    run = fresh.start("local", tiny_config(dataset="ring8", loss="hinge"))
    wait_for(lambda: run.snapshot().status.get("loss") == "hinge" and run.snapshot().grid, 60, "the run")
    out, seen = tick(page)
    cap = out["charts_cap"]
    assert "(hinge)" in cap and "often negative" in cap and "only the gap" in cap
    assert "near 1/2" not in cap  # the bce story does not hold for hinge
    fresh.shutdown()
    run = fresh.start("local", tiny_config(dataset="ring8", loss="rpgan"))
    wait_for(lambda: run.snapshot().status.get("loss") == "rpgan", 60, "the rpgan run")
    out, seen = tick(page, seen)
    assert "(rpgan)" in out["charts_cap"] and "drift together" in out["charts_cap"]


def test_fresh_samples_are_cleared_when_the_run_changes(fresh):
    page = Page(fresh)
    fresh.start("local", tiny_config(dataset="ring8"))
    wait_for(lambda: fresh.own_run("local").snapshot().grid, 60, "the first run")
    out, seen = tick(page)
    fresh.shutdown()
    second = fresh.start("local", tiny_config(dataset="spiral"))
    wait_for(lambda: second.snapshot().grid, 60, "the second run")
    out, seen = tick(page, seen)
    assert out["sample_image"] is None and out["sample_file"] is None  # the digits of before do not linger
    out, seen = tick(page, seen)
    assert not shown(out["sample_image"]) or out["sample_image"] is None


@pytest.fixture(scope="module")
def pair_name():
    from gan.data.pairs import digits2colordigits

    pair = digits2colordigits(n=64, n_held=24, seed=0)
    register_dataset(DatasetSpec(PAIR, "pair", (1, 28, 28), lambda **_: pair, n_classes=10, shape_b=(3, 28, 28)))
    yield PAIR
    DATASETS.unregister(PAIR)


def test_the_translate_note_of_a_training_cyclegan_is_not_stuck_at_its_first_step(fresh, pair_name):
    page = Page(fresh)
    run = fresh.start("local", tiny_config(dataset=pair_name, model="cyclegan", width=4, batch_size=4, pool=3))
    wait_for(lambda: run.snapshot().offers("translate") and run.snapshot().status["step"] >= 1, 120, "the CycleGAN")
    out, seen = tick(page)
    assert "training now" in out["tr_note"] and "step 0" not in out["tr_note"]
    run.stop()
    out, seen = tick(page, seen)
    step = run.status()["step"]
    assert f"step {step:,}" in out["tr_note"] and step > 0


def test_quality_numbers_say_what_they_are_measured_against():
    labelled = quality_summary({"numbers": {"step": 5, "frechet": 16.9, "n_classes": 10, "classes_covered": 9,
                                            "diversity": 1.01}}, "digits")
    assert "to the real images of `digits`" in labelled and "classifier" in labelled
    assert "same dataset" in labelled and "101% (how spread out the samples are" in labelled
    own = quality_summary({"numbers": {"step": 5, "frechet": 2.24, "diversity": 0.5}}, "upload:shapes-0123abcd")
    assert "random projection of their pixels" in own and "upload:shapes-0123abcd" in own


def test_a_checkpoint_keeps_the_runs_measured_rows(tmp_path):
    """The rows behind the quality and Theory charts are saved with the run, and loading them back (a ZeroGPU
    chunk's state, a resumed run) fills the list the run charts from, not a copy of it."""
    from gan.checkpoint import load_state, save_checkpoint
    from gan.train.history import Thinned
    from gan.train.trainer import Trainer

    t = Trainer(tiny_config(dataset="ring8"))
    t.step()
    t.rows.append({"step": 1, "js": 0.5, "modes": 3})
    state = load_state(save_checkpoint(t, str(tmp_path / "r.pt")))
    assert Trainer.from_state(state).rows == [{"step": 1, "js": 0.5, "modes": 3}]
    held = Thinned(10)
    t.rows = held
    t.load_state_dict(state)
    assert t.rows is held and list(held) == [{"step": 1, "js": 0.5, "modes": 3}]
