"""A class on one CPU: many runs train at once taking fair turns (demo/runs/sharing.py), and past the cap a visitor
waits in a queue that shows their place and wait, and their run starts by itself (demo/runs/waitlist.py); nobody's
click is refused. Decisions are asserted, not speeds: waits have generous timeouts."""
import threading
import time

import pytest
from gradio_client import Client

from tests.helpers import serve_app, wait_for
from demo import present
from demo.runs.manager import RunBusy, RunManager
from demo.runs.state import State
from demo.runs.sharing import CpuShare, default_max_runs
from demo.runs.waitlist import estimate_waits
from gan.config import TrainConfig

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


def tiny(seed=0):
    return TrainConfig(dataset="ring8", batch_size=16, width=16, z_dim=4, seed=seed, device="cpu")


# ---- the CPU's turns ------------------------------------------------------------------------------------------
def test_one_slot_lets_one_run_step_at_a_time_and_every_run_gets_turns():
    share, stop = CpuShare(slots=1, quantum=0.005), threading.Event()
    inside, most, turns = [0], [0], {m: 0 for m in "abc"}
    lock = threading.Lock()

    def run(m):
        share.join(m)
        while not stop.is_set():
            if not share.turn(m, stop):
                break
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.001)  # a step
            with lock:
                inside[0] -= 1
                turns[m] += 1
        share.leave(m)
    ts = [threading.Thread(target=run, args=(m,)) for m in "abc"]
    [t.start() for t in ts]
    assert share.members() == 3 and share.crowd() == 3 and share.share() == pytest.approx(1 / 3)
    wait_for(lambda: min(turns.values()) >= 20, timeout=60, what="every run to get turns")
    stop.set()
    [t.join(10) for t in ts]
    assert most[0] == 1  # never two runs stepping at once on one slot
    assert share.members() == 0 and not share._holding


def test_the_least_served_waiting_run_goes_next_and_a_newcomer_does_not_jump_ahead():
    share = CpuShare(slots=1)
    for m, served in (("a", 5.0), ("b", 1.0), ("c", 3.0)):
        share.join(m)
        share._served[m] = served
    share._waiting = {"a", "b", "c"}
    assert [m for m in "abc" if share._may_take(m)] == ["b"]
    share.join("d")  # starts level with the least served, not at zero
    assert share._served["d"] == 1.0
    share._holding["b"] = time.monotonic()
    assert not any(share._may_take(m) for m in "acd")  # the one slot is taken


def test_waits_follow_the_runs_that_end_first_then_whole_turns():
    # two slots held for 10 s and 40 s more, runs then get 60 s turns: 1st waits 10, 2nd 40, 3rd 70, 4th 100
    assert estimate_waits([10.0, 40.0], free=0, n=4, turn=60.0) == [10.0, 40.0, 70.0, 100.0]
    assert estimate_waits([], free=1, n=2, turn=None) == [0.0, None]  # no time limits: no estimate
    assert estimate_waits([None, None], free=0, n=1, turn=60.0) == [None]
    assert estimate_waits([10.0], free=0, n=2, turn=60.0, handover=5.0) == [15.0, 80.0]  # saving, building


