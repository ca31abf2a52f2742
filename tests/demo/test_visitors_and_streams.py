"""Hardening round 3 for a shared Space: identity a client cannot claim by knowing an id, a visitor's training
time bounded across stops and restarts (and asking /status is not watching), and live streams that end when
their page is gone and that no one client can fill."""
import asyncio
import time
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import httpx
import pytest

import demo.live as live_mod
import demo.page as page_mod
from tests.helpers import poll_status, serve_app, wait_for
from demo.page import Page
from demo.runs.manager import RunBusy, RunManager
from demo.runs.state import Limits
from demo.runs.storage import Storage
from demo.tabs import PLOT
from gan.config import TrainConfig

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

pytestmark = pytest.mark.slow  # launches apps and trains
RING = ("ring8", "auto", "hinge", 64, None, 0, None, 16)
RING_CFG = dict(dataset="ring8", batch_size=16, width=16, z_dim=4, seed=0, device="cpu")


def req(session: str, host: str = "10.0.0.1") -> SimpleNamespace:
    return SimpleNamespace(session_hash=session, headers={}, client=SimpleNamespace(host=host))


@pytest.fixture
def manager(tmp_path):
    m = RunManager(max_runs=2, checkpoint_dir=tmp_path, autosave_every=0, publish_every=0.1, chunk_runner=None)
    yield m
    m.shutdown()


