"""The Theory tab, the live quality metrics and the mode-collapse warning, through the launched app's API
(/theory, /quality), through the page's tick pieces, and through the monitors on small trainers."""
import time

import numpy as np
import pytest
import torch

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

from tests.helpers import pixels, tiny_config, wait_for  # noqa: E402
from demo.app import build_app  # noqa: E402
from demo.live import TICK_OUTPUTS  # noqa: E402
from demo.runs.manager import RunManager  # noqa: E402
from demo.runs.monitors import Meters, QualityMonitor, Rows, TheoryMonitor  # noqa: E402
from demo.page import Page  # noqa: E402
from demo.present import WARNING_PREFIX, modes_frame, quality_frames  # noqa: E402
from demo.runs.snapshot import Sampler, Snapshot  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
TRAIN = dict(dataset="ring8", model="auto", loss="bce", batch_size=64, lr=None, seed=0, z_dim=None, width=32)


def theory(client):
    main, curves, info = client.predict(api_name="/theory")
    return main, curves, info


@pytest.mark.slow
def test_theory_endpoint_live_on_ring8(served):
    url, manager, _ = served
    client = Client(url, verbose=False)
    assert "/theory" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    main, curves, info = theory(client)
    assert main is None and not info.get("numbers")  # nothing before a run
    client.predict(*TRAIN.values(), api_name="/train")
    t0, first = time.monotonic(), None
    while time.monotonic() - t0 < 120:  # generous: a loaded machine only makes the snapshots come later
        main, curves, info = theory(client)
        if info.get("numbers"):
            if first is None:
                first = (main, curves, info)
            elif (info["version"] > first[2]["version"] and info["numbers"]["step"] > first[2]["numbers"]["step"]
                  and len(info["history"]) >= 3):  # at least two theory snapshots after the first
                break
        time.sleep(0.3)
    else:
        raise AssertionError(f"theory snapshots did not advance: {info}")
    client.predict(api_name="/stop")
    a, b = first[2]["numbers"], info["numbers"]
    assert info["kind"] == "points" and info["dim"] == 2 and info["dataset"] == "ring8"
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


def _value(update):
    return update["value"] if isinstance(update, dict) else update


def test_theory_view_outputs_for_points_and_images(served):
    _, manager, demo = served
    page = demo.page
    status = {"state": "running", "dataset": "digits", "loss": "bce", "step": 10}
    image = Snapshot("x", 5, status, model={"kind": "image", "n_classes": 10}, versions={"status": 5, "model": 5})
    out = page.live._theory("x", image)
    assert "applies to the 1-D and 2-D datasets" in out["t_status"]
    assert all(out[k]["visible"] is False for k in ("t_main", "t_curves", "t_main_cap", "t_curves_cap"))
    empty = Page(RunManager(max_runs=1, checkpoint_dir=manager.checkpoint_dir, chunk_runner=None))
    ticked = dict(zip([*TICK_OUTPUTS, "seen"], empty.live.tick(None)))
    assert "No run yet" in ticked["t_status"]
    th = {"dim": 2, "main": "main.png", "curves": "curves.png",
          "numbers": {"v": -1.3, "js": 0.1, "d_real": 0.5, "d_fake": 0.5, "step": 10}}
    points = dict(model={"kind": "points", "n_classes": 0}, theory=th, versions={"theory": 5, "model": 5})
    bce = page.live._theory("p", Snapshot("p", 5, {**status, "dataset": "ring8", "loss": "bce"}, **points))
    hinge = page.live._theory("h", Snapshot("h", 5, {**status, "dataset": "ring8", "loss": "hinge"}, **points))
    assert "V(D,G) = -1.300" in bce["t_status"].replace("−", "-") and bce["t_main"]["value"] == "main.png"
    assert "hinge" not in _value(bce["t_main_cap"]) and "hinge" not in _value(bce["t_curves_cap"])
    assert "**hinge** loss" in _value(hinge["t_main_cap"]) and "**hinge** loss" in _value(hinge["t_curves_cap"])


def test_train_tab_numbers_follow_the_dataset_defaults():
    from demo.present import control_defaults, make_config
    assert control_defaults("ring8")["loss"] == "hinge" and control_defaults("digits")["loss"] == "bce"
    assert control_defaults("gaussian1d")["loss"] == "bce" and control_defaults("folder:/x")["loss"] == "bce"
    # the page names an uploaded zip upload:NAME-ID; its numbers are a folder of images' defaults
    assert control_defaults("upload:pics-0123abcd") == control_defaults("folder:/x")
    assert make_config("ring8", "auto", "auto").loss is None  # resolved by the trainer from the dataset
    assert make_config("ring8", "auto", "lsgan").loss == "lsgan"


