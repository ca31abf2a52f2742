"""The page's layout, tab by tab: every component, keyed by name in one dict `c`, no event wiring (that is
demo/app.py's `_wire`). Family-specific sections start hidden; the page's tick shows the ones the watched
run's model family offers.
"""
from __future__ import annotations

from typing import Any

import gradio as gr

from gan import settings
from gan.data.spec import dataset_names
from gan.metrics.advice import loss_help
from gan.registry import LOSSES, MODELS

from .runs import zerogpu
from .tabs.hub import hub_panel
from .page import N_SLIDERS
from .present import control_defaults

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

def train_tab(c: dict[str, Any], defaults: dict[str, Any]) -> None:
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
        c["width"] = gr.Number(d["width"], label="Width", step=1, info="hidden units / base channels",
                               elem_id="width")
    with gr.Accordion("Penalties and packing: R1, R2, PacGAN (blank: the dataset's default)", open=False):
        with gr.Row():
            c["r1"] = gr.Number(None, label="R1 γ", elem_id="r1",
                                  info="zero-centred penalty on D's gradient at real data")
            c["r2"] = gr.Number(None, label="R2 γ", elem_id="r2",
                                  info="the same at generated data (R3GAN: rpgan + R1 + R2)")
            c["pac"] = gr.Number(None, label="PacGAN packing", step=1, elem_id="pac",
                                   info="D judges packs of N samples (1: off)")
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
                                        f"dataset", file_types=[".zip"], type="filepath", elem_id="zip-upload")
    with gr.Accordion("Your own pair of domains (CycleGAN): a zip per domain", open=False):
        with gr.Row():
            for tag in ("a", "b"):
                c[f"zip_{tag}"] = gr.File(label=f"Domain {tag.upper()}: a zip of images (at most {mb:.0f} MiB)",
                                          file_types=[".zip"], type="filepath", elem_id=f"zip-{tag}")
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


def explore_tab(c: dict[str, Any]) -> None:
    gr.Markdown("Everything here reads the latest published copy of G, so it works while training runs. "
                "Principal directions are found GANSpace-style: for the classic models, PCA of G's first-layer "
                "features mapped back to z by least squares; for StyleGAN, PCA of the intermediate latent w.")
    c["x_note"] = gr.Markdown(visible=False, elem_id="x-note")
    with gr.Row():
        with gr.Column(scale=2):
            with gr.Row():
                c["x_seed"] = gr.Number(0, label="Seed", precision=0, elem_id="x-seed")
                c["x_random"] = gr.Button("Random seed", size="sm")
                c["x_class"] = gr.Slider(0, 9, 0, step=1, label="Class", visible=False, elem_id="x-class",
                                         info="for class-conditional models")
            with gr.Row():
                c["x_axes"] = gr.Radio(["principal", "raw"], value="principal", label="Slider axes",
                                       info="principal directions of G (of w for StyleGAN), or raw z dimensions")
                c["x_layers"] = gr.Radio(["all", "coarse", "middle", "fine"], value="all", label="Layers",
                                         visible=False, elem_id="x-layers",
                                         info="StyleGAN: which style inputs the sliders move")
                c["x_psi"] = gr.Slider(0, 1.5, 1.0, step=0.05, label="Truncation ψ", elem_id="x-psi",
                                       info="pulls the latent toward its mean (w's running average for StyleGAN)")
                c["x_recompute"] = gr.Button("Recompute directions", size="sm")
            c["x_sliders"] = [gr.Slider(-4, 4, 0, step=0.1, label=f"PC{i + 1}", elem_id=f"pc{i + 1}")
                              for i in range(N_SLIDERS)]
        c["x_image"] = gr.Image(label="G(z)", height=340, interactive=False, elem_id="x-image")
    with gr.Group(visible=True) as c["x_classic"]:
        gr.Markdown("### Interpolation (slerp)")
        with gr.Row():
            c["s_a"] = gr.Number(1, label="Seed A", precision=0)
            c["s_b"] = gr.Number(2, label="Seed B", precision=0)
            c["s_steps"] = gr.Slider(2, 16, 8, step=1, label="Steps")
            c["s_go"] = gr.Button("Interpolate")
        c["s_strip"] = gr.Image(label="A → B along the great circle", interactive=False)
    with gr.Group(visible=False) as c["x_style"]:
        style_views(c)


