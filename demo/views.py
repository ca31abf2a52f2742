"""Pure helpers between the page and the library: control values -> TrainConfig, status -> text,
history -> chart frames, and the checkpoint folder -> a table (no Gradio, no threads)."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gan.config import ConfigError, TrainConfig
from gan.datasets import TOY_SETS, default_train_settings

AUTO = "auto"
STATE_COLOUR = {"idle": "#9ca3af", "starting": "#eab308", "loading": "#eab308", "running": "#16a34a",
                "stopping": "#eab308", "stopped": "#6b7280", "error": "#dc2626", "diverged": "#dc2626"}


def _dot(state: str) -> str:
    return f'<span style="color:{STATE_COLOUR.get(state, "#9ca3af")}">●</span>'





def control_defaults(dataset: str) -> dict[str, Any]:
    """The Train tab's numbers for a dataset: its training defaults, shown so the user can edit them."""
    d = default_train_settings(str(dataset))
    return {k: d[k] for k in ("loss", "batch_size", "lr", "z_dim", "width")}


def _opt_number(name: str, value: Any, *, integer: bool = False) -> Any:
    """Blank -> None (dataset default); whole floats -> int for integer fields; anything else is kept
    so that TrainConfig.validate() names the field in its message."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if integer and isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def make_config(dataset: str, model: str | None = AUTO, loss: str | None = None, batch_size: Any = None,
                lr: Any = None, seed: Any = 0, z_dim: Any = None, width: Any = None,
                device: str = AUTO) -> TrainConfig:
    """A validated TrainConfig from the page's controls; raises ConfigError naming the bad field."""
    cfg = TrainConfig(
        dataset=str(dataset or "digits").strip(),
        model=None if model in (None, "", AUTO) else str(model),
        loss=None if loss in (None, "", AUTO) else str(loss),
        batch_size=_opt_number("batch_size", batch_size, integer=True),
        lr=_opt_number("lr", lr),
        seed=_opt_number("seed", seed, integer=True) or 0,
        z_dim=_opt_number("z_dim", z_dim, integer=True),
        width=_opt_number("width", width, integer=True),
        device=device or AUTO,
    )
    cfg.validate()
    return cfg


def _num(v: Any, fmt: str = ".3f") -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)


def _clock(seconds: float | None) -> str:
    s = int(seconds or 0)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def status_line(status: dict[str, Any] | None, *, yours: bool = False, busy: str = "") -> str:
    """One Markdown line: state, step, epoch, images/s, elapsed, losses; then any error or warning."""
    if not status:
        return f"{_dot('idle')} **idle**: no run yet. Pick settings and press **Train**. {busy}".strip()
    state = status.get("state", "idle")
    who = "your run" if yours else "watching another visitor's run"
    parts = [f"{_dot(state)} **{state}**", f"step {int(status.get('step') or 0):,}",
             f"epoch {int(status.get('epoch') or 0)}", f"{_num(status.get('images_per_s'), '.0f')} img/s",
             f"{_clock(status.get('elapsed'))} elapsed",
             f"D loss {_num(status.get('d_loss'))}", f"G loss {_num(status.get('g_loss'))}",
             f"`{status.get('run_id', '')}` ({who})"]
    text = " · ".join(parts)
    if status.get("error"):
        text += f"\n\n**Error:** {status['error']}"
    if status.get("warning"):
        text += f"\n\n**Warning:** {status['warning']}"
    return text


def chart_frames(history: dict[str, list[float]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long-format frames for the loss chart (D, G) and the D-output chart (D(x), D(G(z)))."""
    step = history.get("step", [])

    def frame(series: dict[str, str]) -> pd.DataFrame:
        parts = []
        for key, name in series.items():
            vals = history.get(key)
            if vals:
                df = pd.DataFrame({"step": step, "value": vals, "series": name})
                parts.append(df[np.isfinite(df["value"])])
        if not parts:  # typed even when empty, so the chart keeps treating `series` as categories
            return pd.DataFrame({"step": pd.Series([], dtype="float64"), "value": pd.Series([], dtype="float64"),
                                 "series": pd.Series([], dtype="object")})
        return pd.concat(parts, ignore_index=True)

    return (frame({"d_loss": "D loss", "g_loss": "G loss"}),
            frame({"d_real": "mean D(x) (real)", "d_fake": "mean D(G(z)) (fake)"}))


def list_checkpoints(folder: Path) -> list[list[Any]]:
    """Rows (file, dataset, model, loss, step, saved) for the .pt files in folder, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = sorted((p for p in folder.glob("*.pt") if not p.name.startswith(".")),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    rows = []
    for p in files:
        meta: dict[str, Any] = {}
        side = p.with_suffix(".json")
        if side.is_file():
            try:
                meta = json.loads(side.read_text())
            except (OSError, ValueError):
                meta = {}
        rows.append([p.name, meta.get("dataset", "?"), meta.get("model", "?"), meta.get("loss", "?"),
                     meta.get("step", "?"), meta.get("saved_at", "")])
    return rows


def checkpoint_path(folder: Path, name: str) -> Path:
    """The file `name` inside folder; refuses anything that is not a plain .pt name there."""
    if not name or os.path.basename(name) != name or not name.endswith(".pt") or name.startswith("."):
        raise ValueError(f"not a checkpoint name: {name!r}")
    path = Path(folder) / name
    if not path.is_file():
        raise ValueError(f"no checkpoint named {name!r} in {folder}")
    return path


def check_upload(path: str | None, max_bytes: int) -> str:
    """An uploaded file's path if it is non-empty and under the cap; else ValueError with the reason."""
    if not path:
        raise ValueError("no file was uploaded")
    size = os.path.getsize(path)
    if size == 0:
        raise ValueError("the uploaded file is empty")
    if size > max_bytes:
        raise ValueError(f"the uploaded file is {size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
    return path


def write_gif(frames: list[np.ndarray], path: Path, *, ms_per_frame: int = 120) -> Path:
    """Write frames (uint8 HxWx3, same size) as a looping GIF; the last frame lingers."""
    from PIL import Image

    if not frames:
        raise ValueError("no time-lapse frames yet: train for a few seconds first")
    images = [Image.fromarray(f) for f in frames]
    durations = [ms_per_frame] * (len(images) - 1) + [1500]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=False)
    return Path(path)


__all__ = ["AUTO", "TOY_SETS", "control_defaults", "chart_frames", "check_upload", "checkpoint_path", "list_checkpoints", "make_config",
           "status_line", "write_gif"]
