"""Every GAN_* environment variable (and HF_TOKEN), read in this one place and documented in one table (the README's
"Settings" table is `markdown_table()`; a test keeps them equal).

Values are read when asked for (`get(name)`), so a test or a Space owner can change them without a restart
of the library; a value that does not parse falls back to the default.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

SHARED_ENV = ("SPACE_ID", "GAN_SHARED")  # a Hugging Face Space sets SPACE_ID; GAN_SHARED=1 forces shared mode


@dataclass(frozen=True)
class Setting:
    """One environment variable: its default (None: computed, see `doc`), type and meaning."""

    name: str
    default: Any
    kind: type
    doc: str
    shared: Any = None  # the default on a shared Space, when it differs

    def parse(self, text: str) -> Any:
        if self.kind is bool:
            return text.strip().lower() in ("1", "true", "yes", "on")
        value = self.kind(float(text)) if self.kind is int else self.kind(text)
        if self.kind in (int, float) and value < 0:
            raise ValueError("negative")
        return value


SETTINGS: dict[str, Setting] = {s.name: s for s in [
    Setting("GAN_SHARED", False, bool, "Shared-Space mode (per-visitor files and limits); on when `SPACE_ID` is set"),
    Setting("GAN_MAX_RUNS", None, int, "runs that may train at once, sharing the CPU in turns; past it a visitor "
            "waits in a queue that shows their place and wait, and their run starts by itself; default: 4 per CPU "
            "core"),
    Setting("GAN_TURN_S", 0.0, float, "while visitors wait in the queue, a run stops (and saves) after this much "
            "training since it started or resumed, and its owner may queue again; 0: never", shared=300.0),
    Setting("GAN_RUN_MAX_SECONDS", 0.0, float, "a run stops (and saves) after this much training time; 0: never",
            shared=1800.0),
    Setting("GAN_RUN_MAX_STEPS", 0, int, "a run stops (and saves) after this many steps; 0: never", shared=200_000),
    Setting("GAN_VISITOR_DAILY_SECONDS", 0.0, float, "training time one visitor may use per day (UTC), across all "
            "their runs, stops and restarts; 0: no limit", shared=3600.0),
    Setting("GAN_IDLE_STOP_S", 0.0, float, "a run stops (and saves) when no page of its owner has been open this "
            "long; 0: never", shared=120.0),
    Setting("GAN_MAX_PAGES", 100, int, "pages that get live updates at once (each holds 2 of Gradio's queue "
            "slots, one per live stream); a page past it is told so and still works, without live updates"),
    Setting("GAN_AUTOSAVE_EVERY", 500, int, "steps between automatic checkpoints (also saved on Stop)"),
    Setting("GAN_KEEP_CHECKPOINTS", 0, int, "checkpoints kept per visitor (the oldest are deleted); 0: all",
            shared=4),
    Setting("GAN_VISITOR_DISK_MB", 0.0, float, "disk a visitor's checkpoints, uploads and downloads may use; "
            "0: no limit",
            shared=500.0),
    Setting("GAN_TOTAL_DISK_MB", 0.0, float, "disk all visitors' checkpoints, uploads and downloads may use "
            "(shared: with Gradio's copies of them); 0: no limit",
            shared=8000.0),
    Setting("GAN_UPLOAD_TTL_S", 0.0, float, "uploaded image folders no run uses are deleted after this long; "
            "0: kept", shared=7200.0),
    Setting("GAN_MAX_SESSIONS", 10_000, int, "browser sessions whose state Gradio keeps in memory (about 0.3 MB "
            "each); the oldest are dropped past it", shared=1000),
    Setting("GAN_MAX_REQUEST_KB", 4096.0, float, "largest request body other than a file upload (an API call's "
            "JSON)"),
    Setting("GAN_MAX_UPLOAD_MB", 200.0, float, "largest upload (a checkpoint or a zip of images)"),
    Setting("GAN_ZIP_MAX_FILES", 10_000, int, "most members in an uploaded zip"),
    Setting("GAN_ZIP_MAX_MB", 256.0, float, "most bytes an uploaded zip may unpack to", shared=64.0),
    Setting("GAN_MAX_IMAGE_PIXELS", 25_000_000, int, "largest image (width x height) read from a folder or zip"),
    Setting("GAN_MAX_STEP_MB", None, float, "memory one training step may need; default: half the free memory "
            "(CPU) or half the GPU's"),
    Setting("GAN_MAX_MODEL_MB", None, float, "memory the networks of a loaded checkpoint or export may take; "
            "default: a quarter of the free memory", shared=512.0),
    Setting("GAN_DATA_DIR", "", str, "the server's folder of dataset files (MNIST idx files; default: ./data, "
            "where a download goes when online); a checkpoint's own data folder is never used by the app"),
    Setting("GAN_CHECKPOINT_DIR", "", str, "where the app keeps checkpoints and its quality classifiers "
            "(`classifiers/`); default: checkpoints/ in the repository. The shipped examples always come from the "
            "repository's checkpoints/examples/"),
    Setting("GAN_TRAIN_NICE", 0, int, "lowers the training thread's CPU priority (e.g. 5) so pages win when CPUs "
            "are short"),
    Setting("GAN_THEORY_EVERY", 1.5, float, "seconds between Theory snapshots (stretched to stay under 4% of "
            "training)"),
    Setting("GAN_QUALITY_EVERY", 5.0, float, "seconds between quality scores (stretched likewise)"),
    Setting("GAN_QUALITY_SAMPLES", 500, int, "generated images per live quality score"),
    Setting("GAN_PR_SAMPLES", 2000, int, "generated images per live precision/recall/density/coverage (k-NN "
            "scores depend on the count: 500 read a classic run's recall as 0.73, 2,000 as 0.47; bench/RESULTS.md)"),
    Setting("GAN_CHUNK_SECONDS", 30.0, float, "ZeroGPU: training time of one GPU chunk"),
    Setting("GAN_FIRST_CHUNK_SECONDS", 10.0, float, "ZeroGPU: the first chunk of a run (shorter, to show progress "
            "sooner)"),
    Setting("HF_TOKEN", "", str, "a Hugging Face token with write access (a Space secret): shows **Share to Hub** "
            "on the Checkpoints tab, which pushes a visitor's checkpoint with it; unset: hidden"),
    Setting("GAN_HUB_NAMESPACE", "", str, "the Hub user or organisation that Share to Hub pushes into; default: "
            "the token's own user"),
    Setting("GAN_CHUNK_MARGIN_S", 15.0, float, "ZeroGPU: seconds added to a chunk's budget in the duration asked "
            "of ZeroGPU"),
]}


def shared() -> bool:
    """True on a shared Space (SPACE_ID set, or GAN_SHARED=1): per-visitor files and the shared defaults."""
    value = os.environ.get("GAN_SHARED")
    if value is not None and value.strip():
        return SETTINGS["GAN_SHARED"].parse(value)
    return bool(os.environ.get("SPACE_ID"))


def get(name: str) -> Any:
    """The value of setting `name` now: the environment's if it parses, else the default (shared or not)."""
    s = SETTINGS[name]
    text = os.environ.get(name)
    if text is not None and text.strip():
        try:
            return s.parse(text)
        except (TypeError, ValueError):
            pass
    if s.shared is not None and name != "GAN_SHARED" and shared():
        return s.shared
    return s.default


def markdown_table() -> str:
    """The README's table of settings."""
    rows = ["| variable | default | shared Space | what it does |", "| --- | --- | --- | --- |"]
    for s in SETTINGS.values():
        default = "(see text)" if s.default is None else f"`{s.default}`"
        on_shared = "" if s.shared is None else f"`{s.shared}`"
        rows.append(f"| `{s.name}` | {default} | {on_shared} | {s.doc} |")
    return "\n".join(rows)


__all__ = ["SETTINGS", "Setting", "get", "markdown_table", "shared"]
