"""demo.runs: the background training thread, snapshots, the cap on runs, ownership and checkpoints."""
import threading
import time

import pytest
import torch

from conftest import wait_for
from demo.runs import NotOwner, Run, RunBusy, RunManager
from demo.snapshot import MAX_FRAMES, downsample
from gan.config import ConfigError, TrainConfig
from gan.trainer import Trainer, TrainingDiverged


def tiny(**kw):
    base = dict(dataset="ring8", batch_size=16, width=16, z_dim=4, seed=0, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture
def manager(tmp_path):
    m = RunManager(max_runs=1, checkpoint_dir=tmp_path, autosave_every=50, publish_every=0.2)
    yield m
    m.shutdown()


def test_run_trains_publishes_and_stops_within_a_step(manager, tmp_path):
    run = manager.start("alice", tiny())
    wait_for(lambda: run.status()["step"] >= 60 and run.snapshot().version >= 2, what="steps and snapshots")
    snap = run.snapshot()
    assert snap.grid is not None and snap.grid.dtype.name == "uint8" and snap.grid.ndim == 3
    assert snap.generator is not None and not any(p.requires_grad for p in snap.generator.parameters())
    assert {"step", "d_loss", "g_loss", "d_real", "d_fake"} <= set(snap.history)
    assert (tmp_path / f"{run.id}.pt").is_file()  # auto-saved at step 50
    manager.stop("alice")
    st = run.status()
    assert st["state"] == "stopped" and not run.thread_alive()
    step = st["step"]
    time.sleep(0.3)
    assert run.status()["step"] == step  # nothing advances after Stop
    assert run.status()["checkpoint"].endswith(".pt")


def test_cap_and_busy_message(manager):
    manager.start("alice", tiny())
    with pytest.raises(RunBusy, match="busy"):
        manager.start("bob", tiny())
    with pytest.raises(RunBusy, match="already have a run"):
        manager.start("alice", tiny())
    assert len(manager.active_runs()) == 1


def test_cap_holds_under_a_burst(tmp_path):
    m = RunManager(max_runs=2, checkpoint_dir=tmp_path, autosave_every=0)
    results = []

    def go(i):
        try:
            m.start(f"v{i}", tiny())
            results.append("ok")
        except RunBusy:
            results.append("busy")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(12)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    try:
        assert results.count("ok") == 2 and results.count("busy") == 10
    finally:
        m.shutdown()


def test_only_the_owner_can_stop(manager):
    run = manager.start("alice", tiny())
    wait_for(lambda: run.state == "running", what="running")
    assert manager.run_for("bob") is run  # bob watches alice's run
    with pytest.raises(NotOwner):
        manager.stop("bob")
    assert run.state == "running"
    manager.stop("alice")
    assert run.state == "stopped"


def test_resume_continues_and_reset_forgets(manager):
    run = manager.start("alice", tiny())
    wait_for(lambda: run.status()["step"] >= 10, what="10 steps")
    manager.stop("alice")
    step = run.status()["step"]
    manager.resume("alice")
    wait_for(lambda: run.status()["step"] >= step + 10, what="more steps after resume")
    assert run.status()["elapsed"] > 0
    manager.reset("alice")
    assert manager.own_run("alice") is None and not run.thread_alive()


def test_bad_config_is_refused_before_any_thread(manager):
    before = threading.active_count()
    with pytest.raises(ConfigError, match="lr"):
        manager.start("alice", tiny(lr=-1.0))
    assert threading.active_count() == before and manager.runs() == []


def _run_with_callback(tmp_path, fn):
    def build():
        tr = Trainer(tiny())
        tr.add_callback("on_step", fn)
        return tr
    return Run("alice", build=build, label="t", checkpoint_dir=tmp_path, autosave_every=5, publish_every=0.1)


def test_error_in_thread_is_reported_and_thread_ends(tmp_path):
    def boom(trainer, stats):
        if stats["step"] == 7:
            raise RuntimeError("kaboom")
    run = _run_with_callback(tmp_path, boom)
    run.start()
    wait_for(lambda: run.state == "error", what="error state")
    run.stop()
    assert "kaboom" in run.status()["error"] and not run.thread_alive()


def test_divergence_stops_and_keeps_last_good_checkpoint(tmp_path):
    def nan(trainer, stats):
        if stats["step"] == 12:
            raise TrainingDiverged("D loss became nan at step 12")
    run = _run_with_callback(tmp_path, nan)
    run.start()
    wait_for(lambda: run.state == "diverged", what="diverged state")
    st = run.status()
    assert "nan" in st["error"] and "last good checkpoint" in st["error"]
    saved = torch.load(st["checkpoint"], weights_only=True)
    assert saved["step"] == 10  # the autosave before the NaN, not overwritten


def test_save_now_and_load_from_checkpoint(manager, tmp_path):
    run = manager.start("alice", tiny())
    wait_for(lambda: run.status()["step"] >= 5, what="5 steps")
    path = run.save(tmp_path / "manual.pt")  # answered by the training thread between two steps
    assert path.is_file() and path.with_suffix(".json").is_file()
    manager.stop("alice")
    loaded = manager.load("bob", path)
    wait_for(lambda: loaded.state == "stopped" and loaded.snapshot().generator is not None, what="loaded")
    assert loaded.owner == "bob" and loaded.status()["step"] >= 5
    manager.resume("bob")
    wait_for(lambda: loaded.status()["step"] >= 15, what="resumed steps")
    manager.stop("bob")


def test_directions_are_shared_and_recomputable(manager):
    run = manager.start("alice", tiny())
    wait_for(lambda: run.snapshot().generator is not None, what="a generator")
    d1, var = run.directions(4)
    assert d1.shape[1] == 4 and torch.allclose(d1 @ d1.T, torch.eye(d1.shape[0]), atol=1e-4)
    assert run.directions(4)[0] is d1  # cached for every viewer
    assert run.directions(4, recompute=True)[0] is not d1


def test_downsample_and_frames_are_bounded():
    cols = {"step": list(range(5000)), "d_loss": [float(i) for i in range(5000)]}
    small = downsample(cols, 300)
    assert len(small["step"]) <= 301 and small["step"][-1] == 4999 and small["step"][0] == 0
    assert downsample({"step": [1, 2]}, 300) == {"step": [1, 2]}
    assert MAX_FRAMES <= 100


def test_run_stops_when_its_owner_is_gone(tmp_path):
    m = RunManager(max_runs=1, checkpoint_dir=tmp_path, autosave_every=0, idle_stop_s=0.5)
    try:
        run = m.start("alice", tiny())
        wait_for(lambda: run.state == "running", what="running")
        for _ in range(5):  # an open page polls: the run goes on
            time.sleep(0.2)
            assert m.run_for("alice") is run
        assert run.state == "running"
        wait_for(lambda: run.state == "stopped", timeout=10, what="the idle stop")
        assert "no page of its owner" in run.status()["warning"] and run.status()["checkpoint"]
        assert not run.thread_alive()
    finally:
        m.shutdown()
