"""PIL renderings of the snapshots that gan.theory.state computes: the 1-D densities with D and D*, the 2-D plane
with D's heatmap, G's warped z grid and D's push on the fakes, and V(D, G) / JS over training.

Each function takes plain numbers and arrays and returns an (H, W, 3) uint8 image; nothing here imports a UI
library or touches a network.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .density import LOG2, LOG4

__all__ = ["render_1d", "render_2d", "render_curves", "render_theory"]


# ---- rendering (PIL only) ------------------------------------------------------------------------

BLUE = (0, 114, 178)  # real data (Okabe-Ito palette, colour-blind safe)
ORANGE = (230, 130, 0)  # generated
GREEN = (0, 158, 115)  # learned D
PURPLE = (170, 60, 150)  # optimal D*
RED = (213, 60, 0)
GREY = (150, 150, 150)
INK = (40, 40, 40)


@functools.lru_cache(maxsize=8)
def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def _ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out, v = [], first
    while v <= hi + 1e-9 * step:
        out.append(round(v, 10))
        v += step
    return out


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.0e}"


def _polyline(draw: Any, pts: list[tuple[float, float]], fill: tuple, width: int, dash: int = 0) -> None:
    """A polyline, optionally dashed with dash-pixel segments."""
    if len(pts) < 2:
        return
    if not dash:
        draw.line(pts, fill=fill, width=width, joint="curve")
        return
    on, carry = True, 0.0
    for (ax, ay), (bx, by) in zip(pts[:-1], pts[1:]):
        seg = math.hypot(bx - ax, by - ay)
        pos = 0.0
        while pos < seg:
            step = min(dash - carry, seg - pos)
            t0, t1 = pos / seg, (pos + step) / seg
            if on:
                draw.line([(ax + (bx - ax) * t0, ay + (by - ay) * t0), (ax + (bx - ax) * t1, ay + (by - ay) * t1)],
                          fill=fill, width=width)
            pos += step
            carry += step
            if carry >= dash - 1e-9:
                on, carry = not on, 0.0


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index ranges where mask is True."""
    out, start = [], None
    for i, v in enumerate(mask):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, len(mask)))
    return out


def _legend(draw: Any, x: float, y: float, items: list[tuple[str, tuple, str]], font: Any) -> None:
    """A one-row legend starting at (x, y): items are (label, colour, style), style one of
    'line', 'dash', 'dot', 'dots' or 'arrow'."""
    sw, gap = 22, 16
    for label, colour, style in items:
        cy = y
        if style == "arrow":
            draw.line([(x, cy), (x + sw, cy)], fill=colour, width=1)
            draw.line([(x + sw - 5, cy - 3), (x + sw, cy), (x + sw - 5, cy + 3)], fill=colour)
        elif style == "dots":
            for dx in (4, 11, 18):
                draw.ellipse([x + dx - 2.5, cy - 2.5, x + dx + 2.5, cy + 2.5], fill=colour)
        else:
            _polyline(draw, [(x, cy), (x + sw, cy)], colour, 3 if style == "line" else 2,
                      dash={"line": 0, "dash": 6, "dot": 3}[style])
        draw.text((x + sw + 5, cy), label, fill=INK, font=font, anchor="lm")
        x += sw + 5 + draw.textlength(label, font=font) + gap


