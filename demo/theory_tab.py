"""The Theory tab: the two-player game made visible on the 1-D and 2-D datasets, live while training.

The pictures are computed once per run in its training thread (demo/live_metrics.py) and encoded once
per version; every viewer's timer tick only reads them, and sends nothing when nothing changed.
Registered in demo/app.py through EXTRA_TABS. Named API endpoint: /theory -> (main image, curves image, numbers).
"""
from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from gan.theory import CAPTIONS

from . import live_metrics
from .handlers import session

TOY_SETS = "gaussian1d, ring8, grid25 and spiral"
INTRO = (
    "G and D play **min_G max_D V(D,G) = E[log D(x)] + E[log(1 − D(G(z)))]**. For a fixed G the best D is "
    "**D\\*(x) = p_data(x) / (p_data(x) + p_g(x))**, and then V = −log 4 + 2·JS(p_data ‖ p_g): the game ends "
    "when p_g = p_data, where D\\* = 1/2 everywhere and V = −log 4 ≈ −1.386. Train one of the 1-D or 2-D "
    f"datasets ({TOY_SETS}) and watch it happen here; the pictures refresh every ~2 s while training runs."
)
CURVES_CAPTION = CAPTIONS["value"] + " " + CAPTIONS["js"]
LIKELIHOOD_LOSSES = ("bce", "minimax")  # the losses whose D is trained to be the probability in V(D, G)


def loss_note(loss: str | None) -> str:
    """A sentence for runs whose D plays another game than V(D, G) (hinge, lsgan, wgan...), else ''."""
    if not loss or loss in LIKELIHOOD_LOSSES:
        return ""
    return (f" This run uses the **{loss}** loss, so D learns a score rather than the probability in V: the "
            "heatmap and the green V read it through a sigmoid. D* and V(D*, G) = −log 4 + 2·JS are the bce "
            "game's: V(D, G) stays below V(D*, G) for any D, but this D is not trying to reach it.")


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame({"step": pd.Series([], dtype="float64"), "value": pd.Series([], dtype="float64"),
                         "series": pd.Series([], dtype="object")})


def modes_frame(history: list[dict[str, Any]]) -> pd.DataFrame:
    """Long-format frame: modes captured (% of all modes) and high-quality samples (%) per step."""
    rows = [r for r in history if r.get("n_modes")]
    if not rows:
        return _empty_frame()
    k = int(rows[-1]["n_modes"])
    step = [float(r["step"]) for r in rows]
    parts = [pd.DataFrame({"step": step, "value": [100.0 * r["modes"] / k for r in rows],
                           "series": f"modes captured (% of {k})"}),
             pd.DataFrame({"step": step, "value": [100.0 * r["high_quality"] for r in rows],
                           "series": "high-quality samples (%)"})]
    return pd.concat(parts, ignore_index=True)


def headline(view: dict[str, Any], state: str = "") -> str:
    """One Markdown line of the latest numbers."""
    n = view["numbers"]
    if not n:
        return f"**{view['dataset']}**: computing the first snapshot ..."
    parts = [f"**{view['dataset']}**", f"step {int(n.get('step', 0)):,}",
             f"V(D,G) = {n['v']:.3f} (−log 4 = −1.386)", f"JS ≈ {n['js']:.3f} nats (log 2 = 0.693 at most)",
             f"mean D(x) = {n['d_real']:.2f}, D(G(z)) = {n['d_fake']:.2f}"]
    if n.get("n_modes"):
        parts.append(f"modes {int(n['modes'])}/{int(n['n_modes'])}, high quality {100 * n['high_quality']:.0f}%")
    if state:
        parts.append(state)
    return " · ".join(parts)


