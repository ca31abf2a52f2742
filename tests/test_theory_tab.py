"""The Theory tab, the live quality metrics and the mode-collapse warning, through the launched app's API
(/theory, /quality) and through the publish hook on small trainers."""
import time

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

from demo import live_metrics  # noqa: E402
from conftest import serve_app  # noqa: E402
from demo.app import build_app  # noqa: E402
from demo.quality_view import WARNING_PREFIX, QualityView, quality_frames  # noqa: E402
from demo.runs import PUBLISH_HOOKS, RunManager  # noqa: E402
from demo.theory_tab import TheoryView, modes_frame  # noqa: E402
from conftest import tiny_config  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
TRAIN = dict(dataset="ring8", model="auto", loss="bce", batch_size=64, lr=None, seed=0, z_dim=None, width=32)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    manager = RunManager(max_runs=1, checkpoint_dir=tmp_path_factory.mktemp("ckpt"), autosave_every=0)
    with serve_app(manager) as (url, demo):
        yield url, manager, demo


def theory(client):
    main, curves, info = client.predict(api_name="/theory")
    return main, curves, info


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_theory_endpoint_live_on_ring8(served):
    url, manager, _ = served
    client = Client(url, verbose=False)
    assert "/theory" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    main, curves, info = theory(client)
    assert main is None and not info.get("numbers")  # nothing before a run
    client.predict(*TRAIN.values(), api_name="/train")
    t0, first = time.monotonic(), None
    while time.monotonic() - t0 < 20:
        main, curves, info = theory(client)
        if info.get("numbers"):
            if first is None:
                first = (main, curves, info)
            elif info["version"] >= first[2]["version"] + 2 and info["numbers"]["step"] > first[2]["numbers"]["step"]:
                break
        time.sleep(0.3)
    else:
        raise AssertionError(f"theory snapshots did not advance: {info}")
    client.predict(api_name="/stop")
    a, b = first[2]["numbers"], info["numbers"]
    assert info["kind"] == "2d" and info["dataset"] == "ring8"
    assert b["n_modes"] == 8 and 0 <= b["modes"] <= 8 and 0.0 <= b["high_quality"] <= 1.0
    assert -10 < b["v"] < 0 and 0 <= b["js"] <= 0.6932
    assert (a["v"], a["js"], a["d_real"]) != (b["v"], b["js"], b["d_real"])  # the game moved
    img1, img2 = pixels(first[0]), pixels(main)
    assert img1.shape == img2.shape and img1.shape[0] > 300 and img1.shape[2] == 3
    assert np.abs(img1 - img2).mean() > 0.5  # the picture changed
    assert pixels(curves).std() > 5  # curves drawn, not blank
    hist = info["history"]
    assert len(hist) >= 3 and all(r["step"] <= s["step"] for r, s in zip(hist, hist[1:]))
    metrics = manager.runs()[-1].snapshot().status["metrics"]
    assert "js" in metrics and "modes" in metrics  # the scalars are published in the run's snapshot too
    # the Train tab's quality chart gets the toy-set metrics
    q = client.predict(api_name="/quality")
    assert any("modes" in r for r in q["history"])
    cov, dist = quality_frames(q["history"])
    assert set(cov["series"]) >= {"modes captured (%)", "high-quality samples (%)"}
    assert set(dist["series"]) == {"JS(p_data ‖ p_g), nats"}
    frame = modes_frame(hist)
    assert len(frame) == 2 * len(hist) and frame["value"].between(0, 100).all()


def test_theory_view_outputs_for_points_and_images(served):
    _, manager, demo = served
    view = TheoryView(demo.handlers)
    out = view.outputs({"key": "x", "kind": "image", "dataset": "digits"})
    assert "applies to the 1-D and 2-D datasets" in out[0]
    out = view.outputs({"key": "x", "kind": None})
    assert "No run yet" in out[0]
    points = {"key": "x", "kind": "2d", "dataset": "ring8", "numbers": {"v": -1.3, "js": 0.1, "d_real": 0.5,
              "d_fake": 0.5, "step": 10}, "history": [], "main": None, "curves": None}
    bce, hinge = view.outputs({**points, "loss": "bce"}), view.outputs({**points, "loss": "hinge"})
    assert "hinge" not in bce[2]["value"] and "hinge" not in bce[4]["value"]
    assert "**hinge** loss" in hinge[2]["value"] and "**hinge** loss" in hinge[4]["value"]  # plot and curve captions


