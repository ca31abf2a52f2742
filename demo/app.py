"""GAN Lab Live: train a GAN in the browser and watch it learn.

    python demo/app.py          # then open http://127.0.0.1:7860

The layout is built in `build_app()` (tab by tab, then the events wired at the bottom); the handlers live in
demo/page.py and demo/files.py, the runs and their threads in demo/run.py and demo/manager.py.
Named API endpoints for gradio_client: /train, /stop, /status, /generate, and more (see the README).
"""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # `python demo/app.py` from anywhere, e.g. on a Space
    sys.path.insert(0, str(HERE.parent))

import gradio as gr  # noqa: E402

from demo import zerogpu  # noqa: E402 - defines the @spaces.GPU chunk function (ZeroGPU needs one at start)
from demo.inputs import guard_inputs  # noqa: E402
from demo.manager import RunManager  # noqa: E402
from demo.page import N_SLIDERS, TICK_OUTPUTS, Page  # noqa: E402
from demo.present import control_defaults  # noqa: E402
from gan import settings  # noqa: E402
from gan.datasets import dataset_names  # noqa: E402
from gan.quality import loss_help  # noqa: E402
from gan.registry import LOSSES, MODELS  # noqa: E402

TITLE = "GAN Lab Live: train and explore a GAN in your browser"
INTRO = ("A generator G turns noise z into samples; a discriminator D outputs the probability that its input "
         "is real. They play min_G max_D E[log D(x)] + E[log(1 - D(G(z)))]. Press **Train** and watch the "
         "fixed-noise grid improve; D(x) and D(G(z)) both drift toward 1/2 as G catches up.")
THEORY_INTRO = (
    "G and D play **min_G max_D V(D,G) = E[log D(x)] + E[log(1 − D(G(z)))]**. For a fixed G the best D is "
    "**D\\*(x) = p_data(x) / (p_data(x) + p_g(x))**, and then V = −log 4 + 2·JS(p_data ‖ p_g): the game ends "
    "when p_g = p_data, where D\\* = 1/2 everywhere and V = −log 4 ≈ −1.386. Train one of the 1-D or 2-D "
    "datasets (gaussian1d, ring8, grid25, spiral) and watch it happen here; the pictures refresh every ~2 s.")
FAST = dict(concurrency_limit=None, show_progress="hidden")
# Charts start empty as None: a LinePlot whose first value is an empty frame never draws later lines or legends
# (Gradio 6.31), and one cleared with an empty frame keeps its old legend; see tests/test_browser.py.
PLOT = dict(x="step", y="value", color="series", x_title="step")


