"""The Explore tab: a seed and sliders along G's principal directions, slerp strips, and StyleGAN's own views
(style mixing, noise, Z against W); built, wired and handled here (`page.explore`, which also serves Sample).

Everything on the tab follows the run: while Explore is the selected tab, a timer looks every FOLLOW_EVERY seconds
whether the run it shows published a new generator, and if so redraws what is on screen (`Explore.follow`);
arriving on the tab, or moving the class, truncation or seed, redraws every panel at once."""
from __future__ import annotations

import logging
import re
import traceback
from typing import Any

import gradio as gr
import numpy as np

from gan.errors import ConfigError, parse_number
from gan.images import save_png

from .. import words
from ..speak import L
from . import FAST
from . import explore_pictures as pictures
from . import explore_restore
from .explore_style import default_k, mixing, variation, w_directions, w_image, zw

log = logging.getLogger("gan.demo")
N_SLIDERS = 8
FOLLOW_EVERY = 1.0  # seconds between looks at the run while the Explore tab is selected (runs publish about 1/s)
VIEWS = ("image", "strip", "mix", "vary", "spread", "in_z", "in_w", "cross")  # what follow() redraws, in order
SEED = dict(integer=True, lo=0, hi=2**63 - 1)


def _style(sampler: Any) -> bool:
    return "w_latent" in sampler.family.explore


def _seeds(name: str, text: Any, *, most: int = 10) -> list[int]:
    """'1, 2, 3' -> [1, 2, 3]: up to `most` seeds, each a whole number in range."""
    parts = [p for p in re.split(r"[\s,;]+", str(text or "").strip()) if p]
    if not parts or len(parts) > most:
        raise ConfigError(f"{name} must list 1 to {most} seeds, like '1, 2, 3', got {str(text)[:40]!r}")
    return [parse_number(name, p, **SEED) for p in parts]


