"""Theory snapshots and quality metrics of a running GAN, computed once per run in its training thread.

`publish_hook(run, trainer, force)` is registered in `demo.runs.PUBLISH_HOOKS`; a Run calls it (between two
steps) before each publish. It throttles itself by wall clock and by its own cost, so it never takes more
than a few % of the training thread:

- toy 1-D / 2-D sets: every ~THEORY_EVERY s, `gan.theory.theory_snapshot` (on CPU copies of G and D), its
  renderings (render_1d / render_2d and render_curves of V and JS over time) and, for ring8 / grid25, the
  brief's mode score;
- image sets: every ~QUALITY_EVERY s, `QualityMeter(data).score` on QUALITY_SAMPLES generated images. The
  meter (a small classifier, cached on disk) is built once per dataset in a background thread, so the first
  Train click never waits for it.

Everything the page shows lives in a `LiveState` attached to the Run (`live_state(run)`): the latest
rendered images as PNG files (encoded once, whatever the number of viewers), a bounded metrics history and
the collapse warning. Scalars also go into `trainer.metrics`, hence into /status and checkpoints.
Nothing here imports Gradio.
"""
from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan.quality import DEFAULT_CACHE_DIR, QualityMeter, collapse_warning
from gan.trainer import generate
from gan.theory import theory_snapshot
from gan.theory_plots import render_1d, render_2d, render_curves

log = logging.getLogger("gan.demo")

THEORY_EVERY = float(os.environ.get("GAN_THEORY_EVERY", "1.5"))  # seconds of wall clock between snapshots
QUALITY_EVERY = float(os.environ.get("GAN_QUALITY_EVERY", "5"))
QUALITY_SAMPLES = int(os.environ.get("GAN_QUALITY_SAMPLES", "500"))
BUDGET = 0.04  # at most this share of the training thread's wall clock (theory: ~80 ms -> every ~2 s)
MAX_HISTORY = 300  # metric rows kept per run (thinned by half when full)
# QualityMeter settings (tests make them tiny); the classifier file is cached under cache_dir.
METER_SETTINGS: dict[str, Any] = {"cache_dir": DEFAULT_CACHE_DIR}
PNG_DIR = Path(tempfile.gettempdir()) / "gan-lab-exports" / "theory"  # inside the app's allowed_paths

__all__ = ["LiveState", "live_state", "publish_hook", "install", "meter_for", "THEORY_EVERY", "QUALITY_EVERY"]


# ---- quality meters, one per dataset, built in the background ------------------------------------------

_meters: dict[tuple, Any] = {}  # key -> QualityMeter, or an Exception when it could not be built
_meters_lock = threading.Lock()
_building: set[tuple] = set()


def _meter_key(data: Any) -> tuple:
    return (data.name, id(data), tuple(sorted((k, str(v)) for k, v in METER_SETTINGS.items())))


def meter_for(data: Any, *, wait: bool = False) -> QualityMeter | None:
    """The dataset's QualityMeter, or None while it is being built in a background thread (started here)."""
    key = _meter_key(data)
    with _meters_lock:
        hit = _meters.get(key)
        if hit is not None:
            if isinstance(hit, Exception):
                raise hit
            return hit
        start = key not in _building
        if start:
            _building.add(key)
            if len(_meters) > 4:  # a few datasets at most; the files stay cached on disk
                _meters.pop(next(iter(_meters)))

    def build() -> None:
        from .runs import lower_priority

        lower_priority()
        try:
            meter: Any = QualityMeter(data, **METER_SETTINGS)
        except Exception as e:  # noqa: BLE001 - reported on the page, never fatal
            log.warning("quality meter for %s failed: %s", data.name, traceback.format_exc())
            meter = e
        with _meters_lock:
            _meters[key] = meter
            _building.discard(key)

    if start:
        t = threading.Thread(target=build, name=f"quality-meter-{data.name}", daemon=True)
        t.start()
        if wait:
            t.join()
            return meter_for(data)
    elif wait:
        while True:
            time.sleep(0.05)
            with _meters_lock:
                if key in _meters:
                    break
        return meter_for(data)
    return None


