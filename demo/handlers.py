"""Event handlers of the page: thin methods that turn control values into RunManager calls and
snapshots into component values. The visitor is `request.session_hash`; refusals raise gr.Error, which
shows as a toast on the page and as an error in gradio_client."""
from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from gan.checkpoint import CheckpointError
from gan.config import ConfigError
from gan.images import save_png

from . import explore
from .runs import Run, RunBusy, RunManager, NotOwner
from .views import (chart_frames, check_upload, checkpoint_path, list_checkpoints, make_config, status_line,
                    write_gif)

N_SLIDERS = 8
MAX_UPLOAD_MB = int(os.environ.get("GAN_MAX_UPLOAD_MB", "200"))
EXPORT_DIR = Path(tempfile.gettempdir()) / "gan-lab-exports"
UPLOAD_DIR = Path(tempfile.gettempdir()) / "gan-lab-uploads"  # one fresh folder per uploaded zip


def check_folder(dataset: str) -> None:
    """Visitors may train on folders they uploaded, never on other folders of the server."""
    if not dataset.startswith("folder:"):
        return
    path = os.path.realpath(dataset[len("folder:"):])
    root = os.path.realpath(UPLOAD_DIR)
    if not path.startswith(root + os.sep):
        raise ConfigError("folder datasets on this page must come from an uploaded zip of images "
                          "(use 'Upload a zip of images'); other server folders are not offered")


def session(request: gr.Request | None) -> str:
    """The visitor's id: Gradio's per-page (or per-Client) session hash."""
    return getattr(request, "session_hash", None) or "local"


