"""The page's event handlers: thin methods that turn control values into RunManager calls and snapshots
into component values. Refusals raise gr.Error, which shows as a toast on the page and as an error in
gradio_client; their text never carries a server path.

A visitor is the id the page keeps in the browser (a gr.BrowserState sent once, at page load), so a reload
still reaches the visitor's run and checkpoints; gradio_client users are their session. One timer tick
sends every live output of the page, skipping those whose snapshot part the page has already seen.
"""
from __future__ import annotations

import re
import threading
import uuid
from collections import Counter, OrderedDict
from typing import Any

import gradio as gr
import numpy as np

from gan.errors import CheckpointError, ConfigError, DatasetError, parse_number
from gan.images import save_png
from gan.quality import loss_help

from . import explore, present
from .files import Files
from .manager import NotOwner, RunBusy, RunManager

N_SLIDERS = 8
FAST, IDLE = 1.0, 5.0  # timer intervals (s) while a run is active / while none is
SEED = dict(integer=True, lo=0, hi=2**63 - 1)
TRAIN_OUTPUTS = ("status_line", "loss_plot", "d_plot", "grid", "q_warning", "q_summary", "q_cov", "q_dist")
THEORY_OUTPUTS = ("t_status", "t_main", "t_main_cap", "t_curves", "t_curves_cap", "t_modes", "t_modes_cap")
MODEL_OUTPUTS = ("x_class",)
TICK_OUTPUTS = ("timer", *TRAIN_OUTPUTS, *THEORY_OUTPUTS, *MODEL_OUTPUTS)
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
        self.directions = explore.Directions(k=N_SLIDERS)
        self.plots: dict[str, Any] = {}  # name -> the LinePlot component (set by the layout), for payloads
        self._visitors: OrderedDict[str, str] = OrderedDict()  # session -> visitor
        self._open: Counter[str] = Counter()  # visitor -> open pages
        self._memo: OrderedDict[tuple, Any] = OrderedDict()  # (run, part, version, name) -> payload
        self._lock = threading.Lock()
        self.files = Files(self)

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
            self._visitors.pop(getattr(request, "session_hash", None) or "local", None)
        if last:
            self.manager.session_ended(vid)

    # ---- Train tab ---------------------------------------------------------------------------------------
    def train(self, dataset: str, model: str, loss: str, batch_size: Any, lr: Any, seed: Any, z_dim: Any = None,
              width: Any = None, request: gr.Request = None) -> str:
        """Start a new run with these settings (blank numbers take the dataset's defaults)."""
        try:
            owner = self.visitor(request)
            dataset = self.storage.resolve(dataset, owner)
            cfg = present.make_config(dataset, model, loss, batch_size, lr, seed, z_dim, width)
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

    def fast_timer(self) -> gr.Timer:
        return gr.Timer(FAST, active=True)

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
        """Timer: every live output of the page, each sent only when its part of the watched run's snapshot
        changed since this page last saw it; the timer slows down while no run is active."""
        seen = dict(seen or {})
        owner = self.visitor(request)
        self.manager.seen(owner)
        run = self.manager.watched(owner)
        out = {name: gr.skip() for name in TICK_OUTPUTS}
        interval = FAST if self.manager.active_runs() else IDLE
        if seen.get("timer") != interval:
            out["timer"], seen["timer"] = gr.Timer(interval, active=True), interval
        if run is None:
            text = present.status_line(None, busy=f"({len(self.manager.active_runs())}/{self.manager.max_runs} "
                                                   f"training slots in use)")
            if seen.get("run") is not None or seen.get("text") != text:
                seen = {"timer": seen.get("timer"), "run": None, "text": text}
                out.update(self._cleared(), status_line=text, t_status=present.theory_absent({}, None))
            return (*out.values(), seen)
        snap = run.snapshot()
        yours = run.owner == owner
        if seen.get("run") != run.id or seen.get("yours") != yours:
            seen = {"timer": seen.get("timer"), "run": run.id, "yours": yours}
            out.update(self._cleared())
        fresh = lambda part: snap.part_version(part) > seen.get(part, -1)  # noqa: E731
        if fresh("status"):
            status = dict(snap.status, **{k: self.storage.public(snap.status[k]) for k in ("error", "warning")
                                          if snap.status.get(k)})
            out["status_line"] = present.status_line(status, yours=yours)
        if fresh("charts") and snap.charts:
            out["loss_plot"], out["d_plot"] = self._charts(run.id, snap)
        if fresh("grid") and snap.grid:
            out["grid"] = snap.grid
        if fresh("quality") and snap.quality:
            out.update(self._quality(run.id, snap))
        if fresh("theory") or fresh("model") or (fresh("status") and not snap.theory):
            out.update(self._theory(run.id, snap))
        if fresh("model") and snap.model:
            k = int(snap.model.get("n_classes") or 0)
            out["x_class"] = gr.update(visible=k > 0, maximum=max(k - 1, 1), value=0)
        for part in ("status", "charts", "grid", "quality", "theory", "model"):
            seen[part] = snap.part_version(part)
        return (*out.values(), seen)

    def _cleared(self) -> dict[str, Any]:
        """Every output of the previous run, cleared (charts with None: see PLOT in demo/app.py)."""
        return {"loss_plot": None, "d_plot": None, "q_cov": None, "q_dist": None, "grid": None,
                "q_warning": gr.update(value="", visible=False), "q_summary": "",
                "t_main": gr.update(value=None, visible=False), "t_curves": gr.update(value=None, visible=False),
                "t_main_cap": gr.update(visible=False), "t_curves_cap": gr.update(visible=False),
                "t_modes": gr.update(visible=False), "t_modes_cap": gr.update(visible=False)}

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
        hide = gr.update(visible=False)
        if not th:
            return {"t_status": present.theory_absent(snap.model, snap.status), "t_main": hide, "t_curves": hide,
                    "t_main_cap": hide, "t_curves_cap": hide, "t_modes": hide, "t_modes_cap": hide}
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

    # ---- Explore and Sample ------------------------------------------------------------------------------
    def _sampler(self, request: gr.Request | None) -> tuple[Any, Any]:
        run = self.manager.watched(self.visitor(request))
        snap = run.snapshot() if run is not None else None
        if snap is None or snap.sampler is None:
            raise gr.Error("No generator yet: press Train (or load a checkpoint) first.")
        return run, snap.sampler

    def sample(self, n: Any, seed: Any, request: gr.Request = None) -> tuple[np.ndarray, str]:
        """A fresh grid of n samples from seed, and the same as a PNG file."""
        try:
            n = parse_number("n", n, integer=True, lo=1, hi=256, blank=36)
            seed = parse_number("seed", seed, blank=0, **SEED)
        except ConfigError as e:
            raise refuse(e, self.storage) from None
        run, sampler = self._sampler(request)
        img = explore.sample_grid(sampler, n, seed)
        path = self.files.export_path(self.visitor(request), f"samples-{run.id}-s{seed}-n{n}.png")
        save_png(img, str(path))
        return img, str(path)

    def generate(self, seed: Any, d1: Any = 0, d2: Any = 0, d3: Any = 0, d4: Any = 0, d5: Any = 0, d6: Any = 0,
                 d7: Any = 0, d8: Any = 0, truncation: Any = 1.0, class_label: Any = 0, axes: str = "principal",
                 request: gr.Request = None) -> np.ndarray:
        """The image for a seed moved by offsets d1..d8 along the slider axes ('principal' or 'raw' z)."""
        try:
            seed = parse_number("seed", seed, blank=0, **SEED)
            offsets = [parse_number(f"d{i + 1}", d, lo=-100, hi=100, blank=0.0) for i, d in
                       enumerate((d1, d2, d3, d4, d5, d6, d7, d8))]
            psi = parse_number("truncation", truncation, lo=0, hi=2, blank=1.0)
            label = parse_number("class_label", class_label, integer=True, lo=0, hi=999, blank=0)
            if axes not in ("principal", "raw"):
                raise ConfigError(f"axes must be 'principal' or 'raw', got {str(axes)[:40]!r}")
        except ConfigError as e:
            raise refuse(e, self.storage) from None
        run, sampler = self._sampler(request)
        dirs = self.directions.axes(sampler, axes, run_key=run.id)
        return explore.latent_image(sampler, seed, offsets, directions=dirs, psi=psi, class_label=label)

    def recompute(self, axes: str, request: gr.Request = None) -> list:
        """Recompute the principal directions on the latest generator; relabel the sliders."""
        run, sampler = self._sampler(request)
        labels = [f"raw z[{i}]" for i in range(N_SLIDERS)]
        if axes != "raw":
            _, var = self.directions.get(sampler, recompute=True, run_key=run.id)
            shares = var[:N_SLIDERS].tolist()
            labels = [f"PC{i + 1} ({100 * shares[i]:.1f}% of variance)" if i < len(shares) else f"PC{i + 1} (n/a)"
                      for i in range(N_SLIDERS)]
        return [gr.Slider(label=lab, value=0) for lab in labels]

    def strip(self, seed_a: Any, seed_b: Any, steps: Any, truncation: Any, class_label: Any,
              request: gr.Request = None) -> np.ndarray:
        """Slerp from seed A to seed B as a strip of images."""
        try:
            a, b = (parse_number(n, v, blank=0, **SEED) for n, v in (("seed_a", seed_a), ("seed_b", seed_b)))
            steps = parse_number("steps", steps, integer=True, lo=2, hi=16, blank=8)
            psi = parse_number("truncation", truncation, lo=0, hi=2, blank=1.0)
            label = parse_number("class_label", class_label, integer=True, lo=0, hi=999, blank=0)
        except ConfigError as e:
            raise refuse(e, self.storage) from None
        _, sampler = self._sampler(request)
        return explore.slerp_strip(sampler, a, b, steps, psi=psi, class_label=label)

    @staticmethod
    def random_seed() -> int:
        return int(np.random.default_rng().integers(0, 2**31 - 1))


__all__ = ["N_SLIDERS", "Page", "TICK_OUTPUTS", "refuse"]
