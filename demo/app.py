"""GAN Lab Live: train a GAN in the browser and watch it learn.

    python demo/app.py          # then open http://127.0.0.1:7860

The layout is built in `build_app()` (tab by tab, then the events wired at the bottom); the handlers live in
demo/page.py and demo/tabs/checkpoints.py, the runs and their threads in demo/runs/run.py and demo/runs/manager.py.
Named API endpoints for gradio_client: /train, /stop, /status, /generate, and more (see the README).
"""
from __future__ import annotations

import importlib.util
import os
import secrets
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # `python demo/app.py` from anywhere, e.g. on a Space
    sys.path.insert(0, str(HERE.parent))

import gradio as gr  # noqa: E402

from demo.runs import zerogpu  # noqa: E402 - defines the @spaces.GPU chunk function (ZeroGPU needs one at start)
from demo.tabs.hub import wire_hub  # noqa: E402
from demo.inputs import guard_inputs  # noqa: E402
from demo.layout import (FAST, INTRO, TITLE, checkpoints_tab, explore_tab, theory_tab, train_tab,  # noqa: E402
                         translate_tab)
from demo.runs.manager import RunManager  # noqa: E402
from demo.live import LIVE_GROUPS, RAW_GROUPS  # noqa: E402
from demo.page import Page  # noqa: E402
from gan import settings  # noqa: E402


