"""Training runs behind the page: the ONE place in the app with threads and locks.

A `Run` owns a Trainer and a background thread that loops `trainer.step()` until asked to stop
(a threading.Event checked between steps, so Stop takes effect within one step). About once a
second the thread publishes an immutable `Snapshot`: the status, downsampled history, the
fixed-noise grid and a frozen CPU copy of G. The page only ever reads snapshots, never live weights,
so polling costs nothing per viewer and idle pages cost nothing at all.

A `RunManager` holds the runs of all visitors: a run belongs to the session that started it
(others may watch, not stop), and concurrent runs are capped (GAN_MAX_RUNS, default 1).
"""
from __future__ import annotations

import contextvars
import dataclasses
import json
import logging
import os
import queue
import tempfile
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from gan.checkpoint import CheckpointError, load_state, model_config, remove_stale_temps, save_checkpoint
from gan.budget import check_train_config
from gan.config import TrainConfig, from_dict
from gan.datasets import Dataset, default_train_settings, load_dataset
from gan.latent import principal_directions
from gan.trainer import Trainer, TrainingDiverged, default_threads

from . import zerogpu
from .snapshot import MAX_FRAMES, Snapshot, downsample, render_grid, slug

log = logging.getLogger("gan.demo")
ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT_DIR = ROOT / "checkpoints"
ACTIVE = ("starting", "loading", "running", "stopping")


TRAIN_NICE = int(os.environ.get("GAN_TRAIN_NICE", "0"))
# fn(run, trainer, force) called in the training thread before each publish (between two steps); it may
# update trainer.metrics (published in status["metrics"]). The Theory tab and quality chart register here.
PUBLISH_HOOKS: list[Callable[["Run", Trainer, bool], None]] = []


