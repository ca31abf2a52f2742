"""What a run measures while it trains, called directly by its publish step (in the training thread,
between two steps); nothing here is registered by UI code, and nothing imports Gradio.

- `TheoryMonitor` (toy sets with a known density): every ~GAN_THEORY_EVERY s, `gan.theory.state.theory_state`
  on the live G and D, its pictures (written once as PNGs) and a row of numbers (V, JS, modes...).
- `QualityMonitor` (every set): every ~GAN_QUALITY_EVERY s, `gan.metrics.scores.score` on the frozen published
  nets; image sets use a QualityMeter (a small classifier trained once per dataset and cached), built in a
  background thread (`meters`) so the first Train never waits for it.

Both throttle themselves to a few % of the training thread and share one bounded history of metric rows,
from which the collapse warning is read.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
import traceback
from concurrent.futures import Future
from typing import Any

from gan import settings
from gan.metrics.advice import collapse_warning, translation_warning
from gan.metrics.classifier import DEFAULT_CACHE_DIR
from gan.metrics.frechet import QualityMeter
from gan.metrics.scores import build_meter, score
from gan.theory.plots import render_curves, render_theory
from gan.theory.state import theory_state
from gan.train.history import Thinned

from .snapshot import PngFiles

log = logging.getLogger("gan.demo")
BUDGET = 0.04  # at most this share of the training thread's wall clock
MAX_ROWS = 300  # metric rows kept per run (thinned by half when full)


def lower_priority(nice: int | None = None) -> None:
    """Lower the calling thread's CPU priority (Linux: per-thread nice; GAN_TRAIN_NICE), so that when CPUs
    are scarce, page requests run first. A no-op elsewhere, or at 0."""
    nice = settings.get("GAN_TRAIN_NICE") if nice is None else nice
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except (OSError, AttributeError):
        pass


class Meters:
    """QualityMeters by dataset, each built once in a background thread; `get` never blocks."""

    def __init__(self, *, cache_dir: str | None = DEFAULT_CACHE_DIR, **meter_kw: Any) -> None:
        self.settings = {"cache_dir": cache_dir, **meter_kw}
        self._futures: dict[int, tuple[Any, Future]] = {}
        self._lock = threading.Lock()

    def future(self, data: Any) -> Future:
        """The future of `data`'s meter, started on first request (at most 4 datasets are remembered)."""
        with self._lock:
            hit = self._futures.get(id(data))
            if hit is not None and hit[0] is data:
                return hit[1]
            fut: Future = Future()
            self._futures[id(data)] = (data, fut)
            while len(self._futures) > 4:
                self._futures.pop(next(iter(self._futures)))

        def build() -> None:
            lower_priority()
            try:
                fut.set_result(build_meter(data, **self.settings))
            except Exception as e:  # noqa: BLE001 - reported on the page, never fatal
                log.warning("quality meter for %s failed: %s", data.name, traceback.format_exc())
                fut.set_exception(e)

        threading.Thread(target=build, name=f"quality-meter-{data.name}"[:40], daemon=True).start()
        return fut

    def get(self, data: Any) -> QualityMeter | None:
        """The meter if built, None while building; raises the build's error."""
        fut = self.future(data)
        return fut.result() if fut.done() else None


METERS = Meters()  # one per process: the classifier of a dataset is shared by every run


def _interval(every: float, cost: float, first: bool) -> float:
    """Seconds until the next computation: `every`, stretched so it takes at most BUDGET of the thread's time,
    but never beyond 6x `every` (the first call pays one-off warm-ups, so its cost is not held against it)."""
    return every if first else min(max(every, cost / BUDGET), 6 * every)


class Rows:
    """The run's metric rows (one per step that was measured), bounded, and the collapse warning."""

    def __init__(self, *, loss: str | None, lr: float | None) -> None:
        self.rows: Thinned = Thinned(MAX_ROWS)
        self.loss, self.lr = loss, lr
        self.warning: str | None = None

    def add(self, row: dict[str, Any]) -> None:
        if self.rows and self.rows[-1].get("step") == row.get("step"):
            self.rows[-1] = {**self.rows[-1], **row}
        else:
            self.rows.offer(row, force=True)
        try:
            rows = list(self.rows)
            pair = any(k.startswith(("label_kept_", "domain_", "cycle_")) for k in rows[-1])  # CycleGAN's failure
            self.warning = translation_warning(rows) if pair else collapse_warning(rows, loss=self.loss, lr=self.lr)
        except Exception:  # noqa: BLE001 - a warning must never break training
            self.warning = None


