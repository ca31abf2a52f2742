"""The Train tab's quality chart, mode-collapse warning and loss help (registered through TRAIN_EXTRAS).

The metrics are computed in the run's training thread (demo/live_metrics.py): QualityMeter on image sets
(Fréchet distance of classifier features, classes covered, diversity), the brief's mode score and a JS
estimate on the toy sets. Viewers only read them. Named API endpoint: /quality -> dict.
"""
from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from gan.quality import loss_help

from . import live_metrics
from .handlers import session

WARNING_PREFIX = "⚠️ **Possible mode collapse.** "


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"step": pd.Series([], dtype="float64"), "value": pd.Series([], dtype="float64"),
                         "series": pd.Series([], dtype="object")})


def _frame(history: list[dict[str, Any]], series: dict[str, tuple[str, Any]]) -> pd.DataFrame:
    parts = []
    for key, (name, fn) in series.items():
        rows = [r for r in history if isinstance(r.get(key), (int, float))]
        if rows:
            parts.append(pd.DataFrame({"step": [float(r["step"]) for r in rows],
                                       "value": [float(fn(r)) for r in rows], "series": name}))
    return pd.concat(parts, ignore_index=True) if parts else _empty()


def quality_frames(history: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(coverage % frame, distance frame) for the two quality charts."""
    cov = _frame(history, {
        "classes_covered": ("classes covered (%)", lambda r: 100.0 * r["classes_covered"] / max(r["n_classes"], 1)),
        "modes": ("modes captured (%)", lambda r: 100.0 * r["modes"] / max(r["n_modes"], 1)),
        "high_quality": ("high-quality samples (%)", lambda r: 100.0 * r["high_quality"]),
        "diversity": ("diversity (% of real)", lambda r: 100.0 * r["diversity"]),
    })
    dist = _frame(history, {
        "frechet": ("Fréchet distance (lower is better)", lambda r: r["frechet"]),
        "js": ("JS(p_data ‖ p_g), nats", lambda r: r["js"]),
    })
    return cov, dist


def summary(view: dict[str, Any]) -> str:
    """One Markdown line of the latest quality numbers."""
    hist = view.get("history") or []
    n = {**(hist[-1] if hist else {}), **(view.get("numbers") or {})}
    parts = []
    if "frechet" in n:
        parts.append(f"Fréchet distance {n['frechet']:.2f}")
    if n.get("n_classes"):
        parts.append(f"classes covered {int(n['classes_covered'])}/{int(n['n_classes'])}")
    if "class_kl" in n:
        parts.append(f"class KL {n['class_kl']:.2f}")
    if "diversity" in n:
        parts.append(f"diversity {100 * n['diversity']:.0f}% of real")
    if n.get("n_modes"):
        parts.append(f"modes {int(n['modes'])}/{int(n['n_modes'])}, high quality {100 * n['high_quality']:.0f}%")
    if "js" in n:
        parts.append(f"JS ≈ {n['js']:.3f}")
    if not parts:
        return view.get("note") or view.get("error") or "*Quality metrics appear a few seconds after training starts.*"
    return f"**Quality** at step {int(n.get('step', 0)):,}: " + " · ".join(parts)


class QualityView:
    def __init__(self, handlers: Any) -> None:
        self.h = handlers

    def data(self, request: gr.Request | None = None) -> dict[str, Any]:
        run = self.h.manager.run_for(session(request))
        st = live_metrics.live_state(run) if run is not None else None
        if st is None:
            return {"key": f"{getattr(run, 'id', 'none')}:-", "history": [], "numbers": {}, "warning": None,
                    "note": None, "error": None}
        view = st.read()
        view.pop("images", None)
        view["key"] = f"{run.id}:{view['version']}"
        return view

    def outputs(self, d: dict[str, Any]) -> tuple:
        """(warning markdown, summary markdown, coverage plot, distance plot)."""
        warn = d.get("warning")
        cov, dist = quality_frames(d["history"])
        return (gr.update(value=WARNING_PREFIX + warn if warn else "", visible=bool(warn)),
                summary(d) + (f"\n\n*{d['error']}*" if d.get("error") else ""), cov, dist)

    def tick(self, seen: dict | None, request: gr.Request = None) -> tuple:
        seen = seen or {}
        d = self.data(request)
        if seen.get("key") == d["key"]:
            return (*(gr.skip(),) * 4, seen)
        return (*self.outputs(d), {"key": d["key"]})

    def api(self, request: gr.Request = None) -> dict[str, Any]:
        """The watched run's quality metrics: latest numbers, history, collapse warning (or None)."""
        d = self.data(request)
        return {k: d.get(k) for k in ("dataset", "kind", "version", "numbers", "history", "warning", "note",
                                      "error", "cost")}


def quality_panel(ctx: Any) -> None:
    """TRAIN_EXTRAS hook: quality charts, the collapse warning and the loss help, at the end of the Train tab."""
    live_metrics.install()
    view = QualityView(ctx.handlers)
    c = ctx.components
    c["q_warning"] = gr.Markdown(visible=False, elem_id="collapse-warning")
    c["q_summary"] = gr.Markdown(elem_id="quality-summary")
    with gr.Row():
        c["q_cov"] = gr.LinePlot(_empty(), x="step", y="value", color="series", y_lim=[0, 105], height=220,
                                 title="Coverage and quality", x_title="step", y_title="%", elem_id="quality-plot")
        c["q_dist"] = gr.LinePlot(_empty(), x="step", y="value", color="series", height=220,
                                  title="Distance to the data", x_title="step", y_title="distance",
                                  elem_id="distance-plot")
    gr.Markdown("*Mode collapse* shows here, not in the losses: the generator keeps making good-looking "
                "samples of only a few kinds, so coverage falls while quality stays high. Image sets are scored "
                "every few seconds on 500 samples by a small classifier trained once on the dataset; the 2-D "
                "mixtures by the VEEGAN / PacGAN protocol (2,500 samples).")
    with gr.Accordion("How to read the losses", open=False, elem_id="loss-help"):
        c["q_help"] = gr.Markdown(loss_help("bce"))
    c["q_seen"] = gr.State({})
    with gr.Row(visible=False):  # the named API endpoint /quality
        c["q_api_btn"] = gr.Button("quality")
        c["q_api_json"] = gr.JSON()
    outs = [c["q_warning"], c["q_summary"], c["q_cov"], c["q_dist"], c["q_seen"]]
    fast = dict(concurrency_limit=None, show_progress="hidden")
    ctx.timer.tick(view.tick, c["q_seen"], outs, api_visibility="private", **fast)
    if "loss" in c:
        c["loss"].change(loss_help, c["loss"], c["q_help"], api_visibility="private", **fast)
    c["q_api_btn"].click(view.api, None, c["q_api_json"], api_name="quality", **fast)
    ctx.components["quality_view"] = view


__all__ = ["QualityView", "quality_panel", "quality_frames", "summary", "WARNING_PREFIX"]