class TheoryView:
    """The tab's handlers, bound to the app's Handlers (and so to its RunManager)."""

    def __init__(self, handlers: Any) -> None:
        self.h = handlers

    def _watched(self, request: gr.Request | None):
        run = self.h.manager.run_for(session(request))
        return run, (live_metrics.live_state(run) if run is not None else None)

    def data(self, request: gr.Request | None = None) -> dict[str, Any]:
        """Everything the tab shows for the watched run (paths of PNGs encoded once per version)."""
        run, st = self._watched(request)
        if run is None:
            return {"key": "none", "kind": None}
        state = run.status().get("state", "")
        snap = run.snapshot()
        kind = snap.kind if snap.version else None
        if st is None:
            return {"key": f"{run.id}:-:{state}", "kind": kind, "dataset": snap.status.get("dataset", ""),
                    "state": state, "run_id": run.id}
        view = st.read()
        view.update(key=f"{run.id}:{view['version']}:{state}", state=state, run_id=run.id,
                    main=st.png("main", run.id), curves=st.png("curves", run.id))
        return view

    def outputs(self, d: dict[str, Any]) -> tuple:
        """(status, main, main caption, curves, curves caption, modes plot, modes caption)."""
        hide = gr.update(visible=False)
        if d.get("kind") in (None,):
            msg = f"No run yet. Train one of the 1-D or 2-D datasets ({TOY_SETS}) and the game appears here."
            if d.get("state") in ("starting", "loading"):
                msg = "Starting the run ..."
            return (msg, gr.update(value=None, visible=False), hide, gr.update(value=None, visible=False), hide,
                    hide, hide)
        if d["kind"] == "image":
            msg = (f"The Theory view applies to the 1-D and 2-D datasets ({TOY_SETS}): only there are p_data, "
                   f"p_g, D* and JS computable exactly. This run trains **{d.get('dataset', '')}** images: its "
                   "quality metrics and mode-collapse warning are on the Train tab.")
            return (msg, gr.update(value=None, visible=False), hide, gr.update(value=None, visible=False), hide,
                    hide, hide)
        if "numbers" not in d:
            return (f"**{d.get('dataset', '')}**: computing the first snapshot ...", gr.skip(), gr.skip(),
                    gr.skip(), gr.skip(), gr.skip(), gr.skip())
        has_modes = any(r.get("n_modes") for r in d["history"])
        return (headline(d, d.get("state", "")),
                gr.update(value=d["main"], visible=True),
                gr.update(value=CAPTIONS[d["kind"]] + loss_note(d.get("loss")), visible=True),
                gr.update(value=d["curves"], visible=True),
                gr.update(value=CURVES_CAPTION + loss_note(d.get("loss")), visible=True),
                gr.update(value=modes_frame(d["history"]), visible=has_modes),
                gr.update(value=CAPTIONS["modes"], visible=has_modes))

    def tick(self, seen: dict | None, request: gr.Request = None) -> tuple:
        """Timer: send the tab's outputs only when the watched run published a new theory snapshot."""
        seen = seen or {}
        d = self.data(request)
        if seen.get("key") == d["key"]:
            return (*(gr.skip(),) * 7, seen)
        return (*self.outputs(d), {"key": d["key"]})

    def refresh(self, request: gr.Request = None) -> tuple:
        """The tab was opened: send everything now."""
        return self.tick({}, request)

    def api(self, request: gr.Request = None) -> tuple[str | None, str | None, dict[str, Any]]:
        """The watched run's theory: (main picture, V/JS curves, numbers with the metric history)."""
        d = self.data(request)
        numbers = {k: d.get(k) for k in ("run_id", "dataset", "kind", "state", "version", "numbers", "history",
                                         "cost")}
        return d.get("main"), d.get("curves"), numbers


def theory_tab(ctx: Any) -> None:
    """EXTRA_TABS hook: builds the Theory tab and wires it to the app's timer."""
    live_metrics.install()
    view = TheoryView(ctx.handlers)
    c = ctx.components
    with gr.Tab("Theory", id="theory") as c["theory_tab"]:
        gr.Markdown(INTRO)
        c["t_status"] = gr.Markdown(elem_id="theory-status")
        with gr.Row():
            with gr.Column():
                gr.Markdown("#### The game now")
                c["t_main"] = gr.Image(label="The game now", show_label=False, type="filepath", interactive=False,
                                       elem_id="theory-main", visible=False, height=460)
                c["t_main_cap"] = gr.Markdown(visible=False, elem_id="theory-main-caption")
            with gr.Column():
                gr.Markdown("#### The game over time")
                c["t_curves"] = gr.Image(label="V(D,G) and JS over time", show_label=False, type="filepath",
                                         interactive=False,
                                         elem_id="theory-curves", visible=False, height=260)
                c["t_curves_cap"] = gr.Markdown(visible=False)
                c["t_modes"] = gr.LinePlot(_empty_frame(), x="step", y="value", color="series", y_lim=[0, 100],
                                           title="Mode coverage (the VEEGAN / PacGAN protocol)", height=220,
                                           x_title="step", y_title="%", visible=False, elem_id="theory-modes")
                c["t_modes_cap"] = gr.Markdown(visible=False)
        c["t_seen"] = gr.State({})
        with gr.Row(visible=False):  # the named API endpoint /theory, for gradio_client users and tests
            c["t_api_btn"] = gr.Button("theory")
            c["t_api_main"] = gr.Image(type="filepath")
            c["t_api_curves"] = gr.Image(type="filepath")
            c["t_api_json"] = gr.JSON()
    outs = [c[k] for k in ("t_status", "t_main", "t_main_cap", "t_curves", "t_curves_cap", "t_modes",
                           "t_modes_cap")] + [c["t_seen"]]
    fast = dict(concurrency_limit=None, show_progress="hidden")
    ctx.timer.tick(view.tick, c["t_seen"], outs, api_visibility="private", **fast)
    c["theory_tab"].select(view.refresh, None, outs, api_visibility="private", **fast)
    c["t_api_btn"].click(view.api, None, [c["t_api_main"], c["t_api_curves"], c["t_api_json"]],
                         api_name="theory", **fast)
    ctx.components["theory_view"] = view


__all__ = ["TheoryView", "theory_tab", "modes_frame", "headline", "loss_note"]