# ---- per-run state -------------------------------------------------------------------------------------

@dataclass
class LiveState:
    """What the page reads for one run; written only by that run's training thread (under `lock`)."""

    kind: str = "image"
    dataset: str = ""
    loss: str | None = None
    lr: float | None = None
    version: int = 0  # bumps whenever images or metrics change
    images: dict[str, np.ndarray] = field(default_factory=dict)  # "main", "curves"
    numbers: dict[str, Any] = field(default_factory=dict)  # the latest theory scalars
    history: list[dict[str, Any]] = field(default_factory=list)  # metric rows, oldest first
    warning: str | None = None
    note: str | None = None  # e.g. "preparing the quality classifier ..."
    error: str | None = None
    cost: dict[str, float] = field(default_factory=dict)  # seconds spent, by kind
    prev: dict[str, Any] | None = None
    next_theory: float = 0.0
    next_quality: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _png: dict[str, tuple[int, str]] = field(default_factory=dict)

    def read(self) -> dict[str, Any]:
        """A consistent copy for the page."""
        with self.lock:
            return {"kind": self.kind, "dataset": self.dataset, "loss": self.loss, "version": self.version,
                    "images": dict(self.images), "numbers": dict(self.numbers),
                    "history": list(self.history), "warning": self.warning, "note": self.note,
                    "error": self.error, "cost": dict(self.cost)}

    def png(self, name: str, run_id: str) -> str | None:
        """The image as a PNG file, encoded once per version (shared by every viewer)."""
        with self.lock:
            img, version = self.images.get(name), self.version
            hit = self._png.get(name)
            if img is None:
                return None
            if hit is not None and hit[0] == version:
                return hit[1]
            from PIL import Image

            PNG_DIR.mkdir(parents=True, exist_ok=True)
            path = PNG_DIR / f"{run_id}-{name}-{version}.png"
            Image.fromarray(img).save(path, compress_level=1)
            if hit is not None:
                try:
                    os.remove(hit[1])
                except OSError:
                    pass
            self._png[name] = (version, str(path))
            return str(path)

    def add_row(self, row: dict[str, Any]) -> None:
        """Append a metrics row (merging rows of the same step) and keep the history bounded."""
        if self.history and self.history[-1].get("step") == row.get("step"):
            self.history[-1].update(row)
        else:
            self.history.append(row)
        if len(self.history) > MAX_HISTORY:
            self.history = self.history[:1] + self.history[1::2]
        try:
            self.warning = collapse_warning(self.history, loss=self.loss, lr=self.lr)
        except Exception:  # noqa: BLE001 - a warning must never break training
            self.warning = None


_states_lock = threading.Lock()


def live_state(run: Any) -> LiveState | None:
    """The run's LiveState, or None before its first publish."""
    return getattr(run, "_live_state", None)


def _state_for(run: Any, tr: Any) -> LiveState:
    with _states_lock:
        st = getattr(run, "_live_state", None)
        if st is None:
            st = LiveState(kind=tr.data.kind, dataset=tr.cfg.dataset, loss=tr.cfg.loss, lr=float(tr.cfg.lr))
            run._live_state = st
        return st


# ---- the hook ------------------------------------------------------------------------------------------

def publish_hook(run: Any, tr: Any, force: bool = False) -> None:
    """Called by a Run before each publish, in its training thread, between two steps."""
    st = _state_for(run, tr)
    now = time.monotonic()
    if tr.data.kind in ("1d", "2d"):
        if force or now >= st.next_theory:
            first = st.version == 0
            cost = _theory(st, tr)
            st.next_theory = time.monotonic() + _interval(THEORY_EVERY, cost, first)
    elif tr.data.kind == "image":
        if force or now >= st.next_quality:
            first = not st.history
            cost = _quality(run, st, tr)
            st.next_quality = time.monotonic() + _interval(QUALITY_EVERY, cost, first)


