"""Faults and long runs below the page: a real process killed mid-save, a full disk, NaN losses through the
real detector, 100 Train/Stop cycles, a long run's bounded history, the memory budget in library and CLI."""
import errno
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

import demo.runs.manager as manager_mod
import demo.runs.storage as storage_mod
from conftest import wait_for
from demo.runs.manager import RunManager
from demo.page import Page
from demo.present import status_line
from demo.runs.run import MAX_FRAMES, Limits, Run, State
from gan.checkpoint import load_state, save_checkpoint
from gan.config import ConfigError, TrainConfig
from gan.train.trainer import Trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny(**kw):
    base = dict(dataset="ring8", batch_size=16, width=16, z_dim=4, seed=0, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


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


def test_killed_mid_save_leaves_the_previous_checkpoint_intact(tmp_path):
    path = str(tmp_path / "run.pt")
    rng = random.Random(0)
    for attempt in range(1):
        p = subprocess.Popen([sys.executable, "-c", CHILD.format(root=ROOT, path=path)], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        try:
            first = int(p.stdout.readline())  # one complete save is on disk
            time.sleep(rng.uniform(0.05, 0.4))  # then a random moment, most likely inside a save
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
    t = Trainer(tiny())
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
        run = m.start("alice", tiny())
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
            mine = [row[0] for row in table if not row[0].startswith("examples/")]  # the shipped examples are listed too
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
        run = m.start("alice", tiny())
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


def _rss() -> int:
    """Resident memory after a full collection and returning freed heap pages to the OS (glibc), so the
    figure reflects what is still referenced rather than allocator slack left by earlier tests."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_100_rapid_train_stop_cycles_leave_no_threads_and_flat_memory(tmp_path):
    m = RunManager(max_runs=1, checkpoint_dir=tmp_path, autosave_every=0, publish_every=0.05, chunk_runner=None)
    try:
        for _ in range(5):  # warm caches (dataset, torch kernels) before measuring
            m.start("alice", tiny())
            m.stop("alice")
        base_threads, base_rss = threading.active_count(), _rss()
        for i in range(100):
            m.start("alice" if i % 2 else "bob", tiny())
            m.stop("alice" if i % 2 else "bob")
        wait_for(lambda: threading.active_count() <= base_threads, timeout=10, what="threads to end")
        assert not any(r.thread_alive() for r in m.runs())
        assert len(m.runs()) <= m.keep_runs + m.max_runs  # finished runs are forgotten
        growth = (_rss() - base_rss) / 2**20
        assert growth < 40, f"RSS grew {growth:.0f} MiB over 100 cycles"
    finally:
        m.shutdown()


def test_long_run_keeps_history_and_snapshots_bounded(tmp_path):
    cfg = TrainConfig(dataset="gaussian1d", batch_size=4, width=4, z_dim=2, seed=0, device="cpu")
    def save(r, tr):
        return Path(save_checkpoint(tr, str(tmp_path / f"{r.id}.pt")))
    run = Run("long", "alice", build=lambda: Trainer(cfg, history_points=32), folder=tmp_path / "png", save=save,
              display={"dataset": "gaussian1d"}, limits=Limits(steps=2500, autosave_every=0, publish_every=0.2))
    run.start()
    wait_for(lambda: run.status()["step"] >= 1000, what="1000 steps")
    rss_1000, len_1000 = _rss(), len(run.trainer.history)
    wait_for(lambda: run.state == State.STOPPED and not run.thread_alive(), timeout=60, what="2500 steps")
    assert "limit of 2,500 steps" in run.status()["warning"]
    snap = run.snapshot()
    assert run.trainer is None  # ended: what is left is the checkpoint, the last snapshot and the frames
    saved = load_state(str(run.checkpoint))
    hist = saved["history"]
    assert saved["step"] == 2500 == run.status()["step"]
    assert len(hist["data"]["step"]) < 32 and len_1000 < 32 and hist["stride"] >= 64
    steps = [s for chart in snap.charts.values() for s in chart["step"]]
    assert steps and all(len(chart["step"]) <= 301 for chart in snap.charts.values()) and max(steps) >= 2400
    assert 2 <= len(run.frames) <= MAX_FRAMES
    assert (_rss() - rss_1000) / 2**20 < 30


def test_memory_budget_refuses_in_the_library_and_the_cli(capsys, monkeypatch):
    with pytest.raises(ConfigError, match="per training step; this server allows"):
        Trainer(TrainConfig(dataset="ring8", batch_size=65536, width=4096, device="cpu"))
    monkeypatch.setenv("GAN_MAX_STEP_MB", "1")  # the budget is configurable
    with pytest.raises(ConfigError, match="allows 1 MiB"):
        Trainer(TrainConfig(dataset="ring8", batch_size=4096, width=64, device="cpu"))
    monkeypatch.delenv("GAN_MAX_STEP_MB")
    from gan.cli.main import main
    for args, words in [(["--batch-size", "65536", "--width", "4096"], "per training step"),
                        (["--width", "0"], "width must be >= 1"), (["--z-dim", "100000"], "z_dim must be <="),
                        (["--lr", "inf"], "lr must be a finite number"), (["--lr", "fast"], "lr must be a number"),
                        (["--model", "gpt"], "unknown model 'gpt'")]:
        assert main(["train", "--dataset", "ring8", "--steps", "1", *args]) == 2, args
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, (args, err)


def test_cli_trains_on_a_folder_of_mixed_images_skipping_other_files(tmp_path, capsys):
    from PIL import Image
    img = tmp_path / "imgs"
    (img / "sub").mkdir(parents=True)
    Image.new("RGB", (20, 30), (255, 0, 0)).save(img / "a.png")
    Image.new("L", (12, 12), 90).save(img / "sub" / "b.jpg")
    Image.new("RGBA", (40, 16), (0, 0, 255, 100)).save(img / "c.png")
    (img / "notes.txt").write_text("hello")
    from gan.cli.main import main
    out = str(tmp_path / "f.pt")
    assert main(["train", "--dataset", f"folder:{img}", "--steps", "2", "--batch-size", "2", "--width", "8",
                 "--image-size", "16", "--out", out, "--quiet"]) == 0
    st = load_state(out)
    assert st["step"] == 2 and tuple(st["model_config"]["data_shape"]) == (3, 16, 16)
    from gan.data.spec import load_dataset
    assert load_dataset(f"folder:{img}", image_size=16).info == {"images": 3, "skipped": 1}
