"""What a run measures while it trains, started by its publish step and computed off the training thread; nothing
here is registered by UI code, and nothing imports Gradio.

- `TheoryMonitor` (toy sets with a known density): every ~GAN_THEORY_EVERY s, `gan.theory.state.theory_state`
  on frozen copies of G and D, its pictures (written once as PNGs, and kept thinned for the Theory replay) and a
  row of numbers (V, JS, modes...).
- `QualityMonitor` (every set): every ~GAN_QUALITY_EVERY s, `gan.metrics.scores.score` on the frozen published
  nets; image sets use a QualityMeter (a small classifier trained once per dataset and cached), built in a
  background thread (`meters`) so the first Train never waits for it.

Each computes in a thread of its own (`Background`, one computation at a time, on frozen copies of the nets),
started by a publish and collected by a later one, so a slow score (CycleGAN's takes seconds) never stalls the
training thread or its publishes. Both throttle themselves so that scoring costs a few % of training, and share
one bounded history of metric rows, from which the collapse warning is read. A forced update (a run loading or
ending) computes at once.
"""
from __future__ import annotations

import copy
import logging
import math
import os
import threading
import time
import traceback
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from gan import settings
from gan.metrics.advice import collapse_warning, translation_warning
from gan.metrics.classifier import DEFAULT_CACHE_DIR
from gan.metrics.frechet import QualityMeter
from gan.metrics.scores import build_meter, score
from gan.theory.plots import render_curves, render_theory
from gan.theory.state import theory_row, theory_state
from gan.train.history import Thinned

from .snapshot import PngFiles

log = logging.getLogger("gan.demo")
BUDGET = 0.04  # at most this share of the training thread's wall clock
MAX_ROWS = 300  # metric rows kept per run (thinned by half when full)
MAX_REPLAY = 40  # Theory pictures kept per run for the replay (thinned by half when full)
THEORY_N, THEORY_EVAL = 800, 400  # samples per Theory snapshot, and those its JS estimate reads


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


AUTO = "auto"


def classifier_dir() -> str:
    """Where the app caches its judge classifiers: `classifiers/` in GAN_CHECKPOINT_DIR when that is set (the app's
    one writable folder on a server), else the repository's checkpoints/classifiers (the library's default)."""
    root = settings.get("GAN_CHECKPOINT_DIR")
    return os.path.join(root, "classifiers") if root else DEFAULT_CACHE_DIR


class Background:
    """One computation at a time off the training thread: `start(fn)` runs fn() in a thread of its own (at the
    training thread's lowered priority), `take()` hands back (result, seconds) once it has finished (`wait`: block
    until then) and re-raises its error. The thread ends with its computation."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._thread: threading.Thread | None = None
        self._box: dict[str, Any] = {}

    @property
    def busy(self) -> bool:
        """A computation was started and not taken yet."""
        return self._thread is not None

    def start(self, fn: Any) -> None:
        box: dict[str, Any] = {}

        def work() -> None:
            lower_priority()
            t0 = time.perf_counter()
            try:
                box["result"] = fn()
            except Exception as e:  # noqa: BLE001 - handed to whoever takes the result
                box["error"] = e
            box["seconds"] = time.perf_counter() - t0

        self._box = box
        self._thread = threading.Thread(target=work, name=self.name[:40], daemon=False)  # as Meters' (finite)
        self._thread.start()

    def take(self, *, wait: bool = False) -> tuple[Any, float] | None:
        t = self._thread
        if t is None or (t.is_alive() and not wait):
            return None
        t.join()
        self._thread, box = None, self._box
        if "error" in box:
            raise box["error"]
        return box["result"], box["seconds"]


class Meters:
    """QualityMeters by dataset, each built once in a background thread; `get` never blocks."""

    def __init__(self, *, cache_dir: str | None = AUTO, **meter_kw: Any) -> None:
        self.settings = {"cache_dir": cache_dir, **meter_kw}  # AUTO: classifier_dir() when a meter is built
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

        # a visitor's own images get classifiers that live and go with the run: none is written to the cache
        kw = {**self.settings, "cache_dir": None} if own_images(data) else dict(self.settings)

        def build() -> None:
            lower_priority()
            try:
                if kw.get("cache_dir") == AUTO:
                    kw["cache_dir"] = classifier_dir()
                fut.set_result(build_meter(data, **kw))
            except Exception as e:  # noqa: BLE001 - reported on the page, never fatal
                log.warning("quality meter for %s failed: %s", data.name, traceback.format_exc())
                fut.set_exception(e)

        # not a daemon: it ends by itself, and a daemon thread still in torch when Python exits aborts the process
        # ("terminate called without an active exception", exit status 134)
        threading.Thread(target=build, name=f"quality-meter-{data.name}"[:40], daemon=False).start()
        return fut

    def get(self, data: Any) -> QualityMeter | None:
        """The meter if built, None while building; raises the build's error."""
        fut = self.future(data)
        return fut.result() if fut.done() else None


