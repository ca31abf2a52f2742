"""Turning samples into pictures: image grids and point scatters (with axes and a legend) as uint8 arrays or PNG
files (PIL only)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .theory.plots import BLUE, GREY, INK, ORANGE, _fmt, _font, _legend, _ticks

BINS = 48  # histogram bins across a 1-D picture
MOVES_DRAWN = 40  # lines from before to after a latent edit, in a 2-D picture


def image_grid(images: torch.Tensor, *, nrow: int | None = None, pad: int = 2, upscale: int = 1) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (rows*(H+pad)+pad, cols*(W+pad)+pad, 3) uint8 grid."""
    n, c, h, w = images.shape
    cols = nrow or max(1, int(math.ceil(math.sqrt(n))))
    rows = int(math.ceil(n / cols))
    x = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()
    if c == 1:
        x = x.expand(n, 3, h, w)
    grid = torch.full((3, rows * (h + pad) + pad, cols * (w + pad) + pad), 40, dtype=torch.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, top:top + h, left:left + w] = x[i, :3]
    out = grid.permute(1, 2, 0).numpy()  # (H', W', 3)
    if upscale > 1:
        out = out.repeat(upscale, axis=0).repeat(upscale, axis=1)
    return np.ascontiguousarray(out)


def scatter(points: torch.Tensor, *, real: torch.Tensor | None = None, size: int = 400, extent: float | None = None,
            before: torch.Tensor | None = None, path: bool = False) -> np.ndarray:
    """1-D or 2-D samples as a (size, size, 3) uint8 picture with axes and a legend: generated in orange over
    real in blue. `before`: the same samples before a latent edit, in grey, some joined to where they moved;
    `path`: the generated points are a path in order (an interpolation, A to B). 1-D samples are drawn as
    histograms (density against x), so their spread reads as a shape rather than a bar."""
    from PIL import Image, ImageDraw

    pts, ref, old = (_as_array(p) for p in (points, real, before))
    both = np.concatenate([p[:, :2] for p in (pts, ref) if p is not None and len(p)] or [np.zeros((1, 1))])
    finite = both[np.isfinite(both)]
    lim = float(extent or (np.abs(finite).max() * 1.1 if finite.size else 1.0)) + 1e-6
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    font = _font(max(9, size // 34))
    left, top = 34, 24
    side = size - left - 10
    box = (left, top, left + side, min(top + side, size - 22))
    legend = ([("real", BLUE, "dots")] if ref is not None else []) + (
        [("before the sliders", GREY, "dots")] if old is not None else []) + [
        ("path from A to B" if path else "generated", ORANGE, "dots")]
    if pts.shape[1] == 1:
        _histograms(draw, box, lim, pts, ref, old, path, font)
    else:
        _points2d(draw, box, lim, pts, ref, old, path, font)
    _legend(draw, left, 11, legend, font)
    return np.asarray(img)


def _as_array(p: torch.Tensor | None) -> np.ndarray | None:
    if p is None:
        return None
    return p.detach().float().reshape(p.shape[0], -1).cpu().numpy()


def _frame(draw: Any, box: tuple, xs: list[float], ys: list[tuple[float, str]], font: Any,
           px: Any, py: Any) -> None:
    """Light grid lines and tick labels at xs (bottom) and ys (left, value and label), and the plot's border."""
    x0, y0, x1, y1 = box
    for t in xs:
        x = float(px(t))
        draw.line([(x, y0), (x, y1)], fill=(236, 236, 236))
        draw.text((x, y1 + 3), _fmt(t), fill=INK, font=font, anchor="mt")
    for t, label in ys:
        y = float(py(t))
        draw.line([(x0, y), (x1, y)], fill=(236, 236, 236))
        draw.text((x0 - 4, y), label, fill=INK, font=font, anchor="rm")
    draw.rectangle(box, outline=(150, 150, 150))


def _points2d(draw: Any, box: tuple, lim: float, pts: np.ndarray, ref: np.ndarray | None, old: np.ndarray | None,
              path: bool, font: Any) -> None:
    x0, y0, x1, y1 = box
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, min(x1 - x0, y1 - y0) / 2

    def px(v: Any) -> Any:
        return cx + np.asarray(v) / lim * half

    def py(v: Any) -> Any:
        return cy - np.asarray(v) / lim * half

    ticks = [t for t in _ticks(-lim, lim, 4) if abs(t) <= lim]
    _frame(draw, box, ticks, [(t, _fmt(t)) for t in ticks], font, px, py)

    def dots(arr: np.ndarray, colour: tuple, r: float = 1.5) -> None:
        for x, y in zip(px(arr[:, 0]).tolist(), py(arr[:, 1]).tolist()):
            if math.isfinite(x) and math.isfinite(y) and x0 <= x <= x1 and y0 <= y <= y1:
                draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)

    if ref is not None:
        dots(ref[:, :2], BLUE)
    if old is not None:
        dots(old[:, :2], GREY)
        step = max(1, len(old) // MOVES_DRAWN)
        for (a, b), (c, d) in zip(old[::step, :2].tolist(), pts[::step, :2].tolist()):
            if max(abs(a), abs(b), abs(c), abs(d)) < lim:  # both ends inside the picture (and finite)
                draw.line([(float(px(a)), float(py(b))), (float(px(c)), float(py(d)))], fill=(190, 190, 190))
    if path and len(pts) > 1:
        line = list(zip(px(pts[:, 0]).tolist(), py(pts[:, 1]).tolist()))
        draw.line(line, fill=ORANGE, width=2)
        draw.text(line[0], "A", fill=INK, font=font, anchor="rb")
        draw.text(line[-1], "B", fill=INK, font=font, anchor="lt")
    dots(pts[:, :2], ORANGE, 2.5 if path else 1.5)


def _histograms(draw: Any, box: tuple, lim: float, pts: np.ndarray, ref: np.ndarray | None,
                old: np.ndarray | None, path: bool, font: Any) -> None:
    x0, y0, x1, y1 = box
    edges = np.linspace(-lim, lim, BINS + 1)
    dens = {k: np.histogram(a[:, 0][np.isfinite(a[:, 0])], bins=edges, density=True)[0] if a is not None and
            np.isfinite(a[:, 0]).any() else None for k, a in (("real", ref), ("old", old), ("gen", pts))}
    top = max(max((float(d.max()) for d in dens.values() if d is not None), default=1.0), 1e-6) * 1.1

    def px(v: Any) -> Any:
        return x0 + (np.asarray(v) + lim) / (2 * lim) * (x1 - x0)

    def py(v: Any) -> Any:
        return y1 - np.asarray(v) / top * (y1 - y0)

    _frame(draw, box, [t for t in _ticks(-lim, lim, 6) if abs(t) <= lim],
           [(t, _fmt(t)) for t in _ticks(0, top, 4) if t <= top], font, px, py)
    draw.text((x0 + 4, y0 + 3), "density", fill=GREY, font=font, anchor="lt")
    xs = px(edges).tolist()
    for key, colour in (("real", BLUE), ("old", GREY), ("gen", ORANGE)):
        d = dens[key]
        if d is None or (key == "gen" and path):
            continue
        ys = py(d).tolist()
        steps = [(xs[0], y1)] + [pt for i, y in enumerate(ys) for pt in ((xs[i], y), (xs[i + 1], y))] + [(xs[-1], y1)]
        if key == "real":
            draw.polygon(steps, fill=tuple(int(c + (255 - c) * 0.8) for c in colour))
        draw.line(steps, fill=colour, width=2)
    if path and len(pts) > 1:  # the interpolation: each point's x, going down the picture from A to B
        ys = np.linspace(y0 + 12, y1 - 12, len(pts))
        line = list(zip(np.clip(px(pts[:, 0]), x0, x1).tolist(), ys.tolist()))
        draw.line(line, fill=ORANGE, width=2)
        for x, y in line:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=ORANGE)
        draw.text((line[0][0] + 6, line[0][1]), "A", fill=INK, font=font, anchor="lm")
        draw.text((line[-1][0] + 6, line[-1][1]), "B", fill=INK, font=font, anchor="lm")


def save_png(array: np.ndarray, path: str) -> str:
    """Write a (H, W, 3) uint8 array as PNG."""
    from PIL import Image

    Image.fromarray(array).save(path)
    return path


def picture(samples: torch.Tensor, **kw: object) -> np.ndarray:
    """A grid for images, a scatter for points."""
    return image_grid(samples, **kw) if samples.dim() == 4 else scatter(samples, **kw)
