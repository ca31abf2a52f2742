"""The `colordigits` image domain: grey digits rendered over procedural colour textures, like MNIST-M.

Every image gets its own texture: a mix of smooth value noise (three scales), stripes at a random angle,
frequency and sharpness, a linear colour gradient, rotated checkers and rings around a random centre, one of
them dominant. Two mixes of these fields pick colours from a random three-colour palette (hues analogous or
contrasting). The stroke then either recolours the texture beneath it (one contrasting colour) or inverts it
(|texture - ink|, as MNIST-M does), chosen per image.

Readability is kept by luminance bands: each image's texture is either dark (luma 0.04-0.36) or light
(0.64-0.96), and the stroke sits on the other side (a recoloured stroke has luma 0.78-1 over dark textures and
0-0.22 over light ones; an inverted stroke has luma 1 - L). So ink and the texture under it differ in luma by
at least 0.28 everywhere, while hue, saturation and pattern vary freely.
All randomness comes from one ``torch.Generator`` seeded with ``seed``; how many numbers are drawn does not
depend on the digits' content, so colourising a blank image with the same seed gives the texture alone.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .digits import _one_thread, make_digits

__all__ = ["colorize", "make_colordigits"]

Tensor = torch.Tensor
_LUMA = torch.tensor([0.299, 0.587, 0.114])
_NOISE_GRIDS = (3, 5, 9)  # value-noise lattice sizes: large blobs, medium, fine mottling
_N_FIELDS = 5  # noise, stripes, gradient, checkers, rings
_CHUNK = 2048  # images rendered at a time (bounds memory at ~100 MB for 28 px)


def _hsv_to_rgb(h: Tensor, s: Tensor, v: Tensor) -> Tensor:
    """HSV in [0, 1] of shape (...,) each -> RGB (..., 3)."""
    k = (torch.stack([h, h, h], -1) * 6 + torch.tensor([5.0, 3.0, 1.0])) % 6  # (..., 3)
    f = torch.minimum(k, 4 - k).clamp(0, 1)
    return v.unsqueeze(-1) * (1 - s.unsqueeze(-1) * f)


def _to_luma(rgb: Tensor, target: Tensor) -> Tensor:
    """Move colours (..., 3) to luma ``target`` (...,): darken by scaling, lighten by scaling toward white."""
    luma = (rgb * _LUMA).sum(-1).clamp(1e-3, 1 - 1e-3)
    dark = rgb * (target / luma).unsqueeze(-1)
    light = 1 - (1 - rgb) * ((1 - target) / (1 - luma)).unsqueeze(-1)
    # clamping only moves a colour further into its band (darker for dark targets, lighter for light ones)
    return torch.where((target <= luma).unsqueeze(-1), dark, light).clamp(0, 1)


def _rand(g: torch.Generator, n: int, lo: float, hi: float, *k: int) -> Tensor:
    """Uniform samples in [lo, hi) of shape (n, *k)."""
    return lo + (hi - lo) * torch.rand(n, *k, generator=g)


def _draw_params(n: int, g: torch.Generator) -> dict[str, Tensor]:
    """Every random number one image needs, drawn up front in a fixed order (independent of content)."""
    p: dict[str, Tensor] = {}
    p["grids"] = torch.cat([torch.rand(n, s * s, generator=g) for s in _NOISE_GRIDS], 1)  # (n, 115)
    p["grid_w"] = torch.rand(n, len(_NOISE_GRIDS), generator=g)
    p["stripe"] = torch.cat([_rand(g, n, 0, math.pi, 1), _rand(g, n, 1.0, 4.5, 1),  # angle, cycles
                             _rand(g, n, 0, 2 * math.pi, 1), _rand(g, n, 0.3, 4.0, 1)], 1)  # phase, hardness
    p["grad_angle"] = _rand(g, n, 0, 2 * math.pi, 1)
    p["checker"] = torch.cat([_rand(g, n, 0, math.pi / 2, 1), _rand(g, n, 1.0, 3.5, 1),
                              _rand(g, n, 0, 2 * math.pi, 2), _rand(g, n, 0.5, 4.0, 1)], 1)
    p["rings"] = torch.cat([_rand(g, n, -1, 1, 2), _rand(g, n, 1.0, 4.0, 1), _rand(g, n, 0, 2 * math.pi, 1)], 1)
    primary = torch.randint(0, _N_FIELDS, (n,), generator=g)
    mix_u = 0.3 * torch.rand(n, _N_FIELDS, generator=g) + F.one_hot(primary, _N_FIELDS)  # one dominant field
    mix_v = torch.rand(n, _N_FIELDS, generator=g) ** 2
    p["mix"] = torch.stack([mix_u, mix_v], 1)  # (n, 2, K)
    p["v_amount"] = _rand(g, n, 0.0, 0.8)
    # palette: a base hue plus two offsets (small = analogous, near 0.5 = complementary)
    hue = (_rand(g, n, 0, 1, 1) + torch.cat([torch.zeros(n, 1), _rand(g, n, -0.5, 0.5, 2)], 1)) % 1  # (n, 3)
    sat = _rand(g, n, 0.35, 1.0, 3)
    dark = torch.rand(n, generator=g) < 0.5  # texture polarity
    # lumas across the band: colour 0 near its dark end, colour 1 near its light end, colour 2 anywhere
    band = torch.cat([_rand(g, n, 0.04, 0.14, 1), _rand(g, n, 0.26, 0.36, 1), _rand(g, n, 0.04, 0.36, 1)], 1)
    band = torch.where(torch.rand(n, 1, generator=g) < 0.5, band, band[:, [1, 0, 2]])  # either way round
    p["palette"] = _to_luma(_hsv_to_rgb(hue, sat, torch.ones(n, 3)), torch.where(dark[:, None], band, 1 - band))
    stroke_l = _rand(g, n, 0.78, 1.0)
    stroke = _hsv_to_rgb(_rand(g, n, 0, 1), _rand(g, n, 0, 1), torch.ones(n))
    p["stroke"] = _to_luma(stroke, torch.where(dark, stroke_l, 1 - stroke_l))  # (n, 3), opposite band
    p["invert"] = torch.rand(n, generator=g) < 0.5  # |texture - ink| (MNIST-M) instead of recolouring
    return p


def _sharp_wave(t: Tensor, hardness: Tensor) -> Tensor:
    """sin(t) squashed towards a square wave by ``hardness``, mapped to [0, 1]."""
    return 0.5 + 0.5 * torch.tanh(hardness * torch.sin(t)) / torch.tanh(hardness)


def _minmax(f: Tensor) -> Tensor:
    """Rescale each image of (n, 1, H, W) to span [0, 1]."""
    lo, hi = f.amin((2, 3), keepdim=True), f.amax((2, 3), keepdim=True)
    return (f - lo) / (hi - lo).clamp_min(1e-6)


def _textures(p: dict[str, Tensor], h: int, w: int) -> Tensor:
    """Colour textures (n, 3, H, W) in [0, 1] from drawn parameters."""
    n = p["palette"].shape[0]
    ys = torch.linspace(-1, 1, h).view(1, 1, h, 1)
    xs = torch.linspace(-1, 1, w).view(1, 1, 1, w)
    col = lambda t, i: t[:, i].view(n, 1, 1, 1)  # noqa: E731  (n,) column -> broadcastable (n, 1, 1, 1)

    noise, off = torch.zeros(n, 1, h, w), 0
    for j, s in enumerate(_NOISE_GRIDS):
        lattice = p["grids"][:, off:off + s * s].view(n, 1, s, s)
        off += s * s
        noise += col(p["grid_w"], j) * F.interpolate(lattice, size=(h, w), mode="bicubic", align_corners=True)
    st = p["stripe"]
    along = xs * torch.cos(col(st, 0)) + ys * torch.sin(col(st, 0))  # (n, 1, H, W)
    stripes = _sharp_wave(math.pi * col(st, 1) * along + col(st, 2), col(st, 3))
    ga = p["grad_angle"]
    gradient = xs * torch.cos(col(ga, 0)) + ys * torch.sin(col(ga, 0))
    ch = p["checker"]
    c, s_ = torch.cos(col(ch, 0)), torch.sin(col(ch, 0))
    u_ = math.pi * col(ch, 1) * (xs * c + ys * s_) + col(ch, 2)
    v_ = math.pi * col(ch, 1) * (ys * c - xs * s_) + col(ch, 3)
    checkers = 0.5 + 0.5 * torch.tanh(col(ch, 4) * torch.sin(u_) * torch.sin(v_)) / torch.tanh(col(ch, 4))
    ri = p["rings"]
    radius = ((xs - col(ri, 0)) ** 2 + (ys - col(ri, 1)) ** 2).sqrt()
    rings = 0.5 + 0.5 * torch.sin(math.pi * col(ri, 2) * radius + col(ri, 3))
    fields = torch.cat([_minmax(f) for f in (noise, stripes, gradient, checkers, rings)], 1)  # (n, K, H, W)

    mix = p["mix"] / p["mix"].sum(-1, keepdim=True)  # (n, 2, K)
    uv = torch.einsum("nmk,nkhw->nmhw", mix, fields)  # (n, 2, H, W)
    u, v = _minmax(uv[:, :1]), _minmax(uv[:, 1:])
    pal = p["palette"].view(n, 3, 3, 1, 1)  # (n, colour, rgb, 1, 1)
    tex = pal[:, 0] + u * (pal[:, 1] - pal[:, 0])  # (n, 3, H, W)
    return tex + (p["v_amount"].view(n, 1, 1, 1) * v) * (pal[:, 2] - tex)


def colorize(digits: Tensor, *, seed: int = 0, size: int | None = None) -> Tensor:
    """Render grey digits (N, 1, H, W) in [-1, 1] over per-image colour textures: (N, 3, H, W) float32 in [-1, 1]."""
    if digits.dim() != 4 or digits.shape[1] != 1:
        raise ValueError(f"colorize expects grey images (N, 1, H, W), got {tuple(digits.shape)}")
    x = digits.detach().float().cpu()
    if size is not None and size != x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    n, _, h, w = x.shape
    g = torch.Generator().manual_seed(seed)
    out = torch.empty(n, 3, h, w)
    with _one_thread():
        p = _draw_params(n, g)
        for i in range(0, n, _CHUNK):
            part = {k: v[i:i + _CHUNK] for k, v in p.items()}
            tex = _textures(part, h, w)  # (B, 3, H, W) in [0, 1]
            ink = ((x[i:i + _CHUNK] + 1) / 2).clamp(0, 1)  # (B, 1, H, W), 1 on the stroke
            recolour = tex + ink * (part["stroke"].view(-1, 3, 1, 1) - tex)
            img = torch.where(part["invert"].view(-1, 1, 1, 1), (tex - ink).abs(), recolour)
            out[i:i + _CHUNK] = img.clamp(0, 1) * 2 - 1
    return out


def make_colordigits(n: int, *, seed: int = 0, size: int = 28) -> tuple[Tensor, Tensor]:
    """Return (images, labels): procedural digits colourised, float32 (n, 3, size, size) in [-1, 1], int64 (n,)."""
    x, y = make_digits(n, seed=seed, size=size)
    # a colour seed derived from `seed`, so texture draws are not the same stream as the digits' draws
    colour_seed = int(torch.randint(0, 2**62, (1,), generator=torch.Generator().manual_seed(seed)))
    return colorize(x, seed=colour_seed), y