def _train_tab(c: dict[str, Any], defaults: dict[str, Any]) -> None:
    dataset = defaults.get("dataset", "digits")
    d = {**control_defaults(dataset), **defaults}
    with gr.Row():
        c["dataset"] = gr.Dropdown(dataset_names(), value=dataset, label="Dataset", allow_custom_value=True,
                                   info="built in, no download; your own images: upload a zip below")
        c["model"] = gr.Dropdown(["auto"] + MODELS.names(), value="auto", label="Model",
                                 info="auto: the dataset's default; " + ", ".join(
                                     f"{k} for {' or '.join(v.kinds)}" for k, v in MODELS.items()))
        c["loss"] = gr.Dropdown(LOSSES.names(), value=d["loss"], label="Loss", elem_id="loss",
                                info="default: the dataset's (hinge for 2-D points, bce otherwise); see "
                                     "'How to read the losses' below")
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
        mb = settings.get("GAN_MAX_UPLOAD_MB")
        c["zip_upload"] = gr.File(label=f"Upload a zip of images (PNG/JPEG, at most {mb:.0f} MiB); it becomes the "
                                        f"dataset", file_types=[".zip"], type="filepath")
    c["status_line"] = gr.Markdown("**idle**", elem_id="status-line")
    with gr.Row():
        c["grid"] = gr.Image(label="Fixed-noise samples (same z every time)", elem_id="grid", height=420,
                             interactive=False, type="filepath")
        with gr.Column():
            c["loss_plot"] = gr.LinePlot(None, **PLOT, title="Losses", height=200, elem_id="loss-plot",
                                         y_title="loss")
            c["d_plot"] = gr.LinePlot(None, **PLOT, title="Discriminator outputs", height=200,
                                      elem_id="d-plot", y_title="mean D")
    gr.Markdown("*Reading the charts:* a D loss near 0 means D wins easily; D(x) and D(G(z)) near 1/2 means "
                "D can no longer tell real from fake, which is where the game ends.")
    c["q_warning"] = gr.Markdown(visible=False, elem_id="collapse-warning")
    c["q_summary"] = gr.Markdown(elem_id="quality-summary")
    with gr.Row():
        c["q_cov"] = gr.LinePlot(None, **PLOT, y_lim=[0, 105], height=220, title="Coverage and quality",
                                 y_title="%", elem_id="quality-plot")
        c["q_dist"] = gr.LinePlot(None, **PLOT, height=220, title="Distance to the data",
                                  y_title="distance", elem_id="distance-plot")
    gr.Markdown("*Mode collapse* shows here, not in the losses: the generator keeps making good-looking samples "
                "of only a few kinds, so coverage falls while quality stays high. Image sets are scored every few "
                "seconds on 500 samples by a small classifier trained once on the dataset; the 2-D mixtures by the "
                "VEEGAN / PacGAN protocol (2,500 samples).")
    with gr.Accordion("How to read the losses", open=False, elem_id="loss-help"):
        c["q_help"] = gr.Markdown(loss_help(d["loss"]))
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
                c["x_class"] = gr.Slider(0, 9, 0, step=1, label="Class", visible=False, elem_id="x-class",
                                         info="for class-conditional models")
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
                "`torch.load(weights_only=True)`, so a file carrying code is refused. Runs auto-save every few "
                "hundred steps and when stopped. You see your own checkpoints and the shipped examples.")
    with gr.Row():
        c["c_save"] = gr.Button("Save now")
        c["c_download"] = gr.Button("Download current")
        c["c_gif"] = gr.Button("Export time-lapse GIF")
    c["c_notice"] = gr.Markdown()
    with gr.Row():
        c["c_file"] = gr.File(label="Checkpoint / GIF", interactive=False)
        c["c_gif_view"] = gr.Image(label="Time-lapse", interactive=False, type="filepath")
    c["c_table"] = gr.Dataframe(headers=["file", "dataset", "model", "loss", "step", "saved"], interactive=False,
                                label="Your checkpoints and the examples")
    with gr.Row():
        c["c_choice"] = gr.Dropdown([], label="Checkpoint", allow_custom_value=True)
        c["c_refresh"] = gr.Button("Refresh list", size="sm")
        c["c_load"] = gr.Button("Load")
        c["c_load_resume"] = gr.Button("Load and resume")
        c["c_delete"] = gr.Button("Delete", size="sm", variant="stop")
    mb = settings.get("GAN_MAX_UPLOAD_MB")
    c["c_upload"] = gr.File(label=f"Upload a checkpoint (.pt, at most {mb:.0f} MiB)", file_types=[".pt"],
                            type="filepath")
    with gr.Row(visible=False):  # API-only endpoints: /checkpoints, /download
        c["c_api_list"] = gr.Button("checkpoints")
        c["c_api_names"] = gr.JSON()
        c["c_api_name"] = gr.Textbox()
        c["c_api_file"] = gr.File()


def _theory_tab(c: dict[str, Any]) -> None:
    gr.Markdown(THEORY_INTRO)
    c["t_status"] = gr.Markdown(elem_id="theory-status")
    with gr.Row():
        with gr.Column():
            gr.Markdown("#### The game now")
            c["t_main"] = gr.Image(show_label=False, type="filepath", interactive=False, elem_id="theory-main",
                                   visible=False, height=460)
            c["t_main_cap"] = gr.Markdown(visible=False, elem_id="theory-main-caption")
        with gr.Column():
            gr.Markdown("#### The game over time")
            c["t_curves"] = gr.Image(show_label=False, type="filepath", interactive=False, elem_id="theory-curves",
                                     visible=False, height=260)
            c["t_curves_cap"] = gr.Markdown(visible=False)
            c["t_modes"] = gr.LinePlot(None, **PLOT, y_lim=[0, 100], height=220, y_title="%",
                                       title="Mode coverage (the VEEGAN / PacGAN protocol)", visible=False,
                                       elem_id="theory-modes")
            c["t_modes_cap"] = gr.Markdown(visible=False)
    with gr.Row(visible=False):  # API-only endpoints: /theory, /quality
        c["t_api_btn"] = gr.Button("theory")
        c["t_api_main"] = gr.Image(type="filepath")
        c["t_api_curves"] = gr.Image(type="filepath")
        c["t_api_json"] = gr.JSON()
        c["q_api_btn"] = gr.Button("quality")
        c["q_api_json"] = gr.JSON()