def _wire(p: Page, c: dict[str, Any], demo: gr.Blocks) -> None:
    f = p.files
    numbers = [c[k] for k in ("loss", "batch_size", "lr", "z_dim", "width")]
    gr.on([c["dataset"].change, c["model"].change], p.defaults, [c["dataset"], c["model"]], numbers,
          api_visibility="private", **FAST)
    c["loss"].change(p.loss_help, c["loss"], c["q_help"], api_visibility="private", **FAST)
    cfg_inputs = [c[k] for k in ("dataset", "model", "loss", "batch_size", "lr", "seed", "z_dim", "width", "r1",
                                 "r2", "pac")]
    for name, fn, inputs in (("train", p.train, cfg_inputs), ("resume", p.resume, None),
                             ("resume_cpu", p.resume_cpu, None)):
        c[name].click(fn, inputs, c["notice"], api_name=name, concurrency_limit=None)
    c["stop"].click(p.stop, None, c["notice"], api_name="stop", concurrency_limit=None)
    c["reset"].click(p.reset, None, c["notice"], api_name="reset", concurrency_limit=None)
    c["status_refresh"].click(p.status, None, c["status_json"], api_name="status", **FAST)
    x = p.explore
    c["sample"].click(x.sample, [c["sample_n"], c["sample_seed"]], [c["sample_img"], c["sample_file"]],
                      api_name="sample", concurrency_limit=None)

    x_inputs = [c["x_seed"], *c["x_sliders"], c["x_psi"], c["x_class"], c["x_axes"], c["x_layers"]]
    triggers = [s.change for s in c["x_sliders"]] + [c[k].change for k in ("x_seed", "x_psi", "x_class", "x_layers")]
    gr.on(triggers, x.generate, x_inputs, c["x_image"], api_name="generate", trigger_mode="always_last", **FAST)
    c["explore_tab"].select(x.generate, x_inputs, c["x_image"], api_visibility="private", **FAST)
    c["x_random"].click(x.random_seed, None, c["x_seed"], api_visibility="private")
    recompute = gr.on([c["x_recompute"].click, c["x_axes"].change], x.recompute, c["x_axes"], c["x_sliders"],
                      api_name="recompute_directions")
    recompute.then(x.generate, x_inputs, c["x_image"], api_visibility="private", **FAST)
    c["s_go"].click(x.strip, [c["s_a"], c["s_b"], c["s_steps"], c["x_psi"], c["x_class"]], c["s_strip"],
                    api_name="interpolate", **FAST)
    gr.on([c["m_go"].click, c["m_cross"].release], x.mix, [c["m_rows"], c["m_cols"], c["m_cross"], c["x_psi"],
                                                           c["x_class"]], c["m_grid"], api_name="mix", **FAST)
    c["v_go"].click(x.vary, [c["x_seed"], c["v_n"], c["x_psi"], c["x_class"]], [c["v_strip"], c["v_std"]],
                    api_name="vary", **FAST)
    c["zw_go"].click(x.zw, [c["zw_a"], c["zw_b"], c["zw_steps"], c["x_psi"], c["x_class"]], [c["zw_z"], c["zw_w"]],
                     api_name="interpolate_zw", **FAST)

    _wire_translate(p.translate, c)

    c["c_save"].click(f.save_now, None, [c["c_notice"], c["c_table"]], api_name="save")
    c["c_download"].click(f.download_current, None, c["c_file"], api_name="download_checkpoint")
    c["c_gif"].click(f.timelapse, None, c["c_file"], api_name="timelapse").then(
        lambda path: path, c["c_file"], c["c_gif_view"], api_visibility="private")
    c["c_refresh"].click(f.table, None, c["c_table"], api_visibility="private").then(
        f.choices, None, c["c_choice"], api_visibility="private")
    for name, fn in (("load", f.load), ("load_resume", f.load_resume)):
        c[f"c_{name}"].click(fn, c["c_choice"], c["c_notice"], api_name=name)
    c["c_delete"].click(f.delete, c["c_choice"], [c["c_notice"], c["c_table"]], api_name="delete_checkpoint")
    c["c_upload"].upload(f.upload, c["c_upload"], c["c_notice"], api_name="upload")
    wire_hub(p, c)  # /export_hub, /load_export, /load_export_zip, /share_hub
    c["zip_upload"].upload(f.upload_zip, c["zip_upload"], [c["dataset"], c["notice"]], api_name="upload_zip")
    gr.on([c["zip_a"].upload, c["zip_b"].upload], f.upload_pair, [c["zip_a"], c["zip_b"]], [c["dataset"], c["notice"]],
          api_name="upload_pair")
    c["c_api_list"].click(f.names, None, c["c_api_names"], api_name="checkpoints", **FAST)
    c["c_api_list"].click(f.download, c["c_api_name"], c["c_api_file"], api_name="download")
    c["t_api_btn"].click(p.theory, None, [c["t_api_main"], c["t_api_curves"], c["t_api_json"]], api_name="theory",
                         **FAST)
    c["q_api_btn"].click(p.quality, None, c["q_api_json"], api_name="quality", **FAST)

    hello = demo.load(p.hello, c["visitor"], c["visitor"], api_visibility="private")
    hello.then(f.table, None, c["c_table"], api_visibility="private").then(
        f.choices, None, c["c_choice"], api_visibility="private")
    # the page's live streams: each group of outputs, sent only when it changed (demo/live.py Live.stream)
    for group, names in LIVE_GROUPS.items():
        hello.then(p.live.stream(group), None, [c[k] for k in names], api_visibility="private",
                   postprocess=group not in RAW_GROUPS, **FAST)
    demo.unload(p.bye)


