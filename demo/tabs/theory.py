"""The Theory tab: the game's pictures, curves and mode coverage for the watched run (the page's live stream fills
them), and the API-only /theory and /quality; built, wired and handled here (`page.theory`)."""
from __future__ import annotations

import io
from typing import Any

import gradio as gr
import numpy as np

from gan.errors import ConfigError, parse_number

from .. import words
from ..speak import L
from . import FAST, PLOT

INTRO = words.t("theory.intro", "en")  # the tab's introduction (demo/words/theory.py)


class Theory:
    """The API views of the watched run's snapshot, for one page: its theory and its quality metrics."""

    def __init__(self, page: Any) -> None:
        self.page, self.manager = page, page.manager

    # ---- the replays: a run's kept pictures, scrubbed with a slider --------------------------------------
    def grid(self, where: Any = 100, request: gr.Request = None) -> tuple[np.ndarray | None, str]:
        """/replay: the watched run's fixed-noise grid `where` % of the way through its kept time-lapse frames
        (the shipped example's until the visitor has a run), and which step it shows."""
        run = self.manager.watched(self.page.visitor(request)) or self.manager.example("explore")
        return _frame(list(run.replay) if run is not None else [], where, "grid")

    def game(self, where: Any = 100, request: gr.Request = None) -> tuple[np.ndarray | None, str]:
        """/replay_theory: the watched run's Theory picture `where` % of the way through the ones it kept (the
        shipped example's until the visitor has a 1-D or 2-D run)."""
        run = self.manager.watched(self.page.visitor(request))
        frames = run.theory_frames if run is not None else []
        if not frames:
            example = self.manager.example("theory")
            frames = example.theory_frames if example is not None else []
        return _frame(frames, where, "picture")

    def quality(self, request: gr.Request = None) -> dict[str, Any]:
        """The watched run's quality metrics: latest numbers, history rows, collapse warning (or None)."""
        run = self.manager.watched(self.page.visitor(request))
        snap = run.snapshot() if run is not None else None
        q = dict(snap.quality) if snap is not None else {}
        return {"run_id": getattr(run, "id", None), "dataset": (snap.status.get("dataset") if snap else None),
                "kind": (snap.model.get("kind") if snap else None), "version": snap.part_version("quality") if snap else 0,
                "numbers": q.get("numbers", {}), "history": q.get("rows", []), "warning": q.get("warning"),
                "note": q.get("note"), "error": q.get("error")}

    def theory(self, request: gr.Request = None) -> tuple[str | None, str | None, dict[str, Any]]:
        """The watched run's theory: (main picture, V/JS curves, numbers with the metric history)."""
        run = self.manager.watched(self.page.visitor(request))
        snap = run.snapshot() if run is not None else None
        th = snap.theory if snap is not None else {}
        info = {"run_id": getattr(run, "id", None), "dataset": snap.status.get("dataset") if snap else None,
                "kind": snap.model.get("kind") if snap else None, "dim": th.get("dim"),
                "state": snap.status.get("state") if snap else "idle", "version": snap.part_version("theory") if snap else 0,
                "numbers": th.get("numbers", {}), "history": (snap.quality or {}).get("rows", []) if snap else []}
        return th.get("main"), th.get("curves"), info


def _frame(frames: list[tuple[int, bytes]], where: Any, what: str) -> tuple[np.ndarray | None, str]:
    """The frame `where` % of the way through (step, PNG) `frames`, as a picture, and its caption."""
    from PIL import Image

    try:
        where = float(parse_number("where", where, lo=0, hi=100, blank=100))
    except ConfigError as e:
        raise gr.Error(str(e).replace("where", words.t("n.replay_where"), 1)) from None
    if not frames:
        return None, words.t("n.no_frames", what=words.t(f"n.{what}s"))
    i = round(where / 100 * (len(frames) - 1))
    step, png = frames[i]
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return image, words.t("n.frame", step=f"{int(step):,}", what=words.t(f"n.{what}"), i=i + 1, n=len(frames))


def build(page: Any, c: dict[str, Any]) -> None:
    """The tab and its API-only events /theory and /quality. Its pictures and captions go into `c`: the page's
    live stream fills them (demo/live.py THEORY_OUTPUTS)."""
    h = page.theory
    with gr.Tab(L("tab.theory"), id="theory"):
        gr.Markdown(L("theory.intro"))
        c["t_status"] = gr.Markdown(elem_id="theory-status")
        with gr.Row():
            with gr.Column():
                gr.Markdown(L("theory.now"))
                c["t_main"] = gr.Image(show_label=False, type="filepath", interactive=False, elem_id="theory-main",
                                       visible=False, height=460)
                c["t_main_cap"] = gr.Markdown(visible=False, elem_id="theory-main-caption")
            with gr.Column():
                gr.Markdown(L("theory.over_time"))
                c["t_curves"] = gr.Image(show_label=False, type="filepath", interactive=False,
                                         elem_id="theory-curves", visible=False, height=260)
                c["t_curves_cap"] = gr.Markdown(visible=False)
                c["t_modes"] = gr.LinePlot(None, **PLOT, y_lim=[0, 100], height=220, y_title="%",
                                           title=L("theory.modes"), visible=False,
                                           elem_id="theory-modes")
                c["t_modes_cap"] = gr.Markdown(visible=False)
        with gr.Accordion(L("theory.replay"), open=False,
                          elem_id="theory-replay"):
            where = gr.Slider(0, 100, 100, step=1, label=L("theory.replay.where"),
                              elem_id="theory-replay-pos")
            with gr.Row():
                picture = gr.Image(show_label=False, interactive=False, height=400, elem_id="theory-replay-picture")
                caption = gr.Markdown(elem_id="theory-replay-caption")
        where.change(h.game, where, [picture, caption], api_name="replay_theory", trigger_mode="always_last", **FAST)
        with gr.Row(visible=False):  # API-only endpoints: /theory, /quality
            theory = gr.Button("theory")
            main, curves, info = gr.Image(type="filepath"), gr.Image(type="filepath"), gr.JSON()
            quality = gr.Button("quality")
            numbers = gr.JSON()
        theory.click(h.theory, None, [main, curves, info], api_name="theory", **FAST)
        quality.click(h.quality, None, numbers, api_name="quality", **FAST)


__all__ = ["INTRO", "Theory", "build"]
