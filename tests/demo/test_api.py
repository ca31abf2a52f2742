"""The launched app through gradio_client: /train, /status, /generate, /stop, /resume, and the checkpoint
endpoints (save, list, load and load-and-resume by name, download, upload, time-lapse), as a user's script would.
A gradio_client is its own visitor (its session)."""
import functools
import math
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

from tests.helpers import client, error_of, pixels, poll_status, train_and_stop, wait_for  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
TRAIN = dict(dataset="ring8", model="auto", loss="bce", batch_size=32, lr=None, seed=0, z_dim=None, width=32)


poll = functools.partial(poll_status, timeout=40.0)  # /status until cond(status)


@pytest.mark.slow
def test_train_watch_generate_stop_resume(served):
    url, manager, _ = served
    alice = Client(url, verbose=False)
    names = set(alice.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/train", "/stop", "/status", "/generate", "/resume", "/checkpoints", "/download", "/load",
            "/load_resume", "/delete_checkpoint"} <= names

    alice.predict(**TRAIN, api_name="/train")
    st1 = poll(alice, lambda s: s["state"] == "running" and s["step"] >= 5 and s["d_loss"] is not None,
               what="training to start")
    assert {"state", "step", "d_loss", "g_loss"} <= set(st1)
    st2 = poll(alice, lambda s: s["step"] >= st1["step"] + 20, what="the step to advance")
    assert math.isfinite(st2["d_loss"]) and math.isfinite(st2["g_loss"])
    assert st2["yours"] is True

    # two slider settings give different pictures (read from the published copy of G while training)
    a = pixels(alice.predict(seed=1, d1=0.0, api_name="/generate"))
    b = pixels(alice.predict(seed=1, d1=4.0, d2=-4.0, api_name="/generate"))
    assert a.shape == b.shape and np.abs(a - b).sum() > 0

    # another visitor may watch but not stop, and waits in line past the cap
    bob = Client(url, verbose=False)
    bob_st = bob.predict(api_name="/status")
    assert bob_st["run_id"] == st2["run_id"] and bob_st["yours"] is False
    with pytest.raises(Exception, match="another visitor"):
        bob.predict(api_name="/stop")
    with pytest.raises(Exception, match=r"The learning rate \(lr\) must be more than 0"):
        bob.predict(**{**TRAIN, "lr": -1.0}, api_name="/train")
    assert bob.predict(**TRAIN, api_name="/train").startswith("Queued run")  # past the cap: queued, not refused
    bob.predict(api_name="/stop")  # and leaves the line
    assert "left the queue" in bob.predict(api_name="/status")["warning"]

    alice.predict(api_name="/stop")
    stopped = alice.predict(api_name="/status")
    assert stopped["state"] == "stopped"
    for _ in range(5):  # the step stays put while stopped
        time.sleep(0.2)
        assert alice.predict(api_name="/status")["step"] == stopped["step"]
    assert not any(r.thread_alive() for r in manager.runs())

    # stopped (its trainer is let go): the same slider setting draws the same picture, from the kept nets
    assert all(r.trainer is None for r in manager.runs())
    c1 = pixels(alice.predict(seed=2, d3=1.5, api_name="/generate"))
    c2 = pixels(alice.predict(seed=2, d3=1.5, api_name="/generate"))
    assert np.array_equal(c1, c2)

    alice.predict(api_name="/resume")
    resumed = poll(alice, lambda s: s["state"] == "running" and s["step"] >= stopped["step"] + 10,
                   what="the resumed run to advance")
    assert resumed["run_id"] == stopped["run_id"]
    alice.predict(api_name="/stop")
    assert alice.predict(api_name="/status")["state"] == "stopped"


