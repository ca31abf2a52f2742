"""Faults and long runs: a real process killed mid-save, a full disk, NaN losses through the real detector, 100
Train/Stop cycles, a long run's bounded history, and an error inside the training thread through the app."""
import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from gradio_client import Client

import demo.runs.manager as manager_mod
import demo.runs.storage as storage_mod
from tests.helpers import ROOT, TRAIN_FORM, held_bytes, poll_status, tensor_bytes, tiny_ring, wait_for
from demo.runs.manager import RunManager
from demo.page import Page
from demo.present import status_line
from demo.runs.monitors import MAX_REPLAY
from demo.runs.run import MAX_FRAMES, Run
from demo.runs.state import Limits, State
from gan.checkpoint import load_state, save_checkpoint
from gan.config import TrainConfig
from gan.train.trainer import Trainer

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
TRAIN = TRAIN_FORM  # the /train form's values: a small ring8 run with BCE
poll = poll_status  # /status until cond(status)

CHILD = r"""
import sys, torch
sys.path.insert(0, {root!r})
from gan.checkpoint import save_checkpoint
from gan.train.trainer import Trainer
from gan.config import TrainConfig
t = Trainer(TrainConfig(dataset="ring8", batch_size=16, width=16, z_dim=4, device="cpu"))
pad = torch.randn(12 * 2**20 // 4)  # ~12 MiB, so a save takes long enough to be caught in the middle
i = 0
while True:
    i += 1
    t.step_count = i
    save_checkpoint(t, {path!r}, extra={{"pad": pad, "i": i}})
    print(i, flush=True)
"""


