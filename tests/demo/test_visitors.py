"""Several visitors at once through the launched app: two presses at once and a burst of twenty start one run,
a visitor cannot stop or overwrite another's run, and closing the owner's page stops their run while a new page
of the same visitor reaches its checkpoint."""
import threading
import uuid

import pytest

gradio_client = pytest.importorskip("gradio_client")
httpx = pytest.importorskip("httpx")
from gradio_client import Client, handle_file  # noqa: E402

from tests.helpers import RING, TRAIN_FORM, client, good_checkpoint, poll_status, req, wait_for  # noqa: E402
from gan.config import TrainConfig  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
TRAIN = TRAIN_FORM  # the /train form's values: a small ring8 run with BCE
poll = poll_status  # /status until cond(status)


@pytest.mark.slow
def test_two_presses_at_once_and_a_burst_of_twenty(clean):
    url, manager, _ = clean
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(10) as pool:
        clients = list(pool.map(lambda _: Client(url, verbose=False), range(20)))

    def burst(n):
        go, out = threading.Barrier(n), [None] * n

        def press(i):
            go.wait()
            try:
                out[i] = clients[i].predict(**{**TRAIN, "seed": i}, api_name="/train")
            except Exception as e:  # noqa: BLE001
                out[i] = e
        ts = [threading.Thread(target=press, args=(i,)) for i in range(n)]
        [t.start() for t in ts]
        [t.join(60) for t in ts]
        return out

    out = burst(2)  # cap 1: one starts, the other waits in line (nobody is refused)
    started = [o for o in out if isinstance(o, str) and o.startswith("Started")]
    queued = [o for o in out if isinstance(o, str) and o.startswith("Queued")]
    assert len(started) == 1 and len(queued) == 1, out
    assert len(manager.active_runs()) == 1
    manager.shutdown()

    manager.max_runs = 3
    out = burst(20)
    started = [o for o in out if isinstance(o, str) and o.startswith("Started")]
    queued = [o for o in out if isinstance(o, str) and o.startswith("Queued")]
    assert len(started) == 3 and len(queued) == 17, out
    assert len(manager.active_runs()) == 3 and len(manager.waitlist) == 17


@pytest.mark.slow
def test_a_visitor_cannot_stop_or_overwrite_another_visitors_run(clean, tmp_path):
    url, manager, _ = clean
    manager.max_runs = 2
    alice, mallory = Client(url, verbose=False), Client(url, verbose=False)
    alice.predict(**TRAIN, api_name="/train")
    st = poll(alice, lambda s: s["state"] == "running" and s["step"] >= 2, what="alice's run")
    run = manager.runs()[-1]
    assert mallory.predict(api_name="/status")["yours"] is False  # may watch
    with pytest.raises(Exception, match="another visitor"):
        mallory.predict(api_name="/stop")
    with pytest.raises(Exception, match="nothing to resume"):
        mallory.predict(api_name="/resume")
    with pytest.raises(Exception, match="no run to save"):
        mallory.predict(api_name="/save")
    mallory.predict(api_name="/reset")  # resets only mallory's (none)
    # mallory loads a checkpoint and trains her own run: a new run, alice's is untouched
    good = good_checkpoint(tmp_path)
    mallory.predict(handle_file(good), api_name="/upload")
    poll(mallory, lambda s: s["yours"] and s["state"] == "stopped", what="mallory's loaded run")
    mallory.predict(api_name="/resume")
    poll(mallory, lambda s: s["yours"] and s["state"] == "running", what="mallory's own run")
    mallory.predict(api_name="/stop")
    after = poll(alice, lambda s: s["step"] > st["step"], what="alice's run to go on")
    assert after["run_id"] == st["run_id"] == run.id and after["state"] == "running" and run.owner != "mallory"
    assert run.thread_alive()


def test_closing_the_owners_page_stops_the_run_and_a_new_page_reaches_its_checkpoint(srv):
    a = client(srv.url)
    a.predict(**RING, api_name="/train")
    poll_status(a, lambda s: s["state"] == "running", what="training")
    run = srv.manager.own_run(a.session_hash)
    with httpx.stream("GET", f"{srv.url}gradio_api/heartbeat/{a.session_hash}", timeout=10) as s:
        next(s.iter_lines())  # the page is open ... and now it closes (Gradio's unload -> Page.bye)
    wait_for(lambda: not run.active, timeout=15, what="the run to stop when its page closed")
    assert run.checkpoint is not None and run.checkpoint.exists()
    # a visitor id kept in the browser (BrowserState) reaches its run and checkpoints from a new session
    page, vid = srv.page, uuid.uuid4().hex
    token = page.sign(vid)  # what the browser keeps: the id signed by the server
    assert page.hello(token, req("first-tab")) == token
    own = srv.manager.start(vid, TrainConfig(dataset="ring8", batch_size=32, width=8, device="cpu"))
    wait_for(lambda: own.status()["step"] > 0, what="a step")
    page.bye(req("first-tab"))  # the last page of this visitor closes
    wait_for(lambda: not own.active, timeout=15, what="the run to stop on bye")
    assert page.hello(token, req("second-tab")) == token
    names = page.files.names(req("second-tab"))
    assert own.checkpoint.name in names
    assert "Loading" in page.files.load(own.checkpoint.name, req("second-tab"))