def _wire(p: Page, c: dict[str, Any], demo: gr.Blocks) -> None:
    f, timer = p.files, c["timer"]
    numbers = [c[k] for k in ("loss", "batch_size", "lr", "z_dim", "width")]
    gr.on([c["dataset"].change, c["model"].change], p.defaults, [c["dataset"], c["model"]], numbers,
          api_visibility="private", **FAST)
    c["loss"].change(p.loss_help, c["loss"], c["q_help"], api_visibility="private", **FAST)
    cfg_inputs = [c[k] for k in ("dataset", "model", "loss", "batch_size", "lr", "seed", "z_dim", "width")]
    for name, fn, inputs in (("train", p.train, cfg_inputs), ("resume", p.resume, None),
                             ("resume_cpu", p.resume_cpu, None)):
        c[name].click(fn, inputs, c["notice"], api_name=name, concurrency_limit=None).then(
            p.fast_timer, None, timer, api_visibility="private", **FAST)
    c["stop"].click(p.stop, None, c["notice"], api_name="stop", concurrency_limit=None)
    c["reset"].click(p.reset, None, c["notice"], api_name="reset", concurrency_limit=None)
    c["status_refresh"].click(p.status, None, c["status_json"], api_name="status", **FAST)
    timer.tick(p.tick, c["seen"], [c[k] for k in TICK_OUTPUTS] + [c["seen"]], api_visibility="private", **FAST)
    c["sample"].click(p.sample, [c["sample_n"], c["sample_seed"]], [c["sample_img"], c["sample_file"]],
                      api_name="sample", concurrency_limit=None)

    x_inputs = [c["x_seed"], *c["x_sliders"], c["x_psi"], c["x_class"], c["x_axes"]]
    triggers = [s.change for s in c["x_sliders"]] + [c["x_seed"].change, c["x_psi"].change, c["x_class"].change]
    gr.on(triggers, p.generate, x_inputs, c["x_image"], api_name="generate", trigger_mode="always_last", **FAST)
    c["explore_tab"].select(p.generate, x_inputs, c["x_image"], api_visibility="private", **FAST)
    c["x_random"].click(p.random_seed, None, c["x_seed"], api_visibility="private")
    recompute = gr.on([c["x_recompute"].click, c["x_axes"].change], p.recompute, c["x_axes"], c["x_sliders"],
                      api_name="recompute_directions")
    recompute.then(p.generate, x_inputs, c["x_image"], api_visibility="private", **FAST)
    c["s_go"].click(p.strip, [c["s_a"], c["s_b"], c["s_steps"], c["x_psi"], c["x_class"]], c["s_strip"],
                    api_name="interpolate", **FAST)

    c["c_save"].click(f.save_now, None, [c["c_notice"], c["c_table"]], api_name="save")
    c["c_download"].click(f.download_current, None, c["c_file"], api_name="download_checkpoint")
    c["c_gif"].click(f.timelapse, None, c["c_file"], api_name="timelapse").then(
        lambda path: path, c["c_file"], c["c_gif_view"], api_visibility="private")
    c["c_refresh"].click(f.table, None, c["c_table"], api_visibility="private").then(
        f.choices, None, c["c_choice"], api_visibility="private")
    for name, fn in (("load", f.load), ("load_resume", f.load_resume)):
        c[f"c_{name}"].click(fn, c["c_choice"], c["c_notice"], api_name=name).then(
            p.fast_timer, None, timer, api_visibility="private", **FAST)
    c["c_delete"].click(f.delete, c["c_choice"], [c["c_notice"], c["c_table"]], api_name="delete_checkpoint")
    c["c_upload"].upload(f.upload, c["c_upload"], c["c_notice"], api_name="upload")
    c["zip_upload"].upload(f.upload_zip, c["zip_upload"], [c["dataset"], c["notice"]], api_name="upload_zip")
    c["c_api_list"].click(f.names, None, c["c_api_names"], api_name="checkpoints", **FAST)
    c["c_api_list"].click(f.download, c["c_api_name"], c["c_api_file"], api_name="download")
    c["t_api_btn"].click(p.theory, None, [c["t_api_main"], c["t_api_curves"], c["t_api_json"]], api_name="theory",
                         **FAST)
    c["q_api_btn"].click(p.quality, None, c["q_api_json"], api_name="quality", **FAST)

    demo.load(p.hello, c["visitor"], c["visitor"], api_visibility="private").then(
        f.table, None, c["c_table"], api_visibility="private").then(
        f.choices, None, c["c_choice"], api_visibility="private")
    demo.unload(p.bye)