class Explore:
    """Explore and Sample handlers of one page (sharing its manager, storage, directions and visitor identity).
    Every picture comes from the frozen nets a snapshot publishes (the watched run's, or a shipped example's
    until the visitor has a run), so they work while training runs. Inputs are checked with
    gan.errors.parse_number; refusals are gr.Error with no server path."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.directions = pictures.Directions(k=N_SLIDERS)
        self.style_directions = pictures.Directions(k=N_SLIDERS)
        self.mine = explore_restore.Mine(self)  # "Your image": a projected latent the sliders start from

    def _refuse(self, e: BaseException) -> gr.Error:
        return gr.Error(self.page.storage.public(str(e)), duration=8)

    def _sampler(self, request: gr.Request | None, view: str = "explore") -> tuple[Any, Any]:
        run = self.page.subject(self.page.manager.watched(self.page.visitor(request)), view)
        snap = run.snapshot() if run is not None else None
        if snap is None or snap.sampler is None:
            raise gr.Error(words.t("n.no_generator"))
        if "translate" in snap.sampler.family.explore and view != "translate":
            raise gr.Error(words.t("n.is_cyclegan"))
        return run, snap.sampler

    def _axes(self, run: Any, sampler: Any, axes: str) -> Any:
        if _style(sampler) and axes != "raw":
            return self.style_directions.get(sampler, run_key=run.id, compute=w_directions)[0][:N_SLIDERS]
        return self.directions.axes(sampler, axes, run_key=run.id)

    def sample(self, n: Any, seed: Any, request: gr.Request = None) -> tuple[np.ndarray, str]:
        """A fresh grid of n samples from seed, and the same as a PNG file."""
        try:
            n = parse_number("n", n, integer=True, lo=1, hi=256, blank=36)
            seed = parse_number("seed", seed, blank=0, **SEED)
        except ConfigError as e:
            raise self._refuse(e) from None
        run, sampler = self._sampler(request)
        img = pictures.sample_grid(sampler, n, seed)
        try:
            path = self.page.files.export_path(self.page.visitor(request), f"samples-{run.id}-s{seed}-n{n}.png")
        except OSError as e:  # the disk quota is full: the picture, and no file to download
            gr.Warning(self.page.storage.public(str(e)))
            return img, None
        save_png(img, str(path))
        return img, str(path)

    def generate(self, seed: Any, d1: Any = 0, d2: Any = 0, d3: Any = 0, d4: Any = 0, d5: Any = 0, d6: Any = 0,
                 d7: Any = 0, d8: Any = 0, truncation: Any = 1.0, class_label: Any = 0, axes: str = "principal",
                 layers: str = "all", request: gr.Request = None) -> np.ndarray:
        """The image for a seed moved by offsets d1..d8 along the slider axes ('principal' or 'raw' z); for
        StyleGAN the principal axes are W's, applied to the chosen style inputs (all, coarse, middle, fine)."""
        try:
            seed = parse_number("seed", seed, blank=0, **SEED)
            offsets = [parse_number(f"d{i + 1}", d, lo=-100, hi=100, blank=0.0) for i, d in
                       enumerate((d1, d2, d3, d4, d5, d6, d7, d8))]
            psi = parse_number("truncation", truncation, lo=0, hi=2, blank=1.0)
            label = parse_number("class_label", class_label, integer=True, lo=0, hi=999, blank=0)
            if axes not in ("principal", "raw"):
                raise ConfigError(f"axes must be 'principal' or 'raw', got {str(axes)[:40]!r}")
            if layers not in ("all", "coarse", "middle", "fine"):
                raise ConfigError(f"layers must be all, coarse, middle or fine, got {str(layers)[:40]!r}")
        except ConfigError as e:
            raise self._refuse(e) from None
        run, sampler = self._sampler(request)
        dirs, mine = self._axes(run, sampler, axes), self.mine.latent(run, request)
        if _style(sampler) and axes != "raw":
            return w_image(sampler, seed, offsets, directions=dirs, layers=layers, psi=psi, class_label=label, w=mine)
        return pictures.latent_image(sampler, seed, offsets, directions=dirs, psi=psi, class_label=label,
                                     z=None if _style(sampler) else mine)

    def recompute(self, axes: str, request: gr.Request = None) -> list:
        """Recompute the principal directions on the latest generator; relabel the sliders."""
        run, sampler = self._sampler(request)
        labels = [f"raw z[{i}]" for i in range(N_SLIDERS)]
        if axes != "raw":
            if _style(sampler):
                    _, var = self.style_directions.get(sampler, recompute=True, run_key=run.id, compute=w_directions)
            else:
                _, var = self.directions.get(sampler, recompute=True, run_key=run.id)
            shares = var[:N_SLIDERS].tolist()
            name = "W-PC" if _style(sampler) else "PC"
            labels = [f"{name}{i + 1} ({100 * shares[i]:.1f}% of variance)" if i < len(shares)
                      else f"{name}{i + 1} (n/a)" for i in range(N_SLIDERS)]
        return [gr.Slider(label=lab, value=0) for lab in labels]

    def strip(self, seed_a: Any, seed_b: Any, steps: Any, truncation: Any, class_label: Any,
              request: gr.Request = None) -> np.ndarray:
        """Slerp from seed A to seed B as a strip of images."""
        a, b, steps, psi, label = self._path_args(seed_a, seed_b, steps, truncation, class_label)
        _, sampler = self._sampler(request)
        return pictures.slerp_strip(sampler, a, b, steps, psi=psi, class_label=label)

    def _path_args(self, seed_a: Any, seed_b: Any, steps: Any, truncation: Any, class_label: Any) -> tuple:
        """(seed A, seed B, steps, psi, class label) of an interpolation, checked; gr.Error naming a bad one."""
        try:
            a, b = (parse_number(n, v, blank=0, **SEED) for n, v in (("seed_a", seed_a), ("seed_b", seed_b)))
            steps = parse_number("steps", steps, integer=True, lo=2, hi=16, blank=8)
            psi = parse_number("truncation", truncation, lo=0, hi=2, blank=1.0)
            label = parse_number("class_label", class_label, integer=True, lo=0, hi=999, blank=0)
        except ConfigError as e:
            raise self._refuse(e) from None
        return a, b, steps, psi, label

    @staticmethod
    def random_seed() -> int:
        return int(np.random.default_rng().integers(0, 2**31 - 1))

    # ---- following the run ----------------------------------------------------------------------------
    def follow(self, v: dict[str, Any], request: gr.Request = None, *, force: bool = False,
               image: bool = True) -> tuple:
        """The tab's pictures for the run it shows, as (seen, *VIEWS), redrawn only when that run published a new
        generator since `v["seen"]` (or when `force`d), and only the panels its model shows: the image and the slerp
        strip (classic models), the image and the style views (StyleGAN; a new one also sets the crossover slider
        to its default K). `v` holds the tab's control values by name (see build); `image=False` leaves the main
        image to /generate. A panel that cannot be drawn now (say, a bad seed list) is left as it is."""
        run = self.page.subject(self.page.manager.watched(self.page.visitor(request)), "explore")
        snap = run.snapshot() if run is not None else None
        seen = dict(v.get("seen") or {})
        out: dict[str, Any] = dict.fromkeys(VIEWS, gr.skip())
        if snap is None or snap.sampler is None:
            return (seen, *out.values())
        mark = [run.id, snap.part_version("grid")]
        if not force and seen.get("mark") == mark:
            return (seen, *out.values())
        seen["mark"] = mark
        views = snap.sampler.family.explore
        psi, label = v["psi"], v["label"]
        jobs: dict[str, Any] = {}
        if image:
            jobs["image"] = lambda: self.generate(v["seed"], *v["sliders"], psi, label, v["axes"], v["layers"],
                                                  request=request)
        if "interpolate" in views or not views:
            jobs["strip"] = lambda: self.strip(v["seed_a"], v["seed_b"], v["steps"], psi, label, request=request)
        if "mixing" in views:
            cross = v["cross"]
            if seen.get("style") != run.id:  # a StyleGAN new to this page: its own default K
                cross, most = default_k(snap.sampler)
                out["cross"] = gr.update(value=cross, maximum=most)
                seen["style"] = run.id
            jobs["mix"] = lambda: self.mix(v["rows"], v["cols"], cross, psi, -1 if v["each_class"] else label,
                                           request=request)
            jobs["vary"] = lambda: self.vary(v["seed"], v["n"], psi, label, request=request)
            jobs["in_z"] = lambda: self.zw(v["zw_a"], v["zw_b"], v["zw_steps"], psi, label, request=request)
        for name, job in jobs.items():
            try:
                got = job()
            except gr.Error:
                continue  # the visitor's own input is refused when they move it; here the panel just stays
            except Exception:  # noqa: BLE001 - a bad moment must not put an error over every panel
                log.warning("explore follow: %s failed: %s", name, traceback.format_exc())
                continue
            if name == "vary":
                out["vary"], out["spread"] = got
            elif name == "in_z":
                out["in_z"], out["in_w"] = got
            else:
                out[name] = got
        return (seen, *out.values())

    @staticmethod
    def on_tab(evt: gr.SelectData) -> Any:
        """The page's tabs changed: the follow timer runs only while Explore is the selected tab."""
        data = getattr(evt, "_data", None) or {}
        return gr.Timer(active=data.get("id", evt.value) in ("explore", "Explore"))

    # ---- StyleGAN's own views -------------------------------------------------------------------------
    def _style_sampler(self, request: gr.Request | None) -> Any:
        run = self.page.subject(self.page.manager.watched(self.page.visitor(request)), "explore")
        snap = run.snapshot() if run is not None else None
        if snap is None or snap.sampler is None or not _style(snap.sampler):
            example = self.page.manager.example("style")
            if example is None:
                raise gr.Error(words.t("n.need_stylegan"))
            snap = example.snapshot()
        return snap.sampler

    def mix(self, rows: Any, cols: Any, crossover: Any, truncation: Any = 1.0, class_label: Any = 0,
            request: gr.Request = None) -> np.ndarray:
        """The style-mixing grid: row seeds give their first K (coarse) style inputs, column seeds the rest (blank
        K: the model's default). class_label -1: each seed draws its own class (seed mod the classes), so the grid
        spans several classes; else every seed takes that class."""
        try:
            row_seeds, col_seeds = _seeds("rows", rows), _seeds("cols", cols)
            k = parse_number("crossover", crossover, integer=True, lo=0, hi=32, blank=None)
            psi = parse_number("truncation", truncation, lo=0, hi=2, blank=1.0)
            label = parse_number("class_label", class_label, integer=True, lo=-1, hi=999, blank=0)
        except ConfigError as e:
            raise self._refuse(e) from None
        sampler = self._style_sampler(request)
        return mixing(sampler, row_seeds, col_seeds, crossover=k, psi=psi, class_label=label)

    def vary(self, seed: Any, n: Any, truncation: Any = 1.0, class_label: Any = 0,
             request: gr.Request = None) -> tuple[np.ndarray, np.ndarray]:
        """One w with n noise draws, and the per-pixel spread: what the noise inputs control."""
        try:
            seed = parse_number("seed", seed, blank=0, **SEED)
            n = parse_number("n", n, integer=True, lo=2, hi=16, blank=8)
            psi = parse_number("truncation", truncation, lo=0, hi=2, blank=1.0)
            label = parse_number("class_label", class_label, integer=True, lo=0, hi=999, blank=0)
        except ConfigError as e:
            raise self._refuse(e) from None
        return variation(self._style_sampler(request), seed, n=n, psi=psi, class_label=label)

    def zw(self, seed_a: Any, seed_b: Any, steps: Any, truncation: Any = 1.0, class_label: Any = 0,
           request: gr.Request = None) -> tuple[np.ndarray, np.ndarray]:
        """Slerp in Z and lerp in W between two seeds, side by side."""
        a, b, steps, psi, label = self._path_args(seed_a, seed_b, steps, truncation, class_label)
        return zw(self._style_sampler(request), a, b, steps=steps, psi=psi, class_label=label)


