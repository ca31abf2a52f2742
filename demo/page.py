"""The page's event handlers: thin methods that turn control values into RunManager calls and snapshots
into component values. Refusals raise gr.Error, which shows as a toast on the page and as an error in
gradio_client; their text never carries a server path.

A visitor is the id the page keeps in the browser (a gr.BrowserState sent once, at page load), so a reload
still reaches the visitor's run and checkpoints; gradio_client users are their session. Each page has one
live stream (`live`, started at page load) that sends every live output, and only when the snapshot part
behind it changed since the page last saw it.
"""
from __future__ import annotations

import asyncio
import logging
import math
import re
import threading
import time
import traceback
import uuid
from collections import Counter, OrderedDict
from typing import Any, AsyncIterator

import gradio as gr

from gan import settings
from gan.errors import CheckpointError, ConfigError, DatasetError
from gan.quality import loss_help

from . import present
from .explore_page import Explore
from .files import Files
from .manager import NotOwner, RunBusy, RunManager
from .translate_page import Translate

N_SLIDERS = 8
FAST, IDLE = 0.5, 2.0  # how often a page's live stream looks at the snapshots: a run is active / none is
TRAIN_OUTPUTS = ("status_line", "loss_plot", "d_plot", "grid", "q_warning", "q_summary", "q_cov", "q_dist")
THEORY_OUTPUTS = ("t_status", "t_main", "t_main_cap", "t_curves", "t_curves_cap", "t_modes", "t_modes_cap")
MODEL_OUTPUTS = ("x_class", "x_layers", "x_classic", "x_style", "x_note", "tr_note")
TICK_OUTPUTS = (*TRAIN_OUTPUTS, *THEORY_OUTPUTS, *MODEL_OUTPUTS)
# One live stream per group of outputs that change together, so a message rarely carries a gr.skip() (Gradio
# builds a new component, config and all, for every skipped output of a message). Each message costs the server
# several ms of Gradio's own work whatever it carries, so a group sends at most once per LIVE_EVERY seconds of
# steady training (a new state, run or slot goes out at once): the Train tab's status, grid and charts together
# every 2 s, quality as it is scored (every ~5 s), Theory and Explore when they change.
LIVE_GROUPS = {"train": ("status_line", "grid", "loss_plot", "d_plot"),
               "quality": ("q_warning", "q_summary", "q_cov", "q_dist"), "views": (*THEORY_OUTPUTS, *MODEL_OUTPUTS)}
LIVE_EVERY = {"train": 2.0, "quality": 2.0, "views": 0.5}
TOO_MANY_PAGES = ("**This page does not update live:** the server has as many pages open as it serves live "
                  "(GAN_MAX_PAGES). Everything else works; reload later for live updates.")
MAX_LIVE_S = 12 * 3600.0  # a page's live stream ends after this long (a reload starts a new one)
log = logging.getLogger("gan.demo")