def lower_priority(nice: int = TRAIN_NICE) -> None:
    """Lower the calling thread's CPU priority (Linux: per-thread nice), so that when CPUs are scarce,
    page requests and slider redraws run before the next training step. A no-op elsewhere."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except (OSError, AttributeError):
        pass


class RunBusy(RuntimeError):
    """The cap on concurrent runs is reached."""


class NotOwner(PermissionError):
    """A visitor tried to change a run that another visitor started."""


class Run:
    """One training run: a Trainer, its thread, its snapshots, checkpoints and time-lapse frames."""

    def __init__(self, owner: str, *, build: Callable[[], Trainer], label: str,
                 checkpoint_dir: Path, autosave_every: int = 500, publish_every: float = 1.0,
                 max_steps: int | None = None, idle_stop_s: float = 0.0,
                 chunk_runner: Callable[..., tuple[dict, list]] | None = None) -> None:
        self.id = f"{label}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
        # ZeroGPU: chunk_runner(cpu_state, seconds, steps, stop_file) -> (cpu_state, per-step stats) trains
        # the run elsewhere (demo/zerogpu.py); None, or gpu_chunks False ("Continue on CPU"): train in-process
        self.chunk_runner = chunk_runner
        self.gpu_chunks = chunk_runner is not None
        self._chunks = 0
        self._stop_file = Path(tempfile.gettempdir()) / f"gan-lab-stop-{self.id}"
        self.owner = owner
        self._build = build
        self.trainer: Trainer | None = None
        self.checkpoint_dir = Path(checkpoint_dir)
        self.autosave_every = int(autosave_every)
        self.publish_every = float(publish_every)
        self.max_steps = max_steps
        self.idle_stop_s = float(idle_stop_s)  # > 0: stop when the owner has not polled for this long
        self._lock = threading.Lock()  # guards the fields below; never held during a step
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._train = True
        self._requests: queue.Queue = queue.Queue()
        self._status: dict[str, Any] = {"state": "starting", "step": 0, "epoch": 0, "images_per_s": 0.0,
                                        "elapsed": 0.0, "d_loss": None, "g_loss": None, "d_real": None,
                                        "d_fake": None, "error": None, "warning": None, "run_id": self.id,
                                        "checkpoint": None}
        self._snap = Snapshot(self.id, 0, dict(self._status), {}, None, None)
        self._frames: list[np.ndarray] = []
        self._frame_every, self._publishes = 1, 0
        self._directions: tuple[int, torch.Tensor, torch.Tensor] | None = None
        self._dir_lock = threading.Lock()
        self._real: torch.Tensor | None = None
        self.last_seen = time.monotonic()

    # ---- reading (any thread) ---------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._status["state"]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._status)

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snap

    def frames(self) -> list[np.ndarray]:
        with self._lock:
            return list(self._frames)

    def thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def directions(self, k: int = 8, *, recompute: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Principal latent directions of the published G, computed once and shared by all viewers."""
        with self._dir_lock:
            snap = self.snapshot()
            if snap.generator is None:
                raise RuntimeError("no generator yet: start training or load a checkpoint first")
            if recompute or self._directions is None or self._directions[1].shape[0] < min(k, snap.z_dim):
                dirs, var = principal_directions(snap.generator, n=1000, k=max(k, 10), seed=0)
                self._directions = (snap.version, dirs, var)
            return self._directions[1], self._directions[2]

    # ---- control (request threads) ----------------------------------------------------------------
    def start(self, train: bool = True) -> None:
        """Start (or resume) the training thread; a no-op while it runs. train=False only builds the
        trainer and publishes a snapshot (a loaded checkpoint, ready to explore or resume)."""
        with self._lock:
            if self.thread_alive():
                return
            self._stop.clear()
            self._train = train
            self._status.update(state="starting", error=None, warning=None)
            self._stop_file.unlink(missing_ok=True)
            # the thread runs in a copy of the caller's context: on ZeroGPU, `spaces` reads the visitor's
            # gr.Request from it, so GPU chunks are charged to the visitor who pressed Train / Resume
            ctx = contextvars.copy_context()
            self._thread = threading.Thread(target=ctx.run, args=(self._main,), name=f"train-{self.id}",
                                            daemon=True)
            self._thread.start()

    def stop(self, wait: float = 30.0) -> None:
        """Ask the thread to stop after the current step, and wait for it (it saves a checkpoint)."""
        self._stop.set()
        if self.chunk_runner is not None:
            try:
                self._stop_file.touch()  # a GPU chunk in its forked worker checks this between steps
            except OSError:
                pass
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(wait)

    def call(self, fn: Callable[[Trainer], Any], timeout: float = 60.0) -> Any:
        """Run fn(trainer) between two steps (or at once when no thread runs) and return its result."""
        with self._lock:
            queued = self.thread_alive() and self._status["state"] in ACTIVE
            if queued:
                box: dict[str, Any] = {}
                done = threading.Event()
                self._requests.put((fn, box, done))
        if not queued:
            if self.trainer is None:
                raise RuntimeError("this run has no trainer yet")
            return fn(self.trainer)
        if not done.wait(timeout):
            raise TimeoutError("the training thread did not answer in time")
        if "error" in box:
            raise box["error"]
        return box["result"]

    def save(self, path: Path | None = None) -> Path:
        """Save a checkpoint now (between steps); returns its path."""
        return self.call(lambda tr: self._save(tr, path))

    # ---- the training thread -------------------------------------------------------------------------
    def _main(self) -> None:
        lower_priority()
        t_start = time.monotonic()
        base_elapsed = float(self._status.get("elapsed") or 0.0)
        try:
            if self.trainer is None:
                self._set(state="loading")
                self.trainer = self._build()
                if self.trainer.data.kind != "image":
                    self._real = self.trainer.data.sample_real(1000, torch.Generator().manual_seed(1))[0]
                self._publish(self.trainer, force=True)
            if self._stop.is_set() or not self._train:
                return
            tr = self.trainer
            # One intra-op thread on a 2-vCPU box: spinning OMP workers starve the page and collapse the step
            # rate as soon as anything else runs. Process-wide, which also suits the page's small sampling ops.
            torch.set_num_threads(default_threads(tr.data.kind))
            t_start = time.monotonic()  # elapsed counts training time, not loading
            self.last_seen = max(self.last_seen, t_start)  # the idle clock starts with training
            self._set(state="running")
            next_pub = time.monotonic() + self.publish_every
            while not self._stop.is_set():
                self._serve_requests(tr)
                before = tr.step_count
                stats = self._advance(tr)
                self._set(**{k: stats[k] for k in ("step", "epoch", "d_loss", "g_loss", "d_real", "d_fake",
                                                  "images_per_s")},
                          elapsed=base_elapsed + time.monotonic() - t_start)
                if self.autosave_every and stats["step"] // self.autosave_every > before // self.autosave_every:
                    self._autosave(tr)
                if time.monotonic() >= next_pub:
                    cost = self._publish(tr)
                    # keep publishing under ~4% of the thread's time, however slow rendering is
                    next_pub = time.monotonic() + max(self.publish_every, 25 * cost)
                if self.max_steps is not None and stats["step"] >= self.max_steps:
                    break
                if self.idle_stop_s and time.monotonic() - self.last_seen > self.idle_stop_s:
                    self._set(warning=f"stopped after {self.idle_stop_s:.0f} s with no page of its owner open "
                                      f"(checkpoint saved)")
                    break
            self._set(state="stopping")
            self._autosave(tr)
            self._publish(tr, force=True)
            self._set(state="stopped")
        except zerogpu.ChunkRefused as e:  # the GPU was refused; the trainer holds the last good chunk
            log.warning("run %s: GPU chunk refused: %s", self.id, e.__cause__)
            if self.trainer is not None:
                self._autosave(self.trainer)
            self._set(warning=str(e))
            self._safe_publish()
            self._set(state="quota")
        except TrainingDiverged as e:
            last = self._status.get("checkpoint")
            kept = f" The last good checkpoint is kept: {last}." if last else ""
            self._set(state="diverged", error=f"Training stopped: {e}.{kept} Try a lower learning rate "
                                              f"or another loss.")
            self._safe_publish()
        except Exception as e:  # noqa: BLE001 - any error must reach the page, not kill the app
            log.warning("run %s failed: %s", self.id, traceback.format_exc())
            self._set(state="error", error=f"{type(e).__name__}: {e}")
            self._safe_publish()
        finally:
            with self._lock:
                if self._status["state"] in ACTIVE:
                    self._status["state"] = "stopped"
            if self.trainer is not None:
                self._serve_requests(self.trainer)  # anyone who queued while we were ending
            else:
                self._fail_requests(RuntimeError("the run ended before it could answer"))

    def _advance(self, tr: Trainer) -> dict[str, Any]:
        """One chunk of training; returns the last step's stats. In-process the chunk is one step (so Stop
        and requests are served within a step); on ZeroGPU it is one `@spaces.GPU` call with the state as
        CPU tensors, whose result is loaded back into `tr`. Raises ChunkRefused when the GPU call fails."""
        if self.chunk_runner is None or not self.gpu_chunks:
            return tr.step()
        seconds = zerogpu.FIRST_CHUNK_SECONDS if self._chunks == 0 else zerogpu.CHUNK_SECONDS
        steps = None if self.max_steps is None else max(0, self.max_steps - tr.step_count)
        zerogpu.share_dataset(tr)
        try:
            state, stats = self.chunk_runner(tr.state_dict(), seconds, steps, str(self._stop_file))
        except TrainingDiverged:
            raise
        except Exception as e:  # noqa: BLE001 - quota, queue, token, worker: all leave `tr` as it was
            if "TrainingDiverged" in str(getattr(e, "message", e)):
                raise TrainingDiverged("a loss became NaN or infinite during a GPU chunk") from e
            raise zerogpu.ChunkRefused(zerogpu.refusal_message(e, tr.step_count)) from e
        tr.load_state_dict(state)
        self._chunks += 1
        if stats:
            return stats[-1]
        keys = ("epoch", "d_loss", "g_loss", "d_real", "d_fake", "images_per_s")
        return {**{k: self._status.get(k) for k in keys}, "step": tr.step_count}

    def _set(self, **kw: Any) -> None:
        with self._lock:
            self._status.update(kw)

    def _serve_requests(self, tr: Trainer) -> None:
        while True:
            try:
                fn, box, done = self._requests.get_nowait()
            except queue.Empty:
                return
            try:
                box["result"] = fn(tr)
            except Exception as e:  # noqa: BLE001 - handed back to the caller
                box["error"] = e
            done.set()

    def _fail_requests(self, err: Exception) -> None:
        while True:
            try:
                _, box, done = self._requests.get_nowait()
            except queue.Empty:
                return
            box["error"] = err
            done.set()

    def _safe_publish(self) -> None:
        if self.trainer is not None:
            try:
                self._publish(self.trainer, force=True)
            except Exception:  # noqa: BLE001 - publishing must not hide the original error
                log.warning("publish after error failed: %s", traceback.format_exc())

    def _publish(self, tr: Trainer, force: bool = False) -> float:
        """Render and publish a snapshot; returns the seconds it took."""
        for hook in list(PUBLISH_HOOKS):  # each hook keeps to its own time budget; not counted below
            try:
                hook(self, tr, force)
            except Exception:  # noqa: BLE001 - an extra view must never stop training
                log.warning("publish hook %r failed: %s", hook, traceback.format_exc())
        t0 = time.perf_counter()
        grid = render_grid(tr, self._real)
        gen = tr.snapshot_generator()
        hist = downsample(tr.history.columns())
        with self._lock:
            status = dict(self._status, metrics=dict(tr.metrics), dataset=tr.cfg.dataset, model=tr.cfg.model,
                          loss=tr.cfg.loss, conditional=tr.conditional, step=tr.step_count)
            self._status["step"] = tr.step_count
            self._snap = Snapshot(self.id, self._snap.version + 1, status, hist, grid, gen, tr.data.kind,
                                  tr.model_config.z_dim, tr.model_config.n_classes, self._real)
            self._publishes += 1
            if force or self._publishes % self._frame_every == 0:
                self._frames.append(grid)
                if len(self._frames) > MAX_FRAMES:
                    self._frames = self._frames[::2]
                    self._frame_every *= 2
        return time.perf_counter() - t0

    def _autosave(self, tr: Trainer) -> None:
        """Save, but let a full disk or a read-only folder warn on the page instead of ending the run."""
        try:
            self._save(tr)
            with self._lock:
                if str(self._status.get("warning") or "").startswith("could not save"):
                    self._status["warning"] = None
        except OSError as e:
            log.warning("autosave of %s failed: %s", self.id, e)
            self._set(warning=f"could not save a checkpoint to {self.checkpoint_dir}: {e.strerror or e}")

    def _save(self, tr: Trainer, path: Path | None = None) -> Path:
        path = Path(path) if path is not None else self.checkpoint_dir / f"{self.id}.pt"
        save_checkpoint(tr, str(path), extra={"run_id": self.id})
        meta = {"run_id": self.id, "dataset": tr.cfg.dataset, "model": tr.cfg.model, "loss": tr.cfg.loss,
                "step": tr.step_count, "saved_at": time.strftime("%Y-%m-%d %H:%M:%S"),
                "d_loss": tr.history.last("d_loss"), "g_loss": tr.history.last("g_loss")}
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, path.with_suffix(".json"))
        self._set(checkpoint=str(path))
        return path