class Handlers:
    """Everything the page calls, bound to one RunManager."""

    def __init__(self, manager: RunManager) -> None:
        self.manager = manager
        self._memo: dict[tuple, Any] = {}  # (run id, version) -> chart frames, shared by all viewers
        self._memo_lock = threading.Lock()
        EXPORT_DIR.mkdir(parents=True, exist_ok=True)

    # ---- helpers --------------------------------------------------------------------------------------
    def _watched(self, request: gr.Request | None) -> Run | None:
        return self.manager.run_for(session(request))

    def _snap(self, request: gr.Request | None):
        run = self._watched(request)
        snap = run.snapshot() if run is not None else None
        if snap is None or snap.generator is None:
            raise gr.Error("No generator yet: press Train (or load a checkpoint) first.")
        return run, snap

    def _charts(self, run: Run, snap) -> tuple:
        key = (run.id, snap.version)
        with self._memo_lock:
            hit = self._memo.get(key)
        if hit is None:
            hit = chart_frames(snap.history)
            with self._memo_lock:
                self._memo = {k: v for k, v in self._memo.items() if k[0] == run.id and k[1] > snap.version - 3}
                self._memo[key] = hit
        return hit

    def _busy(self) -> str:
        n = len(self.manager.active_runs())
        return f"({n}/{self.manager.max_runs} training slots in use)"

    # ---- Train tab --------------------------------------------------------------------------------------
    def train(self, dataset: str, model: str, loss: str, batch_size: float | None, lr: float | None,
              seed: float | None, z_dim: float | None = None, width: float | None = None,
              request: gr.Request = None) -> str:
        """Start a new run with these settings (blank numbers take the dataset's defaults)."""
        try:
            cfg = make_config(dataset, model, loss, batch_size, lr, seed, z_dim, width)
            check_folder(cfg.dataset)
            run = self.manager.start(session(request), cfg)
        except (ConfigError, RunBusy, ValueError) as e:
            raise gr.Error(str(e), duration=8) from None
        return f"Started run `{run.id}`."

    def stop(self, request: gr.Request = None) -> str:
        """Stop your run after the current step (it saves a checkpoint)."""
        try:
            run = self.manager.stop(session(request))
        except (NotOwner, LookupError) as e:
            raise gr.Error(str(e), duration=8) from None
        st = run.status()
        return f"Stopped at step {st['step']}; checkpoint: `{st.get('checkpoint') or 'none'}`."

    def resume(self, request: gr.Request = None) -> str:
        """Continue your stopped (or loaded) run exactly where it left off."""
        try:
            run = self.manager.resume(session(request))
        except (RunBusy, LookupError) as e:
            raise gr.Error(str(e), duration=8) from None
        return f"Resumed `{run.id}` at step {run.status()['step']}."

    def reset(self, request: gr.Request = None) -> str:
        self.manager.reset(session(request))
        return "Reset: your run was stopped and cleared (its checkpoint stays in the Checkpoints tab)."

    def status(self, request: gr.Request = None) -> dict[str, Any]:
        """The watched run's live status: state, step, epoch, losses, images/s, elapsed, error."""
        run = self._watched(request)
        if run is None:
            return {"state": "idle", "step": 0, "epoch": 0, "d_loss": None, "g_loss": None, "error": None,
                    "yours": False, "active_runs": 0, "max_runs": self.manager.max_runs}
        st = run.status()
        st.update(yours=run.owner == session(request), active_runs=len(self.manager.active_runs()),
                  max_runs=self.manager.max_runs)
        return st

    def tick(self, seen: dict | None, request: gr.Request = None) -> tuple:
        """Timer: re-send the status line only when it changed, and the charts and grid only when a
        new snapshot was published, so an idle page costs next to nothing."""
        seen = seen or {}
        run = self._watched(request)
        if run is None:
            text, snap_key, snap = status_line(None, busy=self._busy()), "none", None
        else:
            snap = run.snapshot()
            text, snap_key = status_line(run.status(), yours=run.owner == session(request)), f"{run.id}:{snap.version}"
        out_text = gr.skip() if seen.get("text") == text else text
        if snap is None or seen.get("snap") == snap_key or snap.version == 0:
            heavy = (gr.skip(),) * 3
        elif not snap.history.get("step"):  # a new run's first snapshot: a grid but no history yet
            heavy = (gr.skip(), gr.skip(), snap.grid)
        else:
            losses, dvals = self._charts(run, snap)
            heavy = (losses, dvals, snap.grid)
        return (out_text, *heavy, {"text": text, "snap": snap_key})

    def sample(self, n: float, seed: float, request: gr.Request = None) -> tuple[np.ndarray, str]:
        """A fresh grid of n samples from seed, and the same as a PNG file."""
        _, snap = self._snap(request)
        img = explore.sample_grid(snap, int(n or 64), int(seed or 0))
        path = EXPORT_DIR / f"samples-{snap.run_id}-s{int(seed or 0)}-n{int(n or 64)}.png"
        save_png(img, str(path))
        return img, str(path)

    # ---- Explore tab ------------------------------------------------------------------------------------
    def _directions(self, run: Run, snap, axes: str, recompute: bool = False):
        principal = None
        if axes != "raw":
            principal, _ = run.directions(N_SLIDERS, recompute=recompute)
        return explore.direction_set(snap, axes, N_SLIDERS, principal)

    def generate(self, seed: float, d1: float = 0, d2: float = 0, d3: float = 0, d4: float = 0, d5: float = 0,
                 d6: float = 0, d7: float = 0, d8: float = 0, truncation: float = 1.0, class_label: float = 0,
                 axes: str = "principal", request: gr.Request = None) -> np.ndarray:
        """The image for a seed moved by offsets d1..d8 along the slider axes ('principal' or 'raw' z)."""
        run, snap = self._snap(request)
        dirs = self._directions(run, snap, axes)
        return explore.latent_image(snap, int(seed or 0), [d1, d2, d3, d4, d5, d6, d7, d8], directions=dirs,
                                    psi=float(truncation), class_label=int(class_label or 0))

    def recompute(self, axes: str, request: gr.Request = None) -> list:
        """Recompute the principal directions on the latest generator; relabel the sliders."""
        run, snap = self._snap(request)
        labels = [f"raw z[{i}]" for i in range(N_SLIDERS)]
        if axes != "raw":
            _, var = run.directions(N_SLIDERS, recompute=True)
            labels = [f"PC{i + 1} ({100 * float(v):.1f}% of variance)" if i < len(var) else f"PC{i + 1} (n/a)"
                      for i, v in enumerate(var[:N_SLIDERS].tolist() + [0.0] * N_SLIDERS)][:N_SLIDERS]
        return [gr.Slider(label=lab, value=0) for lab in labels]

    def strip(self, seed_a: float, seed_b: float, steps: float, truncation: float, class_label: float,
              request: gr.Request = None) -> np.ndarray:
        """Slerp from seed A to seed B as a strip of images."""
        _, snap = self._snap(request)
        return explore.slerp_strip(snap, int(seed_a or 0), int(seed_b or 0), int(steps or 8),
                                   psi=float(truncation), class_label=int(class_label or 0))

    @staticmethod
    def random_seed() -> int:
        return int(np.random.default_rng().integers(0, 2**31 - 1))

    # ---- Checkpoints tab --------------------------------------------------------------------------------
    def _own(self, request: gr.Request | None) -> Run:
        run = self.manager.own_run(session(request))
        if run is None or run.trainer is None:
            raise gr.Error("You have no run to save: train or load one first.")
        return run

    def save_now(self, request: gr.Request = None) -> tuple[str, list]:
        try:
            path = self._own(request).save()
        except (OSError, TimeoutError, RuntimeError) as e:
            raise gr.Error(f"could not save: {e}") from None
        return f"Saved `{path.name}`.", self.checkpoint_table()

    def download_current(self, request: gr.Request = None) -> str:
        try:
            return str(self._own(request).save())
        except (OSError, TimeoutError, RuntimeError) as e:
            raise gr.Error(f"could not save: {e}") from None

    def checkpoint_table(self) -> list:
        return list_checkpoints(self.manager.checkpoint_dir)

    def checkpoint_choices(self) -> Any:
        names = [row[0] for row in self.checkpoint_table()]
        return gr.Dropdown(choices=names, value=names[0] if names else None)

    def _load(self, path: str, resume: bool, request: gr.Request | None) -> str:
        try:
            run = self.manager.load(session(request), path, resume=resume)
        except (CheckpointError, ConfigError, RunBusy, ValueError) as e:
            raise gr.Error(str(e), duration=10) from None
        return f"Loading `{Path(path).name}` as `{run.id}`" + (" and resuming." if resume else
                                                               ": press Resume on the Train tab to continue.")

    def load(self, name: str, request: gr.Request = None) -> str:
        try:
            path = checkpoint_path(self.manager.checkpoint_dir, name)
        except ValueError as e:
            raise gr.Error(str(e)) from None
        return self._load(str(path), False, request)

    def load_resume(self, name: str, request: gr.Request = None) -> str:
        try:
            path = checkpoint_path(self.manager.checkpoint_dir, name)
        except ValueError as e:
            raise gr.Error(str(e)) from None
        return self._load(str(path), True, request)

    def upload(self, file: str | None, request: gr.Request = None) -> str:
        """Load an uploaded checkpoint (size-capped, weights only: a file holding code is refused)."""
        try:
            path = check_upload(file, MAX_UPLOAD_MB * 2**20)
        except (ValueError, OSError) as e:
            raise gr.Error(str(e)) from None
        return self._load(path, False, request)

    def upload_zip(self, file: str | None, request: gr.Request = None) -> tuple[str, str]:
        """Unpack an uploaded zip of images (size-capped, safely) into its own folder and select it as
        the dataset; returns (dataset dropdown, notice with the image count and files skipped)."""
        import shutil
        import uuid

        from gan.datasets import DatasetError
        from gan.folder import load_zip

        try:
            path = check_upload(file, MAX_UPLOAD_MB * 2**20)
        except (ValueError, OSError) as e:
            raise gr.Error(str(e)) from None
        dest = UPLOAD_DIR / uuid.uuid4().hex
        try:
            data = load_zip(path, str(dest), image_size=32)
        except (DatasetError, OSError, ValueError) as e:
            shutil.rmtree(dest, ignore_errors=True)
            raise gr.Error(str(e), duration=10) from None
        name = f"folder:{dest}"
        info = data.info
        note = (f"Unpacked {info['images']} image(s) as dataset `{name}`"
                + (f"; {info['skipped']} other file(s) skipped" if info["skipped"] else "")
                + ". Press **Train** to train on them.")
        return name, note

    def timelapse(self, request: gr.Request = None) -> str:
        run = self._watched(request)
        if run is None:
            raise gr.Error("No run yet.")
        try:
            path = write_gif(run.frames(), EXPORT_DIR / f"timelapse-{run.id}-{int(time.time())}.gif")
        except ValueError as e:
            raise gr.Error(str(e)) from None
        return str(path)


__all__ = ["EXPORT_DIR", "Handlers", "MAX_UPLOAD_MB", "N_SLIDERS", "UPLOAD_DIR", "check_folder", "session"]