def style_views(c: dict[str, Any]) -> None:
    """StyleGAN's own views: the style-mixing grid, stochastic variation, and Z against W interpolation."""
    gr.Markdown("### Style mixing\nEach cell takes the coarse styles (the first K style inputs: shape, pose) of "
                "its row's seed and the rest (stroke, texture) from its column's seed.")
    with gr.Row():
        c["m_rows"] = gr.Textbox("1, 2, 3, 4", label="Row seeds", elem_id="m-rows")
        c["m_cols"] = gr.Textbox("5, 6, 7, 8", label="Column seeds", elem_id="m-cols")
        c["m_cross"] = gr.Slider(0, 8, 2, step=1, label="Crossover K (coarse style inputs from the row)",
                                 elem_id="m-cross")
        c["m_go"] = gr.Button("Mix", elem_id="m-go")
    c["m_grid"] = gr.Image(label="Rows keep their coarse styles, columns give the rest", interactive=False,
                           elem_id="m-grid")
    gr.Markdown("### Stochastic variation\nOne w, several draws of the per-layer noise: what noise controls "
                "(the spread image is bright where noise changes the pixels).")
    with gr.Row():
        c["v_n"] = gr.Slider(2, 16, 8, step=1, label="Noise draws")
        c["v_go"] = gr.Button("Vary the noise")
    with gr.Row():
        c["v_strip"] = gr.Image(label="Same w, different noise", interactive=False, elem_id="v-strip")
        c["v_std"] = gr.Image(label="Per-pixel spread", interactive=False, elem_id="v-std")
    gr.Markdown("### Interpolation: slerp in Z against lerp in W\nW is the space the styles live in: paths "
                "through it change the image more evenly than paths through Z.")
    with gr.Row():
        c["zw_a"] = gr.Number(1, label="Seed A", precision=0)
        c["zw_b"] = gr.Number(2, label="Seed B", precision=0)
        c["zw_steps"] = gr.Slider(2, 16, 8, step=1, label="Steps")
        c["zw_go"] = gr.Button("Interpolate in Z and W")
    c["zw_z"] = gr.Image(label="slerp in Z", interactive=False)
    c["zw_w"] = gr.Image(label="lerp in W", interactive=False)


def translate_tab(c: dict[str, Any]) -> None:
    gr.Markdown("CycleGAN learns two generators, G: A→B and F: B→A, from unpaired images of two domains, with a "
                "cycle-consistency loss F(G(a)) ≈ a that keeps the content while the style moves. Train "
                "`cyclegan` on `digits2colordigits`, then draw a digit, upload an image or pick a held-out one.")
    c["tr_note"] = gr.Markdown(elem_id="tr-note")
    with gr.Row():
        c["tr_dir"] = gr.Radio([("A → B", "a2b"), ("B → A", "b2a")], value="a2b", label="Direction",
                               elem_id="tr-dir")
        c["tr_pick"] = gr.Button("Random held-out image", elem_id="tr-pick")
        c["tr_seed"] = gr.Number(0, label="Held-out seed", precision=0)
    with gr.Row():
        c["tr_draw"] = gr.Sketchpad(label="Draw a digit (pick the brush on the left)", type="numpy", height=280,
                                    elem_id="tr-draw", canvas_size=(280, 280), layers=False,
                                    brush=gr.Brush(default_size=20, colors=["#000000"], color_mode="fixed"))
        c["tr_upload"] = gr.Image(label="Or upload an image", type="numpy", sources=["upload"], height=280,
                                  elem_id="tr-upload")
    with gr.Row():
        c["tr_x"] = gr.Image(label="x", interactive=False, elem_id="tr-x", format="png")
        c["tr_y"] = gr.Image(label="translation", interactive=False, elem_id="tr-y", format="png")
        c["tr_rec"] = gr.Image(label="reconstruction", interactive=False, elem_id="tr-rec", format="png")
    c["tr_source"] = gr.State("pick")  # what the direction switch translates again: draw, upload or pick
    with gr.Row(visible=False):  # API-only endpoint: /translate (image or none, direction, seed)
        c["tr_api_btn"] = gr.Button("translate")


def checkpoints_tab(c: dict[str, Any]) -> None:
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
    hub_panel(c)  # export, load an export or a Hub repo id, share to the Hub (demo/hub_page.py)
    with gr.Row(visible=False):  # API-only endpoints: /checkpoints, /download
        c["c_api_list"] = gr.Button("checkpoints")
        c["c_api_names"] = gr.JSON()
        c["c_api_name"] = gr.Textbox()
        c["c_api_file"] = gr.File()


def theory_tab(c: dict[str, Any]) -> None:
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


__all__ = ["FAST", "INTRO", "PLOT", "TITLE", "checkpoints_tab", "explore_tab", "style_views", "theory_tab",
           "train_tab", "translate_tab"]