# ---- identity --------------------------------------------------------------------------------------------
def test_the_key_that_signs_visitor_ids_is_never_served(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_SHARED", "1")
    manager = RunManager(storage=Storage(tmp_path / "c", shared=True, upload_dir=tmp_path / "u"), chunk_runner=None)
    with serve_app(manager) as (url, app):
        key = (Path(manager.storage.root) / ".visitor-secret").read_text().strip()
        assert len(key) == 32 and app.page.key == key.encode()
        config = httpx.get(f"{url}config", timeout=30).text
        assert "gan-lab-visitor" in config  # the BrowserState is there...
        assert key not in config  # ...but not the key that makes an id trustworthy


def test_knowing_someones_id_does_not_make_you_them(manager):
    page = Page(manager, key="k" * 32)
    token_a = page.hello(None, req("a-page"))
    vid_a = page.visitor(req("a-page"))
    assert token_a.startswith(vid_a + ".")
    run = manager.start(vid_a, TrainConfig(**RING_CFG))
    for forged in (vid_a, f"{vid_a}.{'0' * 32}", f"{vid_a}.{token_a[-32:-1]}x", token_a + "0"):
        page.hello(forged, req("b-page"))
        assert page.visitor(req("b-page")) != vid_a
        with pytest.raises(Exception, match="belongs to another visitor"):
            manager.stop(page.visitor(req("b-page")))
    assert run.active
    assert page.hello(token_a, req("a-reload")) == token_a and page.visitor(req("a-reload")) == vid_a
    assert Page(manager, key="other" * 7).verified(token_a) is None  # another server's key signs other tokens


def test_an_open_page_keeps_its_identity_however_many_pages_open_after_it(manager, monkeypatch):
    monkeypatch.setattr(page_mod, "MAX_SESSIONS", 50)
    page = Page(manager, key="k" * 32)
    token = page.hello(None, req("open-page"))
    page.live._streams["open-page"] += 1  # its live stream runs: the page is open
    for i in range(200):  # pages that never said goodbye
        page.hello(None, req(f"gone-{i}"))
    assert page.verified(token) == page.visitor(req("open-page"))
    assert len(page._visitors) <= 50 and sum(page._open.values()) <= 50


# ---- a visitor's training time -----------------------------------------------------------------------------
def test_asking_for_status_is_not_watching(manager):
    manager.limits.idle = 1.0
    page = Page(manager, key="k" * 32)
    run = manager.start("api-user", TrainConfig(**RING_CFG))
    wait_for(lambda: run.status()["step"] > 0, what="training")
    t0 = time.monotonic()
    while run.active and time.monotonic() - t0 < 30:
        page.train.status(req("api-user"))  # polling /status every 0.1 s...
        time.sleep(0.1)
    assert not run.active  # ...does not keep the run from its idle stop
    assert "no page of its owner open" in run.status()["warning"]


def test_a_visitors_daily_training_time_holds_across_stops_restarts_and_loads(manager, monkeypatch):
    monkeypatch.setenv("GAN_VISITOR_DAILY_SECONDS", "1.5")
    run = manager.start("alice", TrainConfig(**RING_CFG))
    wait_for(lambda: not run.active, timeout=60, what="the run to stop at the visitor's daily time")
    assert "training time for today" in run.status()["warning"]
    assert manager.training_left("alice") <= 0 < manager.training_left("bob")
    for again in (lambda: manager.start("alice", TrainConfig(**RING_CFG)), lambda: manager.resume("alice"),
                  lambda: manager.load("alice", run.checkpoint, resume=True)):
        with pytest.raises(RunBusy, match="minutes of training for today"):
            again()
    manager.reset("alice")  # forgetting the run does not give its time back
    assert manager.training_left("alice") <= 0
    explored = manager.load("alice", run.checkpoint)  # exploring is still allowed
    wait_for(lambda: explored.state.value == "stopped" and explored.snapshot().sampler is not None, what="loaded")


def test_status_tells_a_visitor_their_training_time_left(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_SHARED", "1")
    manager = RunManager(storage=Storage(tmp_path / "c", shared=True, upload_dir=tmp_path / "u"), chunk_runner=None,
                         limits=Limits(autosave_every=0, publish_every=0.2))
    with serve_app(manager) as (url, _):
        a = Client(url, verbose=False)
        assert a.predict(api_name="/status")["training_left_s"] == 3600  # the shared default: an hour a day
        a.predict(*RING, api_name="/train")
        poll_status(a, lambda s: s["step"] > 0, what="training")
        a.predict(api_name="/stop")
        assert a.predict(api_name="/status")["training_left_s"] < 3600


# ---- live streams ------------------------------------------------------------------------------------------
def _page(manager) -> Page:
    page = Page(manager, key="k" * 32)
    page.live.plots = {k: gr.LinePlot(None, **PLOT, render=False) for k in ("loss_plot", "d_plot", "q_cov", "q_dist")}
    return page


def test_a_stream_whose_page_reads_nothing_ends(manager, monkeypatch):
    monkeypatch.setattr(live_mod, "KEEPALIVE_S", 0.2)
    monkeypatch.setattr(live_mod, "GONE_S", 0.5)
    monkeypatch.setattr(live_mod, "IDLE", 0.05)
    page = _page(manager)
    unread: dict[str, asyncio.Queue] = {}
    page.live.blocks = SimpleNamespace(_queue=SimpleNamespace(pending_messages_per_session=unread))

    async def join(session: str, reads: bool) -> tuple[int, bool]:
        """(messages sent, whether the stream ended by itself within 5 s)"""
        unread[session] = asyncio.Queue()
        sent = 0
        gen = page.live.stream("views")(req(session))
        t0 = time.monotonic()
        async for _ in gen:  # what Gradio does with each yield: queue it for the page's event stream
            sent += 1
            unread[session].put_nowait("message")
            if reads:
                while not unread[session].empty():
                    unread[session].get_nowait()
            if time.monotonic() - t0 > 5:
                await gen.aclose()
                return sent, False
        return sent, True

    async def both():
        return await asyncio.wait_for(asyncio.gather(join("gone", False), join("open", True)), 20)

    gone, reading = asyncio.run(both())
    assert gone[1] and gone[0] >= live_mod.UNREAD_MAX  # a page that reads nothing: keepalives, then the stream ends
    assert not reading[1] and reading[0] > gone[0]  # a page that reads keeps its stream (until the test ends it)
    assert page.live.running == 0


def test_one_client_cannot_take_every_live_slot(manager, monkeypatch):
    monkeypatch.setenv("GAN_MAX_PAGES", "8")  # 16 streams; one client address may hold a quarter: 4 (2 pages)
    page = _page(manager)

    async def first(session: str, host: str):
        gen = page.live.stream("train")(req(session, host))
        value = await gen.__anext__()
        return gen, value

    async def main():
        held = [await first(f"flood-{i}", "10.6.6.6") for i in range(4)]
        refused = await first("flood-5", "10.6.6.6")
        other = await first("learner", "10.1.2.3")
        for gen, _ in [*held, refused, other]:
            await gen.aclose()
        return held, refused, other

    held, refused, other = asyncio.run(main())
    assert all(live_mod.TOO_MANY_PAGES not in str(v[0]) for _, v in held)
    assert live_mod.TOO_MANY_PAGES in str(refused[1][0])
    assert live_mod.TOO_MANY_PAGES not in str(other[1][0])
