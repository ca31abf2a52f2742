"""What a run publishes for the page: one immutable `Snapshot` per publish, holding everything a page shows
(status, chart data, the grid as a PNG written once, quality and theory results, warnings, and the frozen
sampling nets for Explore). No threads, no Gradio.

Each part carries the version at which it last changed (`Snapshot.versions`), so the page's one tick sends
only the parts a viewer has not seen yet.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan.images import image_grid, scatter
from gan.train.history import downsample

PARTS = ("status", "charts", "grid", "quality", "theory", "model")


@dataclass(frozen=True)
class Sampler:
    """A frozen CPU copy of a run's sampling nets, with what Explore needs to use them."""

    family: Any  # gan.family.Family
    nets: dict[str, torch.nn.Module]
    model_config: Any  # gan.config.ModelConfig
    kind: str  # "points", "image" or "pair"
    real: torch.Tensor | None = None  # real points drawn once, the backdrop of point scatters
    held_out: dict[str, Any] = field(default_factory=dict)  # pairs: held-out images per domain

    @property
    def z_dim(self) -> int:
        return int(self.model_config.z_dim)

    @property
    def n_classes(self) -> int:
        return int(self.model_config.n_classes)


@dataclass(frozen=True)
class Snapshot:
    """What the page may read: published by the training thread, never mutated afterwards."""

    run_id: str
    version: int
    status: dict[str, Any]
    charts: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # title -> {"step", series...}
    grid: str | None = None  # PNG of the fixed-noise samples, written once
    sampler: Sampler | None = None
    quality: dict[str, Any] = field(default_factory=dict)  # history rows, numbers, warning, note, error
    theory: dict[str, Any] = field(default_factory=dict)  # main / curves PNGs, numbers, caption keys
    model: dict[str, Any] = field(default_factory=dict)  # family, Explore views, kind, classes, chart titles
    versions: dict[str, int] = field(default_factory=dict)  # part -> version at which it last changed

    def replace(self, **parts: Any) -> "Snapshot":
        """The next snapshot: these parts changed (their versions move to the new version number)."""
        version = self.version + 1
        versions = dict(self.versions)
        for name in parts:
            versions[name] = version
        return dataclasses.replace(self, version=version, versions=versions, **parts)

    def part_version(self, name: str) -> int:
        return self.versions.get(name, 0)

    def offers(self, view: str) -> bool:
        """Whether the run's model family offers Explore view `view` ("translate", "mixing", ...)."""
        return view in (self.model.get("explore") or [])


CHART_POINTS = 120  # at most this many points per series (60-120: see downsample); a viewer is sent only new ones
CHART_EVERY = 2.0  # seconds between chart refreshes (measured: refreshing every 1 s cost viewers more)


def chart_data(history: dict[str, list[float]], charts: dict[str, dict[str, str]],
               points: int = CHART_POINTS) -> dict[str, dict[str, list[float]]]:
    """Downsampled columns per chart: {title: {"step": [...], series name: [...]}} (absent series dropped)."""
    cols = downsample(history, points)
    out = {}
    for title, series in charts.items():
        data = {name: cols[key] for key, name in series.items() if key in cols}
        if data:
            out[title] = {"step": cols.get("step", []), **data}
    return out


def picture(samples: torch.Tensor, *, columns: int, real: torch.Tensor | None = None) -> np.ndarray:
    """The watched samples as a picture: an image grid, or points over the real ones."""
    if samples.dim() == 4:
        return image_grid(samples, nrow=columns)
    extent = float(real.abs().max()) * 1.3 + 1e-6 if real is not None else None
    return scatter(samples, real=real, size=360, extent=extent)


STAND_INS = 200  # drawn digits that stand in for a loaded CycleGAN's held-out images when its pair set is absent


def static_held_out(state: dict[str, Any], mc: Any, *, data_dir: str | None) -> tuple[dict[str, Any], str]:
    """The held-out images {"a": (x, y), "b": (x, y)} a loaded CycleGAN (a checkpoint or a Hub export, no Trainer)
    translates in its watched grid and on the Translate tab: those of the built-in pair set named in its train
    config when this server has it (`data_dir`: the server's own), else procedurally drawn digits shaped to each
    domain, with a note saying so. A path from the file (a folder pair) is never read."""
    from gan.cyclegan.nets import match_channels
    from gan.data.digits import make_digits
    from gan.data.pairs import load_held_out
    from gan.errors import ConfigError, DatasetError

    name = str(dict(state.get("train_config") or {}).get("dataset", ""))
    if name and ":" not in name:
        try:
            return dict(load_held_out(name, data_dir=data_dir)), ""
        except (ConfigError, DatasetError, OSError, ValueError):
            pass
    x, y = make_digits(STAND_INS, seed=2**62 + 77)

    def shaped(shape: tuple[int, ...]) -> torch.Tensor:
        c, h, w = shape
        out = torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False) \
            if (h, w) != tuple(x.shape[2:]) else x
        return match_channels(out, c).clamp(-1, 1)
    held = {"a": (shaped(tuple(mc.data_shape)), y), "b": (shaped(tuple(mc.data_shape_b)), y)}
    return held, (f" Its pair set ({name or 'unknown'}) is not on this server, so drawn digits stand in for its "
                  f"held-out images.")


class PngFiles:
    """PNG files of one run, each written once and kept until `keep` newer ones of the same name exist."""

    def __init__(self, folder: Path, *, keep: int = 3) -> None:
        self.folder, self.keep = Path(folder), keep
        self._written: dict[str, list[Path]] = {}

    def write(self, name: str, version: int, array: np.ndarray) -> str:
        """Write `array` as <folder>/<name>-<version>.png (fast zlib level); returns the path."""
        from PIL import Image

        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}-{version}.png"
        Image.fromarray(array).save(path, compress_level=1)
        old = self._written.setdefault(name, [])
        old.append(path)
        while len(old) > self.keep:
            try:
                os.remove(old.pop(0))
            except OSError:
                pass
        return str(path)

    def remove_all(self) -> None:
        """Delete every file written (the run is forgotten)."""
        for paths in self._written.values():
            for p in paths:
                try:
                    os.remove(p)
                except OSError:
                    pass
        self._written.clear()
        try:
            self.folder.rmdir()
        except OSError:
            pass


__all__ = ["CHART_EVERY", "CHART_POINTS", "PARTS", "PngFiles", "Sampler", "Snapshot", "chart_data", "picture",
           "static_held_out"]