def test_the_default_cap_follows_the_cores(monkeypatch):
    monkeypatch.delenv("GAN_MAX_RUNS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert default_max_runs() == 8 and RunManager(chunk_runner=None).max_runs == 8
    monkeypatch.setenv("GAN_MAX_RUNS", "3")
    assert RunManager(chunk_runner=None).max_runs == 3


# ---- the queue ----------------------------------------------------------------------------------------------
def test_past_the_cap_visitors_queue_see_place_and_wait_and_start_by_themselves(tmp_path):
    m = RunManager(max_runs=2, checkpoint_dir=tmp_path, autosave_every=0, publish_every=0.2, chunk_runner=None,
                   turn_s=1.0)
    try:
        runs = [m.start(f"v{i}", tiny(i)) for i in range(5)]  # nobody is refused
        assert [r.state for r in runs[2:]] == [State.QUEUED] * 3
        assert [r.status()["queue_place"] for r in runs[2:]] == [1, 2, 3]
        wait_for(lambda: all(r.status()["queue_length"] == 3 for r in runs[2:]), what="the line's length shown")
        with pytest.raises(RunBusy, match="already in the queue"):
            m.start("v3", tiny())
        wait_for(lambda: runs[2].status()["wait_s"] is not None, what="a wait estimate")
        assert 0 < runs[2].status()["wait_s"] <= 10 and runs[4].status()["wait_s"] >= runs[2].status()["wait_s"]
        words = present.status_line(runs[3].status(), yours=True)
        assert "queued" in words and "number **2** of 3 in line" in words and "estimated wait about" in words

        # while others wait, the training runs stop after their turn, saved, and say why
        wait_for(lambda: runs[0].state == State.STOPPED and runs[1].state == State.STOPPED, timeout=60,
                 what="the first runs' turns to end")
        assert "so that visitors waiting in the queue can train" in runs[0].status()["warning"]
        assert runs[0].checkpoint.exists()
        # the queued runs start by themselves, first come first served
        wait_for(lambda: all(r.status()["step"] > 0 for r in runs[2:4]), timeout=60, what="2nd wave to train")
        assert runs[4].state in (State.QUEUED, State.STARTING, State.LOADING, State.RUNNING, State.STOPPED)

        # Resume past the cap queues again, behind those already waiting; Stop leaves the queue
        m.resume("v0")
        assert runs[0].state == State.QUEUED and runs[0].status()["queue_place"] == len(m.waitlist)
        m.stop("v0")
        assert runs[0].state == State.STOPPED and "left the queue" in runs[0].status()["warning"]
        wait_for(lambda: runs[4].status()["step"] > 0, timeout=60, what="the last in line to train")
        assert len(m.waitlist) == 0
    finally:
        m.shutdown()


def test_alone_a_run_is_not_bounded_by_the_turn_limit(tmp_path):
    m = RunManager(max_runs=2, checkpoint_dir=tmp_path, autosave_every=0, chunk_runner=None, turn_s=0.5)
    try:
        run = m.start("solo", tiny())
        wait_for(lambda: run.status()["step"] > 0, what="training")
        time.sleep(1.5)
        assert run.state == State.RUNNING and run.turn_until is None  # nobody waits: no bound
    finally:
        m.shutdown()


def test_through_gradio_a_visitor_past_the_cap_queues_and_starts_by_itself(tmp_path):
    m = RunManager(max_runs=1, checkpoint_dir=tmp_path, autosave_every=0, publish_every=0.2, chunk_runner=None,
                   turn_s=1.0)
    ring = dict(dataset="ring8", model="auto", loss="hinge", batch_size=16, lr=None, seed=0, z_dim=4, width=16)
    with serve_app(m) as (url, _):
        alice, bob = Client(url, verbose=False), Client(url, verbose=False)
        assert alice.predict(**ring, api_name="/train").startswith("Started run")
        note = bob.predict(**ring, api_name="/train")  # past the cap: queued, not refused
        assert note.startswith("Queued run") and "number **1** of 1 in line" in note, note
        st = bob.predict(api_name="/status")
        assert st["state"] == "queued" and st["queue_place"] == 1 and st["yours"], st
        assert {"runs_sharing", "queue_length", "wait_s", "active_runs", "max_runs", "step"} <= set(st)
        st = wait_for(lambda: (s := bob.predict(api_name="/status"))["state"] == "running" and s, timeout=60,
                      what="bob's run to start by itself", every=0.2)
        assert st["queue_place"] is None and st["yours"]
        st_a = alice.predict(api_name="/status")
        assert st_a["state"] == "stopped" and "queue" in st_a["warning"]
        bob.predict(api_name="/stop")


def test_the_status_line_says_how_the_server_is_shared():
    running = {"state": "running", "step": 10, "runs_sharing": 8, "cpu_share": 0.125, "turn_left_s": 130.0,
               "queue_length": 4, "gpu_seconds": 75.0, "gpu_quota_left_s": 12.0}
    line = present.sharing_line(running)
    assert "8 runs share this server's CPU in turns; this one gets 12% of the training time" in line
    assert "4 visitor(s) wait for a slot: this run stops in 2 min" in line
    assert "75 s of its owner's quota; ZeroGPU says 12 s of quota are left" in line
    assert present.sharing_line({"state": "running", "runs_sharing": 1, "cpu_share": 1.0}) == ""  # alone: nothing
    assert "unknown" in present.sharing_line({"state": "queued", "queue_place": 1, "queue_length": 1})