def build(page: Any, c: dict[str, Any]) -> None:
    """The tab, with its events: /generate, /recompute_directions, /interpolate, /mix, /vary and /interpolate_zw.
    `c` gets the sections the page's live stream shows or hides by the watched model (demo/live.py); with the
    page's tabs in `c["tabs"]`, the tab follows the run while it is selected (Explore.follow)."""
    x = page.explore
    with gr.Tab(L("tab.explore"), id="explore") as tab:
        gr.Markdown(L("explore.intro"))
        c["x_note"] = gr.Markdown(visible=False, elem_id="x-note")
        with gr.Row(elem_id="x-row"):
            with gr.Column(scale=2):
                with gr.Row():
                    seed = gr.Number(0, label=L("explore.seed"), precision=0, elem_id="x-seed")
                    random = gr.Button(L("explore.random"), size="sm")
                    c["x_class"] = label = gr.Slider(0, 9, 0, step=1, label=L("explore.class"), visible=False,
                                                     elem_id="x-class", info=L("explore.class.info"))
                with gr.Row():
                    axes = gr.Radio([(L(f"axes.{v}"), v) for v in ("principal", "raw")], value="principal",
                                    label=L("explore.axes"), info=L("explore.axes.info"))
                    c["x_layers"] = layers = gr.Radio(
                        [(L(f"layers.{v}"), v) for v in ("all", "coarse", "middle", "fine")], value="all",
                        label=L("explore.layers"), visible=False, elem_id="x-layers", info=L("explore.layers.info"))
                    psi = gr.Slider(0, 1.5, 1.0, step=0.05, label=L("explore.psi"), elem_id="x-psi",
                                    info=L("explore.psi.info"))
                    recompute = gr.Button(L("explore.recompute"), size="sm")
                sliders = [gr.Slider(-4, 4, 0, step=0.1, label=f"PC{i + 1}", elem_id=f"pc{i + 1}")
                           for i in range(N_SLIDERS)]
            image = gr.Image(label=L("explore.image"), height=340, interactive=False, elem_id="x-image")
        inputs = [seed, *sliders, psi, label, axes, layers]
        gr.on([s.change for s in sliders] + [seed.change, psi.change, label.change, layers.change], x.generate,
              inputs, image, api_name="generate", trigger_mode="always_last", **FAST)
        random.click(x.random_seed, None, seed, api_visibility="private")
        explore_restore.build(x, dict(seed=seed, random=random, label=label, psi=psi, sliders=sliders, image=image,
                                      inputs=inputs))
        gr.on([recompute.click, axes.change], x.recompute, axes, sliders, api_name="recompute_directions").then(
            x.generate, inputs, image, api_visibility="private", **FAST)
        with gr.Group(visible=True) as c["x_classic"]:
            gr.Markdown(L("explore.slerp"))
            seed_a, seed_b, steps, go = _path_row(L("explore.interpolate"))
            strip = gr.Image(label=L("explore.strip"), interactive=False, elem_id="x-strip")
        go.click(x.strip, [seed_a, seed_b, steps, psi, label], strip, api_name="interpolate", **FAST)
        with gr.Group(visible=False) as c["x_style"]:
            style = _style_views(x, seed, psi, label)
        named = dict(seed=seed, psi=psi, label=label, axes=axes, layers=layers, seed_a=seed_a, seed_b=seed_b,
                     steps=steps, **{k: style[k] for k in ("rows", "cols", "cross", "each_class", "n", "zw_a", "zw_b",
                                                            "zw_steps")}, seen=gr.State({}))
        # in the tab: a block between the tabs themselves makes Gradio 6.31 show one tab twice and lose another
        _wire_follow(x, c, tab, named, sliders, [named["seen"], image, strip, *(style[k] for k in VIEWS[2:])])