@pytest.mark.slow
def test_killed_mid_save_leaves_the_previous_checkpoint_intact(tmp_path):
    path = str(tmp_path / "run.pt")
    p = subprocess.Popen([sys.executable, "-c", CHILD.format(root=ROOT, path=path)], stdout=subprocess.PIPE,
                         text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        first = int(p.stdout.readline())  # one complete save is on disk
        # then the moment a save is under way (its temporary file exists), whatever this machine's speed; a save
        # takes tens of ms, so polling the folder catches one long before the generous deadline
        deadline = time.monotonic() + 60
        while not any(f.startswith(".tmp-") for f in os.listdir(tmp_path)) and time.monotonic() < deadline:
            time.sleep(0.001)
        os.kill(p.pid, signal.SIGKILL)
    finally:
        p.wait(10)
    assert p.returncode == -signal.SIGKILL
    state = load_state(path)  # the file under the final name is always a whole checkpoint
    assert state["step"] >= first and state["extra"]["i"] == state["step"]
    leftovers = [f for f in os.listdir(tmp_path) if f != "run.pt"]
    assert all(f.startswith(".tmp-") for f in leftovers), leftovers  # hidden, never listed or loaded
    from gan.checkpoint import latest_checkpoint
    assert latest_checkpoint(str(tmp_path)) == path


def test_stale_temp_files_are_removed_when_the_app_starts(tmp_path):
    old, fresh = tmp_path / ".tmp-abc.pt", tmp_path / ".tmp-def.pt"
    meta, kept = tmp_path / "run.json.tmp", tmp_path / "run.pt"
    for f in (old, fresh, meta, kept):
        f.write_bytes(b"x")
    hour_ago = time.time() - 3600
    for f in (old, meta, kept):
        os.utime(f, (hour_ago, hour_ago))
    RunManager(checkpoint_dir=tmp_path)
    assert not old.exists() and not meta.exists()  # a killed save's leftovers
    assert fresh.exists() and kept.exists()  # a save that may be in progress, and a real checkpoint


def test_failed_save_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    t = Trainer(tiny_ring())
    t.step()
    path = save_checkpoint(t, str(tmp_path / "a.pt"))
    t.step()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(OSError):
        save_checkpoint(t, path)
    monkeypatch.undo()
    assert load_state(path)["step"] == 1 and os.listdir(tmp_path) == ["a.pt"]


@pytest.mark.parametrize("how", ["full disk", "folder under a file"])
def test_full_disk_or_unwritable_folder_warns_and_training_goes_on(tmp_path, monkeypatch, how):
    if how == "full disk":
        ckdir = tmp_path / "ck"

        def full(*a, **k):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(storage_mod, "save_checkpoint", full)
    else:  # chmod is ignored by root, but nobody can make a folder under a plain file
        (tmp_path / "file").write_text("x")
        ckdir = tmp_path / "file" / "checkpoints"
    m = RunManager(max_runs=1, checkpoint_dir=ckdir, autosave_every=5, publish_every=0.2, chunk_runner=None)
    try:
        run = m.start("alice", tiny_ring())
        wait_for(lambda: run.status()["step"] >= 20, what="steps past a failed autosave")
        st = run.status()
        assert st["state"] == "running" and "could not save a checkpoint" in st["warning"]
        assert "could not save" in status_line(st, yours=True)
        m.stop("alice")
        assert run.state == "stopped" and not run.thread_alive()  # stops cleanly despite the failed save
        assert run.checkpoint is None and run.trainer is not None  # nothing on disk, so the trainer is kept
        import gradio as gr
        with pytest.raises(gr.Error, match="could not save") as e:
            Page(m).files.save_now(type("R", (), {"session_hash": "alice"})())
        assert str(tmp_path) not in str(e.value)  # no server path in the message
        if how == "full disk":  # space again: Save now writes the stopped run's checkpoint
            monkeypatch.undo()
            note, table = Page(m).files.save_now(type("R", (), {"session_hash": "alice"})())
            mine = [row[0] for row in table if not row[0].startswith("examples/")]  # shipped examples are listed too
            assert note == f"Saved `{run.id}.pt`." and mine == [f"{run.id}.pt"]
            assert load_state(str(run.checkpoint))["step"] == run.status()["step"]
            assert run.status()["warning"] is None
    finally:
        m.shutdown()


class PoisonedTrainer(Trainer):
    """A real trainer whose D weights turn to NaN at step 13, so the real NaN check must catch it."""

    def step(self):
        if self.step_count == 12:
            with torch.no_grad():
                next(self.D.parameters()).fill_(float("nan"))
        return super().step()


def test_nan_losses_stop_the_run_and_the_last_good_checkpoint_is_kept_and_offered(tmp_path, monkeypatch):
    monkeypatch.setattr(manager_mod, "Trainer", PoisonedTrainer)
    m = RunManager(max_runs=1, checkpoint_dir=tmp_path, autosave_every=5, publish_every=0.1, chunk_runner=None)
    try:
        run = m.start("alice", tiny_ring())
        wait_for(lambda: run.state == "diverged", what="the diverged state")
        st = run.status()
        line = status_line(st, yours=True)
        assert "became nan" in line and "last good checkpoint is kept" in line
        wait_for(lambda: not run.thread_alive(), what="the thread to end")
        assert st["checkpoint"] == run.checkpoint.name and st["checkpoint"] in line
        kept = load_state(str(run.checkpoint))
        assert kept["step"] == 10 and all(torch.isfinite(v).all() for v in kept["D"].values()
                                          if v.is_floating_point())
        files = Page(m).files
        alice = type("R", (), {"session_hash": "alice"})()
        assert [row[0] for row in files.table(alice) if not row[0].startswith("examples/")] == [run.checkpoint.name]
        monkeypatch.setattr(manager_mod, "Trainer", Trainer)
        assert "Loading" in files.load(run.checkpoint.name, alice)  # by name, as the page loads it
        loaded = m.own_run("alice")
        assert loaded is not run
        wait_for(lambda: loaded.state == "stopped", what="the kept checkpoint to load")
        assert loaded.status()["step"] == 10
    finally:
        m.shutdown()


CYCLES = 40  # was 100 (64 KiB allowed): each cycle builds, publishes, saves; a leak shows per cycle


@pytest.mark.slow
def test_40_rapid_train_stop_cycles_leave_no_threads_and_flat_memory(tmp_path):
    m = RunManager(max_runs=1, checkpoint_dir=tmp_path, autosave_every=0, publish_every=0.05, chunk_runner=None)
    try:
        for _ in range(5):  # warm caches (dataset, torch kernels) before measuring
            m.start("alice", tiny_ring())
            m.stop("alice")
        # memory as the tensors the process holds outside the runs the manager keeps (tests.helpers.tensor_bytes),
        # not RSS, which moves by tens of MiB with the allocator's arenas whatever the code does
        base_threads, base_outside = threading.active_count(), tensor_bytes() - tensor_bytes(m)
        for i in range(CYCLES):
            m.start("alice" if i % 2 else "bob", tiny_ring())
            m.stop("alice" if i % 2 else "bob")
        wait_for(lambda: threading.active_count() <= base_threads, timeout=60, what="threads to end")
        assert not any(r.thread_alive() for r in m.runs())
        assert len(m.runs()) <= m.keep_runs + m.max_runs  # finished runs are forgotten
        growth = tensor_bytes() - tensor_bytes(m) - base_outside  # 0 measured; 640 bytes a cycle, as over 100 once
        assert growth < CYCLES * 640, f"{growth / 2**10:.1f} KiB of tensors outlived their runs over {CYCLES} cycles"
    finally:
        m.shutdown()


@pytest.mark.slow
def test_long_run_keeps_history_and_snapshots_bounded(tmp_path):
    cfg = TrainConfig(dataset="gaussian1d", batch_size=4, width=4, z_dim=2, seed=0, device="cpu")
    def save(r, tr):
        return Path(save_checkpoint(tr, str(tmp_path / f"{r.id}.pt")))
    run = Run("long", "alice", build=lambda: Trainer(cfg, history_points=32), folder=tmp_path / "png", save=save,
              display={"dataset": "gaussian1d"}, limits=Limits(steps=2500, autosave_every=0, publish_every=0.2))
    run.start()
    wait_for(lambda: run.status()["step"] >= 1000, timeout=300, what="1000 steps")
    trainer = run.trainer
    # what the run keeps besides its trainer and its time-lapse frames (bounded below), by reference, not RSS
    def frame_bytes():  # the time-lapse and Theory replay frames: bounded by count, checked below
        return sum(map(len, run.frames)) + sum(len(png) for _, png in run.theory_frames)

    kept_1000, len_1000 = held_bytes(run, skip=(trainer,)) - frame_bytes(), len(trainer.history)
    del trainer
    wait_for(lambda: run.state == State.STOPPED and not run.thread_alive(), timeout=300, what="2500 steps")
    assert "limit of 2,500 steps" in run.status()["warning"]
    snap = run.snapshot()
    assert run.trainer is None  # ended: what is left is the checkpoint, the last snapshot and the frames
    saved = load_state(str(run.checkpoint))
    hist = saved["history"]
    assert saved["step"] == 2500 == run.status()["step"]
    assert len(hist["data"]["step"]) < 32 and len_1000 < 32 and hist["stride"] >= 64
    steps = [s for chart in snap.charts.values() for s in chart["step"]]
    assert steps and all(len(chart["step"]) <= 301 for chart in snap.charts.values()) and max(steps) >= 2400
    assert 2 <= len(run.frames) <= MAX_FRAMES and 2 <= len(run.theory_frames) <= MAX_REPLAY
    grown = held_bytes(run) - frame_bytes() - kept_1000  # ~1 KiB measured (the status, a longer chart)
    assert grown < 64 * 2**10, f"the run kept {grown / 2**10:.0f} KiB more from step 1000 to 2500"



# ---- through the launched app (conftest.clean) -----------------------------------------------------------
def test_error_in_the_training_thread_shows_and_a_new_run_starts(clean, monkeypatch):
    url, manager, _ = clean
    erin = Client(url, verbose=False)
    real = manager.dataset

    def flaky(cfg):
        if cfg.seed == 13:
            raise RuntimeError("disk on fire")
        return real(cfg)

    monkeypatch.setattr(manager, "dataset", flaky)
    erin.predict(**{**TRAIN, "seed": 13}, api_name="/train")
    st = poll(erin, lambda s: s["state"] == "error", what="the error state")
    assert "disk on fire" in st["error"]
    assert "**Error:** RuntimeError: disk on fire" in status_line(st, yours=True)
    assert not any(r.thread_alive() for r in manager.runs())
    erin.predict(**TRAIN, api_name="/train")  # the app still serves, and a new run starts
    st = poll(erin, lambda s: s["state"] == "running" and s["step"] >= 2, what="a new run")
    assert st["error"] is None
