"""The page's event handlers: thin methods that turn control values into RunManager calls and snapshots
into component values. Refusals raise gr.Error, which shows as a toast on the page and as an error in
gradio_client; their text never carries a server path.

A visitor is the id the page keeps in the browser (a gr.BrowserState sent once, at page load), so a reload
still reaches the visitor's run and checkpoints; gradio_client users are their session. The live outputs and
the page's live streams are demo/live.py (`page.live`).
"""
from __future__ import annotations

import re
import threading
import uuid
from collections import Counter, OrderedDict
from typing import Any

import gradio as gr

from gan.config import TrainConfig
from gan.errors import CheckpointError, ConfigError, DatasetError
from gan.metrics.advice import loss_help

from . import present
from .live import Live
from .runs.manager import NotOwner, RunBusy, RunManager
from .tabs.checkpoints import Files
from .tabs.explore import Explore
from .tabs.translate import Translate

N_SLIDERS = 8
REFUSALS = (ConfigError, DatasetError, CheckpointError, RunBusy, NotOwner, LookupError, ValueError, OSError,
            TimeoutError, RuntimeError)


def refuse(e: BaseException, storage: Any, duration: float = 8) -> gr.Error:
    """A gr.Error for the page, with server paths cut out."""
    return gr.Error(storage.public(str(e)), duration=duration)