def _path_row(button: Any) -> tuple[Any, Any, Any, Any]:
    """A row of two seeds, a step count and a button: the controls of an interpolation."""
    with gr.Row():
        return (gr.Number(1, label=L("explore.seed_a"), precision=0),
                gr.Number(2, label=L("explore.seed_b"), precision=0),
                gr.Slider(2, 16, 8, step=1, label=L("explore.steps")), gr.Button(button))


def _wire_follow(x: Explore, c: dict[str, Any], tab: Any, named: dict[str, Any], sliders: list, outputs: list) -> None:
    """The tab follows the run: a timer, active only while Explore is selected (the page's tabs tell), redraws what
    changed; arriving on the tab redraws everything, and moving the class, truncation or seed the other panels."""
    def values(data: dict) -> dict[str, Any]:
        return {**{name: data[comp] for name, comp in named.items()}, "sliders": [data[s] for s in sliders]}

    def follow(data: dict, request: gr.Request = None) -> tuple:
        return x.follow(values(data), request)

    def arrive(data: dict, request: gr.Request = None) -> tuple:
        return x.follow(values(data), request, force=True)

    def panels(data: dict, request: gr.Request = None) -> tuple:
        return x.follow(values(data), request, force=True, image=False)

    inputs = {*named.values(), *sliders}
    timer = gr.Timer(FOLLOW_EVERY, active=False)
    timer.tick(follow, inputs, outputs, api_visibility="private", trigger_mode="once", **FAST)
    tab.select(arrive, inputs, outputs, api_visibility="private", **FAST)
    gr.on([named["label"].change, named["psi"].release, named["seed"].change], panels, inputs, outputs,
          api_visibility="private", trigger_mode="always_last", **FAST)
    if c.get("tabs") is not None:
        c["tabs"].select(x.on_tab, None, timer, api_visibility="private", **FAST)