def build_app(manager: RunManager | None = None, *, defaults: dict[str, Any] | None = None) -> gr.Blocks:
    """The whole page, bound to `manager` (a fresh RunManager by default). `defaults` overrides the Train
    controls' initial values (dataset, batch_size, width), e.g. for fast tests."""
    page = Page(manager or RunManager())
    c: dict[str, Any] = {}
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        c["timer"] = gr.Timer(1.0)
        c["seen"] = gr.State({})
        c["visitor"] = gr.BrowserState(None, storage_key="gan-lab-visitor", secret=_secret(page.storage.root))
        with gr.Tabs():
            with gr.Tab("Train", id="train"):
                _train_tab(c, defaults or {})
            with gr.Tab("Explore", id="explore") as c["explore_tab"]:
                _explore_tab(c)
            with gr.Tab("Theory", id="theory"):
                _theory_tab(c)
            with gr.Tab("Checkpoints", id="checkpoints"):
                _checkpoints_tab(c)
        page.plots = {k: c[k] for k in ("loss_plot", "d_plot", "q_cov", "q_dist", "t_modes")}
        _wire(page, c, demo)
        guard_inputs(demo)  # API values Gradio's components cannot read get a clear message
    demo.page = page  # for tests and benches
    return demo


def _secret(root: Path) -> str:
    """The server's key for the visitor id kept in browsers (stable across restarts, never served)."""
    path = Path(root) / ".visitor-secret"
    try:
        return path.read_text().strip() or _new_secret(path)
    except OSError:
        return _new_secret(path)


def _new_secret(path: Path) -> str:
    value = secrets.token_hex(16)
    try:
        path.write_text(value)
        os.chmod(path, 0o600)
    except OSError:
        pass
    return value


def queue(demo: gr.Blocks, *, concurrency: int = 4) -> gr.Blocks:
    """demo.queue(), with its idle polling slowed: Gradio 6.31's queue checks for work every 1 ms while it has
    none (about 40 ms of CPU per second on an idle server, found with py-spy); every 20 ms costs a fifth of
    that and adds at most 20 ms to an event. Progress updates are checked every 0.1 s instead of 0.01 s."""
    demo.queue(default_concurrency_limit=concurrency)
    q = getattr(demo, "_queue", None)
    if q is not None and hasattr(q, "sleep_when_free"):
        q.sleep_when_free = max(q.sleep_when_free, 0.02)
        q.progress_update_sleep_when_free = max(getattr(q, "progress_update_sleep_when_free", 0.0), 0.1)
    return demo


def launch_kwargs(manager: RunManager) -> dict[str, Any]:
    """launch() settings shared by the script, the tests and the benches. No folder is an allowed path:
    every file a visitor downloads is returned by a handler, which Gradio copies into its own cache."""
    return dict(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                max_file_size=f"{settings.get('GAN_MAX_UPLOAD_MB'):.0f}mb")


def main() -> None:
    manager = RunManager()
    manager.warm_up()  # torch's one-off lazy imports, off the first click's path
    demo = queue(build_app(manager))
    try:
        demo.launch(**launch_kwargs(manager))
    finally:
        manager.shutdown()


if __name__ == "__main__":
    main()
