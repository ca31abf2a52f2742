"""GAN Lab: train a GAN in the browser and watch it learn.

    python demo/app.py          # then open http://127.0.0.1:7860

Layout in `build_app()`; the handlers live in demo/handlers.py, the threads in demo/runs.py.
Named API endpoints for gradio_client: /train, /stop, /status, /generate (and /resume, /sample ...).

Extension points (for the Theory tab and the quality-metric chart):
- `EXTRA_TABS`: functions `fn(ctx: AppContext)` called inside `gr.Tabs()` after the built-in tabs;
  each opens its own `with gr.Tab("..."):` and may wire `ctx.timer.tick(...)`.
- `TRAIN_EXTRAS`: functions `fn(ctx)` called at the end of the Train tab (e.g. a metrics chart).
  A run publishes `trainer.metrics` in its snapshot: `ctx.handlers.manager.run_for(session(request))
  .snapshot().status["metrics"]`; read that, never the live trainer.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # `python demo/app.py` from anywhere, e.g. on a Space
    sys.path.insert(0, str(HERE.parent))

import gradio as gr  # noqa: E402

from demo import zerogpu  # noqa: E402,F401 - defines the @spaces.GPU chunk function (ZeroGPU needs one at start)

from gan.datasets import dataset_names  # noqa: E402
from gan.losses import LOSSES  # noqa: E402
from gan.models import MODELS  # noqa: E402

from demo.handlers import EXPORT_DIR, MAX_UPLOAD_MB, N_SLIDERS, Handlers  # noqa: E402
from demo.runs import RunManager  # noqa: E402
from demo.views import control_defaults  # noqa: E402
from demo.quality_view import quality_panel  # noqa: E402
from demo.theory_tab import theory_tab  # noqa: E402

TITLE = "GAN Lab: watch a GAN learn"
INTRO = ("A generator G turns noise z into samples; a discriminator D outputs the probability that its input "
         "is real. They play min_G max_D E[log D(x)] + E[log(1 - D(G(z)))]. Press **Train** and watch the "
         "fixed-noise grid improve; D(x) and D(G(z)) both drift toward 1/2 as G catches up.")


@dataclass
class AppContext:
    """What an extension gets: the handlers (and so the RunManager), the shared timer and named components."""

    handlers: Handlers
    timer: gr.Timer
    components: dict[str, Any] = field(default_factory=dict)


EXTRA_TABS: list[Callable[[AppContext], None]] = [theory_tab]
TRAIN_EXTRAS: list[Callable[[AppContext], None]] = [quality_panel]


def _train_tab(c: dict[str, Any], defaults: dict[str, Any]) -> None:
    with gr.Row():
        c["dataset"] = gr.Dropdown(dataset_names(), value=defaults.get("dataset", "digits"), label="Dataset",
                                   allow_custom_value=True,
                                   info="built-in sets need no download; folder:PATH for your own images")
        c["model"] = gr.Dropdown(["auto"] + sorted(MODELS), value="auto", label="Model",
                                 info="auto: dcgan for images, toy MLP for points")
        d = {**control_defaults(defaults.get("dataset", "digits")), **defaults}
        c["loss"] = gr.Dropdown(sorted(LOSSES), value=d["loss"], label="Loss", elem_id="loss",
                                info="default: hinge for 2-D points, bce otherwise")
    with gr.Row():
        c["batch_size"] = gr.Number(d["batch_size"], label="Batch size", step=1)
        c["lr"] = gr.Number(d["lr"], label="Learning rate")
        c["seed"] = gr.Number(0, label="Seed", step=1)
        c["z_dim"] = gr.Number(d["z_dim"], label="z dimensions", step=1)
        c["width"] = gr.Number(d["width"], label="Width", step=1, info="hidden units / base channels")
    with gr.Row():
        c["train"] = gr.Button("Train", variant="primary", elem_id="train-btn")
        c["stop"] = gr.Button("Stop", variant="stop", elem_id="stop-btn")
        c["resume"] = gr.Button("Resume", elem_id="resume-btn")
        c["reset"] = gr.Button("Reset", elem_id="reset-btn")
        c["resume_cpu"] = gr.Button("Continue on CPU", elem_id="resume-cpu-btn", visible=zerogpu.enabled())
    c["notice"] = gr.Markdown(elem_id="notice")
    with gr.Accordion("Your own images: upload a zip", open=False):
        c["zip_upload"] = gr.File(label=f"Upload a zip of images (PNG/JPEG, at most {MAX_UPLOAD_MB} MiB); "
                                        f"it becomes the dataset", file_types=[".zip"], type="filepath")
    c["status_line"] = gr.Markdown("**idle**", elem_id="status-line")
    with gr.Row():
        c["grid"] = gr.Image(label="Fixed-noise samples (same z every time)", elem_id="grid", height=420,
                             interactive=False)
        with gr.Column():
            c["loss_plot"] = gr.LinePlot(x="step", y="value", color="series", title="Losses", height=200,
                                         elem_id="loss-plot", x_title="step", y_title="loss")
            c["d_plot"] = gr.LinePlot(x="step", y="value", color="series", title="Discriminator outputs",
                                      height=200, y_lim=[0, 1], elem_id="d-plot", x_title="step", y_title="mean D")
    gr.Markdown("*Reading the charts:* a D loss near 0 means D wins easily; D(x) and D(G(z)) near 1/2 means "
                "D can no longer tell real from fake, which is where the game ends.")
    with gr.Row():
        with gr.Column():
            with gr.Row():
                c["sample_n"] = gr.Slider(1, 100, 36, step=1, label="How many")
                c["sample_seed"] = gr.Number(0, label="Sample seed", precision=0)
            c["sample"] = gr.Button("Sample", elem_id="sample-btn")
            c["sample_file"] = gr.File(label="Samples PNG", interactive=False, height=80)
        c["sample_img"] = gr.Image(label="Fresh samples", height=300, interactive=False)
    with gr.Accordion("Status as JSON (the /status endpoint)", open=False):
        c["status_refresh"] = gr.Button("Refresh", size="sm")
        c["status_json"] = gr.JSON(label="status")


def _explore_tab(c: dict[str, Any]) -> None:
    gr.Markdown("Everything here reads the latest published copy of G, so it works while training runs. "
                "Principal directions are found GANSpace-style: PCA of G's first-layer features, mapped back "
                "to z by least squares.")
    with gr.Row():
        with gr.Column(scale=2):
            with gr.Row():
                c["x_seed"] = gr.Number(0, label="Seed", precision=0, elem_id="x-seed")
                c["x_random"] = gr.Button("Random seed", size="sm")
                c["x_class"] = gr.Slider(0, 9, 0, step=1, label="Class (class-conditional models)")
            with gr.Row():
                c["x_axes"] = gr.Radio(["principal", "raw"], value="principal", label="Slider axes",
                                       info="principal directions of G, or raw z dimensions")
                c["x_psi"] = gr.Slider(0, 1.5, 1.0, step=0.05, label="Truncation ψ",
                                       info="pulls z toward the mean: less variety, more typical samples")
                c["x_recompute"] = gr.Button("Recompute directions", size="sm")
            c["x_sliders"] = [gr.Slider(-4, 4, 0, step=0.1, label=f"PC{i + 1}", elem_id=f"pc{i + 1}")
                              for i in range(N_SLIDERS)]
        c["x_image"] = gr.Image(label="G(z)", height=340, interactive=False, elem_id="x-image")
    gr.Markdown("### Interpolation (slerp)")
    with gr.Row():
        c["s_a"] = gr.Number(1, label="Seed A", precision=0)
        c["s_b"] = gr.Number(2, label="Seed B", precision=0)
        c["s_steps"] = gr.Slider(2, 16, 8, step=1, label="Steps")
        c["s_go"] = gr.Button("Interpolate")
    c["s_strip"] = gr.Image(label="A → B along the great circle", interactive=False)


def _checkpoints_tab(c: dict[str, Any]) -> None:
    gr.Markdown("Checkpoints hold configs, weights, optimizer states, step, RNG and history; they load with "
                "`torch.load(weights_only=True)`, so a file carrying code is refused. Runs auto-save to "
                "`checkpoints/` every few hundred steps and when stopped.")
    with gr.Row():
        c["c_save"] = gr.Button("Save now")
        c["c_download"] = gr.Button("Download current")
        c["c_gif"] = gr.Button("Export time-lapse GIF")
    c["c_notice"] = gr.Markdown()
    with gr.Row():
        c["c_file"] = gr.File(label="Checkpoint / GIF", interactive=False)
        c["c_gif_view"] = gr.Image(label="Time-lapse", interactive=False, type="filepath")
    c["c_table"] = gr.Dataframe(headers=["file", "dataset", "model", "loss", "step", "saved"], interactive=False,
                                label="Saved runs")
    with gr.Row():
        c["c_choice"] = gr.Dropdown([], label="Checkpoint", allow_custom_value=False)
        c["c_refresh"] = gr.Button("Refresh list", size="sm")
        c["c_load"] = gr.Button("Load")
        c["c_load_resume"] = gr.Button("Load and resume")
    c["c_upload"] = gr.File(label=f"Upload a checkpoint (.pt, at most {MAX_UPLOAD_MB} MiB)", file_types=[".pt"],
                            type="filepath")


def _wire(h: Handlers, c: dict[str, Any], timer: gr.Timer, seen: gr.State) -> None:
    fast = dict(concurrency_limit=None, show_progress="hidden")
    cfg_inputs = [c[k] for k in ("dataset", "model", "loss", "batch_size", "lr", "seed", "z_dim", "width")]
    c["dataset"].change(lambda name: list(control_defaults(name).values()), c["dataset"],
                        [c["loss"], c["batch_size"], c["lr"], c["z_dim"], c["width"]], api_visibility="private")
    c["train"].click(h.train, cfg_inputs, c["notice"], api_name="train", concurrency_limit=None)
    c["stop"].click(h.stop, None, c["notice"], api_name="stop", concurrency_limit=None)
    c["resume"].click(h.resume, None, c["notice"], api_name="resume", concurrency_limit=None)
    c["reset"].click(h.reset, None, c["notice"], api_name="reset", concurrency_limit=None)

    def resume_cpu(request: gr.Request) -> str:
        """Continue your run on the CPU (after a ZeroGPU refusal): slower, spends no GPU quota."""
        return zerogpu.continue_on_cpu(h, request)
    c["resume_cpu"].click(resume_cpu, None, c["notice"], api_name="resume_cpu", concurrency_limit=None)
    c["status_refresh"].click(h.status, None, c["status_json"], api_name="status", **fast)
    tick_out = [c["status_line"], c["loss_plot"], c["d_plot"], c["grid"], seen]
    timer.tick(h.tick, seen, tick_out, api_visibility="private", **fast)
    c["sample"].click(h.sample, [c["sample_n"], c["sample_seed"]], [c["sample_img"], c["sample_file"]],
                      api_name="sample", concurrency_limit=None)

    x_inputs = [c["x_seed"], *c["x_sliders"], c["x_psi"], c["x_class"], c["x_axes"]]
    triggers = [s.change for s in c["x_sliders"]] + [c["x_seed"].change, c["x_psi"].change, c["x_class"].change]
    gr.on(triggers, h.generate, x_inputs, c["x_image"], api_name="generate", trigger_mode="always_last", **fast)
    c["explore_tab"].select(h.generate, x_inputs, c["x_image"], api_visibility="private", **fast)
    c["x_random"].click(h.random_seed, None, c["x_seed"], api_visibility="private")
    recompute = gr.on([c["x_recompute"].click, c["x_axes"].change], h.recompute, c["x_axes"], c["x_sliders"],
                      api_name="recompute_directions")
    recompute.then(h.generate, x_inputs, c["x_image"], api_visibility="private", **fast)
    c["s_go"].click(h.strip, [c["s_a"], c["s_b"], c["s_steps"], c["x_psi"], c["x_class"]], c["s_strip"],
                    api_name="interpolate", **fast)

    c["c_save"].click(h.save_now, None, [c["c_notice"], c["c_table"]], api_name="save")
    c["c_download"].click(h.download_current, None, c["c_file"], api_name="download_checkpoint")
    c["c_gif"].click(h.timelapse, None, c["c_file"], api_name="timelapse").then(
        lambda p: p, c["c_file"], c["c_gif_view"], api_visibility="private")
    c["c_refresh"].click(h.checkpoint_table, None, c["c_table"], api_visibility="private").then(
        h.checkpoint_choices, None, c["c_choice"], api_visibility="private")
    c["c_load"].click(h.load, c["c_choice"], c["c_notice"], api_name="load")
    c["c_load_resume"].click(h.load_resume, c["c_choice"], c["c_notice"], api_name="load_resume")
    c["c_upload"].upload(h.upload, c["c_upload"], c["c_notice"], api_name="upload")
    c["zip_upload"].upload(h.upload_zip, c["zip_upload"], [c["dataset"], c["notice"]], api_name="upload_zip")


def build_app(manager: RunManager | None = None, *, defaults: dict[str, Any] | None = None) -> gr.Blocks:
    """The whole page, bound to `manager` (a fresh RunManager by default). `defaults` overrides the
    Train controls' initial values (dataset, batch_size, width), e.g. for fast tests."""
    h = Handlers(manager or RunManager())
    c: dict[str, Any] = {}
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        timer = gr.Timer(1.0)
        seen = gr.State({})
        ctx = AppContext(h, timer, c)
        with gr.Tabs():
            with gr.Tab("Train", id="train"):
                _train_tab(c, defaults or {})
                for extra in TRAIN_EXTRAS:
                    extra(ctx)
            with gr.Tab("Explore", id="explore") as c["explore_tab"]:
                _explore_tab(c)
            with gr.Tab("Checkpoints", id="checkpoints"):
                _checkpoints_tab(c)
            for extra_tab in EXTRA_TABS:
                extra_tab(ctx)
        _wire(h, c, timer, seen)
        demo.load(h.checkpoint_table, None, c["c_table"], api_visibility="private").then(
            h.checkpoint_choices, None, c["c_choice"], api_visibility="private")
    demo.handlers = h  # for tests and benches
    return demo


def launch_kwargs(manager: RunManager) -> dict[str, Any]:
    """launch() settings shared by the script, the tests and the benches."""
    return dict(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                allowed_paths=[str(manager.checkpoint_dir), str(EXPORT_DIR)],
                max_file_size=f"{MAX_UPLOAD_MB}mb")


def main() -> None:
    manager = RunManager()
    manager.warm_up()  # torch's one-off lazy imports, off the first click's path
    demo = build_app(manager)
    demo.queue(default_concurrency_limit=4)
    try:
        demo.launch(**launch_kwargs(manager))
    finally:
        manager.shutdown()


if __name__ == "__main__":
    main()
