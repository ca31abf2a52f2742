"""One training run behind the page: its state machine, its thread and what it publishes. No Gradio.

A `Run` builds a Trainer in its own thread and loops `trainer.step()` until asked to stop (a
threading.Event checked between steps, so Stop takes effect within one step), at most `pace` steps a second
when slowed down (slow motion). About once a second it publishes an immutable `Snapshot`
(demo/runs/snapshot.py): status, chart data, the fixed-noise grid as a PNG written once, the monitors' results
(computed in threads of their own, demo/runs/monitors.py) and a frozen copy of the sampling nets. Pages only ever
read snapshots. A publish costs at most ~4% of the thread's time; when the nets are big enough to make it costly,
the status alone still goes out every second.

When a run ends it saves a checkpoint and lets go of its Trainer: a finished run keeps only its last
snapshot (with the frozen nets for Explore), its time-lapse frames and the checkpoint on disk; Resume
rebuilds the Trainer from that checkpoint.
"""
from __future__ import annotations

import contextvars
import ctypes
import logging
import queue
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import torch

from gan import settings
from gan.checkpoint import load_sampler, model_config
from gan.family import family_of
from gan.train.history import History, Thinned
from gan.train.threads import default_threads
from gan.train.trainer import Trainer, TrainingDiverged

from .monitors import QualityMonitor, Rows, TheoryMonitor, lower_priority
from .snapshot import CHART_EVERY, PngFiles, Sampler, Snapshot, chart_data, picture, static_held_out
from .state import ACTIVE, TRANSITIONS, BadTransition, Limits, State
from .zerogpu import ChunkRefused, stop_file

log = logging.getLogger("gan.demo")
LEFT_EVERY = 0.5  # seconds between two looks at the owner's training time left today
MAX_FRAMES = 60  # time-lapse frames kept per run (thinned by half when full)


