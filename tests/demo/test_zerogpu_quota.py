"""ZeroGPU for a class: two visitors train at once, and every GPU chunk spends the quota of the visitor who owns the
run, through the real `spaces` package and Gradio's queue (tests/zerogpu_standin.py stands in for the network
and the GPU only).

The app is launched as a ZeroGPU Space launches it (SPACES_ZERO_GPU=true, SPACE_ID set) in a child process; two
gradio_client visitors with their own X-IP-Token press Train on ring8 together. The stand-in refuses a token
whose request is no longer open, so the runs can only train if every chunk is called from an open request of its
owner (demo/lend.py); visitor A's quota is small and runs out.
"""
import json
import os
import subprocess
import sys
import threading
import urllib.request

import pytest
from gradio_client import Client

from tests.helpers import ROOT, free_port, wait_for
from demo.runs.lending import Lenders, NoLender
from tests.zerogpu_standin import token

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
RING = dict(dataset="ring8", model="auto", loss="hinge", batch_size=64, lr=None, seed=0, z_dim=None, width=16)
TA, TB = token("alice"), token("bob")
QUOTA_A = 4.0  # seconds: a few chunks of ~1 s (each asks for 2 s: 1 s of training + 1 s margin)


@pytest.fixture
def space(tmp_path):
    port, log = free_port(), tmp_path / "gpu-calls.jsonl"
    env = dict(os.environ, SPACES_ZERO_GPU="true", SPACE_ID="teacher/gan-lab-live", GRADIO_SERVER_PORT=str(port),
               GAN_CHECKPOINT_DIR=str(tmp_path / "ckpt"), GAN_FIRST_CHUNK_SECONDS="0.5", GAN_CHUNK_SECONDS="1",
               GAN_CHUNK_MARGIN_S="1", ZEROGPU_STANDIN_QUOTAS=json.dumps({TA: QUOTA_A}),
               ZEROGPU_STANDIN_LOG=str(log), ZEROGPU_STANDIN_LIVE_ONLY="1", OMP_NUM_THREADS="1")
    out = open(tmp_path / "app.log", "w")
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "zerogpu_standin.py"), ROOT], env=env,
                            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"

    def up():
        if proc.poll() is not None:
            raise AssertionError((tmp_path / "app.log").read_text()[-3000:])
        try:
            return urllib.request.urlopen(url, timeout=2).status == 200
        except OSError:
            return False
    try:
        try:
            wait_for(up, timeout=240, what="the app to serve", every=0.5)
        except AssertionError as e:
            raise AssertionError(f"{e}; its log ends: {(tmp_path / 'app.log').read_text()[-3000:]}") from None
        yield url, log, tmp_path / "app.log"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()


