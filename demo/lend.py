"""ZeroGPU: Train and Resume keep their request open while the run trains, and lend it to the run's GPU chunks, so
each chunk is charged to the quota of the visitor who owns the run, under a request that is still open.

`streaming(fn, page)` turns a handler that starts a run (Train, Resume) into a generator: it yields the handler's
own message, then carries the run's GPU chunks (demo/runs/lending.py `Lenders.serve`) in its own thread, where
Gradio has put this request in force for `spaces` to read (gradio/utils.py `get_function_with_locals` sets
`LocalContext.request` before each step of a generator), yielding progress after each chunk, until the run
stops, pauses or is refused. When the visitor disconnects (Gradio marks the event dead: gradio/queueing.py
`Queue.clean_events`) it stops carrying chunks at once (`open_request`); the run then pauses after
demo/runs/lending.py LEND_WAIT_S, saved, and Resume goes on. Off ZeroGPU nothing here is used.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Iterator

from .runs.state import State


def streaming(fn: Callable[..., str], page: Any) -> Callable[..., Iterator[str]]:
    """`fn` (a handler returning its notice) as a generator that then lends its request to the run's chunks."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)  # Gradio reads fn's inputs and its gr.Request parameter through the wrapper
    def handler(*args: Any, **kwargs: Any) -> Iterator[str]:
        notice = fn(*args, **kwargs)  # refusals raise gr.Error here, as before
        yield notice
        request = sig.bind_partial(*args, **kwargs).arguments.get("request")
        yield from lend(page, page.visitor(request), notice)

    return handler


def open_request() -> bool:
    """Whether the event this thread serves is still open: found among the queue's active jobs and alive (what
    spaces/zero/gradio.py `get_event` looks up too). True outside an event (tests)."""
    from gradio.context import LocalContext

    blocks, event_id = LocalContext.blocks.get(None), LocalContext.event_id.get(None)
    queue = getattr(blocks, "_queue", None)
    if queue is None or event_id is None:
        return True
    return any(ev._id == event_id and ev.alive for job in queue.active_jobs if job for ev in job)


def lend(page: Any, owner: str, notice: str, alive: Callable[[], bool] = open_request) -> Iterator[str]:
    """Carry `owner`'s GPU chunks while their run waits or trains and this request is open; yields the notice
    with the progress so far."""
    manager, lenders = page.manager, page.manager.lenders
    run = manager.own_run(owner)
    if lenders is None or run is None:
        return
    while (run.active or run.state == State.QUEUED) and alive():
        manager.seen(owner)  # an open Train is its owner's presence (Gradio ends it when they disconnect)
        if lenders.serve(owner, timeout=1.0):
            st = run.status()
            yield (f"{notice} GPU chunk {run.chunks} done: step {int(st.get('step') or 0):,}, "
                   f"{getattr(run, 'gpu_seconds', 0.0):.0f} s of your ZeroGPU quota used by this run.")
        if manager.own_run(owner) is not run:  # reset, or a new run of theirs replaced it
            return
    if alive():
        st = run.status()
        yield f"{notice} Run `{run.id}` is {st.get('state')} at step {int(st.get('step') or 0):,}."


__all__ = ["lend", "streaming"]