def release_memory() -> None:
    """Hand the memory of a dropped Trainer (freed by reference counting) back to the OS: glibc keeps freed
    heap pages (one arena per thread), so without this the app's RSS climbs by hundreds of MB over a few runs
    that referenced nothing. No gc.collect(): a full collection of the app's heap costs up to 0.4 s."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class Run:
    """One training run: its state, thread, snapshots, checkpoints and time-lapse frames."""

    def __init__(self, run_id: str, owner: str, *, build: Callable[[], Trainer], folder: Path,
                 save: Callable[["Run", Trainer], Path], display: dict[str, Any], limits: Limits,
                 advance: Callable[["Run", Trainer], dict[str, Any]] | None = None, share: Any = None) -> None:
        self.id, self.owner = run_id, owner
        self._build = build  # a Trainer for this run (fresh, or from its latest checkpoint)
        self._save_fn = save
        self._advance_fn = advance  # ZeroGPU: trains a chunk elsewhere; None: one in-process step
        self.display = display  # what pages may show of the config (no server paths)
        self.limits = limits
        self.trainer: Trainer | None = None
        self.checkpoint: Path | None = None
        self.files = PngFiles(folder)
        self.replay: Thinned = Thinned(MAX_FRAMES)  # (step, grid PNG) per kept time-lapse frame
        self.pace = 0.0  # at most this many steps a second (slow motion); 0: as fast as it trains
        self.last_seen = self.created = time.monotonic()
        self.gpu_chunks = advance is not None
        self.chunks = 0
        self.training_left: Callable[[], float] | None = None  # the owner's training seconds left today
        self._left_at = 0.0  # when training_left was last asked (every LEFT_EVERY s)
        self.private_data = False  # trains on a visitor's own images: no other visitor watches it
        self.example: str | None = None  # the name of a shipped example this run shows (read-only)
        self.drop_trainer = False  # let go of the trainer once published even without a checkpoint (examples)
        self.share = share  # CPU turns among the runs training in-process (demo/runs/sharing.py CpuShare)
        self.turn_until: float | None = None  # while others wait in the queue: when this run's turn ends
        self.turn_note = ""  # and what it then says (demo/runs/waitlist.py)
        self.status_extra: Callable[[], dict[str, Any]] = dict  # fields added at each publish (how it shares)
        self._lock = threading.Lock()  # guards _state, _status and _snap; never held during a step
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._train = True
        self._requests: queue.Queue = queue.Queue()
        self._state = State.STARTING
        self._status: dict[str, Any] = {"state": "starting", "step": 0, "epoch": 0, "images_per_s": 0.0,
                                        "elapsed": 0.0, "d_loss": None, "g_loss": None, "d_real": None,
                                        "d_fake": None, "error": None, "warning": None, "run_id": run_id,
                                        "checkpoint": None, **display}
        self._snap = Snapshot(run_id, 0, dict(self._status))
        self._rows: Rows | None = None
        self._theory: TheoryMonitor | None = None
        self._quality: QualityMonitor | None = None
        self._real: torch.Tensor | None = None
        self._charts_at, self._charted = 0.0, False  # charts refresh every CHART_EVERY s, once they have points

    # ---- reading (any thread) --------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    @property
    def active(self) -> bool:
        return self._state in ACTIVE

    def status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._status)

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snap

    @property
    def frames(self) -> list[bytes]:
        """The time-lapse frames (grid PNGs), oldest first."""
        return [png for _, png in list(self.replay)]

    @property
    def theory_frames(self) -> list[tuple[int, bytes]]:
        """(step, Theory picture PNG) kept for the replay, oldest first; [] for a run with no Theory view."""
        return list(self._theory.frames) if self._theory is not None else []

    def thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---- state changes: the one place ----------------------------------------------------------------
    def _to(self, new: State, **status: Any) -> None:
        with self._lock:
            if new != self._state and new not in TRANSITIONS[self._state]:
                raise BadTransition(f"run {self.id}: {self._state.value} -> {new.value}")
            self._state = new
            self._status.update(status, state=new.value)
            self._snap = self._snap.replace(status=dict(self._status))

    def _set(self, **status: Any) -> None:
        with self._lock:
            self._status.update(status)

    # ---- control (request threads) -----------------------------------------------------------------
    def start(self, *, train: bool = True) -> None:
        """Start (or resume) the training thread; train=False builds, publishes and stops (a loaded
        checkpoint, ready to explore or resume)."""
        with self._lock:
            if self.thread_alive():
                return
            self._stop.clear()
            self._train = train
        self._to(State.STARTING, error=None, warning=None)
        stop_file(self.id).unlink(missing_ok=True)
        # the thread runs in a copy of the caller's context: on ZeroGPU, `spaces` reads the visitor's
        # gr.Request from it, so GPU chunks are charged to the visitor who pressed Train / Resume
        ctx = contextvars.copy_context()
        self._thread = threading.Thread(target=ctx.run, args=(self._main,), name=f"train-{self.id}"[:40],
                                        daemon=True)
        self._thread.start()

    def stop(self, wait: float = 30.0) -> None:
        """Ask the thread to stop after the current step, and wait for it (it saves a checkpoint)."""
        self._stop.set()
        if self.gpu_chunks:
            try:
                stop_file(self.id).touch()  # a GPU chunk in its forked worker checks this between steps
            except OSError:
                pass
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(wait)

    def call(self, fn: Callable[[Trainer], Any], timeout: float = 60.0) -> Any:
        """Run fn(trainer) between two steps and return its result (at once when the thread is idle)."""
        with self._lock:
            queued = self.thread_alive() and self._state in ACTIVE
            if queued:
                box: dict[str, Any] = {}
                done = threading.Event()
                self._requests.put((fn, box, done))
        if not queued:
            if self.trainer is None:
                raise RuntimeError("this run is not training now")
            return fn(self.trainer)
        if not done.wait(timeout):
            raise TimeoutError("the training thread did not answer in time")
        if "error" in box:
            raise box["error"]
        return box["result"]

    def save(self) -> Path:
        """Save a checkpoint now (between two steps when training) and return it; a finished run's
        checkpoint is already on disk. A run that still holds its trainer (loaded and not trained yet, or
        whose last save failed) saves now too. OSError when it could not be written."""
        if self.trainer is not None:
            self.call(self._autosave)
        if self.checkpoint is None or not self.checkpoint.exists():
            raise OSError(self.status().get("warning") or "no checkpoint has been written for this run")
        return self.checkpoint

    # ---- the training thread ---------------------------------------------------------------------------
    def _main(self) -> None:
        lower_priority()
        base_elapsed = float(self._status.get("elapsed") or 0.0)
        tr: Trainer | None = None
        try:
            self._to(State.LOADING)
            tr = self.trainer = self._build()
            self._monitors(tr)
            self._publish(tr, force=True)
            if self._stop.is_set() or not self._train:
                self._to(State.STOPPED)
                return
            torch.set_num_threads(default_threads(tr.data.kind))  # spinning OMP workers starve the page
            t_start = time.monotonic()  # elapsed counts training time, not loading
            self.last_seen = max(self.last_seen, t_start)  # the idle clock starts with training
            share = self.share if not self.gpu_chunks else None
            if share is not None:
                share.join(self.id)
            self._to(State.RUNNING)
            status_at = last_step = time.monotonic()
            next_pub = status_at + self.limits.publish_every
            why = None
            while not self._stop.is_set() and why is None:
                self._serve_requests(tr)
                if self.pace > 0 and self._stop.wait(max(0.0, last_step + 1.0 / self.pace - time.monotonic())):
                    break
                if share is not None and not share.turn(self.id, self._stop):
                    continue  # stopped while waiting for its turn
                last_step = time.monotonic()
                before = tr.step_count
                stats = self._advance_fn(self, tr) if self.gpu_chunks and self._advance_fn else tr.step()
                elapsed = base_elapsed + time.monotonic() - t_start
                self._set(**{k: stats.get(k) for k in ("step", "epoch", "d_loss", "g_loss", "d_real", "d_fake",
                                                      "images_per_s")}, elapsed=elapsed)
                every = self.limits.autosave_every
                if every and tr.step_count // every > before // every:
                    self._autosave(tr)
                now = time.monotonic()
                if now >= next_pub:
                    cost = self._publish(tr)
                    crowd = share.crowd() if share is not None else 1  # <= ~4% of its own turns
                    next_pub = time.monotonic() + max(self.limits.publish_every, 25 * cost * crowd)
                    status_at = now
                elif now - status_at >= self.limits.publish_every:  # a costly publish is not due: the status is
                    self._publish_status(tr)
                    status_at = now
                why = self._limit_reached(tr, elapsed)
            self._to(State.STOPPING, **({"warning": why} if why else {}))
            self._autosave(tr)
            self._publish(tr, force=True)
            self._to(State.STOPPED)
        except TrainingDiverged as e:
            kept = f" The last good checkpoint is kept: {self.checkpoint.name}." if self.checkpoint else ""
            self._to(State.DIVERGED, error=f"Training stopped: {e}.{kept} Try a lower learning rate or another loss.")
            self._safe_publish(tr)
        except ChunkRefused as e:  # the GPU was refused; the trainer holds the last good chunk
            log.warning("run %s: GPU chunk refused: %s", self.id, e.__cause__)
            if tr is not None:
                self._autosave(tr)
            self._safe_publish(tr)
            self._to(State.QUOTA, warning=str(e))
        except Exception as e:  # noqa: BLE001 - any error must reach the page, not kill the app
            log.warning("run %s failed: %s", self.id, traceback.format_exc())
            self._to(State.ERROR, error=f"{type(e).__name__}: {e}")
            self._safe_publish(tr)
        finally:
            if self.share is not None:
                self.share.leave(self.id)
            if self._state in ACTIVE:
                self._to(State.STOPPED)
            if tr is not None:
                self._serve_requests(tr)  # anyone who queued while we were ending
            self._serve_requests(None, RuntimeError("the run ended before it could answer"))
            if self.checkpoint is not None:  # a finished run keeps its snapshot and checkpoint, not its trainer
                self.trainer = tr = None
                release_memory()

    def _limit_reached(self, tr: Trainer, elapsed: float) -> str | None:
        lim = self.limits
        if lim.steps and tr.step_count >= lim.steps:
            return f"stopped at this server's limit of {lim.steps:,} steps per run (checkpoint saved)"
        if lim.seconds and elapsed >= lim.seconds:
            span = f"{lim.seconds / 60:.0f} min" if lim.seconds >= 120 else f"{lim.seconds:.0f} s"
            return f"stopped at this server's limit of {span} of training per run (checkpoint saved)"
        if lim.idle and time.monotonic() - self.last_seen > lim.idle:
            return f"stopped after {lim.idle:.0f} s with no page of its owner open (checkpoint saved)"
        if self.training_left is not None and time.monotonic() >= self._left_at + LEFT_EVERY:
            self._left_at = time.monotonic()
            if self.training_left() <= 0:
                return "stopped: you have used this server's training time for today (checkpoint saved)"
        if self.turn_until is not None and time.monotonic() >= self.turn_until:
            return self.turn_note or "stopped so that visitors waiting in the queue can train (checkpoint saved)"
        return None

    def _serve_requests(self, tr: Trainer | None, err: Exception | None = None) -> None:
        """Answer every queued call: run it on `tr`, or hand back `err` (the run ended before it could answer)."""
        while True:
            try:
                fn, box, done = self._requests.get_nowait()
            except queue.Empty:
                return
            try:
                if err is not None:
                    raise err
                box["result"] = fn(tr)
            except Exception as e:  # noqa: BLE001 - handed back to the caller
                box["error"] = e
            done.set()

    # ---- publishing --------------------------------------------------------------------------------
    def _monitors(self, tr: Trainer) -> None:
        self.display.update(model=tr.cfg.model, loss=tr.cfg.loss)  # "auto" resolved to the dataset's defaults
        self._set(model=tr.cfg.model, loss=tr.cfg.loss, conditional=tr.conditional)
        if self._rows is None:
            self._rows = Rows(loss=tr.cfg.loss, lr=float(tr.cfg.lr))
            for row in tr.rows:  # a loaded run's measured past: its charts go on from there
                self._rows.rows.offer(row, force=True)
            self._theory = TheoryMonitor(self._rows, self.files) if TheoryMonitor.applies(tr) else None
            self._quality = QualityMonitor(self._rows)
        tr.rows = self._rows.rows  # what its checkpoints save
        if tr.data.kind == "points" and self._real is None:
            self._real = tr.data.sample_real(1000, torch.Generator().manual_seed(1))[0]

    def _safe_publish(self, tr: Trainer | None) -> None:
        if tr is not None:
            try:
                self._publish(tr, force=True)
            except Exception:  # noqa: BLE001 - publishing must not hide the original error
                log.warning("publish after error failed: %s", traceback.format_exc())

    def _publish_status(self, tr: Trainer) -> None:
        """Publish the status alone (step, losses, speed): what a page shows every second whatever the nets cost."""
        with self._lock:
            self._status.update(step=tr.step_count)
            self._snap = self._snap.replace(status=dict(self._status))

    def _publish(self, tr: Trainer, force: bool = False) -> float:
        """Build and publish the next snapshot; returns the seconds it took, less the monitors' (they start
        computations in threads of their own and throttle themselves)."""
        t0 = time.perf_counter()
        version = self._snap.version + 1
        fam = tr.family
        crowd = self.share.crowd() if self.share is not None and not self.gpu_chunks else 1
        for monitor in (self._theory, self._quality):
            if monitor is not None:
                monitor.crowd = crowd  # their budgets are parts of this run's own turns
        sampler = Sampler(fam, tr.frozen_nets(), tr.model_config, tr.data.kind, real=self._real,
                          held_out=getattr(tr.data, "info", {}).get("held_out") or {})
        grid = picture(fam.watch(sampler.nets, tr.fixed), columns=fam.watch_columns(tr.model_config),
                       real=self._real)
        parts: dict[str, Any] = {"grid": self.files.write("grid", version, grid), "sampler": sampler}
        if force or time.monotonic() - self._charts_at >= CHART_EVERY or not self._charted:
            parts["charts"] = chart_data(tr.history.columns(), fam.charts)
            self._charts_at, self._charted = time.monotonic(), len(tr.history) > 0  # first points at once
        if not self._snap.model:  # what the page's family-specific controls follow; set once per run
            mc = tr.model_config
            parts["model"] = {"family": fam.name, "explore": list(fam.explore), "kind": tr.data.kind,
                              "n_classes": mc.n_classes, "z_dim": mc.z_dim, "charts": list(fam.charts)}
        t_mon = time.perf_counter()
        if self._theory is not None:
            theory = self._theory.update(tr, version, force=force)
            if theory is not None:
                parts["theory"] = theory
                parts["quality"] = self._quality.part()
        elif self._quality is not None:
            quality = self._quality.update(tr, sampler, force=force)
            if quality is not None:
                parts["quality"] = quality
        t_mon = time.perf_counter() - t_mon
        extra = self.status_extra()  # outside the lock: it may read this run's status
        with self._lock:
            self._status.update(step=tr.step_count, metrics=dict(tr.metrics), **extra)
            parts["status"] = dict(self._status)
            self._snap = self._snap.replace(**parts)
        self.replay.offer((tr.step_count, Path(parts["grid"]).read_bytes()), force=force)  # the PNG just written
        return time.perf_counter() - t0 - t_mon

    def _autosave(self, tr: Trainer) -> None:
        """Save, but let a full disk or a read-only folder warn on the page instead of ending the run."""
        try:
            self.checkpoint = self._save_fn(self, tr)
            with self._lock:
                if str(self._status.get("warning") or "").startswith("could not save"):
                    self._status["warning"] = None
                self._status["checkpoint"] = self.checkpoint.name
        except OSError as e:
            log.warning("autosave of %s failed: %s", self.id, e)
            self._set(warning=f"could not save a checkpoint: {e.strerror or e}")

    def publish_static(self, state: dict[str, Any], *, note: str) -> None:
        """Publish a checkpoint's generator without training it (no Trainer, no dataset): explore only. A
        CycleGAN's grid and Translate tab use its pair set's held-out images (snapshot.static_held_out)."""
        mc = model_config(state)
        fam = family_of(mc.model)
        kind = "pair" if mc.data_shape_b else "image" if len(mc.data_shape) == 3 else "points"
        held, more = static_held_out(state, mc, data_dir=settings.get("GAN_DATA_DIR") or None) \
            if kind == "pair" else ({}, "")
        nets = load_sampler(state)
        fixed = fam.fixed_inputs(seed=int(state["train_config"].get("seed", 0)), mc=mc, kind=kind, data=held or None)
        grid = picture(fam.watch(nets, fixed), columns=fam.watch_columns(mc))
        hist = History()
        hist.load_state_dict(state["history"])
        self._set(step=int(state["step"]), warning=note + more)
        with self._lock:
            self._snap = self._snap.replace(
                sampler=Sampler(fam, nets, mc, kind, held_out=held),
                grid=self.files.write("grid", self._snap.version + 1, grid),
                charts=chart_data(hist.columns(), fam.charts), status=dict(self._status),
                model={"family": fam.name, "explore": list(fam.explore), "kind": kind, "n_classes": mc.n_classes,
                       "z_dim": mc.z_dim, "charts": list(fam.charts)})
        self.replay.offer((int(state["step"]), Path(self._snap.grid).read_bytes()), force=True)
        self._to(State.STOPPED)

    def forget(self) -> None:
        """Drop everything this run holds (its PNG files too); its checkpoint stays on disk."""
        self.files.remove_all()
        self.replay.clear()
        with self._lock:
            self._snap = Snapshot(self.id, self._snap.version + 1, dict(self._status))


__all__ = ["MAX_FRAMES", "Run", "release_memory"]