def own_images(data: Any) -> bool:
    """Whether `data` is a visitor's upload (a folder, or a pair of folders) rather than a built-in set."""
    return str(getattr(data, "name", "")).startswith(("folder:", "pair:"))


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
    """The Theory view of a toy set: the game's pictures and numbers, every ~GAN_THEORY_EVERY s, computed in a
    `Background` thread on frozen copies of G and D; `frames` keeps (step, picture PNG) for the replay."""

    def __init__(self, rows: Rows, files: PngFiles) -> None:
        self.rows, self.files = rows, files
        self.prev: dict[str, Any] | None = None
        self.due = 0.0
        self.count = 0
        self.job = Background("theory")
        self.frames: Thinned = Thinned(MAX_REPLAY)
        self.crowd = 1  # runs per CPU turn (demo/runs/sharing.py): the budget is a part of this run's own turns

    @staticmethod
    def applies(trainer: Any) -> bool:
        return (trainer.data.kind == "points" and getattr(trainer.data, "density", None) is not None
                and "G" in trainer.nets and "D" in trainer.nets)

    def update(self, trainer: Any, version: int, *, force: bool) -> dict[str, Any] | None:
        """The theory part of the next snapshot when a computation has finished (forced: computed now), else None;
        starts the next computation when one is due."""
        out = None
        got = self.job.take(wait=force) if self.job.busy else None
        if got is not None:
            out = self._collect(trainer, version, *got)
        if self.job.busy or not (force or time.monotonic() >= self.due):
            return out
        work = self._work(trainer)
        if not force:
            self.job.start(work)
            return out
        t0 = time.perf_counter()
        return self._collect(trainer, version, work(), time.perf_counter() - t0)

    def _work(self, trainer: Any) -> Any:
        """The next computation, on frozen copies of the nets as they are now (safe while training goes on)."""
        G, D = (copy.deepcopy(n).cpu().eval().requires_grad_(False) for n in (trainer.G, trainer.D))
        data, prev, step = trainer.data, self.prev, trainer.step_count
        hist = [r for r in self.rows.rows if "v" in r]

        def work() -> dict[str, Any]:
            snap = theory_state(G, D, data, prev=prev, n=THEORY_N, n_eval=THEORY_EVAL)
            row = theory_row(snap, step)
            rows = [r for r in hist if r["step"] != step] + [row]
            curves = render_curves([r["step"] for r in rows], [r["v"] for r in rows], [r["js"] for r in rows])
            view = {k: snap[k] for k in ("dim", "dataset", "bandwidth", "xlim", "extent") if k in snap}
            return {"row": row, "main": render_theory(snap), "curves": curves, "view": view}
        return work

    def _collect(self, trainer: Any, version: int, result: dict[str, Any], cost: float) -> dict[str, Any]:
        row = result["row"]
        self.rows.add(row)
        main = self.files.write("theory-main", version, result["main"])
        curves = self.files.write("theory-curves", version, result["curves"])
        self.frames.offer((int(row["step"]), Path(main).read_bytes()))
        self.prev = result["view"]
        self.due = time.monotonic() + _interval(settings.get("GAN_THEORY_EVERY"), cost * self.crowd,
                                                self.count == 0)
        self.count += 1
        trainer.metrics.update({k: float(v) for k, v in row.items() if k != "step"})
        return {"dim": result["view"]["dim"], "main": main, "curves": curves, "seconds": round(cost, 4),
                "numbers": {k: (round(float(v), 5) if isinstance(v, float) else v) for k, v in row.items()}}


class QualityMonitor:
    """The quality chart's numbers, every ~GAN_QUALITY_EVERY s, from the frozen published nets, scored in a
    `Background` thread."""

    def __init__(self, rows: Rows, meters: Meters = METERS) -> None:
        self.rows, self.meters = rows, meters
        self.due = 0.0
        self.count = 0
        self.crowd = 1  # as TheoryMonitor's
        self.note: str | None = None
        self.error: str | None = None
        self.job = Background("quality")
        self._step = 0  # the step whose nets are being scored

    def update(self, trainer: Any, sampler: Any, *, force: bool) -> dict[str, Any] | None:
        """The quality part of the next snapshot when a score has finished or the note changed (forced: scored
        now), else None; starts the next score when one is due."""
        out = None
        try:
            got = self.job.take(wait=force) if self.job.busy else None
        except Exception as e:  # noqa: BLE001 - a failed score is reported on the page, never fatal
            log.warning("quality score failed: %s", traceback.format_exc())
            self.error, self.note, self.due = f"quality metric unavailable: {type(e).__name__}: {e}", None, math.inf
            return self.part()
        if got is not None:
            out = self._collect(trainer, *got)
            if self._step == trainer.step_count:
                return out  # already the score of these nets
        if sampler is None or trainer.step_count == 0 or self.job.busy or (not force and time.monotonic() < self.due):
            return out  # an untrained G's score would only squash the chart's scale
        data = trainer.data
        meter = None
        if data.kind in ("image", "pair"):  # classifiers trained once per dataset (pairs: translation.PairMeter)
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
                return self.part() if first else out
        self._step = trainer.step_count
        work = lambda: score(sampler.nets, sampler.family, data, meter=meter)  # noqa: E731 - frozen nets
        if not force:
            self.job.start(work)
            return out
        t0 = time.perf_counter()
        return self._collect(trainer, work(), time.perf_counter() - t0) or out

    def _collect(self, trainer: Any, numbers: dict[str, float], cost: float) -> dict[str, Any] | None:
        self.note = None
        self.due = time.monotonic() + _interval(settings.get("GAN_QUALITY_EVERY"), cost * self.crowd,
                                                self.count == 0)
        self.count += 1
        if not numbers:
            return None
        self.rows.add({"step": self._step, **numbers})
        trainer.metrics.update(numbers)
        return self.part(seconds=cost)

    def part(self, seconds: float = 0.0) -> dict[str, Any]:
        rows = list(self.rows.rows)
        return {"rows": rows, "numbers": dict(rows[-1]) if rows else {}, "warning": self.rows.warning,
                "note": self.note, "error": self.error, "seconds": round(seconds, 4)}


__all__ = ["BUDGET", "Background", "METERS", "Meters", "QualityMonitor", "Rows", "TheoryMonitor", "classifier_dir",
           "lower_priority"]
