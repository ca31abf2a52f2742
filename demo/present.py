"""Pure helpers between the page and the rest: control values -> TrainConfig, snapshot parts -> Markdown and
chart frames, frames -> a GIF. No Gradio, no threads (the page and the tests call them alike).
"""
from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gan.config import TrainConfig
from gan.errors import parse_number
from gan.family import train_defaults
from gan.theory.state import CAPTIONS

from . import words
from .runs.waitlist import clock as span

AUTO = "auto"
NUMBERS = ("loss", "batch_size", "lr", "z_dim", "width", "r1", "r2", "pac")  # the Train tab's controls that follow the dataset
STATE_COLOUR = {"idle": "#9ca3af", "starting": "#eab308", "loading": "#eab308", "running": "#16a34a",
                "stopping": "#eab308", "stopped": "#6b7280", "error": "#dc2626", "diverged": "#dc2626",
                "quota": "#eab308", "queued": "#3b82f6"}
WARNING_PREFIX = words.t("q.collapse", "en")
TOY_SETS = words.t("th.sets", "en")
LIKELIHOOD_LOSSES = ("bce", "minimax")  # the losses whose D is trained to be the probability in V(D, G)


# ---- the Train form ------------------------------------------------------------------------------

def control_defaults(dataset: str, model: str | None = None, *, data: Any = None) -> dict[str, Any]:
    """The Train tab's numbers for a dataset (and model): its training defaults, shown so they can be edited.
    An upload (upload:NAME-ID, as the page names it) takes a folder of images' defaults; given its loaded `data`,
    those that depend on the images (grey or colour), as the trainer will."""
    dataset = "folder:upload" if str(dataset).startswith("upload:") else str(dataset)
    d = train_defaults(dataset, None if model in (None, "", AUTO) else model, data=data)
    return {k: d[k] for k in NUMBERS}


def make_config(dataset: str, model: str | None = AUTO, loss: str | None = None, batch_size: Any = None,
                lr: Any = None, seed: Any = 0, z_dim: Any = None, width: Any = None, r1: Any = None,
                r2: Any = None, pac: Any = None, device: str = AUTO) -> TrainConfig:
    """A validated TrainConfig from the page's controls; raises ConfigError naming the bad field."""
    cfg = TrainConfig(
        dataset=str(dataset or "digits").strip(),
        model=None if model in (None, "", AUTO) else str(model),
        loss=None if loss in (None, "", AUTO) else str(loss),
        batch_size=parse_number("batch_size", batch_size, integer=True),
        lr=parse_number("lr", lr),
        seed=parse_number("seed", seed, integer=True, lo=0, blank=0),
        z_dim=parse_number("z_dim", z_dim, integer=True),
        width=parse_number("width", width, integer=True),
        r1=parse_number("r1", r1),
        r2=parse_number("r2", r2),
        pac=parse_number("pac", pac, integer=True),
        device=device or AUTO,
    )
    cfg.validate()
    return cfg


def check_upload(path: str | None, max_bytes: int) -> str:
    """An uploaded file's path if it is non-empty and under the cap; else ValueError with the reason."""
    if not path or not os.path.isfile(path):
        raise ValueError("no file was uploaded")
    size = os.path.getsize(path)
    if size == 0:
        raise ValueError("the uploaded file is empty")
    if size > max_bytes:
        raise ValueError(f"the uploaded file is {size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
    return path


# ---- the status line ------------------------------------------------------------------------------

def _num(v: Any, fmt: str = ".3f") -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)


def _clock(seconds: float | None) -> str:
    s = int(seconds or 0)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def status_line(status: dict[str, Any] | None, *, yours: bool = False, busy: str = "") -> str:
    """One Markdown line: state, step, epoch, images/s, elapsed, losses; then any error or warning."""
    dot = lambda s: f'<span style="color:{STATE_COLOUR.get(s, "#9ca3af")}">●</span>'  # noqa: E731
    if not status:
        return words.t("s.idle", dot=dot("idle"), busy=busy).strip()
    state = status.get("state", "idle")
    who = words.t("s.yours" if yours else "s.other")
    said = words.t(f"state.{state}") if f"state.{state}" in words.CATALOGUE else state
    parts = [f"{dot(state)} **{said}**", words.t("s.step", n=f"{int(status.get('step') or 0):,}"),
             words.t("s.epoch", n=int(status.get("epoch") or 0)), f"{_num(status.get('images_per_s'), '.0f')} img/s",
             words.t("s.elapsed", t=_clock(status.get("elapsed"))),
             words.t("s.d_loss", v=_num(status.get("d_loss"))), words.t("s.g_loss", v=_num(status.get("g_loss"))),
             f"`{status.get('run_id', '')}` ({who})"]
    text = " · ".join(parts)
    if sharing_line(status):
        text += f"\n\n{sharing_line(status)}"
    if status.get("error"):
        text += "\n\n" + words.t("s.error", e=words.say(status["error"]))
    if status.get("warning"):
        text += "\n\n" + words.t("s.warning", e=words.say(status["warning"]))
    return text