class Page:
    """Everything the page calls, bound to one RunManager."""

    def __init__(self, manager: RunManager) -> None:
        self.manager = manager
        self.storage = manager.storage
        self._visitors: OrderedDict[str, str] = OrderedDict()  # session -> visitor
        self._open: Counter[str] = Counter()  # visitor -> open pages
        self._lock = threading.Lock()
        self.live = Live(self)  # the live outputs and the page's live streams (demo/live.py)
        self.files = Files(self)
        self.explore = Explore(self)
        self.translate = Translate(self)

    # ---- who is asking ---------------------------------------------------------------------------------
    def visitor(self, request: gr.Request | None) -> str:
        session = getattr(request, "session_hash", None) or "local"
        return self._visitors.get(session, session)

    def hello(self, stored: Any, request: gr.Request = None) -> str:
        """Page load: the browser's visitor id (a new one on first visit) now stands for this session."""
        vid = stored if isinstance(stored, str) and re.fullmatch(r"[0-9a-f]{32}", stored) else uuid.uuid4().hex
        session = getattr(request, "session_hash", None) or "local"
        with self._lock:
            self._visitors[session] = vid
            self._open[vid] += 1
            while len(self._visitors) > 20_000:
                self._visitors.popitem(last=False)
        return vid

    def bye(self, request: gr.Request = None) -> None:
        """Page closed (Gradio's unload): when the visitor's last page is gone, their run stops and saves."""
        vid = self.visitor(request)
        with self._lock:
            self._open[vid] -= 1
            last = self._open[vid] <= 0
            if last:
                del self._open[vid]
            session = getattr(request, "session_hash", None) or "local"
            self._visitors.pop(session, None)
        self.live.closed(session)
        if last:
            self.manager.session_ended(vid)

    # ---- Train tab ---------------------------------------------------------------------------------------
    def train(self, dataset: str, model: str, loss: str, batch_size: Any, lr: Any, seed: Any, z_dim: Any = None,
              width: Any = None, r1: Any = None, r2: Any = None, pac: Any = None, request: gr.Request = None) -> str:
        """Start a new run with these settings (blank numbers take the dataset's defaults)."""
        try:
            owner = self.visitor(request)
            dataset = self.storage.resolve(dataset, owner)
            cfg = present.make_config(dataset, model, loss, batch_size, lr, seed, z_dim, width, r1, r2, pac)
            run = self.manager.start(owner, cfg)
        except REFUSALS as e:
            raise refuse(e, self.storage) from None
        return f"Started run `{run.id}`."

    def stop(self, request: gr.Request = None) -> str:
        """Stop your run after the current step (it saves a checkpoint)."""
        try:
            run = self.manager.stop(self.visitor(request))
        except REFUSALS as e:
            raise refuse(e, self.storage) from None
        st = run.status()
        return f"Stopped at step {st['step']}; checkpoint: `{st.get('checkpoint') or 'none'}`."

    def resume(self, request: gr.Request = None, *, cpu: bool = False) -> str:
        """Continue your stopped (or loaded) run exactly where it left off."""
        try:
            run = self.manager.resume(self.visitor(request), cpu=cpu)
        except REFUSALS as e:
            raise refuse(e, self.storage) from None
        where = " on the CPU (slower; no GPU quota used)" if cpu else ""
        return f"Resumed `{run.id}` at step {run.status()['step']:,}{where}."

    def resume_cpu(self, request: gr.Request = None) -> str:
        """Continue your run on the CPU (after a ZeroGPU refusal): slower, spends no GPU quota."""
        return self.resume(request, cpu=True)

    def reset(self, request: gr.Request = None) -> str:
        """Stop and forget your run (its checkpoint stays in the Checkpoints tab)."""
        self.manager.reset(self.visitor(request))
        return "Reset: your run was stopped and cleared (its checkpoint stays in the Checkpoints tab)."

    def status(self, request: gr.Request = None) -> dict[str, Any]:
        """The watched run's live status: state, step, epoch, losses, images/s, elapsed, error."""
        owner = self.visitor(request)
        self.manager.seen(owner)
        run = self.manager.watched(owner)
        base = {"active_runs": len(self.manager.active_runs()), "max_runs": self.manager.max_runs}
        if run is None:
            return {"state": "idle", "step": 0, "epoch": 0, "d_loss": None, "g_loss": None, "error": None,
                    "yours": False, **base}
        st = run.status()
        st.update(yours=run.owner == owner, **base)
        for k in ("error", "warning"):
            if st.get(k):
                st[k] = self.storage.public(st[k])
        return st

    def defaults(self, dataset: str, model: str, request: gr.Request = None) -> list[Any]:
        """The Train tab's numbers for a dataset and model (they follow both dropdowns). An upload of yours is
        loaded (into the cache its run will read) for the defaults that depend on its images."""
        try:
            data = None
            if str(dataset).startswith("upload:"):
                owner = self.visitor(request)
                cfg = TrainConfig(dataset=self.storage.resolve(dataset, owner))
                data = self.manager.dataset(self.storage.safe_config(cfg, owner))
            d = present.control_defaults(dataset, model, data=data)
        except (ConfigError, DatasetError, OSError):
            return [gr.skip()] * len(present.NUMBERS)
        return [d[k] for k in present.NUMBERS]

    @staticmethod
    def loss_help(loss: str) -> str:
        return loss_help(loss if isinstance(loss, str) else None)

    def subject(self, run: Any, view: str) -> Any:
        """The run a view shows: the watched one when it suits the view, else the view's shipped example."""
        snap = run.snapshot() if run is not None else None
        # a run suits once it has published its nets (until then, e.g. a CycleGAN's first seconds, the example shows)
        suits = snap is not None and snap.sampler is not None
        if view == "translate":
            suits = suits and snap.offers("translate")
        return run if suits else (self.manager.example(view) or run)

    # ---- API views of the snapshot -------------------------------------------------------------------
    def quality(self, request: gr.Request = None) -> dict[str, Any]:
        """The watched run's quality metrics: latest numbers, history rows, collapse warning (or None)."""
        run = self.manager.watched(self.visitor(request))
        snap = run.snapshot() if run is not None else None
        q = dict(snap.quality) if snap is not None else {}
        return {"run_id": getattr(run, "id", None), "dataset": (snap.status.get("dataset") if snap else None),
                "kind": (snap.model.get("kind") if snap else None), "version": snap.part_version("quality") if snap else 0,
                "numbers": q.get("numbers", {}), "history": q.get("rows", []), "warning": q.get("warning"),
                "note": q.get("note"), "error": q.get("error")}

    def theory(self, request: gr.Request = None) -> tuple[str | None, str | None, dict[str, Any]]:
        """The watched run's theory: (main picture, V/JS curves, numbers with the metric history)."""
        run = self.manager.watched(self.visitor(request))
        snap = run.snapshot() if run is not None else None
        th = snap.theory if snap is not None else {}
        info = {"run_id": getattr(run, "id", None), "dataset": snap.status.get("dataset") if snap else None,
                "kind": snap.model.get("kind") if snap else None, "dim": th.get("dim"),
                "state": snap.status.get("state") if snap else "idle", "version": snap.part_version("theory") if snap else 0,
                "numbers": th.get("numbers", {}), "history": (snap.quality or {}).get("rows", []) if snap else []}
        return th.get("main"), th.get("curves"), info


__all__ = ["N_SLIDERS", "Page", "refuse"]
