"""Shared fixtures: small seeded datasets, a launched app, polling helpers, and one thread for determinism.

The project is installed (`pip install -e .`, in requirements-dev.txt), so `gan` and `demo` import as packages."""
import contextlib
import os

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def small_digits():
    """A 200-image digits set, built once per test session."""
    from gan.data.images import digits

    return digits(n=200, seed=0)


def tiny_config(**kw):
    """A TrainConfig small enough for two-step tests."""
    from gan.config import TrainConfig

    base = dict(batch_size=16, width=16, z_dim=8, seed=0, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


def free_port() -> int:
    """A free TCP port on localhost."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(manager, **build_kw):
    """Launch the app on a free local port around `manager`; yields (url, app) and shuts both down after."""
    from demo.app import build_app, launch_kwargs, queue

    app = queue(build_app(manager, **build_kw))
    kw = launch_kwargs(manager)
    kw.update(server_name="127.0.0.1", server_port=free_port())
    _, url, _ = app.launch(prevent_thread_lock=True, quiet=True, **kw)
    try:
        yield url, app
    finally:
        manager.shutdown()
        app.close()


def wait_for(cond, timeout=30.0, what="condition", *, every=0.02):
    """Poll `cond()` every `every` s until it is truthy and return its value, or fail naming `what` after `timeout`
    seconds."""
    import time

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = cond()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_until(cond, timeout=60.0, what="condition"):
    """wait_for at a browser's pace: every 0.2 s, 60 s by default."""
    return wait_for(cond, timeout, what, every=0.2)


def img_src(page, elem_id):
    """The src of the first image inside the element `elem_id` of a Playwright page, or None."""
    loc = page.locator(f"#{elem_id} img")
    return loc.first.get_attribute("src") if loc.count() else None


def poll_status(client, cond, timeout=30.0, what="status"):
    """Poll the app's /status through `client` until `cond(status)`; returns that status or fails naming `what`."""
    import time

    t0, st = time.monotonic(), None
    while time.monotonic() - t0 < timeout:
        st = client.predict(api_name="/status")
        if cond(st):
            return st
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last status {st}")