@dataclass
class RunManager:
    """All runs of all visitors: the cap, ownership, a dataset cache and the checkpoint folder."""

    max_runs: int = field(default_factory=lambda: int(os.environ.get("GAN_MAX_RUNS", "1")))
    checkpoint_dir: Path = CHECKPOINT_DIR
    autosave_every: int = field(default_factory=lambda: int(os.environ.get("GAN_AUTOSAVE_EVERY", "500")))
    publish_every: float = 1.0
    keep_runs: int = 8  # finished runs kept in memory (their checkpoints stay on disk regardless)
    idle_stop_s: float = field(default_factory=lambda: float(os.environ.get("GAN_IDLE_STOP_S", "0")))
    # ZeroGPU: runs advance by calls of this (demo/zerogpu.gpu_chunk), their own trainers stay on the CPU
    chunk_runner: Callable[..., tuple[dict, list]] | None = field(default_factory=zerogpu.default_runner)

    def __post_init__(self) -> None:
        self.checkpoint_dir = Path(self.checkpoint_dir)
        remove_stale_temps(str(self.checkpoint_dir))  # left by a process killed mid-save
        self._lock = threading.Lock()
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._data: OrderedDict[tuple, Dataset] = OrderedDict()
        self._data_lock = threading.Lock()

    # ---- queries -------------------------------------------------------------------------------------
    def runs(self) -> list[Run]:
        with self._lock:
            return list(self._runs.values())

    def active_runs(self) -> list[Run]:
        return [r for r in self.runs() if r.active]

    def own_run(self, owner: str) -> Run | None:
        """The latest run this visitor started or loaded."""
        mine = [r for r in self.runs() if r.owner == owner]
        return mine[-1] if mine else None

    def run_for(self, owner: str) -> Run | None:
        """What this visitor watches: their own run, else the latest active run, else the latest run."""
        own = self.own_run(owner)
        if own is not None:
            own.last_seen = time.monotonic()
            return own
        runs = self.runs()
        active = [r for r in runs if r.active]
        return active[-1] if active else (runs[-1] if runs else None)

    # ---- control -------------------------------------------------------------------------------------
    def start(self, owner: str, cfg: TrainConfig, *, max_steps: int | None = None) -> Run:
        """Start a new run for `owner`; raises ConfigError or RunBusy with a message meant for the page."""
        cfg.validate()
        check_train_config(cfg)  # a batch too large for memory is refused here, before any thread
        cfg = self._host_config(cfg)
        label = f"{slug(cfg.dataset)}-{cfg.loss or default_train_settings(cfg.dataset)['loss']}"
        run = Run(owner, build=lambda: Trainer(cfg, data=self.dataset(cfg)), label=label,
                  checkpoint_dir=self.checkpoint_dir, autosave_every=self.autosave_every,
                  publish_every=self.publish_every, max_steps=max_steps, idle_stop_s=self.idle_stop_s,
                  chunk_runner=self.chunk_runner)
        self._admit(owner, run)
        run.start()
        return run

    def load(self, owner: str, path: str | os.PathLike, *, resume: bool = False) -> Run:
        """Load a checkpoint (weights only, refused if it holds code) as a run owned by `owner`."""
        state = load_state(str(path))
        cfg = self._host_config(from_dict(TrainConfig, dict(state["train_config"])))
        mc = model_config(state)

        def build() -> Trainer:
            tr = Trainer(cfg, data=self.dataset(cfg), model_config=mc)
            try:
                tr.load_state_dict(state)
            except (RuntimeError, KeyError, TypeError, ValueError) as e:
                raise CheckpointError(f"the checkpoint does not fit its own config: {str(e)[:200]}") from None
            return tr

        label = f"ckpt-{slug(cfg.dataset)}"
        run = Run(owner, build=build, label=label, checkpoint_dir=self.checkpoint_dir,
                  autosave_every=self.autosave_every, publish_every=self.publish_every,
                  idle_stop_s=self.idle_stop_s, chunk_runner=self.chunk_runner)
        self._admit(owner, run)
        run.start(train=resume)
        return run

    def resume(self, owner: str, *, cpu: bool = False) -> Run:
        """Continue the visitor's run. Under GPU chunks, cpu=True ("Continue on CPU") trains it in-process
        from now on; a plain Resume tries the GPU again."""
        run = self.own_run(owner)
        if run is None:
            raise LookupError("nothing to resume: start a run or load a checkpoint first")
        if run.active:
            return run
        if run.trainer is None:
            raise LookupError("this run could not be built; start a new one")
        t = run._thread
        if t is not None and t.is_alive() and t is not threading.current_thread():
            t.join(10.0)  # a thread that is ending (e.g. just refused a GPU chunk) finishes first
        with self._lock:
            self._check_cap(exclude=run)
            run._status["state"] = "starting"  # counted by the cap from now on
            run.gpu_chunks = run.chunk_runner is not None and not cpu
        run.last_seen = time.monotonic()
        run.start()
        return run

    def stop(self, owner: str, wait: float = 30.0) -> Run:
        run = self.own_run(owner)
        if run is None or not run.active:
            watched = self.run_for(owner)
            if watched is not None and watched.active and watched.owner != owner:
                raise NotOwner("this run belongs to another visitor: you can watch it but not stop it")
            if run is None:
                raise LookupError("you have no run to stop")
            return run
        run.stop(wait)
        return run

    def reset(self, owner: str) -> None:
        """Stop and forget this visitor's run (its checkpoint stays on disk)."""
        run = self.own_run(owner)
        if run is None:
            return
        run.stop()
        with self._lock:
            self._runs.pop(run.id, None)

    def shutdown(self, wait: float = 30.0) -> None:
        """Stop every run and wait for every thread (used on exit and by tests)."""
        for r in self.runs():
            r._stop.set()
        for r in self.runs():
            r.stop(wait)

    def warm_up(self) -> threading.Thread:
        """Pay torch's one-off lazy imports (seconds) in the background, so the first Train starts fast."""
        def work() -> None:
            try:
                Trainer(TrainConfig(dataset="ring8", batch_size=8, width=8, device="cpu")).step()
            except Exception:  # noqa: BLE001 - only an optimisation
                log.debug("warm-up failed: %s", traceback.format_exc())
        t = threading.Thread(target=work, name="warm-up", daemon=True)
        t.start()
        return t

    # ---- internals -----------------------------------------------------------------------------------
    def _host_config(self, cfg: TrainConfig) -> TrainConfig:
        """Under GPU chunks the run's own trainer lives on the CPU (ZeroGPU's main process has no GPU)."""
        return dataclasses.replace(cfg, device="cpu") if self.chunk_runner is not None else cfg

    def _check_cap(self, exclude: Run | None = None) -> None:
        n = sum(1 for r in self._runs.values() if r.active and r is not exclude)
        if n >= self.max_runs:
            raise RunBusy(f"The server is busy: {n} run(s) already training (limit {self.max_runs}). "
                          f"You can watch the current run, or try again when it stops.")

    def _admit(self, owner: str, run: Run) -> None:
        with self._lock:
            mine = [r for r in self._runs.values() if r.owner == owner]
            if any(r.active for r in mine):
                raise RunBusy("you already have a run training: stop it first")
            self._check_cap()
            self._runs[run.id] = run
            idle = [r for r in self._runs.values() if not r.active and not r.thread_alive()]
            while len(self._runs) > self.keep_runs + self.max_runs and idle:
                self._runs.pop(idle.pop(0).id, None)

    def dataset(self, cfg: TrainConfig) -> Dataset:
        """The dataset for cfg, loaded once and cached (two at most): Reset and Resume start fast."""
        key = (cfg.dataset, cfg.data_dir, cfg.seed, cfg.image_size)
        with self._data_lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
            data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed, image_size=cfg.image_size)
            self._data[key] = data
            while len(self._data) > 2:
                self._data.popitem(last=False)
            return data


__all__ = ["ACTIVE", "CHECKPOINT_DIR", "ROOT", "NotOwner", "Run", "RunBusy", "RunManager", "Snapshot"]
