"""demo.runs.run / demo.runs.manager: the background training thread, snapshots, the cap on runs, ownership and
checkpoints."""
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import wait_for
from demo.tabs.explore_pictures import Directions
from demo.runs.manager import NotOwner, RunBusy, RunManager
from demo.runs.run import MAX_FRAMES, Limits, Run, State
from gan.checkpoint import load_state, save_checkpoint
from gan.config import ConfigError, TrainConfig
from gan.train.history import downsample
from gan.train.trainer import Trainer, TrainingDiverged


def tiny(**kw):
    base = dict(dataset="ring8", batch_size=16, width=16, z_dim=4, seed=0, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture
def manager(tmp_path):
    m = RunManager(max_runs=1, checkpoint_dir=tmp_path, autosave_every=50, publish_every=0.2, chunk_runner=None)
    yield m
    m.shutdown()


def test_run_trains_publishes_and_stops_within_a_step(manager, tmp_path):
    run = manager.start("alice", tiny())
    # a publish after training began (`version` also moves on state changes, so wait for a trained step)
    wait_for(lambda: run.status()["step"] >= 60 and run.snapshot().status["step"] > 0, what="steps and snapshots")
    snap = run.snapshot()
    grid = np.asarray(Image.open(snap.grid))  # the fixed-noise grid, written once as a PNG
    assert grid.dtype.name == "uint8" and grid.ndim == 3 and grid.shape[2] == 3
    nets = snap.sampler.nets
    assert nets and not any(p.requires_grad for net in nets.values() for p in net.parameters())
    assert all(p.device.type == "cpu" for net in nets.values() for p in net.parameters())
    series = {name for chart in snap.charts.values() for name in chart}
    assert {"step", "D loss", "G loss", "mean D(x) (real)", "mean D(G(z)) (fake)"} <= series
    assert (tmp_path / f"{run.id}.pt").is_file()  # auto-saved at step 50
    manager.stop("alice")
    st = run.status()
    assert st["state"] == "stopped" and not run.thread_alive()
    step = st["step"]
    time.sleep(0.3)
    assert run.status()["step"] == step  # nothing advances after Stop
    assert st["checkpoint"] == f"{run.id}.pt" and "/" not in st["checkpoint"]  # a name, not a server path
    assert load_state(str(run.checkpoint))["step"] == step  # saved on Stop
    assert run.trainer is None and run.snapshot().sampler is not None  # no trainer kept; Explore still works


def test_past_the_cap_a_visitor_queues_and_a_second_run_of_ones_own_is_refused(manager):
    manager.start("alice", tiny())
    bob = manager.start("bob", tiny())  # past the cap: queued, not refused
    assert bob.state == State.QUEUED and bob.status()["queue_place"] == 1
    with pytest.raises(RunBusy, match="already have a run"):
        manager.start("alice", tiny())
    with pytest.raises(RunBusy, match="already in the queue"):
        manager.start("bob", tiny())
    assert len(manager.active_runs()) == 1


def test_cap_holds_under_a_burst(tmp_path):
    m = RunManager(max_runs=2, checkpoint_dir=tmp_path, autosave_every=0, chunk_runner=None)
    results = []

    def go(i):
        try:
            results.append(m.start(f"v{i}", tiny()).state.value)
        except RunBusy:
            results.append("busy")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(12)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    try:  # two train, ten wait in line; nobody is refused
        assert results.count("queued") == 10 and "busy" not in results, results
        assert len(m.active_runs()) == 2 and len(m.waitlist) == 10
    finally:
        m.shutdown()


def test_only_the_owner_can_stop(manager):
    run = manager.start("alice", tiny())
    wait_for(lambda: run.state == State.RUNNING, what="running")
    assert manager.watched("bob") is run  # bob watches alice's run
    assert manager.own_run("bob") is None
    with pytest.raises(NotOwner):
        manager.stop("bob")
    assert run.state == State.RUNNING
    manager.stop("alice")
    assert run.state == State.STOPPED


def test_resume_continues_and_reset_forgets(manager):
    run = manager.start("alice", tiny())
    wait_for(lambda: run.status()["step"] >= 10, what="10 steps")
    manager.stop("alice")
    step = run.status()["step"]
    assert run.trainer is None  # resume rebuilds it from the checkpoint
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


def make_run(tmp_path, build, **limits):
    """A bare Run saving to tmp_path (what RunManager wires up, without the manager)."""
    def save(run, tr):
        return Path(save_checkpoint(tr, str(tmp_path / f"{run.id}.pt")))
    lim = Limits(**{"autosave_every": 5, "publish_every": 0.1, **limits})
    return Run("t-run", "alice", build=build, folder=tmp_path / "png", save=save, display={"dataset": "ring8"},
               limits=lim)


def _run_with_callback(tmp_path, fn):
    def build():
        tr = Trainer(tiny())
        tr.add_callback("on_step", fn)
        return tr
    return make_run(tmp_path, build)


def test_error_in_thread_is_reported_and_thread_ends(tmp_path):
    def boom(trainer, stats):
        if stats["step"] == 7:
            raise RuntimeError("kaboom")
    run = _run_with_callback(tmp_path, boom)
    run.start()
    wait_for(lambda: run.state == State.ERROR, what="error state")
    run.stop()
    assert "kaboom" in run.status()["error"] and not run.thread_alive()


def test_divergence_stops_and_keeps_last_good_checkpoint(tmp_path):
    def nan(trainer, stats):
        if stats["step"] == 12:
            raise TrainingDiverged("D loss became nan at step 12")
    run = _run_with_callback(tmp_path, nan)
    run.start()
    wait_for(lambda: run.state == State.DIVERGED and not run.thread_alive(), what="diverged state")
    st = run.status()
    assert "nan" in st["error"] and "last good checkpoint" in st["error"]
    assert st["checkpoint"] == "t-run.pt" and st["checkpoint"] in st["error"]
    saved = torch.load(run.checkpoint, weights_only=True)
    assert saved["step"] == 10  # the autosave before the NaN, not overwritten


def test_save_now_and_load_from_checkpoint(manager, tmp_path):
    run = manager.start("alice", tiny())
    wait_for(lambda: run.status()["step"] >= 5, what="5 steps")
    path = run.save()  # answered by the training thread between two steps
    assert path.is_file() and path.with_suffix(".json").is_file() and path.parent == tmp_path
    assert load_state(str(path))["step"] >= 5
    manager.stop("alice")
    loaded = manager.load("bob", path)
    wait_for(lambda: loaded.state == State.STOPPED and loaded.snapshot().sampler is not None, what="loaded")
    assert loaded.owner == "bob" and loaded.status()["step"] >= 5 and loaded is not run
    start = loaded.status()["step"]  # alice trained on until stopped: the file holds her last step
    manager.resume("bob")
    wait_for(lambda: loaded.state == State.RUNNING and loaded.status()["step"] >= start + 10, what="resumed steps")
    manager.stop("bob")
    assert loaded.checkpoint is not None and loaded.checkpoint != path  # saved under bob's run, not over alice's


def test_directions_are_shared_and_recomputable(manager):
    run = manager.start("alice", tiny())
    wait_for(lambda: run.snapshot().sampler is not None, what="a generator")
    sampler = run.snapshot().sampler
    dirs = Directions(k=4)
    d1, var = dirs.get(sampler, run_key=run.id)
    assert d1.shape[1] == 4 and torch.allclose(d1 @ d1.T, torch.eye(d1.shape[0]), atol=1e-4)
    assert dirs.get(sampler, run_key=run.id)[0] is d1  # cached for every viewer
    assert dirs.get(run.snapshot().sampler, run_key=run.id)[0] is d1  # kept while the run publishes
    assert dirs.get(sampler, recompute=True, run_key=run.id)[0] is not d1


def test_downsample_and_frames_are_bounded():
    cols = {"step": list(range(5000)), "d_loss": [float(i) for i in range(5000)]}
    small = downsample(cols, 300)
    assert len(small["step"]) <= 301 and small["step"][-1] == 4999 and small["step"][0] == 0
    assert downsample({"step": [1, 2]}, 300) == {"step": [1, 2]}
    # the rows chosen stay chosen as the series grows: the next chart differs from this one only at its end
    grown = downsample({"step": list(range(5040)), "d_loss": [float(i) for i in range(5040)]}, 300)
    assert grown["step"][:len(small["step"]) - 1] == small["step"][:-1] and len(grown["step"]) >= 150
    assert MAX_FRAMES <= 100


def test_run_stops_when_its_owner_is_gone(tmp_path):
    m = RunManager(max_runs=1, checkpoint_dir=tmp_path, autosave_every=0, idle_stop_s=0.5, chunk_runner=None)
    try:
        run = m.start("alice", tiny())
        wait_for(lambda: run.state == State.RUNNING, what="running")
        for _ in range(5):  # an open page polls: the run goes on
            time.sleep(0.2)
            m.seen("alice")
            assert m.watched("alice") is run
        assert run.state == State.RUNNING
        t0 = time.monotonic()
        for _ in range(3):  # watching alone (e.g. another visitor's page) does not keep it alive
            m.watched("alice")
            m.seen("bob")
            time.sleep(0.1)
        wait_for(lambda: run.state == State.STOPPED, timeout=10, what="the idle stop")
        assert time.monotonic() - t0 < 15  # idle limit 0.5 s; generous for a loaded 2-core CI box
        assert "no page of its owner" in run.status()["warning"] and run.status()["checkpoint"]
        # the state turns STOPPED before the thread's last clean-up (dropping its trainer): wait for it to end
        wait_for(lambda: not run.thread_alive(), timeout=10, what="the run's thread to end")
    finally:
        m.shutdown()
