"""ZeroGPU: a run's GPU chunks are called from a live request of the run's owner, never from a request that ended.
No Gradio.

`spaces` charges a `@spaces.GPU` call to the gradio request in force in the calling thread (it reads gradio's
`LocalContext.request` and sends that request's `X-IP-Token` to ZeroGPU's `/schedule`: spaces/zero/wrappers.py
`regular_function_wrapper.gradio_handler`, spaces/zero/client.py `schedule`). A run trains for minutes, far
longer than the Train click's request, and ZeroGPU is not known to honour a token whose request is gone. So the
run's thread does not call the GPU function itself: `Lenders.call` hands the call to a request of the same visitor
that is open now (on ZeroGPU, Train and Resume keep theirs open while the run trains: demo/lend.py), and that
request's thread runs it (`Lenders.serve`), under its own request. When no request of the owner is open for
LEND_WAIT_S, the call fails with `NoLender` and the run pauses, saved and resumable.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from typing import Any, Callable

LEND_WAIT_S = 30.0  # how long a chunk waits for a request of its owner before the run pauses


class NoLender(RuntimeError):
    """No request of the run's owner was open to carry its GPU chunk."""


class _Job:
    def __init__(self, fn: Callable[..., Any], args: tuple) -> None:
        self.fn, self.args = fn, args
        self.taken, self.done = False, threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class Lenders:
    """GPU calls waiting for a live request of their owner (`call`), and the requests that run them (`serve`)."""

    def __init__(self, wait_s: float = LEND_WAIT_S) -> None:
        self.wait_s = wait_s
        self._cond = threading.Condition()
        self._jobs: defaultdict[str, deque[_Job]] = defaultdict(deque)
        self._open: defaultdict[str, int] = defaultdict(int)  # owner -> requests lending now

    def lending(self, owner: str) -> int:
        """Requests of `owner` open to carry GPU calls now."""
        return self._open.get(owner, 0)

    def call(self, owner: str, fn: Callable[..., Any], args: tuple, *,
             stopped: Callable[[], bool] = lambda: False) -> Any:
        """fn(*args), run by a live request of `owner` (waiting up to wait_s for one); None when `stopped()`
        turns true before a request took it; NoLender when none came; else fn's result or its exception."""
        job = _Job(fn, args)
        deadline = time.monotonic() + self.wait_s
        with self._cond:
            self._jobs[owner].append(job)
            self._cond.notify_all()
            while not job.taken:
                if stopped() or time.monotonic() > deadline:
                    self._jobs[owner].remove(job)
                    if not self._jobs[owner]:
                        del self._jobs[owner]
                    if stopped():
                        return None
                    raise NoLender(
                        "Your run paused: on ZeroGPU each GPU chunk is charged to an open request of yours (your "
                        "Train or Resume), and none was open (the page was closed or reloaded).")
                self._cond.wait(0.1)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def serve(self, owner: str, timeout: float = 1.0) -> bool:
        """Run the next GPU call of `owner` here, in the calling request's thread (waiting up to `timeout` for
        one); True if one ran (its result or error goes back to the run's thread)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._open[owner] += 1
            try:
                while not self._jobs.get(owner):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(min(left, 0.2))
                job = self._jobs[owner].popleft()
                if not self._jobs[owner]:
                    del self._jobs[owner]
                job.taken = True
                self._cond.notify_all()
            finally:
                self._open[owner] -= 1
                if self._open[owner] <= 0:
                    del self._open[owner]
        try:
            job.result = job.fn(*job.args)
        except BaseException as e:  # noqa: BLE001 - handed back to the run's thread, which decides
            job.error = e
        finally:
            job.done.set()
        return True


__all__ = ["LEND_WAIT_S", "Lenders", "NoLender"]