@pytest.mark.slow
def test_checkpoints_save_list_load_upload_and_timelapse(served, tmp_path):
    url, manager, _ = served
    carol = Client(url, verbose=False)
    with pytest.raises(Exception, match="no run to save"):
        carol.predict(api_name="/save")
    carol.predict(**{**TRAIN, "seed": 3}, api_name="/train")
    poll(carol, lambda s: s["state"] == "running" and s["step"] >= 5 and s.get("yours"), what="carol's run")
    note, table = carol.predict(api_name="/save")
    run = manager.active_runs()[0]
    saved = f"{run.id}.pt"
    assert "Saved" in note and saved in note and str(manager.checkpoint_dir) not in note
    assert any(row[0] == saved and row[0].startswith("ring8") for row in table["data"])
    assert saved in carol.predict(api_name="/checkpoints")  # the names /load and /download take
    ckpt = carol.predict(api_name="/download_checkpoint")
    assert str(ckpt).endswith(".pt")
    wait_for(lambda: len(run.frames) >= 2, timeout=60, what="a second snapshot, so the time-lapse has two frames")
    gif = carol.predict(api_name="/timelapse")
    assert Image.open(gif).format == "GIF" and Image.open(gif).n_frames >= 2
    carol.predict(api_name="/stop")

    # downloads are copies in the visitor's export folder, never files of the checkpoint folder itself
    by_name = carol.predict(saved, api_name="/download")
    assert open(by_name, "rb").read()[:2] == open(ckpt, "rb").read()[:2] == b"PK"
    exports = manager.storage.exports
    assert any(p.name == saved for p in exports.rglob("*.pt"))
    assert str(manager.checkpoint_dir) not in {str(p.parent) for p in exports.rglob("*")}

    # /load takes a name among the visitor's own checkpoints and the examples, never a server path
    for bad in (str(manager.checkpoint_dir / saved), "../" + saved, "nope.pt", "/etc/passwd"):
        with pytest.raises(Exception, match="no checkpoint named|not a checkpoint name") as e:
            carol.predict(bad, api_name="/load")
        assert str(manager.checkpoint_dir) not in str(e.value)
    assert "Loading" in carol.predict(saved, api_name="/load")
    loaded = poll(carol, lambda s: s["state"] == "stopped" and s["yours"] and s["run_id"] != run.id,
                  what="the loaded run")
    note, _ = carol.predict(api_name="/save")  # a loaded checkpoint saves under the visitor's new run
    assert note == f"Saved `{loaded['run_id']}.pt`."

    # a foreign file is refused with a reason, and nothing is unpickled as code
    evil = tmp_path / "evil.pt"
    import pickle

    class Boom:
        def __reduce__(self):
            return (exec, ("open(%r, 'w').write('ran')" % str(tmp_path / "pwned"),))

    evil.write_bytes(pickle.dumps({"format": "gan-lab-checkpoint", "x": Boom()}))
    from gradio_client import handle_file
    with pytest.raises(Exception, match="not|refused"):
        carol.predict(handle_file(str(evil)), api_name="/upload")
    assert not (tmp_path / "pwned").exists()

    # the downloaded checkpoint uploads and loads as a stopped run, which resumes from its step
    note = carol.predict(handle_file(str(ckpt)), api_name="/upload")
    assert "Loading" in note
    st = poll(carol, lambda s: s["state"] == "stopped" and s["step"] >= 5, what="the uploaded checkpoint to load")
    carol.predict(api_name="/resume")
    poll(carol, lambda s: s["state"] == "running" and s["step"] > st["step"], what="resume after upload")
    carol.predict(api_name="/stop")

    # /delete_checkpoint removes one of the visitor's own checkpoints; /load no longer finds it
    _, table = carol.predict(saved, api_name="/delete_checkpoint")
    assert saved not in [row[0] for row in table["data"]] and saved not in carol.predict(api_name="/checkpoints")
    with pytest.raises(Exception, match="no checkpoint named"):
        carol.predict(saved, api_name="/load")



# ---- the shared-mode app (conftest.srv) ------------------------------------------------------------------
@pytest.mark.slow
def test_load_and_load_resume_by_name_from_gradio_client(srv):
    a = client(srv.url)
    name = train_and_stop(a)
    assert a.predict(api_name="/checkpoints")[0] == name
    assert f"Loading `{name}`" in a.predict(name, api_name="/load")
    st = poll_status(a, lambda st: st["state"] == "stopped" and st["run_id"] != name[:-3], what="the load")
    assert st["step"] > 2
    assert "resuming" in a.predict(name, api_name="/load_resume")
    poll_status(a, lambda st: st["state"] == "running", what="the resumed run")
    a.predict(api_name="/stop")
    assert Path(a.predict(name, api_name="/download")).read_bytes()[:2] == b"PK"  # a torch zip file
    assert "no checkpoint named" in error_of(a.predict, "nope.pt", api_name="/load")