def test_quality_metrics_on_a_small_image_run(small_digits, tmp_path, monkeypatch):
    from gan.train.trainer import Trainer

    monkeypatch.setenv("GAN_QUALITY_SAMPLES", "100")
    meters = Meters(cache_dir=str(tmp_path), epochs=1, max_train=500, n_real=200)
    tr = Trainer(tiny_config(dataset="digits", model="mlp"), data=small_digits)
    tr.train(steps=2)
    mon = QualityMonitor(Rows(loss=tr.cfg.loss, lr=tr.cfg.lr), meters)

    def sampler():
        return Sampler(tr.family, tr.frozen_nets(), tr.model_config, tr.data.kind)

    st = mon.update(tr, sampler(), force=True)  # the meter builds in the background: no wait here
    assert not st["rows"] and st["note"] and "Preparing" in st["note"]
    meters.future(small_digits).result(timeout=120)
    st = mon.update(tr, sampler(), force=True)
    row = st["rows"][-1]
    assert row["n_classes"] == 10 and 0 <= row["classes_covered"] <= 10 and row["frechet"] > 0
    assert st["note"] is None and "frechet" in tr.metrics and st["numbers"] == row
    tr.train(steps=3)
    assert mon.update(tr, sampler(), force=False) is None  # throttled: within GAN_QUALITY_EVERY nothing new
    assert len(mon.part()["rows"]) == 1
    st = mon.update(tr, sampler(), force=True)
    assert len(st["rows"]) == 2 and st["rows"][-1]["step"] == 5
    cov, dist = quality_frames(st["rows"])
    assert "classes covered (%)" in set(cov["series"]) and "Fréchet distance (lower is better)" in set(dist["series"])


def test_quality_samples_setting_is_read(small_digits, monkeypatch):
    """GAN_QUALITY_SAMPLES sets how many images a live quality score reads, GAN_PR_SAMPLES how many its
    precision and recall read (the first of them are the same images)."""
    from gan.metrics import scores
    from gan.train.trainer import Trainer

    tr = Trainer(tiny_config(dataset="digits", model="mlp"), data=small_digits)
    seen = []

    class Meter:
        def score(self, images, y, *, pr_images):
            seen.append((images.shape[0], pr_images.shape[0], torch.equal(images[:10], pr_images[:10])))
            return {"frechet": 1.0}

    monkeypatch.setenv("GAN_QUALITY_SAMPLES", "37")
    monkeypatch.setenv("GAN_PR_SAMPLES", "50")
    assert scores.score(tr.frozen_nets(), tr.family, small_digits, meter=Meter()) == {"frechet": 1.0}
    assert seen == [(37, 50, True)]


def test_collapse_warning_shows_for_a_collapsing_history(tmp_path):
    rows = Rows(loss="bce", lr=2e-4)
    for step, covered in enumerate([9, 10, 10, 10]):
        rows.add({"step": step, "classes_covered": covered, "n_classes": 10, "frechet": 5.0})
    assert rows.warning is None
    rows.add({"step": 5, "classes_covered": 2, "n_classes": 10, "frechet": 40.0})
    assert rows.warning and "2 of 10 classes" in rows.warning and "learning rate" in rows.warning

    page = Page(RunManager(max_runs=1, checkpoint_dir=tmp_path, chunk_runner=None))

    def view(version):  # what the page's tick shows of a snapshot holding these rows
        mon = QualityMonitor(rows)
        snap = Snapshot("r1", version, {"state": "running"}, quality=mon.part(), versions={"quality": version})
        return page.live._quality("r1", snap)

    out = view(1)
    warn = out["q_warning"]
    assert warn["visible"] is True and warn["value"].startswith(WARNING_PREFIX) and "2 of 10" in warn["value"]
    assert "classes covered 2/10" in out["q_summary"]
    rows.add({"step": 6, "classes_covered": 10, "n_classes": 10, "frechet": 4.0})  # recovered
    assert view(2)["q_warning"]["visible"] is False


@pytest.mark.slow
def test_monitors_run_once_per_publish_however_many_apps_are_built(tmp_path, monkeypatch):
    """No global hooks: each run calls its own monitors, once per publish, whatever the page does."""
    from demo.runs import run as run_mod

    calls = {"publish": 0, "theory": 0}
    publish, update = run_mod.Run._publish, TheoryMonitor.update

    def counted_publish(self, tr, force=False):
        calls["publish"] += 1
        return publish(self, tr, force)

    def counted_update(self, trainer, version, *, force):
        calls["theory"] += 1
        return update(self, trainer, version, force=force)

    monkeypatch.setattr(run_mod.Run, "_publish", counted_publish)
    monkeypatch.setattr(TheoryMonitor, "update", counted_update)
    m = RunManager(max_runs=1, checkpoint_dir=tmp_path, autosave_every=0, publish_every=0.1, chunk_runner=None)
    build_app(m)
    build_app(RunManager(max_runs=1, checkpoint_dir=tmp_path, chunk_runner=None))
    try:
        run = m.start("alice", tiny_config(dataset="ring8", z_dim=4))
        wait_for(lambda: calls["publish"] >= 4, what="four publishes")
        m.stop("alice")
        assert calls["theory"] == calls["publish"] >= 4
        assert isinstance(run._theory, TheoryMonitor) and isinstance(run._quality, QualityMonitor)
    finally:
        m.shutdown()