def _interval(every: float, cost: float, first: bool) -> float:
    """Seconds until the next computation: `every`, stretched so it takes at most BUDGET of the thread's
    time, but never beyond 6x `every` (the first call pays one-off warm-ups, so its cost is not held
    against the next one)."""
    return every if first else min(max(every, cost / BUDGET), 6 * every)


def _theory(st: LiveState, tr: Any) -> float:
    t0 = time.perf_counter()
    snap = theory_snapshot(tr.G, tr.D, tr.data, prev=st.prev, n=800, n_eval=400)
    t1 = time.perf_counter()
    main = render_1d(snap) if snap["kind"] == "1d" else render_2d(snap)
    row: dict[str, Any] = {"step": tr.step_count, "v": snap["v"], "js": snap["js"], "v_star": snap["v_star"],
                           "d_real": snap["d_real"], "d_fake": snap["d_fake"], "d_gap": snap["d_gap"]}
    ms = snap.get("mode_score")
    if ms:
        row.update(modes=ms["modes"], n_modes=ms["n_modes"], high_quality=ms["high_quality"],
                   reverse_kl=ms["reverse_kl"])
    with st.lock:
        st.add_row(row)
        hist = [r for r in st.history if "v" in r]
    curves = render_curves([r["step"] for r in hist], [r["v"] for r in hist], [r["js"] for r in hist])
    t2 = time.perf_counter()
    snap_small = {k: snap[k] for k in ("kind", "dataset", "bandwidth", "xlim", "extent") if k in snap}
    with st.lock:
        st.prev = snap_small
        st.images = {"main": main, "curves": curves}
        st.numbers = {k: (round(float(v), 5) if isinstance(v, float) else v) for k, v in row.items()}
        st.cost = {"snapshot_s": t1 - t0, "render_s": t2 - t1}
        st.version += 1
    tr.metrics.update({k: float(v) for k, v in row.items() if k != "step" and isinstance(v, (int, float))})
    return t2 - t0


def _samples(run: Any, tr: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """QUALITY_SAMPLES images from the last published frozen CPU copy of G (never the live, training-mode
    G: sampling it would touch batch-norm statistics), from fixed noise."""
    g = run.snapshot().generator if hasattr(run, "snapshot") else None
    if g is None:
        g = tr.snapshot_generator()
    gen = torch.Generator().manual_seed(4321)
    z = torch.randn(QUALITY_SAMPLES, tr.model_config.z_dim, generator=gen)
    y = torch.arange(QUALITY_SAMPLES) % tr.model_config.n_classes if tr.conditional else None
    with torch.no_grad():
        return generate(g, z, y), y


def _quality(run: Any, st: LiveState, tr: Any) -> float:
    try:
        meter = meter_for(tr.data)
    except Exception as e:  # noqa: BLE001
        with st.lock:
            st.error, st.note = f"quality metric unavailable: {type(e).__name__}: {e}", None
            st.version += 1
        return 0.0
    if meter is None:
        with st.lock:
            if st.note is None:
                st.note = ("Preparing the quality metric (a small classifier trained once on this dataset, "
                           "then cached) ...") if tr.data.y is not None else "Preparing the quality metric ..."
                st.version += 1
        st.next_quality = 0.0
        return 0.0
    t0 = time.perf_counter()
    images, y = _samples(run, tr)
    score = meter.score(images, y)
    row: dict[str, Any] = {"step": tr.step_count}
    for k in ("frechet", "diversity", "classes_covered", "n_classes", "class_kl", "confidence"):
        v = score.get(k)
        if isinstance(v, (int, float)) and math.isfinite(float(v)):
            row[k] = v
    cost = time.perf_counter() - t0
    with st.lock:
        st.add_row(row)
        st.numbers = dict(row)
        st.note = None
        st.cost = {"quality_s": cost}
        st.version += 1
    tr.metrics.update({k: float(v) for k, v in row.items() if k != "step"})
    return cost


def install() -> None:
    """Register the hook with demo.runs (idempotent)."""
    from . import runs

    hooks = getattr(runs, "PUBLISH_HOOKS", None)
    if hooks is not None and publish_hook not in hooks:
        hooks.append(publish_hook)
