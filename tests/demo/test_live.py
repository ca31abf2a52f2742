"""demo.live streams: a page's Train-tab stream sends status, grid, charts and quality together, at most once
per LIVE_EVERY seconds of steady training however often the run publishes, and a new state at once."""
import asyncio
import time

import gradio as gr
import orjson

import demo.live as live_mod
from tests.helpers import wait_for
from demo.layout import PLOT
from demo.live import LIVE_GROUPS, _is_skip
from demo.page import Page
from gan.config import TrainConfig


def test_train_stream_is_paced_and_sends_a_new_state_at_once(manager, monkeypatch):
    monkeypatch.setattr(live_mod, "FAST", 0.05)
    monkeypatch.setitem(live_mod.LIVE_EVERY, "train", 1.5)
    page = Page(manager)
    page.live.plots = {k: gr.LinePlot(None, **PLOT, render=False) for k in ("loss_plot", "d_plot", "q_cov", "q_dist")}
    request = type("R", (), {"session_hash": "alice"})()
    run = manager.start("alice", TrainConfig(dataset="ring8", batch_size=16, width=16, z_dim=4, seed=0,
                                             device="cpu"))
    wait_for(lambda: run.snapshot().status.get("step", 0) > 0 and run.snapshot().charts, what="publishes")
    names = LIVE_GROUPS["train"]

    async def watch() -> tuple[list, list, int, float]:
        got: list = []  # (time received, message), read by a task that keeps the stream going like a page does

        async def read() -> None:
            async for values in page.live.stream("train")(request):
                got.append((time.monotonic(), dict(zip(names, values))))

        reader = asyncio.create_task(read())
        t0, v0 = time.monotonic(), run.snapshot().version
        await asyncio.sleep(4.0)  # steady training: the run publishes every 0.1 s
        steady, publishes = list(got), run.snapshot().version - v0
        await asyncio.to_thread(manager.stop, "alice")  # returns once the run has stopped and saved
        stopped_at = time.monotonic()
        while not any("stopped" in m["status_line"] for _, m in got[len(steady):]) and time.monotonic() - stopped_at < 5:
            await asyncio.sleep(0.02)
        reader.cancel()
        return steady, got[len(steady):], publishes, stopped_at

    steady, after_stop, publishes, stopped_at = asyncio.run(watch())
    assert publishes >= 8  # the run published many times (every 0.1 s, stretched to keep its cost under 4%)...
    assert len(steady) <= 4  # ...but the page got a message at most every 1.5 s
    gaps = [b[0] - a[0] for a, b in zip(steady, steady[1:])]
    assert gaps and min(gaps) >= 1.4
    for _, msg in steady:  # status, grid, charts and quality in every message, and no gr.skip() (each costs Gradio
        assert not any(_is_skip(v) for v in msg.values())  # a new component): what the page shows is sent again
        assert msg["grid"]["url"].startswith("data:image/png;base64,")  # inline: no file per viewer
        assert msg["loss_plot"]["columns"] == ["step", "value", "series"]  # rows: one pre-serialized fragment
        assert orjson.loads(orjson.dumps(msg["loss_plot"]))["data"][0][2] in ("D loss", "G loss")
    assert len({id(msg["loss_plot"]) for _, msg in steady}) >= 2  # the charts refreshed
    when = [t for t, m in after_stop if "stopped" in m["status_line"]]
    assert when and when[0] - stopped_at < 0.5  # the new state did not wait for the 1.5 s interval
