"""Procedural hand-drawn-looking digits 0-9: an offline, MNIST-like labelled image set.

Each digit class has one or more stroke templates: polylines (straight lines, ellipse arcs and
Bezier curves sampled to points) in a unit box, x to the right and y downwards. For every sample
the template is bent by a smooth random displacement field (elastic jitter), slanted, rotated,
stretched, normalised to fit a ~20x20 box like MNIST and shifted a little. The image is then
rendered in one vectorised pass: the distance from every pixel centre to every segment, and ink
as an anti-aliased function of that distance against a random stroke half-width.
All randomness comes from one ``torch.Generator`` seeded with ``seed``, so output is deterministic.
While it runs, ``make_digits`` sets torch to one thread (see ``_one_thread``) and then restores it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

Point = tuple[float, float]
Stroke = list[Point]

__all__ = ["make_digits"]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 12) -> Stroke:
    """Points on an ellipse arc from angle a0 to a1 (degrees, 90 = top, counterclockwise)."""
    out = []
    for i in range(n + 1):
        a = math.radians(a0 + (a1 - a0) * i / n)
        out.append((cx + rx * math.cos(a), cy - ry * math.sin(a)))
    return out


def _bez(*ctrl: Point, n: int = 8) -> Stroke:
    """Points on a Bezier curve (any degree) through control points ``ctrl``."""
    out = []
    for i in range(n + 1):
        t = i / n
        pts = list(ctrl)
        while len(pts) > 1:  # de Casteljau
            pts = [((1 - t) * a[0] + t * b[0], (1 - t) * a[1] + t * b[1]) for a, b in zip(pts, pts[1:])]
        out.append(pts[0])
    return out


# TEMPLATES[d] is a list of style variants; a variant is a list of strokes (point sequences).
TEMPLATES: dict[int, list[list[Stroke]]] = {
    0: [
        [_arc(0.5, 0.5, 0.36, 0.5, 100, 460, 16)],
        [_arc(0.5, 0.5, 0.42, 0.5, 80, 450, 16)],
    ],
    1: [
        [[(0.5, 0.0), (0.5, 1.0)]],
        [[(0.3, 0.2), (0.56, 0.0), (0.56, 1.0)]],
    ],
    2: [
        [_arc(0.5, 0.28, 0.3, 0.28, 160, -20, 8) + [(0.2, 1.0), (0.85, 1.0)]],
        [_arc(0.48, 0.27, 0.3, 0.27, 170, -10, 8) + _bez((0.77, 0.45), (0.4, 0.75), (0.15, 0.98), n=4)
         + _bez((0.15, 0.98), (0.5, 0.88), (0.9, 1.0), n=3)],
    ],
    3: [
        [_arc(0.48, 0.26, 0.27, 0.25, 150, -90, 9) + _arc(0.48, 0.75, 0.31, 0.25, 90, -150, 9)],
        [[(0.2, 0.0), (0.78, 0.0), (0.42, 0.42)] + _arc(0.45, 0.71, 0.33, 0.29, 100, -150, 9)],
    ],
    4: [
        [[(0.62, 0.0), (0.12, 0.68), (0.9, 0.68)], [(0.62, 0.0), (0.62, 1.0)]],
        [[(0.25, 0.0), (0.18, 0.62), (0.88, 0.62)], [(0.7, 0.2), (0.7, 1.0)]],
    ],
    5: [
        [[(0.8, 0.0), (0.3, 0.0), (0.25, 0.43)] + _arc(0.47, 0.69, 0.31, 0.3, 125, -150, 10)],
        [[(0.3, 0.0), (0.25, 0.43)] + _arc(0.47, 0.69, 0.33, 0.3, 125, -160, 10),
         [(0.3, 0.02), (0.85, -0.03)]],
    ],
    6: [
        [_bez((0.72, 0.0), (0.22, 0.25), (0.2, 0.72), n=6) + _arc(0.47, 0.73, 0.27, 0.27, 180, -180, 12)],
        [_bez((0.65, 0.0), (0.3, 0.3), (0.25, 0.78), n=6) + _arc(0.5, 0.76, 0.25, 0.24, 190, -170, 12)],
    ],
    7: [
        [[(0.15, 0.0), (0.85, 0.0), (0.4, 1.0)]],
        [[(0.15, 0.0), (0.85, 0.0), (0.4, 1.0)], [(0.35, 0.52), (0.78, 0.52)]],
        [[(0.15, 0.05), (0.85, 0.0)] + _bez((0.85, 0.0), (0.55, 0.4), (0.5, 1.0), n=5)],
    ],
    8: [
        [_arc(0.5, 0.24, 0.23, 0.24, -90, 270, 12) + _arc(0.5, 0.73, 0.28, 0.27, 90, 450, 12)],
        [_bez((0.72, 0.12), (0.6, -0.04), (0.25, -0.04), (0.28, 0.22), n=6)
         + _bez((0.28, 0.22), (0.3, 0.42), (0.8, 0.5), (0.78, 0.76), n=5)[1:]
         + _bez((0.78, 0.76), (0.76, 1.03), (0.22, 1.03), (0.22, 0.76), n=6)[1:]
         + _bez((0.22, 0.76), (0.22, 0.5), (0.72, 0.42), (0.72, 0.12), n=5)[1:]],
    ],
    9: [
        [_arc(0.48, 0.28, 0.28, 0.28, 0, 360, 12) + [(0.76, 0.28), (0.72, 1.0)]],
        [_arc(0.47, 0.27, 0.27, 0.27, 10, 370, 12) + _bez((0.74, 0.22), (0.72, 0.7), (0.5, 1.0), n=5)],
    ],
}


def _segment_table() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pack variants into segments (V, S, 4) padded by repeating one, their counts, and per-class index."""
    variants: list[list[tuple[float, float, float, float]]] = []
    first: list[int] = []
    count: list[int] = []
    for d in range(10):
        first.append(len(variants))
        count.append(len(TEMPLATES[d]))
        for strokes in TEMPLATES[d]:
            variants.append([(*p, *q) for s in strokes for p, q in zip(s, s[1:])])
    s_max = max(len(v) for v in variants)
    padded = [v + [v[-1]] * (s_max - len(v)) for v in variants]  # duplicates do not change the min distance
    n_segs = torch.tensor([len(v) for v in variants])
    return torch.tensor(padded), n_segs, torch.tensor(first), torch.tensor(count)