class TheoryMonitor:
    """The Theory view of a toy set: the game's pictures and numbers, every ~GAN_THEORY_EVERY s."""

    def __init__(self, rows: Rows, files: PngFiles) -> None:
        self.rows, self.files = rows, files
        self.prev: dict[str, Any] | None = None
        self.due = 0.0
        self.count = 0
        self.crowd = 1  # runs per CPU turn (demo/runs/sharing.py): the budget is a part of this run's own turns

    @staticmethod
    def applies(trainer: Any) -> bool:
        return (trainer.data.kind == "points" and getattr(trainer.data, "density", None) is not None
                and "G" in trainer.nets and "D" in trainer.nets)

    def update(self, trainer: Any, version: int, *, force: bool) -> dict[str, Any] | None:
        """The theory part of the next snapshot, or None when not due."""
        if not force and time.monotonic() < self.due:
            return None
        t0 = time.perf_counter()
        snap = theory_state(trainer.G, trainer.D, trainer.data, prev=self.prev, n=800, n_eval=400)
        row: dict[str, Any] = {"step": trainer.step_count, **{k: snap[k] for k in (
            "v", "js", "v_star", "d_real", "d_fake", "d_gap")}}
        if snap.get("mode_score"):
            ms = snap["mode_score"]
            row.update(modes=ms["modes"], n_modes=ms["n_modes"], high_quality=ms["high_quality"],
                       reverse_kl=ms["reverse_kl"])
        self.rows.add(row)
        hist = [r for r in self.rows.rows if "v" in r]
        main = self.files.write("theory-main", version, render_theory(snap))
        curves = self.files.write("theory-curves", version, render_curves(
            [r["step"] for r in hist], [r["v"] for r in hist], [r["js"] for r in hist]))
        self.prev = {k: snap[k] for k in ("dim", "dataset", "bandwidth", "xlim", "extent") if k in snap}
        cost = time.perf_counter() - t0
        self.due = time.monotonic() + _interval(settings.get("GAN_THEORY_EVERY"), cost * self.crowd,
                                                self.count == 0)
        self.count += 1
        trainer.metrics.update({k: float(v) for k, v in row.items() if k != "step"})
        return {"dim": snap["dim"], "main": main, "curves": curves, "seconds": round(cost, 4),
                "numbers": {k: (round(float(v), 5) if isinstance(v, float) else v) for k, v in row.items()}}


class QualityMonitor:
    """The quality chart's numbers, every ~GAN_QUALITY_EVERY s, from the frozen published nets."""

    def __init__(self, rows: Rows, meters: Meters = METERS) -> None:
        self.rows, self.meters = rows, meters
        self.due = 0.0
        self.count = 0
        self.crowd = 1  # as TheoryMonitor's
        self.note: str | None = None
        self.error: str | None = None

    def update(self, trainer: Any, sampler: Any, *, force: bool) -> dict[str, Any] | None:
        """The quality part of the next snapshot, or None when nothing changed."""
        if sampler is None or trainer.step_count == 0 or (not force and time.monotonic() < self.due):
            return None  # an untrained G's score would only squash the chart's scale
        data = trainer.data
        meter = None
        if data.kind in ("image", "pair"):  # classifiers trained once per dataset (pairs: gan.metrics.translation.PairMeter)
            try:
                meter = self.meters.get(data)
            except Exception as e:  # noqa: BLE001
                self.error, self.note = f"quality metric unavailable: {type(e).__name__}: {e}", None
                self.due = math.inf
                return self.part()
            if meter is None:
                first = self.note is None
                self.note = ("Preparing the quality metric (a small classifier trained once on this dataset, "
                             "then cached) ...") if getattr(data, "y", None) is not None else \
                    "Preparing the quality metric ..."
                return self.part() if first else None
        t0 = time.perf_counter()
        numbers = score(sampler.nets, sampler.family, data, meter=meter)
        cost = time.perf_counter() - t0
        self.note = None
        self.due = time.monotonic() + _interval(settings.get("GAN_QUALITY_EVERY"), cost * self.crowd,
                                                self.count == 0)
        self.count += 1
        if not numbers:
            return None
        self.rows.add({"step": trainer.step_count, **numbers})
        trainer.metrics.update(numbers)
        return self.part(seconds=cost)

    def part(self, seconds: float = 0.0) -> dict[str, Any]:
        rows = list(self.rows.rows)
        return {"rows": rows, "numbers": dict(rows[-1]) if rows else {}, "warning": self.rows.warning,
                "note": self.note, "error": self.error, "seconds": round(seconds, 4)}


__all__ = ["BUDGET", "METERS", "Meters", "QualityMonitor", "Rows", "TheoryMonitor", "lower_priority"]