def example_line(status: dict[str, Any], name: str, busy: str = "") -> str:
    """The status line while the Train tab shows a shipped example (the visitor has no run yet)."""
    dot = f'<span style="color:{STATE_COLOUR["idle"]}">●</span>'
    loss = words.t("s.loss", loss=status["loss"]) if status.get("loss") else None
    what = ", ".join(str(v) for v in (status.get("model"), loss) if v)
    return words.t("s.example", dot=dot, name=name, what=what, steps=f"{int(status.get('step') or 0):,}",
                   busy=busy).strip()


def sharing_line(status: dict[str, Any]) -> str:
    """How the run shares the server, in words: its place and wait in the queue; how many runs share the CPU and
    its part; when its turn ends while others wait; its ZeroGPU time and the quota ZeroGPU said is left."""
    state, parts = status.get("state"), []
    if state == "queued":
        place, n, wait = status.get("queue_place"), status.get("queue_length"), status.get("wait_s")
        when = words.t("sh.about", t=span(wait)) if wait is not None else words.t("sh.unknown")
        return words.t("sh.waiting", place=place, n=n, when=when)
    if state in ("starting", "loading", "running"):
        n, share = int(status.get("runs_sharing") or 0), status.get("cpu_share")
        if share is not None and n > 1:
            parts.append(words.t("sh.share", n=n, share=f"{share:.0%}"))
        if status.get("turn_left_s") is not None:
            parts.append(words.t("sh.turn", n=status.get("queue_length") or words.t("sh.some"),
                                 t=span(status["turn_left_s"])))
    if status.get("gpu_seconds") is not None:
        left = status.get("gpu_quota_left_s")
        parts.append(words.t("sh.gpu", s=f"{status['gpu_seconds']:.0f}")
                     + (words.t("sh.gpu_left", s=f"{left:.0f}") if left is not None else ""))
    return " · ".join(parts)


def queued_notice(run_id: str, status: dict[str, Any]) -> str:
    """The Train / Resume notice: started, or queued with the place and wait."""
    if status.get("state") != "queued":
        return words.t("n.started", run=run_id)
    return words.t("n.queued", run=run_id, line=sharing_line(status))


# ---- chart frames -----------------------------------------------------------------------------------

def empty_frame() -> pd.DataFrame:
    """A typed empty frame: the chart keeps treating `series` as categories."""
    return pd.DataFrame({"step": pd.Series([], dtype="float64"), "value": pd.Series([], dtype="float64"),
                         "series": pd.Series([], dtype="object")})