def _wire_translate(t: Any, c: dict[str, Any]) -> None:
    """The Translate tab (demo/tabs/translate.py): sketch, upload, held-out pick, direction switch, /translate."""
    shown = [c["tr_x"], c["tr_y"], c["tr_rec"]]
    c["tr_draw"].change(t.draw, [c["tr_draw"], c["tr_dir"]], [*shown, c["tr_source"]], trigger_mode="always_last",
                        api_visibility="private", **FAST)
    c["tr_upload"].upload(t.upload, [c["tr_upload"], c["tr_dir"]], [*shown, c["tr_source"]],
                          api_name="translate_upload", api_visibility="private", **FAST)  # /upload is the checkpoint's
    c["tr_pick"].click(t.random_seed, None, c["tr_seed"], api_visibility="private").then(
        t.pick, [c["tr_dir"], c["tr_seed"]], [*shown, c["tr_source"]], api_visibility="private", **FAST)
    c["tr_seed"].submit(t.pick, [c["tr_dir"], c["tr_seed"]], [*shown, c["tr_source"]], api_visibility="private",
                        **FAST)
    c["tr_dir"].change(t.redo, [c["tr_dir"], c["tr_draw"], c["tr_upload"], c["tr_seed"], c["tr_source"]], shown,
                       trigger_mode="always_last", api_visibility="private", **FAST)
    c["translate_tab"].select(t.show, [c["tr_dir"], c["tr_seed"]], shown, api_visibility="private", **FAST)
    c["tr_api_btn"].click(t.translate, [c["tr_upload"], c["tr_dir"], c["tr_seed"]], shown, api_name="translate",
                          **FAST)


def build_app(manager: RunManager | None = None, *, defaults: dict[str, Any] | None = None) -> gr.Blocks:
    """The whole page, bound to `manager` (a fresh RunManager by default). `defaults` overrides the Train
    controls' initial values (dataset, batch_size, width), e.g. for fast tests."""
    page = Page(manager or RunManager())
    c: dict[str, Any] = {}
    with gr.Blocks(title=TITLE, delete_cache=_cache_ttl()) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        c["visitor"] = gr.BrowserState(None, storage_key="gan-lab-visitor", secret=_secret(page.storage.root))
        with gr.Tabs():
            with gr.Tab("Train", id="train"):
                train_tab(c, defaults or {})
            with gr.Tab("Explore", id="explore") as c["explore_tab"]:
                explore_tab(c)
            with gr.Tab("Theory", id="theory"):
                theory_tab(c)
            with gr.Tab("Translate", id="translate") as c["translate_tab"]:
                translate_tab(c)
            with gr.Tab("Checkpoints", id="checkpoints"):
                checkpoints_tab(c)
        page.live.plots = {k: c[k] for k in ("loss_plot", "d_plot", "q_cov", "q_dist", "t_modes")}
        _wire(page, c, demo)
        guard_inputs(demo)  # API values Gradio's components cannot read get a clear message
    demo.page = page  # for tests and benches
    return demo


def _cache_ttl() -> tuple[int, int] | None:
    """Gradio keeps a copy of every uploaded file (zips, checkpoints) and every file a handler returns in its
    cache, forever unless told: those older than GAN_UPLOAD_TTL_S (2 h on a shared Space) are deleted too."""
    ttl = settings.get("GAN_UPLOAD_TTL_S")
    return (max(1, int(min(ttl, 600))), max(1, int(ttl))) if ttl else None


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
    # Gradio wraps every step of a generator (the page's live streams) in `import matplotlib` twice; where it is
    # not installed, each failed import searches sys.path again (~9% of the app's CPU with pages open, py-spy).
    # Marked absent once, the import fails at once, as it would anyway.
    if importlib.util.find_spec("matplotlib") is None:
        sys.modules.setdefault("matplotlib", None)  # type: ignore[assignment]
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
                max_file_size=f"{settings.get('GAN_MAX_UPLOAD_MB'):.0f}mb",
                # Gradio runs at most max_threads events at once, and each open page's live streams hold one
                # each: room for GAN_MAX_PAGES pages and 40 more for clicks (Gradio's default)
                max_threads=40 + len(LIVE_GROUPS) * settings.get("GAN_MAX_PAGES"))


def main() -> None:
    manager = RunManager()
    manager.warm_up()  # torch's one-off lazy imports, off the first click's path
    manager.load_examples()  # what a visitor explores before training anything
    demo = queue(build_app(manager))
    try:
        demo.launch(**launch_kwargs(manager))
    finally:
        manager.shutdown()


if __name__ == "__main__":
    main()