def test_train_tab_numbers_follow_the_dataset_defaults():
    from demo.views import control_defaults, make_config
    assert control_defaults("ring8")["loss"] == "hinge" and control_defaults("digits")["loss"] == "bce"
    assert control_defaults("gaussian1d")["loss"] == "bce" and control_defaults("folder:/x")["loss"] == "bce"
    assert make_config("ring8", "auto", "auto").loss is None  # resolved by the trainer from the dataset
    assert make_config("ring8", "auto", "lsgan").loss == "lsgan"


class FakeRun:
    """What publish_hook needs of a Run: somewhere to keep its state and the last published G."""

    def __init__(self, tr):
        self.tr = tr

    def snapshot(self):
        class S:
            generator = self.tr.snapshot_generator()
        return S()


def test_quality_metrics_on_a_small_image_run(small_digits, tmp_path, monkeypatch):
    from gan.trainer import Trainer

    monkeypatch.setitem(live_metrics.METER_SETTINGS, "cache_dir", str(tmp_path))
    monkeypatch.setitem(live_metrics.METER_SETTINGS, "epochs", 1)
    monkeypatch.setattr(live_metrics, "QUALITY_SAMPLES", 100)
    tr = Trainer(tiny_config(dataset="digits", model="mlp"), data=small_digits)
    tr.train(steps=2)
    run = FakeRun(tr)
    live_metrics.publish_hook(run, tr, True)  # the meter builds in the background: no wait here
    st = live_metrics.live_state(run).read()
    assert not st["history"] and st["note"] and "Preparing" in st["note"]
    live_metrics.meter_for(small_digits, wait=True)
    live_metrics.publish_hook(run, tr, True)
    st = live_metrics.live_state(run).read()
    row = st["history"][-1]
    assert row["n_classes"] == 10 and 0 <= row["classes_covered"] <= 10 and row["frechet"] > 0
    assert st["note"] is None and "frechet" in tr.metrics
    tr.train(steps=3)
    live_metrics.publish_hook(run, tr, False)  # throttled: within QUALITY_EVERY nothing new
    assert len(live_metrics.live_state(run).read()["history"]) == 1
    live_metrics.publish_hook(run, tr, True)
    assert len(live_metrics.live_state(run).read()["history"]) == 2
    cov, dist = quality_frames(live_metrics.live_state(run).read()["history"])
    assert "classes covered (%)" in set(cov["series"]) and "Fréchet distance (lower is better)" in set(dist["series"])


def test_collapse_warning_shows_for_a_collapsing_history():
    st = live_metrics.LiveState(kind="image", dataset="digits", loss="bce", lr=2e-4)
    for step, covered in enumerate([9, 10, 10, 10]):
        st.add_row({"step": step, "classes_covered": covered, "n_classes": 10, "frechet": 5.0})
    assert st.warning is None
    st.add_row({"step": 5, "classes_covered": 2, "n_classes": 10, "frechet": 40.0})
    assert st.warning and "2 of 10 classes" in st.warning and "learning rate" in st.warning

    class H:  # a QualityView reading this state through a fake manager
        class manager:
            @staticmethod
            def run_for(owner):
                return run

    class R:
        id = "r1"
        _live_state = st

    run = R()
    warn, summary, *_ = QualityView(H()).outputs(QualityView(H()).data(None))
    assert warn["visible"] is True and warn["value"].startswith(WARNING_PREFIX) and "2 of 10" in warn["value"]
    assert "classes covered 2/10" in summary
    st.add_row({"step": 6, "classes_covered": 10, "n_classes": 10, "frechet": 4.0})  # recovered
    warn, *_ = QualityView(H()).outputs(QualityView(H()).data(None))
    assert warn["visible"] is False


def test_hook_is_registered_once(served):
    assert PUBLISH_HOOKS.count(live_metrics.publish_hook) == 1
    build_app(RunManager(max_runs=1))
    assert PUBLISH_HOOKS.count(live_metrics.publish_hook) == 1