def render_1d(snap: dict[str, Any], *, width: int = 720, height: int = 420) -> np.ndarray:
    """Figure-1-style plot of a 1-D snapshot: p_data, p_g, D, D* and the 1/2 line, (H, W, 3) uint8."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), "white")
    dr = ImageDraw.Draw(img)
    f, fs = _font(13), _font(11)
    left, right, top, strip = 58, width - 64, 50, 54
    bottom = height - 44 - strip
    x = snap["x"].astype(np.float64)
    lo, hi = snap["xlim"]
    pd, pg = snap["p_data"].astype(np.float64), snap["p_g"].astype(np.float64)
    dmax = max(float(pd.max()), min(float(pg.max()), 2.5 * float(pd.max())), 1e-12) * 1.12

    def px(v: np.ndarray) -> np.ndarray:
        return left + (v - lo) / (hi - lo) * (right - left)

    def py_d(v: np.ndarray) -> np.ndarray:  # D axis [0, 1]
        return bottom - np.clip(v, 0, 1) * (bottom - top)

    def py_p(v: np.ndarray) -> np.ndarray:  # density axis [0, dmax], clipped
        return bottom - np.clip(v / dmax, 0, 1) * (bottom - top)

    # grid and axes
    for t in _ticks(lo, hi, 8):
        xx = float(px(np.array(t)))
        dr.line([(xx, top), (xx, bottom)], fill=(238, 238, 238))
        dr.text((xx, bottom + 4), _fmt(t), fill=INK, font=fs, anchor="mt")
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        yy = float(py_d(np.array(t)))
        dr.line([(left, yy), (right, yy)], fill=(238, 238, 238))
        dr.text((left - 5, yy), _fmt(t), fill=GREEN, font=fs, anchor="rm")
    for t in _ticks(0, dmax, 5):
        yy = float(py_p(np.array(t)))
        dr.text((right + 5, yy), _fmt(t), fill=INK, font=fs, anchor="lm")
    dr.rectangle([left, top, right, bottom], outline=(120, 120, 120))
    dr.text((left - 44, (top + bottom) / 2), "D", fill=GREEN, font=f, anchor="mm")
    dr.text((right + 52, (top + bottom) / 2), "p", fill=INK, font=f, anchor="mm")
    dr.text(((left + right) / 2, bottom + 20), "x", fill=INK, font=f, anchor="mt")

    # the 1/2 line, densities (filled lightly), D and D*
    half_y = float(py_d(np.array(0.5)))
    _polyline(dr, [(left, half_y), (right, half_y)], GREY, 1, dash=4)
    dr.text((right - 4, half_y - 3), "1/2", fill=GREY, font=fs, anchor="rb")
    xs = px(x)
    for dens, colour in ((pd, BLUE), (pg, ORANGE)):
        pts = list(zip(xs.tolist(), py_p(dens).tolist()))
        fill = tuple(int(c + (255 - c) * 0.82) for c in colour)
        poly = [(float(xs[0]), bottom)] + pts + [(float(xs[-1]), bottom)]
        overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
        ImageDraw.Draw(overlay).polygon(poly, fill=fill + (110,))
        img.paste(overlay, (0, 0), overlay)
    dr = ImageDraw.Draw(img)
    for dens, colour in ((pd, BLUE), (pg, ORANGE)):
        _polyline(dr, list(zip(xs.tolist(), py_p(dens).tolist())), colour, 2)
    _polyline(dr, list(zip(xs.tolist(), py_d(snap["d"]).tolist())), GREEN, 3)
    ds = py_d(snap["d_star"])
    for a, b in _runs(np.asarray(snap["support"], bool)):
        _polyline(dr, list(zip(xs[a:b].tolist(), ds[a:b].tolist())), PURPLE, 2, dash=7)

    # G's mapping from z to x, as in Figure 1 of the GAN paper
    zm = snap.get("z_map")
    if zm is not None:
        zy, xy = bottom + 40, bottom + 40 + strip - 12
        z, gx = zm["z"].astype(np.float64), zm["x"].astype(np.float64)
        zx = left + (z - z.min()) / max(z.max() - z.min(), 1e-12) * (right - left)
        dr.line([(left, zy), (right, zy)], fill=(120, 120, 120))
        dr.line([(left, xy), (right, xy)], fill=(120, 120, 120))
        dr.text((left - 6, zy), "z", fill=INK, font=f, anchor="rm")
        dr.text((left - 6, xy), "x", fill=INK, font=f, anchor="rm")
        for a, b in zip(zx[::4].tolist(), np.clip(px(gx), left, right)[::4].tolist()):
            dr.line([(a, zy), (b, xy)], fill=(110, 110, 110), width=1)
        dr.text((right, zy - 3), f"G(z) along z1 in [{z.min():g}, {z.max():g}], other z = 0", fill=GREY,
                font=fs, anchor="rb")

    title = f"{snap['dataset']}   V(D,G) = {snap['v']:.3f}   JS ~ {snap['js']:.3f}   (-log 4 = -1.386)"
    dr.text((left, 10), title, fill=INK, font=f)
    _legend(dr, left, 34, [("p_data", BLUE, "line"), ("p_g (KDE of samples)", ORANGE, "line"),
                           ("learned D(x)", GREEN, "line"), ("optimal D*(x)", PURPLE, "dash"), ("1/2", GREY, "dot")],
            _font(12))
    return np.asarray(img)


def _heat_colour(v: np.ndarray) -> np.ndarray:
    """D in [0, 1] -> RGB: light orange (fake) through white (1/2) to light blue (real)."""
    v = np.clip(np.nan_to_num(v, nan=0.5), 0, 1)[..., None]
    white = np.array([255.0, 255.0, 255.0])
    lo, hi = np.array([246.0, 190.0, 130.0]), np.array([140.0, 190.0, 235.0])
    out = np.where(v < 0.5, lo + (white - lo) * (v / 0.5), white + (hi - white) * ((v - 0.5) / 0.5))
    return out.astype(np.uint8)


def render_theory(snap: dict[str, Any]) -> np.ndarray:
    """The picture of a theory snapshot: render_1d or render_2d by its dimension."""
    return render_1d(snap) if snap["dim"] == 1 else render_2d(snap)


def render_2d(snap: dict[str, Any], *, size: int = 520, points: int = 600) -> np.ndarray:
    """A 2-D snapshot: heatmap of D, real and fake points, G's warped z-grid and D's pushes on the fakes."""
    from PIL import Image, ImageDraw

    left, top, bar = 54, 50, 70
    plot = size - left - 36
    width, height = left + plot + bar, top + plot + 44
    img = Image.new("RGB", (width, height), "white")
    x0, x1, y0, y1 = snap["extent"]
    rgb = _heat_colour(snap["d_grid"][::-1])  # image rows go downwards, gy upwards
    img.paste(Image.fromarray(rgb).resize((plot, plot), Image.BILINEAR), (left, top))
    over = Image.new("RGBA", img.size, (0, 0, 0, 0))
    dr = ImageDraw.Draw(over)

    def px(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64).reshape(-1, 2)
        return np.stack([left + (p[:, 0] - x0) / (x1 - x0) * plot, top + (y1 - p[:, 1]) / (y1 - y0) * plot], 1)

    def inside(q: np.ndarray) -> np.ndarray:
        return np.isfinite(q).all(1) & (q[:, 0] >= left) & (q[:, 0] <= left + plot) & \
            (q[:, 1] >= top) & (q[:, 1] <= top + plot)

    if snap.get("warp") is not None:
        for line in snap["warp"]:
            q = px(line)
            for a, b in _runs(inside(q)):
                if b - a >= 2:
                    dr.line([tuple(v) for v in q[a:b].tolist()], fill=(60, 60, 60, 120), width=1)
    r = max(1.5, plot / 260)
    for arr, colour in ((snap["real"], BLUE), (snap["fake"], RED)):
        q = px(arr[:points])
        for cx, cy in q[inside(q)].tolist():
            dr.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour + (200,))
    if snap.get("arrows") is not None:
        at, g = px(snap["arrows"]["at"]), np.asarray(snap["arrows"]["grad"], np.float64).reshape(-1, 2)
        g = g * np.array([1.0, -1.0])  # screen y points down
        ok = np.isfinite(g).all(1) & np.isfinite(at).all(1)  # a diverged D has NaN gradients: draw none
        at, g = at[ok], g[ok]
        mag = np.linalg.norm(g, axis=1)
        scale = 22.0 / max(float(np.quantile(mag, 0.9)) if len(mag) else 1.0, 1e-12)
        for (ax, ay), (gx, gy), mg in zip(at.tolist(), g.tolist(), mag.tolist()):
            if not (left <= ax <= left + plot and top <= ay <= top + plot) or not mg > 0:
                continue
            k = min(scale * mg, 26.0) / mg
            bx, by = ax + gx * k, ay + gy * k
            dr.line([(ax, ay), (bx, by)], fill=(20, 20, 20, 210), width=1)
            ang = math.atan2(by - ay, bx - ax)
            for s in (2.6, -2.6):
                dr.line([(bx, by), (bx - 5 * math.cos(ang + s / 6), by - 5 * math.sin(ang + s / 6))],
                        fill=(20, 20, 20, 210), width=1)
    img.paste(over, (0, 0), over)
    dr = ImageDraw.Draw(img)
    f, fs = _font(13), _font(11)
    dr.rectangle([left, top, left + plot, top + plot], outline=(120, 120, 120))
    for t in _ticks(x0, x1, 6):
        xx = left + (t - x0) / (x1 - x0) * plot
        dr.line([(xx, top + plot), (xx, top + plot + 4)], fill=INK)
        dr.text((xx, top + plot + 6), _fmt(t), fill=INK, font=fs, anchor="mt")
    for t in _ticks(y0, y1, 6):
        yy = top + (y1 - t) / (y1 - y0) * plot
        dr.line([(left - 4, yy), (left, yy)], fill=INK)
        dr.text((left - 6, yy), _fmt(t), fill=INK, font=fs, anchor="rm")
    dr.text((left + plot / 2, top + plot + 24), "x1", fill=INK, font=f, anchor="mt")
    dr.text((14, top + plot / 2), "x2", fill=INK, font=f, anchor="mm")

    # colour bar for D
    bx0, bw = left + plot + 18, 14
    ramp = _heat_colour(np.linspace(1, 0, plot)[:, None].repeat(bw, 1))
    img.paste(Image.fromarray(ramp), (bx0, top))
    dr.rectangle([bx0, top, bx0 + bw, top + plot], outline=(120, 120, 120))
    for v in (0, 0.25, 0.5, 0.75, 1.0):
        yy = top + (1 - v) * plot
        dr.line([(bx0 + bw, yy), (bx0 + bw + 3, yy)], fill=INK)
        dr.text((bx0 + bw + 5, yy), _fmt(v), fill=INK, font=fs, anchor="lm")
    dr.text((bx0 + bw / 2, top - 4), "D", fill=INK, font=f, anchor="mb")

    ms = snap.get("mode_score")
    title = f"{snap['dataset']}   V = {snap['v']:.3f}   JS ~ {snap['js']:.3f}"
    if ms:
        title += f"   modes {ms['modes']}/{ms['n_modes']}   HQ {100 * ms['high_quality']:.0f}%"
    dr.text((left, 10), title, fill=INK, font=f)
    items = [("real", BLUE, "dots"), ("generated", RED, "dots")]
    if snap.get("warp") is not None:
        items.append(("G(z grid)", (90, 90, 90), "line"))
    if snap.get("arrows") is not None:
        items.append(("D's push on fakes", (20, 20, 20), "arrow"))
    _legend(dr, left, 34, items, _font(12))
    return np.asarray(img)


def render_curves(steps: list[float] | np.ndarray, v: list[float] | np.ndarray, js: list[float] | np.ndarray,
                  *, width: int = 720, height: int = 300) -> np.ndarray:
    """V(D, G) over training steps against the -log 4 line, with V(D*, G) = -log 4 + 2 JS; (H, W, 3) uint8.

    The right axis reads the same curve as JS, since V(D*, G) and JS are the same number on two scales.
    """
    from PIL import Image, ImageDraw

    st = np.asarray(steps, np.float64)
    vv, jj = np.asarray(v, np.float64), np.asarray(js, np.float64)
    img = Image.new("RGB", (width, height), "white")
    dr = ImageDraw.Draw(img)
    f, fs = _font(13), _font(11)
    left, right, top, bottom = 64, width - 64, 50, height - 40
    dr.text((left, 10), "The game over time", fill=INK, font=f)
    _legend(dr, left, 34, [("V(D,G) with the learned D", GREEN, "line"),
                           ("V(D*,G) = -log 4 + 2 JS", PURPLE, "line"), ("-log 4", GREY, "dot")], _font(12))
    fin = np.isfinite(vv)
    lo = min(float(vv[fin].min()) if fin.any() else -LOG4, -LOG4) - 0.05
    lo = max(lo, -4.0)  # a far-off V would squash the interesting range; it is clipped instead
    hi = 0.05
    x0, x1 = (float(st.min()), float(st.max())) if st.size else (0.0, 1.0)
    if x1 <= x0:
        x1 = x0 + 1.0

    def px(a: np.ndarray) -> np.ndarray:
        return left + (a - x0) / (x1 - x0) * (right - left)

    def py(a: np.ndarray) -> np.ndarray:
        return bottom - (np.clip(a, lo, hi) - lo) / (hi - lo) * (bottom - top)

    for t in _ticks(lo, hi, 5):
        yy = float(py(np.array(t)))
        dr.line([(left, yy), (right, yy)], fill=(238, 238, 238))
        dr.text((left - 5, yy), _fmt(t), fill=INK, font=fs, anchor="rm")
    for t in (0.0, 0.2, 0.4, 0.6, LOG2):  # JS scale for the V(D*, G) curve
        yy = float(py(np.array(-LOG4 + 2 * t)))
        dr.line([(right, yy), (right + 3, yy)], fill=PURPLE)
        dr.text((right + 5, yy), "log 2" if t == LOG2 else _fmt(t), fill=PURPLE, font=fs, anchor="lm")
    dr.text((right + 46, (top + bottom) / 2), "JS", fill=PURPLE, font=f, anchor="mm")
    dr.text((left - 44, (top + bottom) / 2), "V", fill=INK, font=f, anchor="mm")
    for t in _ticks(x0, x1, 6):
        xx = float(px(np.array(t)))
        dr.text((xx, bottom + 4), _fmt(t), fill=INK, font=fs, anchor="mt")
    dr.text(((left + right) / 2, bottom + 20), "step", fill=INK, font=f, anchor="mt")
    dr.rectangle([left, top, right, bottom], outline=(120, 120, 120))
    ref = float(py(np.array(-LOG4)))
    _polyline(dr, [(left, ref), (right, ref)], GREY, 1, dash=4)
    if st.size >= 2:
        xs = px(st)
        for ys, colour in ((py(-LOG4 + 2 * jj), PURPLE), (py(vv), GREEN)):
            for a, b in _runs(np.isfinite(ys)):
                _polyline(dr, list(zip(xs[a:b].tolist(), ys[a:b].tolist())), colour, 2)
    return np.asarray(img)