def _is_skip(value: Any) -> bool:
    return isinstance(value, dict) and value == gr.skip()
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
        self.plots: dict[str, Any] = {}  # name -> the LinePlot component (set by the layout), for payloads
        self._visitors: OrderedDict[str, str] = OrderedDict()  # session -> visitor
        self._open: Counter[str] = Counter()  # visitor -> open pages
        self._closed: set[str] = set()  # sessions whose page closed: their live stream ends
        self._streams: Counter[str] = Counter()  # session -> its live streams running now
        self._memo: OrderedDict[tuple, Any] = OrderedDict()  # (run, part, version, name) -> payload
        self._lock = threading.Lock()
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
            self._closed.add(session)  # its live stream ends
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

    def defaults(self, dataset: str, model: str) -> list[Any]:
        """The Train tab's numbers for a dataset and model (they follow both dropdowns)."""
        try:
            d = present.control_defaults(dataset, model)
        except ConfigError:
            return [gr.skip()] * len(present.NUMBERS)
        return [d[k] for k in present.NUMBERS]

    @staticmethod
    def loss_help(loss: str) -> str:
        return loss_help(loss if isinstance(loss, str) else None)

    # ---- the one tick ---------------------------------------------------------------------------------
    def tick(self, seen: dict | None, request: gr.Request = None) -> tuple:
        """Every live output of the page, each only when its part of a snapshot changed since this page last saw
        it (gr.skip() otherwise), and the page's new `seen`. The Train tab follows the watched run; the Theory
        and Explore tabs fall back on the shipped examples until the visitor has a run of their own."""
        seen = dict(seen or {})
        owner = self.visitor(request)
        self.manager.seen(owner)
        run = self.manager.watched(owner)
        out = {name: gr.skip() for name in TICK_OUTPUTS}
        self._train_parts(run, owner, seen, out)
        has_theory = run is not None and run.snapshot().theory
        self._theory_parts(run if has_theory else (self.manager.example("theory") or run), run, seen, out)
        self._model_parts(self.subject(run, "explore"), self.subject(run, "translate"), seen, out)
        return (*out.values(), seen)

    def live(self, group: str) -> Any:
        """The live stream of one group of outputs (LIVE_GROUPS), started at page load: it looks at the snapshots
        every FAST seconds while a run is active (IDLE otherwise), runs the tick only when the page's mark
        (RunManager.page_mark) moved, and sends the group's outputs only when one of them changed, so a watching
        page costs one small message per published change and almost nothing in between. (Groups, not one
        stream: see LIVE_GROUPS.) It ends when the page closes (Page.bye) or after MAX_LIVE_S."""
        names = LIVE_GROUPS[group]

        async def stream(request: gr.Request = None) -> AsyncIterator[tuple]:
            session = getattr(request, "session_hash", None) or "local"
            seen: dict = {}
            t0 = time.monotonic()
            if self.streams >= len(LIVE_GROUPS) * settings.get("GAN_MAX_PAGES"):  # keep queue slots for clicks
                if "status_line" in names:
                    yield (TOO_MANY_PAGES, *(gr.skip() for _ in names[1:]))
                return
            self._streams[session] += 1
            owner, mark, sent = self.visitor(request), None, -math.inf
            try:
                while session not in self._closed and time.monotonic() - t0 < MAX_LIVE_S:
                    try:
                        now = self.manager.page_mark(owner)
                        # nothing new, or only more steps of the same run before this group's interval is up
                        if now == mark or (mark is not None and now[0] == mark[0]
                                           and time.monotonic() - sent < LIVE_EVERY[group]):
                            self.manager.seen(owner)
                            changed = []
                        else:
                            mark = now
                            *values, seen = self.tick(seen, request)
                            out = dict(zip(TICK_OUTPUTS, values))
                            changed = [out[name] for name in names]
                    except Exception:  # noqa: BLE001 - a bad moment must not end the page's stream
                        log.warning("live update failed: %s", traceback.format_exc())
                        changed = []
                    if any(not _is_skip(v) for v in changed):
                        sent = time.monotonic()
                        yield tuple(changed) if len(changed) > 1 else changed[0]
                    await asyncio.sleep(FAST if self.manager.active_runs() else IDLE)
            finally:
                self._streams[session] -= 1
                if self._streams[session] <= 0:
                    del self._streams[session]
                    self._closed.discard(session)

        stream.__name__ = f"live_{group}"
        return stream

    @property
    def streams(self) -> int:
        """Live streams running now (len(LIVE_GROUPS) per open page)."""
        return sum(self._streams.values())

    def subject(self, run: Any, view: str) -> Any:
        """The run a view shows: the watched one when it suits the view, else the view's shipped example."""
        snap = run.snapshot() if run is not None else None
        # a run suits once it has published its nets (until then, e.g. a CycleGAN's first seconds, the example shows)
        suits = snap is not None and snap.sampler is not None
        if view == "translate":
            suits = suits and snap.offers("translate")
        return run if suits else (self.manager.example(view) or run)

    @staticmethod
    def _fresh(seen: dict, key: str, run: Any, part: str) -> bool:
        """Whether `part` of `run`'s snapshot is new to this page (and note it as seen)."""
        mark = (run.id, run.snapshot().part_version(part)) if run is not None else None
        if seen.get(key) == list(mark or []) or seen.get(key) == mark:
            return False
        seen[key] = list(mark) if mark else None
        return True

    def _train_parts(self, run: Any, owner: str, seen: dict, out: dict) -> None:
        if run is None:
            text = present.status_line(None, busy=f"({len(self.manager.active_runs())}/{self.manager.max_runs} "
                                                   f"training slots in use)")
            if seen.get("status") is not None or seen.get("idle") != text:
                out.update(self._cleared(), status_line=text)
                seen.update(status=None, charts=None, grid=None, quality=None, idle=text)
            return
        snap = run.snapshot()
        yours = run.owner == owner
        if seen.get("run") != run.id or seen.get("yours") != yours:
            out.update(self._cleared())
            seen.update(run=run.id, yours=yours, status=None, charts=None, grid=None, quality=None)
        if self._fresh(seen, "status", run, "status"):
            status = dict(snap.status, **{k: self.storage.public(snap.status[k]) for k in ("error", "warning")
                                          if snap.status.get(k)})
            out["status_line"] = present.status_line(status, yours=yours)
        if self._fresh(seen, "charts", run, "charts") and snap.charts:
            out["loss_plot"], out["d_plot"] = self._charts(run.id, snap)
        if self._fresh(seen, "grid", run, "grid") and snap.grid:
            out["grid"] = snap.grid
        if self._fresh(seen, "quality", run, "quality") and snap.quality:
            out.update(self._quality(run.id, snap))

    def _theory_parts(self, shown: Any, run: Any, seen: dict, out: dict) -> None:
        snap = shown.snapshot() if shown is not None else None
        watched = run.snapshot() if run is not None else None  # the message changes with the state, not the step
        mark = [getattr(shown, "id", None), snap.part_version("theory") if snap else 0,
                (snap or watched).status.get("state") if (snap or watched) else None, bool(watched and watched.model)]
        if seen.get("theory") == mark:
            return
        seen["theory"] = mark
        if snap is None or not snap.theory:
            status = run.snapshot().status if run is not None else None
            model = run.snapshot().model if run is not None else {}
            out.update(self._theory_hidden(), t_status=present.theory_absent(model, status))
            return
        out.update(self._theory(shown.id, snap))
        if getattr(shown, "example", None):  # labelled as what it is: a shipped example, not the visitor's run
            out["t_status"] = (f"Showing the example **{shown.example}** until you train or load a 1-D or 2-D run of "
                               f"your own.\n\n{out['t_status']}")

    def _model_parts(self, explored: Any, translated: Any, seen: dict, out: dict) -> None:
        mark = [getattr(explored, "id", None), explored.snapshot().part_version("model") if explored else 0,
                getattr(translated, "id", None)]
        if seen.get("model") == mark:
            return
        seen["model"] = mark
        model = explored.snapshot().model if explored is not None else {}
        views = model.get("explore") or []
        k = int(model.get("n_classes") or 0)
        note = (f"Showing the example **{explored.example}** until you train or load a run of your own."
                if getattr(explored, "example", None) else "")
        if "translate" in views:
            note = "This run is a CycleGAN: its views are on the **Translate** tab."
        out.update(x_class=gr.update(visible=k > 0, maximum=max(k - 1, 1), value=0),
                   x_layers=gr.update(visible="w_latent" in views),
                   x_classic=gr.update(visible="interpolate" in views or not views),
                   x_style=gr.update(visible="mixing" in views),
                   x_note=gr.update(value=note, visible=bool(note)),
                   tr_note=self._translate_note(translated))

    @staticmethod
    def _translate_note(run: Any) -> str:
        if run is None or not run.snapshot().offers("translate"):
            return ("No CycleGAN yet: train `cyclegan` on `digits2colordigits` (Train tab) and its translations "
                    "appear here.")
        status = run.snapshot().status
        who = f"the example **{run.example}**" if getattr(run, "example", None) else f"run `{run.id}`"
        return f"Translating with {who} ({status.get('dataset', '')}, step {int(status.get('step') or 0):,})."

    def _theory_hidden(self) -> dict[str, Any]:
        hide = gr.update(value=None, visible=False)
        return {"t_main": hide, "t_curves": hide, "t_main_cap": gr.update(visible=False),
                "t_curves_cap": gr.update(visible=False), "t_modes": gr.update(visible=False),
                "t_modes_cap": gr.update(visible=False)}

    def _cleared(self) -> dict[str, Any]:
        """Every Train-tab output of the previous run, cleared (charts with None: see PLOT in demo/layout.py)."""
        return {"loss_plot": None, "d_plot": None, "q_cov": None, "q_dist": None, "grid": None,
                "q_warning": gr.update(value="", visible=False), "q_summary": ""}

    def _payload(self, key: tuple, plot: str, frame: Any) -> Any:
        """A chart's value, postprocessed once per snapshot part and shared by every viewer."""
        with self._lock:
            hit = self._memo.get((*key, plot))
        if hit is None:
            component = self.plots.get(plot)
            df = frame()
            if df.empty:  # never an empty frame: it leaves a chart unable to draw (see PLOT in demo/app.py)
                return None
            hit = component.postprocess(df).model_dump() if component is not None else df
            with self._lock:
                self._memo[(*key, plot)] = hit
                while len(self._memo) > 64:
                    self._memo.popitem(last=False)
        return hit

    def _charts(self, run_id: str, snap: Any) -> tuple[Any, Any]:
        key = (run_id, "charts", snap.part_version("charts"))
        charts = list(snap.charts.values()) + [{}, {}]
        return (self._payload(key, "loss_plot", lambda: present.long_frame(charts[0])),
                self._payload(key, "d_plot", lambda: present.long_frame(charts[1])))

    def _quality(self, run_id: str, snap: Any) -> dict[str, Any]:
        q = snap.quality
        key = (run_id, "quality", snap.part_version("quality"))
        frames = {}

        def frame(i: int):
            if "f" not in frames:
                frames["f"] = present.quality_frames(q.get("rows") or [])
            return frames["f"][i]
        warn = q.get("warning")
        return {"q_warning": gr.update(value=present.WARNING_PREFIX + warn if warn else "", visible=bool(warn)),
                "q_summary": self.storage.public(present.quality_summary(q)),
                "q_cov": self._payload(key, "q_cov", lambda: frame(0)),
                "q_dist": self._payload(key, "q_dist", lambda: frame(1))}

    def _theory(self, run_id: str, snap: Any) -> dict[str, Any]:
        th = snap.theory
        if not th:
            return {**self._theory_hidden(), "t_status": present.theory_absent(snap.model, snap.status)}
        main_cap, curves_cap = present.theory_captions(th, snap.status.get("loss"))
        rows = (snap.quality or {}).get("rows") or []
        has_modes = any(r.get("n_modes") for r in rows)
        key = (run_id, "theory", snap.part_version("theory"))
        return {"t_status": present.theory_headline(th, snap.status),
                "t_main": gr.update(value=th["main"], visible=True), "t_main_cap": gr.update(value=main_cap, visible=True),
                "t_curves": gr.update(value=th["curves"], visible=True),
                "t_curves_cap": gr.update(value=curves_cap, visible=True),
                "t_modes": gr.update(value=self._payload(key, "t_modes", lambda: present.modes_frame(rows)),
                                     visible=has_modes),
                "t_modes_cap": gr.update(value=present.CAPTIONS["modes"], visible=has_modes)}

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


__all__ = ["N_SLIDERS", "Page", "TICK_OUTPUTS", "refuse"]
