"""All runs of all visitors: ownership, the cap on concurrent runs, the queue, loading, resuming and limits.
No Gradio.

A run belongs to the visitor who started (or loaded) it; others may watch it, not change it. At most
GAN_MAX_RUNS train at once, taking turns on the CPU (demo/runs/sharing.py); a visitor who presses Train past the
cap waits in a queue and their run starts by itself (demo/runs/waitlist.py). On ZeroGPU each GPU chunk is carried
by an open request of the run's owner (demo/runs/lending.py). Runs end by themselves at the limits the server
sets (demo/runs/run.py `Limits`, GAN_TURN_S while others wait), and when their owner's last page closes
(`session_ended`). Files and paths are demo/runs/storage.py's job.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

from gan import settings
from gan.checkpoint import load_state
from gan.config import TrainConfig, from_dict
from gan.data.spec import cached_dataset
from gan.errors import CheckpointError, ConfigError, DatasetError, safe_name
from gan.family import default_model
from gan.train.budget import check_train_config
from gan.train.trainer import Trainer

from . import zerogpu
from .lending import Lenders
from .run import Run
from .state import ENDED, Limits, State
from .sharing import CpuShare, default_max_runs
from .storage import TMP, Storage
from .waitlist import Waitlist

log = logging.getLogger("gan.demo")


EXAMPLES_OWNER = "examples"  # shipped examples belong to nobody: every visitor may watch and load them
EXAMPLE_FOR = {"explore": "digits-dcgan", "theory": "ring8-toy", "translate": "digits2colordigits-cyclegan",
               "style": "digits-stylegan"}  # what a page shows on arrival, per view, until the visitor trains
START_GRACE_S = 30.0  # the longest a run may count as training before its thread exists


def _today() -> int:
    return int(time.time() // 86400)


def _trained(run: Run) -> float:
    """The training seconds a run has used (its status' elapsed: training time, not loading or waiting)."""
    return float(run.status().get("elapsed") or 0.0)


class RunBusy(RuntimeError):
    """The visitor already has a run training or waiting in the queue."""


class NotOwner(PermissionError):
    """A visitor tried to change a run that another visitor started."""


class RunManager:
    """The runs of every visitor, the cap on concurrent runs, and the storage they save to."""

    def __init__(self, *, max_runs: int | None = None, checkpoint_dir: str | Path | None = None,
                 storage: Storage | None = None, limits: Limits | None = None, keep_runs: int = 6,
                 autosave_every: int | None = None, publish_every: float = 1.0, idle_stop_s: float | None = None,
                 chunk_runner: Callable[..., tuple[dict, list]] | None | str = "default",
                 turn_s: float | None = None, lend: bool | None = None, cpu: CpuShare | None = None) -> None:
        self.max_runs = int(max_runs if max_runs is not None else settings.get("GAN_MAX_RUNS") or default_max_runs())
        self.turn_s = float(settings.get("GAN_TURN_S") if turn_s is None else turn_s)
        self.storage = storage or Storage(checkpoint_dir)
        self.limits = limits or Limits(
            seconds=settings.get("GAN_RUN_MAX_SECONDS"), steps=settings.get("GAN_RUN_MAX_STEPS"),
            idle=settings.get("GAN_IDLE_STOP_S") if idle_stop_s is None else idle_stop_s,
            autosave_every=settings.get("GAN_AUTOSAVE_EVERY") if autosave_every is None else autosave_every,
            publish_every=publish_every)
        self.keep_runs = keep_runs  # finished runs kept in memory (their checkpoints stay on disk regardless)
        # ZeroGPU: runs advance by calls of this (demo/zerogpu.gpu_chunk); their own trainers stay on the CPU
        self.chunk_runner = zerogpu.default_runner() if chunk_runner == "default" else chunk_runner
        # on ZeroGPU the chunks are carried by an open request of the run's owner (demo/lend.py lends them)
        lend = self.chunk_runner is zerogpu.gpu_chunk if lend is None else lend
        self.lenders = Lenders() if lend and self.chunk_runner is not None else None
        self.cpu = cpu or CpuShare()  # turns on the CPU for the runs training in this process
        self.waitlist = Waitlist(self)
        self._lock = threading.Lock()
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._examples: dict[str, Run] = {}
        self._spent: dict[str, float] = {}  # visitor -> training seconds of runs no longer kept, today (UTC)
        self._day = _today()
        self.storage.in_use = self._uploads_in_use  # the upload sweep keeps what runs still train on

    @property
    def checkpoint_dir(self) -> Path:
        return self.storage.root

    # ---- queries ----------------------------------------------------------------------------------------
    def runs(self) -> list[Run]:
        with self._lock:
            return list(self._runs.values())

    def active_runs(self) -> list[Run]:
        return [r for r in self.runs() if r.active]

    def own_run(self, owner: str) -> Run | None:
        """The latest run this visitor started or loaded."""
        mine = [r for r in self.runs() if r.owner == owner]
        return mine[-1] if mine else None

    def watched(self, owner: str) -> Run | None:
        """What this visitor watches: their own run, else the latest active run of another visitor that does not
        train on that visitor's own images (its grid, time-lapse, held-out pictures and names are theirs alone),
        else nothing."""
        own = self.own_run(owner)
        if own is not None:
            return own
        active = [r for r in self.active_runs() if not r.private_data]
        return active[-1] if active else None

    def page_mark(self, owner: str) -> tuple[tuple, int | None]:
        """A cheap fingerprint of what this visitor's page shows, in two parts: what a page should show at once
        (which run it watches, its state, whose it is, free slots, the examples' publishes) and the watched
        run's snapshot version (its steady stream of publishes)."""
        run = self.watched(owner)
        snap = run.snapshot() if run is not None else None
        urgent = (getattr(run, "id", None), snap.status.get("state") if snap else None,
                  run is not None and run.owner == owner, len(self.active_runs()), len(self.waitlist),
                  tuple(r.snapshot().version for r in list(self._examples.values())))
        return urgent, snap.version if snap else None

    def example(self, view: str) -> Run | None:
        """The shipped example a page shows for `view` (explore, theory, translate, style) before any run."""
        run = self._examples.get(EXAMPLE_FOR.get(view, view))
        return run if run is not None and run.snapshot().sampler is not None else None

    def load_examples(self) -> list[Run]:
        """Publish the shipped examples (checkpoints/examples/*.pt) as read-only runs, each in its own thread."""
        started = []
        for path in sorted(self.storage.examples.glob("*.pt")) if self.storage.examples.is_dir() else []:
            try:
                state = load_state(str(path))
                cfg = self._host(self.storage.safe_config(from_dict(TrainConfig, dict(state["train_config"])),
                                                          EXAMPLES_OWNER))
            except (CheckpointError, ConfigError, OSError) as e:
                log.warning("example %s skipped: %s", path.name, e)
                continue
            run = self._new_run(EXAMPLES_OWNER, self._from_state(state, cfg), cfg, source=state)
            run.example, run.drop_trainer = path.stem, True
            run.display["dataset"] = f"{run.display['dataset']} (example: {path.stem})"
            self._examples[path.stem] = run
            run.start(train=False)
            started.append(run)
        return started

    def training_left(self, owner: str) -> float:
        """Seconds of training `owner` may still use today (GAN_VISITOR_DAILY_SECONDS, across all their runs,
        stops, restarts and loads); inf without that limit."""
        limit = settings.get("GAN_VISITOR_DAILY_SECONDS")
        if not limit or owner == EXAMPLES_OWNER:
            return float("inf")
        with self._lock:
            if self._day != _today():
                self._day, self._spent = _today(), {}
            used = self._spent.get(owner, 0.0) + sum(_trained(r) for r in self._runs.values() if r.owner == owner)
        return limit - used

    def _check_training_left(self, owner: str) -> None:
        if self.training_left(owner) <= 0:
            minutes = settings.get("GAN_VISITOR_DAILY_SECONDS") / 60
            raise RunBusy(f"You have used this server's {minutes:.0f} minutes of training for today (it refills at "
                          f"midnight UTC). Your checkpoints stay: explore them, or download one to train further "
                          f"on your own machine.")

    def _drop(self, run: Run) -> None:
        """Take `run` out of the kept runs (the lock held), counting its training time against its owner's day."""
        if self._runs.pop(run.id, None) is not None and run.owner != EXAMPLES_OWNER:
            self._spent[run.owner] = self._spent.get(run.owner, 0.0) + _trained(run)

    def seen(self, owner: str) -> None:
        """The visitor's page is open: their run's idle clock restarts."""
        own = self.own_run(owner)
        if own is not None:
            own.last_seen = time.monotonic()

    # ---- starting, loading, resuming -------------------------------------------------------------------
    def start(self, owner: str, cfg: TrainConfig) -> Run:
        """Start a new run for `owner`; raises ConfigError or RunBusy with a message meant for the page."""
        cfg.validate()
        self._check_training_left(owner)
        cfg = self._host(self.storage.safe_config(cfg, owner))
        check_train_config(cfg)  # a batch too large for memory is refused here, before any thread
        run = self._new_run(owner, lambda: Trainer(cfg, data=self.dataset(cfg)), cfg)
        self._admit(owner, run, then=run.start)
        return run

    def load(self, owner: str, path: str | Path, *, resume: bool = False) -> Run:
        """Load a checkpoint (weights only: refused if it holds code) as a run owned by `owner`: explored at
        once, trained further with Resume (or now, with resume=True)."""
        if resume:
            self._check_training_left(owner)
        state = load_state(str(path))
        cfg = from_dict(TrainConfig, dict(state["train_config"]))
        note = ("explore only: this checkpoint trained on images that are not among your uploads, so it cannot "
                "be trained further here")
        try:
            cfg = self._host(self.storage.safe_config(cfg, owner))
            if not resume:
                self.dataset(cfg)  # a dataset this server does not have (say, MNIST files): explore only too
        except ConfigError:
            if resume:
                raise
            cfg = None  # its dataset is not this visitor's: explore only, never read that folder
        except DatasetError:
            if resume:
                raise
            cfg, note = None, "explore only: this checkpoint's dataset is not available on this server"
        run = self._new_run(owner, self._from_state(state, cfg), cfg, source=state)
        if cfg is None:
            self._admit(owner, run, then=lambda: run.publish_static(state, note=note), trains=False)
        else:  # an example is never written to: the run saves under the visitor's name
            self._admit(owner, run, then=lambda: run.start(train=resume), trains=resume)
        return run

    def load_static(self, owner: str, state: dict[str, Any], *, note: str) -> Run:
        """Publish a generator-only state (a Hub export, gan.hub.sampler_state) as `owner`'s run, to explore
        only: it has no discriminator or optimizer state, so Resume is refused with `note`."""
        run = self._new_run(owner, self._from_state(state, None), None, source=state)
        run.explore_note = note
        self._admit(owner, run, then=lambda: run.publish_static(state, note=note), trains=False)
        return run

    def resume(self, owner: str, *, cpu: bool = False) -> Run:
        """Continue the visitor's run from its latest checkpoint. Under GPU chunks, cpu=True ("Continue on
        CPU") trains it in-process from now on; a plain Resume tries the GPU again."""
        run = self.own_run(owner)
        if run is None:
            raise LookupError("nothing to resume: start a run or load a checkpoint first")
        if run.active or run.state == State.QUEUED:
            return run
        if getattr(run, "explore_note", None):
            raise LookupError(run.explore_note)
        if getattr(run, "explore_only", False):
            raise LookupError("this checkpoint trained on images that are not among your uploads, so it can be "
                              "explored but not trained further here; upload those images to train it")
        t = run._thread
        if t is not None and t.is_alive() and t is not threading.current_thread():
            t.join(10.0)  # a thread that is ending (e.g. just refused a GPU chunk) finishes first
        self._check_training_left(owner)
        with self._lock:
            run.gpu_chunks = self.chunk_runner is not None and not cpu
            run.last_seen = time.monotonic()
            if self._full() or len(self.waitlist):  # first come, first served: behind those who wait
                self.waitlist.add(run, run.start)
                return run
            self.launch(run, run.start)  # counted by the cap from now on
        return run

    def stop(self, owner: str, wait: float = 30.0) -> Run:
        run = self.own_run(owner)
        if run is not None and run.state == State.QUEUED:
            with self._lock:
                self.waitlist.remove(run, "you left the queue")
            return run
        if run is None or not run.active:
            watched = self.watched(owner)
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
        with self._lock:
            self.waitlist.remove(run, "you left the queue")
        run.stop()
        with self._lock:
            self._drop(run)
        run.forget()

    def session_ended(self, owner: str) -> None:
        """The visitor's last page closed: their run stops (and saves); it can be loaded again later."""
        run = self.own_run(owner)
        if run is not None and run.state == State.QUEUED:
            with self._lock:
                self.waitlist.remove(run, "left the queue: your page was closed")
        if run is not None and run.active:
            threading.Thread(target=run.stop, name="stop-on-unload", daemon=True).start()

    def shutdown(self, wait: float = 30.0) -> None:
        """Stop every run and wait for every thread (used on exit and by tests); the queue is emptied."""
        self.waitlist.close()
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
        t = threading.Thread(target=work, name="warm-up", daemon=False)  # finite; a daemon in torch at exit aborts
        t.start()
        return t

    # ---- internals ----------------------------------------------------------------------------------------
    def _host(self, cfg: TrainConfig) -> TrainConfig:
        """Under GPU chunks the run's own trainer lives on the CPU (ZeroGPU's main process has no GPU)."""
        return dataclasses.replace(cfg, device="cpu") if self.chunk_runner is not None else cfg

    @staticmethod
    def dataset(cfg: TrainConfig) -> Any:
        """The data a run of `cfg` trains on, from the process's one dataset cache."""
        return cached_dataset(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed, image_size=cfg.image_size)

    def _from_state(self, state: dict[str, Any], cfg: TrainConfig | None) -> Callable[[], Trainer]:
        def build() -> Trainer:
            if cfg is None:
                raise CheckpointError("this checkpoint's dataset is not available here")
            return Trainer.from_state(state, data=self.dataset(cfg), device=cfg.device, data_dir=cfg.data_dir)
        return build

    def _new_run(self, owner: str, build: Callable[[], Trainer], cfg: TrainConfig | None,
                 source: dict[str, Any] | None = None) -> Run:
        tc = dict(source["train_config"]) if source is not None else dataclasses.asdict(cfg)
        display = {"dataset": self.storage.display_dataset(str(tc.get("dataset"))), "model": tc.get("model"),
                   "loss": tc.get("loss")}
        # the id becomes a folder name and shows in Markdown: made only of names this server made safe
        model = tc.get("model") or default_model(str(tc.get("dataset"))) or "auto"  # the model "auto" picks
        label = "-".join(safe_name(str(v), max_len=n) for v, n in (
            (display["dataset"], 24), (model, 12), (tc.get("loss") or "default", 12)))  # dataset-model-loss
        run_id = f"{label}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"

        def save(r: Run, tr: Trainer) -> Path:
            display.update(model=tr.cfg.model, loss=tr.cfg.loss)
            return self.storage.save(r.owner, r.id, tr, display=display)

        runner = self.chunk_runner
        if self.lenders is not None and runner is not None:  # each chunk carried by an open request of the owner
            def runner(*args: Any, _gpu: Callable[..., Any] = runner) -> Any:
                return self.lenders.call(owner, _gpu, args, stopped=run._stop.is_set)
        run = Run(run_id, owner, build=build, folder=TMP / "gan-lab-runs" / run_id, save=save, display=display,
                  limits=self.limits, advance=zerogpu.advancer(runner), share=self.cpu)
        run.gpu_seconds, run.gpu_left_s = 0.0, None  # ZeroGPU time this run used, and the quota ZeroGPU said is left
        run.status_extra = lambda: self.sharing(run)
        run.explore_only = source is not None and cfg is None
        run.dataset = str(tc.get("dataset"))
        run.private_data = run.dataset.startswith(("folder:", "pair:"))  # a visitor's own images
        run.training_left = lambda: self.training_left(owner)  # what it trains on (the upload sweep keeps that folder)
        original = run._build

        def build_then_checkpoint() -> Trainer:  # after the first build, a run resumes from its checkpoint
            if run.checkpoint is not None and run.checkpoint.exists():
                return self._from_state(load_state(str(run.checkpoint)), cfg)()
            return original()
        run._build = build_then_checkpoint
        return run

    def _uploads_in_use(self) -> set[str]:
        """Upload folders that a run kept in memory trains (or trained) on."""
        out = set()
        for r in self.runs():
            name = str(getattr(r, "dataset", ""))
            if name.startswith("folder:"):
                out.add(name[len("folder:"):])
        return out

    @staticmethod
    def _holds_slot(run: Run) -> bool:
        """A run counts against the cap while it is active with a thread, or for at most START_GRACE_S while it
        is being admitted: a run left starting with no thread (a bug) can never hold a slot for good."""
        return run.active and (run.thread_alive() or time.monotonic() - run.created < START_GRACE_S)

    def _full(self) -> bool:
        return sum(1 for r in self._runs.values() if self._holds_slot(r)) >= self.max_runs

    def launch(self, run: Run, start: Callable[[], None]) -> None:
        """Start a run that has a slot: its turn (GAN_TURN_S while others wait) counts from now."""
        run.turn_start, run.turn_until = time.monotonic(), None
        start()

    def sharing(self, run: Run | None) -> dict[str, Any]:
        """How `run` shares the server now (for /status and the page): runs sharing the CPU and this run's part of
        it, the queue (its place and wait when it waits), the end of its turn while others wait, its GPU time."""
        out: dict[str, Any] = {"runs_sharing": self.cpu.members(), "queue_length": len(self.waitlist)}
        if run is None:
            return out
        in_cpu = run.active and not run.gpu_chunks
        left = run.turn_until - time.monotonic() if run.turn_until is not None and run.active else None
        out.update(cpu_share=round(self.cpu.share(), 4) if in_cpu else None,
                   turn_left_s=None if left is None else round(max(0.0, left), 1))
        if run.state == State.QUEUED:
            out.update(queue_place=self.waitlist.place(run), wait_s=run.status().get("wait_s"))
        if getattr(run, "chunks", 0) or getattr(run, "gpu_left_s", None) is not None:
            out.update(gpu_seconds=round(getattr(run, "gpu_seconds", 0.0), 1), gpu_quota_left_s=run.gpu_left_s)
        return out

    def _admit(self, owner: str, run: Run, then: Callable[[], None] | None = None, trains: bool = True) -> None:
        """Add `run` to the visitor's runs (refused while one of theirs trains or waits) and do `then` (start it,
        or publish a loaded checkpoint); a run that trains waits in the queue instead while the cap is reached or
        others wait. If `then` fails, the run is taken out again and the error raised: a failed load leaves the
        visitor where they were."""
        if self._add(owner, run, then if trains else None) or then is None:
            return
        try:
            self.launch(run, then)
        except BaseException:
            run._stop.set()
            with self._lock:
                self._drop(run)
            run.forget()
            raise

    def _add(self, owner: str, run: Run, queue_with: Callable[[], None] | None) -> bool:
        """Add `run`; with `queue_with` (it trains) it joins the queue when the cap is reached or others wait, and
        `queue_with()` starts it when its turn comes. Returns whether it was queued."""
        with self._lock:
            mine = [r for r in self._runs.values() if r.owner == owner]
            if any(self._holds_slot(r) for r in mine):
                raise RunBusy("you already have a run training: stop it first")
            if any(r.state == State.QUEUED for r in mine):
                raise RunBusy("you are already in the queue for a training slot: your run starts by itself")
            queued = queue_with is not None and (self._full() or len(self.waitlist) > 0)
            self._runs[run.id] = run
            if queued:
                self.waitlist.add(run, queue_with)
            ended = [r for r in self._runs.values() if r.state in ENDED and not r.thread_alive()]
            while len(self._runs) > self.keep_runs + self.max_runs and ended:
                old = ended.pop(0)
                self._drop(old)
                old.forget()
        return queued


__all__ = ["EXAMPLES_OWNER", "EXAMPLE_FOR", "NotOwner", "RunBusy", "RunManager", "State"]
