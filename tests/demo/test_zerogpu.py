"""ZeroGPU hosting: the app defines a @spaces.GPU chunk function, a run trains through chunks, and a refused
chunk gives the quota message while the run survives and can continue on the CPU.

The real `spaces` scheduler is replaced by a seam of our own: RunManager(chunk_runner=...) receives what
the decorated function would (CPU state, budget seconds, step cap, stop file). Test (a) imports the app in a
child process with SPACES_ZERO_GPU set, so the real `spaces` decorator wraps the function there.
"""
import json
import os
import pickle
import subprocess
import sys
import threading
from types import SimpleNamespace

import gradio as gr
import pytest

import gan.train.trainer as trainer_mod
from tests.helpers import ROOT, Clock, tiny_ring, wait_for
from demo.runs import zerogpu
from demo.runs.manager import RunManager
from demo.page import Page
from gan.checkpoint import load_state
from gan.train.trainer import Trainer


class Scheduler:
    """Stands in for ZeroGPU: pickles the arguments and the result across, as the forked worker does, runs
    the real chunk function, and refuses chunks from number `refuse_from` on with `error`."""

    def __init__(self, refuse_from=None, error=None):
        self.calls, self.threads, self.refuse_from, self.error = [], [], refuse_from, error

    def __call__(self, state, seconds, steps=None, stop_file=None):
        self.calls.append((state["step"], seconds, steps))
        self.threads.append(threading.current_thread().name)
        if self.refuse_from is not None and len(self.calls) >= self.refuse_from:
            raise self.error
        args = pickle.loads(pickle.dumps((state, seconds, steps, stop_file)))
        return pickle.loads(pickle.dumps(zerogpu.gpu_chunk(*args)))


@pytest.fixture
def short_chunks(monkeypatch):
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setenv("GAN_FIRST_CHUNK_SECONDS", "0.2")
    monkeypatch.setenv("GAN_CHUNK_SECONDS", "0.3")


def quota_error():
    """What spaces.zero.client.schedule raises when the visitor's quota is spent (spaces.zero.gradio.error)."""
    return gr.Error("You have exceeded your free ZeroGPU quota (45s requested vs. 12s left). Try again in 5:01:00. ",
                    title="ZeroGPU quota exceeded", print_exception=False)