def calls(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


# ---- the pieces ------------------------------------------------------------------------------------------------
def test_on_zerogpu_the_queue_keeps_its_size(monkeypatch):
    """Gradio 6.31 lets one event wait on ZeroGPU unless given a size; a class needs many."""
    import gradio as gr

    from demo.app import queue, queue_size
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    with gr.Blocks() as bare:
        gr.Button("x").click(lambda: None)
    assert bare.queue()._queue.max_size == 1  # what a Space got before
    with gr.Blocks() as demo:
        gr.Button("x").click(lambda: None)
    assert queue(demo)._queue.max_size == queue_size() >= 100


def test_a_gpu_call_runs_in_the_thread_of_an_open_request_of_its_owner():
    lenders, got = Lenders(wait_s=30), {}

    def chunk(x):
        got["thread"] = threading.current_thread().name
        return x * 2
    t = threading.Thread(target=lambda: got.update(result=lenders.call("alice", chunk, (21,))), name="run-thread")
    t.start()
    assert not lenders.serve("bob", timeout=0.3)  # another visitor's request never carries alice's chunk
    request = threading.Thread(target=lambda: lenders.serve("alice", timeout=10), name="alice-request")
    request.start()
    request.join(10)
    t.join(10)
    assert got == {"thread": "alice-request", "result": 42}


def test_with_no_open_request_the_call_gives_up_and_stop_ends_the_wait():
    lenders = Lenders(wait_s=0.3)
    with pytest.raises(NoLender, match="none was open"):
        lenders.call("alice", lambda: 1, ())
    assert Lenders(wait_s=30).call("alice", lambda: 1, (), stopped=lambda: True) is None


def test_a_closed_request_stops_carrying_chunks_and_the_run_pauses_resumable(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from demo.lend import lend
    from demo.runs import zerogpu
    from demo.runs.manager import RunManager
    from gan.config import TrainConfig
    monkeypatch.setenv("GAN_FIRST_CHUNK_SECONDS", "0.2")
    monkeypatch.setenv("GAN_CHUNK_SECONDS", "0.2")
    m = RunManager(max_runs=2, checkpoint_dir=tmp_path, autosave_every=0, chunk_runner=zerogpu.gpu_chunk, lend=True)
    m.lenders.wait_s = 1.0
    try:
        run = m.start("alice", TrainConfig(dataset="ring8", batch_size=16, width=16, z_dim=4, seed=0))
        open_, notes = threading.Event(), []
        open_.set()
        t = threading.Thread(target=lambda: notes.extend(lend(SimpleNamespace(manager=m), "alice", "Started.",
                                                              alive=open_.is_set)))
        t.start()
        wait_for(lambda: run.chunks >= 2, timeout=60, what="chunks carried by the open request")
        open_.clear()  # the visitor disconnects
        t.join(30)
        assert not t.is_alive() and all("GPU chunk" in n for n in notes)
        wait_for(lambda: run.state == "quota", timeout=60, what="the run to pause")
        st = run.status()
        assert "Your run paused" in st["warning"] and "press Resume" in st["warning"] and st["checkpoint"], st
    finally:
        m.shutdown()


# ---- the whole app ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_two_visitors_train_at_once_each_on_their_own_quota(space):
    url, log, app_log = space
    alice = Client(url, headers={"X-IP-Token": TA}, verbose=False)
    bob = Client(url, headers={"X-IP-Token": TB}, verbose=False)
    go, jobs = threading.Barrier(2), {}

    def press(name, client):
        go.wait()
        jobs[name] = client.submit(**RING, api_name="/train")  # on ZeroGPU it streams while the run trains
    ts = [threading.Thread(target=press, args=a) for a in (("alice", alice), ("bob", bob))]
    [t.start() for t in ts]
    [t.join(60) for t in ts]

    def status(c):
        return c.predict(api_name="/status")
    wait_for(lambda: status(alice)["step"] > 0 and status(bob)["step"] > 0, timeout=120, what="both runs to train",
             every=0.5)
    a0 = status(alice)
    assert a0["yours"] and a0["gpu_seconds"] is not None  # the page shows the GPU time this run used

    # alice's quota runs out: she gets ZeroGPU's quota message, her run is saved and kept
    st_a = wait_for(lambda: (s := status(alice))["state"] == "quota" and s, timeout=120,
                    what="alice's quota to run out", every=0.5)
    assert "The free GPU quota for this visitor is used up (ZeroGPU)." in st_a["warning"], st_a
    assert "You have exceeded your free ZeroGPU quota" in st_a["warning"]  # spaces' own words, passed on
    assert f"saved at step {st_a['step']:,}" in st_a["warning"] and st_a["checkpoint"], st_a
    assert st_a["gpu_quota_left_s"] is not None and st_a["gpu_quota_left_s"] < 2  # what ZeroGPU said is left
    wait_for(lambda: jobs["alice"].done(), timeout=60, what="alice's Train to end")
    assert "quota" in jobs["alice"].outputs()[-1]

    # bob trains on
    b1 = status(bob)["step"]
    st_b = wait_for(lambda: (s := status(bob))["step"] > b1 + 50 and s, timeout=120, what="bob to train on",
                    every=0.5)
    assert st_b["state"] == "running" and not jobs["bob"].done()
    assert status(alice)["step"] == st_a["step"]  # alice's run is kept where it was
    bob.predict(api_name="/stop")
    wait_for(lambda: jobs["bob"].done(), timeout=60, what="bob's Train to end with his run")

    # every GPU call carried its owner's token, from a request that was still open; none carried none
    got = calls(log)
    owner = {st_a["run_id"]: TA, st_b["run_id"]: TB}
    ran = [c for c in got if c["answer"] == "200"]
    assert ran and all(c["token"] is not None for c in got), got
    assert all(c["live"] for c in got), [c for c in got if not c["live"]]
    assert all(owner[c["run_id"]] == c["token"] for c in ran), ran
    assert {c["token"] for c in ran} == {TA, TB}
    refused = [c for c in got if c["answer"] != "200"]
    assert refused and all(c["token"] == TA and c["answer"] == "429 quota" for c in refused), refused
    assert sum(c.get("charged", 0) for c in ran if c["token"] == TA) <= QUOTA_A
    # their chunks ran at once (each on a GPU of its own), not one visitor after the other
    spans = {t: [(c["t"], c["t"] + c["charged"]) for c in ran if c["token"] == t] for t in (TA, TB)}
    assert any(a0_ < b1_ and b0_ < a1_ for a0_, a1_ in spans[TA] for b0_, b1_ in spans[TB]), spans
    assert "Queue is full" not in app_log.read_text()