def _stacked(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Long frames stacked, rows in step order (series interleaved), so a grown chart's rows extend the last ones:
    Gradio sends a viewer only the difference, then a few appended rows (the chart draws each series in x order)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_frame()
    return pd.concat(parts, ignore_index=True).sort_values("step", kind="stable", ignore_index=True)


def long_frame(columns: dict[str, list[float]]) -> pd.DataFrame:
    """{"step": [...], name: [...], ...} -> long format (step, value, series), dropping non-finite values."""
    step = columns.get("step", [])
    parts = []
    for name, values in columns.items():
        if name == "step" or not values:
            continue
        df = pd.DataFrame({"step": np.asarray(step, dtype="float64"), "value": np.asarray(values, dtype="float64"),
                           "series": name})
        parts.append(df[np.isfinite(df["value"])])
    return _stacked(parts)


def _rows_columns(rows: list[dict[str, Any]], series: dict[str, tuple[str, Any]]) -> pd.DataFrame:
    parts = []
    for key, (name, fn) in series.items():
        have = [r for r in rows if isinstance(r.get(key), (int, float)) and math.isfinite(float(r[key]))]
        if have:
            parts.append(long_frame({"step": [float(r["step"]) for r in have], name: [float(fn(r)) for r in have]}))
    return _stacked(parts)


def quality_frames(rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(coverage % frame, distance frame) for the two quality charts."""
    cov = _rows_columns(rows, {
        "classes_covered": ("classes covered (%)", lambda r: 100.0 * r["classes_covered"] / max(r.get("n_classes") or 1, 1)),
        "modes": ("modes captured (%)", lambda r: 100.0 * r["modes"] / max(r.get("n_modes") or 1, 1)),
        "high_quality": ("high-quality samples (%)", lambda r: 100.0 * r["high_quality"]),
        "diversity": ("diversity (% of real)", lambda r: 100.0 * r["diversity"]),
        "precision": ("precision (%)", lambda r: 100.0 * r["precision"]),
        "recall": ("recall (%)", lambda r: 100.0 * r["recall"]),
        **{f"{key}_{d}": (f"{name} {arrow} (%)", lambda r, k=f"{key}_{d}": 100.0 * r[k])  # CycleGAN, per direction
           for key, name in (("label_kept", "label kept"), ("domain", "in the target domain"))
           for d, arrow in (("ab", "A→B"), ("ba", "B→A"))},
    })
    dist = _rows_columns(rows, {
        "frechet": ("Fréchet distance (lower is better)", lambda r: r["frechet"]),
        "js": ("JS(p_data ‖ p_g), nats", lambda r: r["js"]),
        "cycle_aba": ("cycle L1 A→B→A", lambda r: r["cycle_aba"]),
        "cycle_bab": ("cycle L1 B→A→B", lambda r: r["cycle_bab"]),
        "mode_kl": ("KL(modes ‖ uniform), nats", lambda r: r["mode_kl"]),
    })
    return cov, dist


def modes_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Modes captured (% of all modes) and high-quality samples (%) per step, for the Theory tab."""
    have = [r for r in rows if r.get("n_modes")]
    if not have:
        return empty_frame()
    k = int(have[-1]["n_modes"])
    return long_frame({"step": [float(r["step"]) for r in have],
                       f"modes captured (% of {k})": [100.0 * r["modes"] / k for r in have],
                       "high-quality samples (%)": [100.0 * r["high_quality"] for r in have]})


# ---- quality and theory text ---------------------------------------------------------------------

def quality_summary(quality: dict[str, Any], dataset: str | None = None) -> str:
    """One Markdown line of the latest quality numbers (or the note while the metric is being prepared), each
    saying what it is measured against, so numbers of different datasets are not read as comparable."""
    n = quality.get("numbers") or {}
    parts = []
    data = f"`{dataset}`" if dataset else words.t("q.this_dataset")
    if "frechet" in n:
        space = words.t("q.space_classifier" if n.get("n_classes") else "q.space_random")
        parts.append(words.t("q.frechet", v=f"{n['frechet']:.2f}", data=data, space=space))
    if "precision" in n and "recall" in n:
        dc = (words.t("q.dc", d=f"{n['density']:.2f}", c=f"{n['coverage']:.2f}") if "density" in n and "coverage" in n
              else "")
        parts.append(words.t("q.pr", p=f"{n['precision']:.2f}", r=f"{n['recall']:.2f}", dc=dc))
    if n.get("n_classes"):
        parts.append(words.t("q.classes", n=int(n["classes_covered"]), k=int(n["n_classes"])))
    if "class_kl" in n:
        parts.append(f"class KL {n['class_kl']:.2f}")
    if "diversity" in n:
        parts.append(words.t("q.diversity", pct=f"{100 * n['diversity']:.0f}"))
    if n.get("n_modes"):
        hq = words.t("q.hq", pct=f"{100 * n['high_quality']:.0f}") if "high_quality" in n else ""
        parts.append(words.t("q.modes", n=int(n["modes"]), k=int(n["n_modes"]), hq=hq))
    if "mode_kl" in n:  # stacked sets
        of = words.t("q.samples", n=f"{int(n['samples']):,}") if "samples" in n else ""
        parts.append(f"mode KL {n['mode_kl']:.2f}{of}")
    if "js" in n:
        parts.append(f"JS ≈ {n['js']:.3f}")
    for d, arrow, cycle in (("ab", "A→B", "cycle_aba"), ("ba", "B→A", "cycle_bab")):  # CycleGAN
        got = ([words.t("q.kept", pct=f"{100 * n[f'label_kept_{d}']:.0f}")] if f"label_kept_{d}" in n else []) + (
            [words.t("q.domain", pct=f"{100 * n[f'domain_{d}']:.0f}")] if f"domain_{d}" in n else []) + (
            [f"cycle L1 {n[cycle]:.3f}"] if cycle in n else [])
        if got:
            parts.append(f"{arrow}: " + ", ".join(got))
    text = (words.t("q.head", step=f"{int(n.get('step', 0)):,}") + " · ".join(parts)) if parts else (
        words.say(quality.get("note")) if quality.get("note") else words.t("q.wait"))
    if "precision" in n:
        text += "\n\n*" + words.t("q.pr_meaning") + "*"
    if quality.get("error"):
        text += f"\n\n*{quality['error']}*"
    return text


def loss_note(loss: str | None) -> str:
    """A sentence for runs whose D plays another game than V(D, G) (hinge, lsgan, wgan...), else ''."""
    if not loss or loss in LIKELIHOOD_LOSSES:
        return ""
    return words.t("th.note", loss=loss)


def theory_headline(theory: dict[str, Any], status: dict[str, Any]) -> str:
    """One Markdown line of the latest theory numbers."""
    n = theory.get("numbers") or {}
    dataset = status.get("dataset", "")
    if not n:
        return words.t("th.first", dataset=dataset)
    state = str(status.get("state", ""))
    parts = [f"**{dataset}**", words.t("s.step", n=f"{int(n.get('step', 0)):,}"),
             f"V(D,G) = {n['v']:.3f} (−log 4 = −1.386)", words.t("th.js", js=f"{n['js']:.3f}"),
             words.t("th.mean_d", real=f"{n['d_real']:.2f}", fake=f"{n['d_fake']:.2f}")]
    if n.get("n_modes"):
        parts.append(words.t("th.modes_hq", m=int(n["modes"]), n=int(n["n_modes"]),
                             hq=f"{100 * n['high_quality']:.0f}"))
    parts.append(words.t(f"state.{state}") if f"state.{state}" in words.CATALOGUE else state)
    return " · ".join(p for p in parts if p)


def theory_captions(theory: dict[str, Any], loss: str | None) -> tuple[str, str]:
    """(main picture caption, curves caption) for a theory part."""
    note = loss_note(loss)
    cap = lambda k: words.t(f"th.cap.{k}") if f"th.cap.{k}" in words.CATALOGUE else CAPTIONS[k]  # noqa: E731
    return cap(theory["dim"]) + note, cap("value") + " " + cap("js") + note


def theory_absent(model: dict[str, Any], status: dict[str, Any] | None) -> str:
    """What the Theory tab says when the watched run has no theory view."""
    if not status:
        return words.t("th.no_run", sets=words.t("th.sets"))
    if status.get("state") in ("starting", "loading") or not model:
        return words.t("th.starting")
    return words.t("th.absent", sets=words.t("th.sets"), dataset=status.get("dataset", ""))


# ---- files --------------------------------------------------------------------------------------

def png_bytes(array: np.ndarray) -> bytes:
    """A uint8 (H, W, 3) array as PNG bytes (fast zlib level): how time-lapse frames are kept."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def write_gif(frames: list[Any], path: Path, *, ms_per_frame: int | None = None, min_side: int = 0) -> Path:
    """Write frames (uint8 HxWx3 arrays or PNG bytes, same size) as a looping GIF; the last frame lingers. Frames are
    scaled up by a whole factor (sharp pixels) until the shorter side is at least `min_side`; without
    `ms_per_frame`, a few frames play slower (the loop lasts at least ~3 s), many at 120 ms each."""
    from PIL import Image

    if not frames:
        raise ValueError("no time-lapse frames yet: train for a few seconds first")
    images = [Image.open(io.BytesIO(f)).convert("RGB") if isinstance(f, bytes) else Image.fromarray(f)
              for f in frames]
    scale = max(1, math.ceil(min_side / max(1, min(images[0].size))))
    if scale > 1:
        images = [im.resize((im.width * scale, im.height * scale), Image.NEAREST) for im in images]
    if ms_per_frame is None:
        ms_per_frame = int(min(500, max(120, 3000 // max(1, len(images) - 1))))
    durations = [ms_per_frame] * (len(images) - 1) + [1500]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=False)
    return Path(path)


__all__ = ["AUTO", "NUMBERS", "WARNING_PREFIX", "check_upload", "control_defaults", "empty_frame", "example_line",
           "long_frame", "make_config", "modes_frame", "png_bytes", "quality_frames", "quality_summary", "status_line",
           "theory_absent", "theory_captions", "theory_headline", "write_gif"]
