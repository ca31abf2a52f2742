"""A stand-in for ZeroGPU under the real `spaces` package (0.51.3): only the network and the GPU are replaced.

Installed in a process before the app is imported (`install`, or `python tests/zerogpu_standin.py ROOT` to serve
the app with it), with SPACES_ZERO_GPU=true as on a ZeroGPU Space. What stays real: `@spaces.GPU`
(spaces/zero/decorator.py), its wrapper (spaces/zero/wrappers.py `regular_function_wrapper.gradio_handler`: it
reads gradio's `LocalContext.request` in the calling thread), `spaces.zero.client.schedule` (it takes the
request's `X-IP-Token` header and turns the device API's answers into ZeroGPU's own errors, quota text
included) and `release`. What is stood in:

- the device API that `spaces.zero.client.api_client()` reaches over HTTP (`FakeDeviceAPI`): `/schedule` keeps a
  quota per token (seconds, charged by the time a call held its GPU, as ZeroGPU charges the GPU time used) and
  answers 429 with what is left, as ZeroGPU does, when a call asks for more than is left; with `live_only` it
  answers 401 (an expired token) to a call whose gradio event is no longer open (spaces/zero/gradio.py
  `get_event`, which `schedule` itself uses to drop calls whose visitor left while queueing);
- the forked GPU worker (spaces/zero/wrappers.py `Worker`, which forks, closes the server's sockets and moves
  CUDA tensors): `InProcessWorker` runs the decorated function in a thread of this process, its arguments and
  result pickled across as the worker's queues do. `spaces`' emulation of CUDA in the main process
  (spaces/zero/torch/patching.py `patch`) is undone, since there is no GPU here.

Every GPU call is logged (a JSON line to $ZEROGPU_STANDIN_LOG): its token, whether its request was still open,
what it asked, what it was charged, what was left, and the run it trained (from the stop-file argument).
"""
from __future__ import annotations

import inspect
import itertools
import json
import os
import pickle
import queue
import sys
import threading
import time
import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

API_URL = "http://127.0.0.1:9"  # never reached: `api_client` is replaced


class FakeDeviceAPI:
    """What spaces/zero/api.py `APIClient` would get from ZeroGPU's device API, with a quota per token."""

    def __init__(self, quotas: dict[str, float] | None = None, *, default_quota: float = 3600.0,
                 live_only: bool = True, log_path: str | None = None) -> None:
        self.quotas, self.default_quota, self.live_only = dict(quotas or {}), default_quota, live_only
        self.log_path = log_path
        self.used: dict[str | None, float] = {}
        self.calls: list[dict[str, Any]] = []
        self._held: dict[str, dict[str, Any]] = {}  # allow token -> the call holding a GPU
        self._index = itertools.count()
        self._lock = threading.Lock()

    def left(self, token: str | None) -> float:
        quota = self.quotas.get(token, self.default_quota) if token is not None else self.default_quota
        return quota - self.used.get(token, 0.0)

    # ---- the device API, as spaces/zero/api.py APIClient ---------------------------------------------------
    def startup_report(self) -> Any:
        import httpx
        return httpx.codes.OK

    def schedule(self, cgroup_path: str, task_id: int = 0, token: str | None = None, token_version: int = 1,
                 duration_seconds: int | None = None, enable_queue: bool = True, gpu_size: Any = None) -> Any:
        import httpx
        from spaces.zero.api import QuotaInfos, ScheduleMetadata, ScheduleResponse
        from spaces.zero.gradio import get_event

        live = get_event() is not None  # the gradio event whose request carried the token is still open
        call = {"token": token, "token_version": token_version, "live": live, "asked": duration_seconds,
                "thread": threading.current_thread().name, "t": time.time()}
        with self._lock:
            left = self.left(token)
            call["left"] = round(left, 3)
            self.calls.append(call)
            if self.live_only and token is not None and not live:
                call["answer"] = "401 expired token"
                self._log(call)
                return httpx.codes.UNAUTHORIZED, ScheduleMetadata()
            if duration_seconds is not None and duration_seconds > left:
                call["answer"] = "429 quota"
                self._log(call)
                return (QuotaInfos(left=int(max(0.0, left)), wait=timedelta(hours=5)),
                        ScheduleMetadata(auth="regular" if token else None, approve_result="quota-exceeded"))
            allow = uuid.uuid4().hex
            held = {self._held[a]["gpu"] for a in self._held}
            gpu = next(i for i in itertools.count() if i not in held)  # a GPU of its own
            call.update(answer="200", allow=allow, gpu=gpu)
            self._held[allow] = {"call": call, "since": time.monotonic(), "gpu": gpu}
        return ScheduleResponse(idle=True, nvidiaIndex=gpu, nvidiaUUID=f"GPU-standin-{gpu}", allowToken=allow), \
            ScheduleMetadata(auth="regular" if token else None)

    def allow(self, allow_token: str, pid: int) -> Any:
        import httpx
        return httpx.codes.OK

    def release(self, allow_token: str, fail: bool = False) -> Any:
        import httpx
        with self._lock:
            held = self._held.pop(allow_token, None)
            if held is None:
                return httpx.codes.NOT_FOUND
            call = held["call"]
            charged = time.monotonic() - held["since"]
            self.used[call["token"]] = self.used.get(call["token"], 0.0) + charged
            call.update(charged=round(charged, 3), failed=fail, left_after=round(self.left(call["token"]), 3))
            self._log(call)
        return httpx.codes.OK

    def ran(self, gpu: int, args: tuple) -> None:
        """The worker of GPU `gpu` ran a call: note which run it trained (the stop file `gan-lab-stop-RUN` it was
        given) on the call holding that GPU (a worker is reused across calls, as spaces reuses an idle one)."""
        with self._lock:
            held = next((h for h in self._held.values() if h["gpu"] == gpu), None)
            stop = next((a for a in args if isinstance(a, str) and "gan-lab-stop-" in a), None)
            if held is not None and stop is not None:
                held["call"]["run_id"] = os.path.basename(stop)[len("gan-lab-stop-"):]

    def _log(self, call: dict[str, Any]) -> None:
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write(json.dumps({k: v for k, v in call.items() if k != "allow"}) + "\n")


