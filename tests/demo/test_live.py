"""demo.live streams: a page's Train-tab stream sends status, grid, charts and quality together, at most once
per LIVE_EVERY seconds of steady training however often the run publishes, and a new state at once.

The pacing is decided on demo.live's clock, which the test holds (tests.helpers.Clock): the run trains and
publishes in real time, and the test checks which of its publishes reached the page, so the outcome does not
depend on how fast this machine trains or publishes."""
import asyncio

import gradio as gr
import orjson
import pytest

import demo.live as live_mod
from tests.helpers import Clock, tiny_ring, wait_for
from demo.tabs import PLOT
from demo.live import LIVE_GROUPS, _is_skip
from demo.page import Page


@pytest.mark.slow
def test_train_stream_is_paced_and_sends_a_new_state_at_once(manager, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(live_mod, "time", clock)  # demo.live's time stands still unless the test moves it
    monkeypatch.setattr(live_mod, "FAST", 0.02)  # real seconds between the stream's looks at the snapshots
    monkeypatch.setattr(live_mod, "IDLE", 0.02)
    monkeypatch.setitem(live_mod.LIVE_EVERY, "train", 1.5)
    looks = []  # the watched run's snapshot version each time the stream looked at the page's mark
    page_mark = manager.page_mark

    def looking(owner):
        mark = page_mark(owner)
        looks.append(mark[1])
        return mark
    monkeypatch.setattr(manager, "page_mark", looking)
    page = Page(manager)
    page.live.plots = {k: gr.LinePlot(None, **PLOT, render=False) for k in ("loss_plot", "d_plot", "q_cov", "q_dist")}
    request = type("R", (), {"session_hash": "alice"})()
    run = manager.start("alice", tiny_ring())  # publishes every 0.1 s (stretched to keep its cost under 4%)
    wait_for(lambda: run.snapshot().status.get("step", 0) > 0 and run.snapshot().charts, what="publishes")
    names = LIVE_GROUPS["train"]

    def seen_since(version: int, times: int = 2) -> bool:  # the stream has looked at that publish (or a later one)
        return sum(v is not None and v >= version for v in list(looks)) >= times

    async def watch() -> list:
        got: list = []  # messages, read by a task that keeps the stream going like a page does

        async def read() -> None:
            async for values in page.live.stream("train")(request):
                got.append(dict(zip(names, values)))

        async def until(cond, what: str) -> None:  # real time, generous: a slow machine only takes longer
            await asyncio.to_thread(wait_for, cond, 120.0, what)

        reader = asyncio.create_task(read())
        try:
            start = clock.now
            await until(lambda: len(got) == 1, "the first message (a new page gets one at once)")
            charts = run.snapshot().part_version("charts")
            later = run.snapshot().version + 5
            await until(lambda: run.snapshot().version >= later and run.snapshot().part_version("charts") > charts,
                        "5 more publishes, new charts among them")
            await until(lambda: seen_since(later), "the stream to look at them")
            assert len(got) == 1  # the run published 5 times more, but the page got nothing: 0 s on demo.live's clock
            clock.now = start + 1.49
            looked = len(looks)
            await until(lambda: len(looks) >= looked + 2, "two more looks")
            assert len(got) == 1  # 1.49 s: still inside the 1.5 s interval
            clock.now = start + 1.5
            await until(lambda: len(got) == 2, "the second message, once the 1.5 s are up")
            # stop with demo.live's clock held again: the new state must not wait for the next interval
            await asyncio.to_thread(manager.stop, "alice")  # returns once the run has stopped and saved
            await until(lambda: any("stopped" in m["status_line"] for m in got[2:]), "the stopped state")
        finally:
            reader.cancel()
        return got

    got = asyncio.run(watch())
    for msg in got:  # status, grid, charts and quality in every message, and no gr.skip() (each costs Gradio a
        assert not any(_is_skip(v) for v in msg.values())  # new component): what the page shows is sent again
        assert msg["grid"]["url"].startswith("data:image/png;base64,")  # inline: no file per viewer
        assert msg["loss_plot"]["columns"] == ["step", "value", "series"]  # rows: one pre-serialized fragment
        assert orjson.loads(orjson.dumps(msg["loss_plot"]))["data"][0][2] in ("D loss", "G loss")
    assert got[1]["loss_plot"] is not got[0]["loss_plot"]  # the charts refreshed