_SEGS, _NSEG, _FIRST, _COUNT = _segment_table()


def _uniform(g: torch.Generator, n: int, lo: float, hi: float, k: int = 1) -> torch.Tensor:
    """Uniform samples in [lo, hi) of shape (n, k)."""
    return lo + (hi - lo) * torch.rand(n, k, generator=g)


def _place(
    labels: torch.Tensor, g: torch.Generator, size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random deformed segments in pixels (n, S, 2, 2), real segment counts (n,), half-widths (n, 1)."""
    n = labels.numel()
    var = _FIRST[labels] + (torch.rand(n, generator=g) * _COUNT[labels]).long().clamp_max(_COUNT[labels] - 1)
    pts = _SEGS[var].view(n, -1, 2) - 0.5  # (n, 2S, 2), centred unit box

    # elastic jitter: a smooth displacement field, sum of K random low-frequency waves per axis
    k = 3
    freq = torch.randn(n, 2 * k, 2, generator=g) * 2.5  # (n, 2K, 2) wave vectors, radians per unit
    phase = _uniform(g, n, 0, 2 * math.pi, 2 * k)  # (n, 2K)
    amp = _uniform(g, n, 0.0, 0.05, 2 * k)  # (n, 2K)
    waves = amp.unsqueeze(1) * torch.sin(pts @ freq.transpose(1, 2) + phase.unsqueeze(1))  # (n, 2S, 2K)
    pts = pts + torch.stack([waves[..., :k].sum(-1), waves[..., k:].sum(-1)], dim=-1)

    # affine: aspect, slant (shear, biased to the right like handwriting), small rotation
    aspect = _uniform(g, n, 0.8, 1.2)
    shear = _uniform(g, n, -0.1, 0.45)
    theta = _uniform(g, n, -0.2, 0.2)
    x = pts[..., 0] * aspect - shear * pts[..., 1]  # (n, 2S)
    y = pts[..., 1]
    c, s = torch.cos(theta), torch.sin(theta)
    x, y = c * x - s * y, s * x + c * y

    # normalise into a random ~20 px box (like MNIST) and centre it with a small offset
    lo_x, hi_x = x.amin(1, keepdim=True), x.amax(1, keepdim=True)
    lo_y, hi_y = y.amin(1, keepdim=True), y.amax(1, keepdim=True)
    px = size / 28.0
    box = _uniform(g, n, 16.5, 20.5) * px
    scale = box / torch.maximum(hi_x - lo_x, hi_y - lo_y).clamp_min(1e-3)
    off = _uniform(g, n, -1.0, 1.0, 2) * px
    x = (x - (lo_x + hi_x) / 2) * scale + size / 2 + off[:, :1]
    y = (y - (lo_y + hi_y) / 2) * scale + size / 2 + off[:, 1:]
    half_width = _uniform(g, n, 0.95, 1.75) * px
    return torch.stack([x, y], dim=-1).view(n, -1, 2, 2), _NSEG[var], half_width  # (n, S, 2 ends, 2)


def _render(segs: torch.Tensor, n_segs: torch.Tensor, half_width: torch.Tensor, size: int,
            chunk: int = 64) -> torch.Tensor:
    """Anti-aliased ink in [0, 1] of shape (n, size*size) from segments (n, S, 2, 2) in pixels."""
    c = torch.arange(size, dtype=torch.float32) + 0.5
    gy, gx = torch.meshgrid(c, c, indexing="ij")
    pix = torch.stack([gx.flatten(), gy.flatten()])  # (2, P) pixel centres
    pix_aug = torch.cat([pix, (pix * pix).sum(0, keepdim=True), torch.ones(1, pix.shape[1])])  # (4, P)
    a, d = segs[:, :, 0], segs[:, :, 1] - segs[:, :, 0]  # (n, S, 2) start and direction
    len2 = (d * d).sum(-1, keepdim=True).clamp_min(1e-6)  # (n, S, 1)
    aa, ad = (a * a).sum(-1, keepdim=True), (a * d).sum(-1, keepdim=True)
    # with p~ = (px, py, |p|^2, 1): |p - a|^2 = p~.(-2a, 1, |a|^2) and (p - a).d = p~.(d, 0, -a.d)
    coef = torch.stack([torch.cat([-2 * a, torch.ones_like(aa), aa], -1),
                        torch.cat([d, torch.zeros_like(ad), -ad], -1)], 1)  # (n, 2, S, 4)
    d2 = torch.empty(segs.shape[0], pix.shape[1])  # (n, P) squared distance to the nearest segment
    order = torch.argsort(n_segs, stable=True)  # chunks of similar segment counts drop the padding
    for i in range(0, order.numel(), chunk):
        idx = order[i:i + chunk]
        s = int(n_segs[idx].max())
        uw = coef[idx, :, :s].reshape(idx.numel(), 2 * s, 4) @ pix_aug  # (B, 2S, P)
        uu, w = uw[:, :s], uw[:, s:]  # (B, S, P) each
        l2 = len2[idx, :s]  # (B, S, 1)
        t = (w / l2).clamp_(0.0, 1.0)  # projection parameter on the segment
        # |p - (a + t d)|^2 = uu - 2 t w + t^2 |d|^2 = uu + t (t |d|^2 - 2 w)
        d2[idx] = uu.addcmul_(t, (t * l2).sub_(w, alpha=2.0)).amin(1)
    dist = d2.clamp_min_(0.0).sqrt_()
    return (half_width - dist).div_(0.9).add_(0.5).clamp_(0.0, 1.0)


_THREADS_LOCK = threading.Lock()


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch single-threaded for a while, then restore the previous thread count."""
    # The render is thousands of mid-sized ops. When the cores are shared (a training thread, a busy
    # 2-vCPU host) each op's thread barrier stalls and 2 threads run 3-30x slower than 1; alone, 1
    # thread is only ~2x slower. The lock keeps concurrent calls from restoring a stale count.
    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def make_digits(n: int, *, seed: int = 0, size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (images, labels): images float32 (n, 1, size, size) in [-1, 1] (background -1, ink +1), labels int64 (n,) in 0..9, balanced classes."""
    if n < 0 or size < 8:
        raise ValueError(f"make_digits needs n >= 0 and size >= 8, got n={n}, size={size}")
    if n == 0:
        return torch.empty(0, 1, size, size), torch.empty(0, dtype=torch.long)
    g = torch.Generator().manual_seed(seed)
    with _one_thread():
        labels = (torch.arange(n) % 10)[torch.randperm(n, generator=g)]  # balanced, shuffled
        segs, n_segs, half_width = _place(labels, g, size)
        ink = _render(segs, n_segs, half_width, size)
    return ink.mul_(2.0).sub_(1.0).view(n, 1, size, size), labels  # (n, 1, H, W)