class InProcessWorker:
    """Stands in for spaces/zero/wrappers.py `Worker` (a forked process with a GPU): a thread that runs the
    decorated function with pickled arguments and a pickled result, answering on the queues the wrapper reads."""

    api: FakeDeviceAPI | None = None

    def __init__(self, target: Any, allow_token: str, nvidia_uuid: str) -> None:
        from spaces.zero.wrappers import exception_result

        self.task = inspect.getclosurevars(target).nonlocals["task"]  # what @spaces.GPU wrapped
        self.gpu, self._exception_result = int(nvidia_uuid.rsplit("-", 1)[1]), exception_result
        self.arg_queue: queue.Queue = queue.Queue()
        self.res_queue: queue.Queue = queue.Queue()
        self.stop_event = threading.Event()
        self.process = SimpleNamespace(is_alive=lambda: True, pid=os.getpid())
        threading.Thread(target=self._loop, name=f"standin-gpu-{nvidia_uuid}", daemon=True).start()

    def _loop(self) -> None:
        from spaces.zero.types import OkResult

        while True:
            (args, kwargs), _context = self.arg_queue.get()
            try:
                args, kwargs = pickle.loads(pickle.dumps((args, kwargs)))  # across to the worker
                if self.api is not None:
                    self.api.ran(self.gpu, args)
                value = pickle.loads(pickle.dumps(self.task(*args, **kwargs)))  # and back
                self.res_queue.put(OkResult(value))
            except Exception as e:  # noqa: BLE001 - as the worker reports it
                self.res_queue.put(self._exception_result(e))


def install(api: FakeDeviceAPI) -> FakeDeviceAPI:
    """Import the real `spaces` as a ZeroGPU Space does and stand in for its network and its GPU worker. Call it
    before the app is imported; SPACES_ZERO_GPU must be set in the environment already."""
    os.environ.setdefault("SPACES_ZERO_DEVICE_API_URL", API_URL)
    import spaces  # noqa: F401 - patches torch (CUDA emulation) and gr.Blocks.launch, as on a Space
    import spaces.zero.client as client
    import spaces.zero.torch as ztorch
    import spaces.zero.wrappers as wrappers

    ztorch.unpatch()  # no GPU here: the in-process "worker" trains on the CPU with plain torch
    client.api_client = lambda: api
    InProcessWorker.api = api
    wrappers.Worker = InProcessWorker
    return api


def token(name: str) -> str:
    """A JWT-shaped X-IP-Token (spaces/zero/utils.py `jwt_payload` reads its middle part)."""
    import base64

    part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    return f"{part({'alg': 'none'})}.{part({'name': name, 'ip': '10.0.0.' + str(len(name))})}.sig"


def serve(root: str) -> None:
    """Serve the app with the stand-in (quotas from $ZEROGPU_STANDIN_QUOTAS, a JSON {token: seconds})."""
    quotas = json.loads(os.environ.get("ZEROGPU_STANDIN_QUOTAS") or "{}")
    install(FakeDeviceAPI(quotas, live_only=os.environ.get("ZEROGPU_STANDIN_LIVE_ONLY", "1") == "1",
                          log_path=os.environ.get("ZEROGPU_STANDIN_LOG")))
    sys.path.insert(0, root)
    from demo.app import main

    main()


if __name__ == "__main__":
    serve(sys.argv[1])