# ---- (a) the app under SPACES_ZERO_GPU has a decorated function and builds ------------------------------------
CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import demo.app as app
import spaces
from demo.runs import zerogpu
from demo.runs.manager import RunManager
m = RunManager(checkpoint_dir=sys.argv[2])
demo = app.build_app(m)
btn = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "resume-cpu-btn"]
print(json.dumps({
    "decorated": len(zerogpu.DECORATED),
    "marked": all(hasattr(f, "zerogpu") for f in zerogpu.DECORATED),  # spaces' own mark on wrapped functions
    "in_spaces_cache": zerogpu.gpu_chunk in spaces.zero.decorator.decorated_cache,
    "wrapped": zerogpu.gpu_chunk.__wrapped__.__module__ == "demo.runs.zerogpu",
    "runner_is_gpu_chunk": m.chunk_runner is zerogpu.gpu_chunk,
    "cpu_button_visible": bool(btn) and btn[0].visible,
    "enabled": zerogpu.enabled(),
}))
"""


@pytest.mark.slow
def test_app_on_zerogpu_defines_a_decorated_chunk_function_and_builds(tmp_path):
    env = dict(os.environ, SPACES_ZERO_GPU="true", SPACES_ZERO_DEVICE_API_URL="http://127.0.0.1:9")
    out = subprocess.run([sys.executable, "-c", CHILD, ROOT, str(tmp_path)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"decorated": 1, "marked": True, "in_spaces_cache": True, "wrapped": True,
                   "runner_is_gpu_chunk": True, "cpu_button_visible": True, "enabled": True}, got


def test_off_spaces_the_decorator_is_a_no_op_and_runs_train_in_process(monkeypatch, tmp_path):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    assert zerogpu.DECORATED == [zerogpu.gpu_chunk]
    assert not hasattr(zerogpu.gpu_chunk, "zerogpu")  # spaces returned the function itself
    assert RunManager(checkpoint_dir=tmp_path).chunk_runner is None


# ---- (b) a run trains through chunks ----------------------------------------------------------------------------
def test_a_run_trains_through_gpu_chunks_and_publishes(short_chunks, tmp_path):
    sched = Scheduler()
    m = RunManager(max_runs=1, checkpoint_dir=tmp_path, autosave_every=0, publish_every=0.1, chunk_runner=sched)
    h = Page(m)
    try:
        run = m.start("alice", tiny_ring(device="auto"))
        wait_for(lambda: len(sched.calls) >= 3 and run.snapshot().status["step"] >= sched.calls[2][0] > 0,
                 what="three chunks, the second one published")
        h.explore.sample(4, 0)  # sampling and sliders read the published CPU copy of G, never the GPU function
        h.explore.generate(0, 1.0)
        st = run.status()
        assert st["state"] == "running" and st["step"] > 0
        steps_in = [c[0] for c in sched.calls]
        assert steps_in == sorted(steps_in) and steps_in[0] == 0 and steps_in[2] > steps_in[1] > 0
        assert sched.calls[0][1] == 0.2 and sched.calls[1][1] == 0.3  # a shorter first chunk
        assert run.trainer.device.type == "cpu"  # the thread's own trainer stays on the CPU
        assert run.snapshot().status["step"] >= steps_in[2]
        m.stop("alice", wait=10)
        assert run.state == "stopped"
        assert set(sched.threads) == {f"train-{run.id}"[:40]}  # only the training thread (its name cut at 40)
    finally:
        m.shutdown()


def test_stop_ends_a_long_gpu_chunk_early(short_chunks, monkeypatch, tmp_path):
    """The chunk's 60 s budget counts on the trainer's clock, which stands still here (tests.helpers.Clock): the
    chunk can only end because Stop told it to, between two steps."""
    monkeypatch.setenv("GAN_FIRST_CHUNK_SECONDS", "60")
    clock = Clock()
    monkeypatch.setattr(trainer_mod, "time", clock)
    steps = []  # steps taken inside the chunk so far
    step = Trainer.step
    monkeypatch.setattr(Trainer, "step", lambda self, *a, **k: (steps.append(1), step(self, *a, **k))[1])
    sched = Scheduler()
    m = RunManager(max_runs=1, checkpoint_dir=tmp_path, autosave_every=0, chunk_runner=sched)
    try:
        run = m.start("alice", tiny_ring(device="auto"))
        wait_for(lambda: len(sched.calls) == 1 and len(steps) >= 3, timeout=60, what="steps inside the first chunk")
        m.stop("alice", wait=60)
        assert run.state == "stopped" and len(sched.calls) == 1  # the first chunk ended, and no other began
        assert run.status()["step"] > 0  # the stopped chunk's steps were kept
    finally:
        clock.advance(3600)  # had Stop failed, the chunk's budget now runs out and its thread ends
        m.shutdown()


# ---- (c) a refused chunk ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_refused_chunk_pauses_the_run_with_the_quota_message_and_it_continues_on_cpu(short_chunks, tmp_path):
    sched = Scheduler(refuse_from=3, error=quota_error())
    m = RunManager(max_runs=1, checkpoint_dir=tmp_path, autosave_every=0, publish_every=0.1, chunk_runner=sched)
    try:
        run = m.start("alice", tiny_ring(device="auto"))
        wait_for(lambda: run.state == "quota" and not run.thread_alive(), what="the quota state")
        kept = sched.calls[-1][0]  # the step the refused chunk was given
        st = run.status()
        assert kept > 0 and st["step"] == kept
        assert run.trainer is None and st["checkpoint"] == run.checkpoint.name  # ended: only its checkpoint
        assert "The free GPU quota for this visitor is used up (ZeroGPU)." in st["warning"]
        assert f"saved at step {kept:,}" in st["warning"] and "continue on the CPU" in st["warning"]
        assert "Try again in 5:01:00" in st["warning"]
        assert not run.active and not run.thread_alive()
        assert load_state(str(run.checkpoint))["step"] == kept  # checkpointed
        assert run.snapshot().status["step"] == kept

        calls = len(sched.calls)
        msg = Page(m).train.resume_cpu(SimpleNamespace(session_hash="alice"))  # the "Continue on CPU" button
        assert f"at step {kept:,}" in msg and "on the CPU" in msg
        wait_for(lambda: run.status()["step"] >= kept + 20, what="CPU steps after the refusal")
        assert run.state == "running" and run.status()["warning"] is None
        assert len(sched.calls) == calls  # no more GPU calls
        m.stop("alice", wait=10)

        m.resume("alice")  # a plain Resume tries the GPU again (and is refused again here)
        wait_for(lambda: run.state == "quota", what="the GPU tried again")
        assert len(sched.calls) == calls + 1
    finally:
        m.shutdown()


@pytest.mark.parametrize("title,message,words", [
    ("ZeroGPU quota exceeded", "You have exceeded your free ZeroGPU quota (60s requested vs. 3s left).",
     "quota for this visitor is used up"),
    ("ZeroGPU quota exceeded", "Space app has reached its GPU limit.", "quota for this visitor is used up"),
    ("ZeroGPU queue timeout", "No GPU was available after 60s", "No GPU was free"),
    ("ZeroGPU client error", "Expired ZeroGPU proxy token", "GPU pass expired"),
    ("ZeroGPU illegal duration", "The requested GPU duration (400s) is larger than the maximum allowed",
     "lower GAN_CHUNK_SECONDS"),
    ("ZeroGPU worker error", "GPU task aborted", "The GPU chunk failed"),
])
def test_refusal_messages_are_plain_words(title, message, words):
    text = zerogpu.refusal_message(gr.Error(message, title=title, print_exception=False), 1234)
    assert words in text and "saved at step 1,234" in text