def _style_views(x: Explore, seed: Any, psi: Any, label: Any) -> dict[str, Any]:
    """StyleGAN's own views: the style-mixing grid, stochastic variation, and Z against W interpolation (with the
    tab's seed, truncation and class); returns their inputs and pictures by name (VIEWS)."""
    gr.Markdown(L("explore.mixing"))
    with gr.Row():
        rows = gr.Textbox("1, 2, 3, 4", label=L("explore.rows"), elem_id="m-rows")
        cols = gr.Textbox("5, 6, 7, 8", label=L("explore.cols"), elem_id="m-cols")
        cross = gr.Slider(0, 8, 3, step=1, label=L("explore.cross"), elem_id="m-cross",
                          info=L("explore.cross.info"))
        each_class = gr.Checkbox(True, label=L("explore.each"), elem_id="m-each",
                                 info=L("explore.each.info"))
        mix = gr.Button(L("explore.mix"), elem_id="m-go")
    grid = gr.Image(label=L("explore.mix.grid"), interactive=False,
                    elem_id="m-grid")
    api = gr.Button("mix", visible=False)  # /mix: the grid with class_label as given (-1: each seed its own)

    def page_mix(rows: Any, cols: Any, k: Any, psi: Any, label: Any, each: bool, request: gr.Request = None) -> Any:
        return x.mix(rows, cols, k, psi, -1 if each else label, request=request)
    gr.on([mix.click, cross.release, each_class.change], page_mix, [rows, cols, cross, psi, label, each_class], grid,
          api_visibility="private", **FAST)
    api.click(x.mix, [rows, cols, cross, psi, label], grid, api_name="mix", **FAST)
    gr.Markdown(L("explore.noise"))
    with gr.Row():
        n = gr.Slider(2, 16, 8, step=1, label=L("explore.draws"))
        vary = gr.Button(L("explore.vary"))
    with gr.Row():
        strip = gr.Image(label=L("explore.same_w"), interactive=False, elem_id="v-strip")
        spread = gr.Image(label=L("explore.spread"), interactive=False, elem_id="v-std")
    vary.click(x.vary, [seed, n, psi, label], [strip, spread], api_name="vary", **FAST)
    gr.Markdown(L("explore.zw"))
    seed_a, seed_b, steps, go = _path_row(L("explore.zw.go"))
    in_z = gr.Image(label=L("explore.in_z"), interactive=False, elem_id="zw-z")
    in_w = gr.Image(label=L("explore.in_w"), interactive=False, elem_id="zw-w")
    go.click(x.zw, [seed_a, seed_b, steps, psi, label], [in_z, in_w], api_name="interpolate_zw", **FAST)
    return dict(rows=rows, cols=cols, cross=cross, each_class=each_class, n=n, zw_a=seed_a, zw_b=seed_b,
                zw_steps=steps, mix=grid, vary=strip, spread=spread, in_z=in_z, in_w=in_w)


__all__ = ["Explore", "FOLLOW_EVERY", "N_SLIDERS", "VIEWS", "build"]
