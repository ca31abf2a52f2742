"""StyleGAN2-style generator and discriminator, scaled down to train on a few CPU cores (28-64 px images).

Layer plan: a learned constant at start size s, then k x2 upsamplings, s * 2**k == H, 4 <= s <= 8
(the same plan as dcgan): 28 -> 7 (7, 14, 28), 32 -> 8 (8, 16, 32), 64 -> 8 (8, 16, 32, 64).
Channels at resolution level i (0 = s) are `width * 2**(k - i)`, capped at `width * 8`.

Style inputs (num_ws = 2k + 2), coarse to fine, as in StyleGAN2:
  ws[0]      the 3x3 conv at s;
  ws[2i-1]   ToRGB at level i-1 and the upsampling 3x3 conv of level i   (i = 1..k);
  ws[2i]     the second 3x3 conv of level i;
  ws[2k+1]   the last ToRGB (full resolution).
So for 28 px: 0 -> 7 px, 1-2 -> 14 px, 3-4 -> 28 px, 5 -> 28 px colour. `G.ws_res[j]` is the resolution index j drives.

Choices:
  - Equalised learning rate everywhere (weights stored ~N(0, 1), scaled by 1/sqrt(fan_in) at run time), so Adam
    moves every layer at the same relative speed; the mapping network has StyleGAN's lr multiplier 0.01
    (`mapping_lr_mul`): w drifts slowly, which keeps w_avg and truncation meaningful. Relative steps are small, so
    these nets want a larger lr than dcgan: Adam lr 1e-3, betas (0, 0.99) trained well on digits.
  - Tanh on the summed ToRGB skips (`out_tanh=True`): with the unbounded StyleGAN2 output, these small nets pushed
    pixels to +-5 and collapsed to one digit within 1000 steps on digits; with Tanh they stay diverse.
  - Upsampling: nearest x2 then a 3x3 modulated conv, computed exactly as a sub-pixel conv at low resolution;
    the RGB skips use bilinear upsampling. Convs run in channels-last memory, 1x1 convs as matmuls (CPU speed).
  - D's minibatch-stddev groups consecutive samples, so a joint D pass on cat([real, fake]) never mixes real and
    fake in a group when the group size (4) divides the batch.
  - Only raw Parameters (no nn.Conv2d / nn.Embedding), so gan.family.init_weights leaves this init alone.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

Tensor = torch.Tensor
NOISE_MODES = ("random", "const", "none")
SQRT2 = math.sqrt(2.0)  # StyleGAN's gain after leaky ReLU(0.2), which keeps unit variance


def _plan(size: int) -> tuple[int, int]:
    """(start size s, upsamplings k) with s * 2**k == size and 4 <= s <= 8; ValueError when none exists."""
    s, k = size, 0
    while s > 8 and s % 2 == 0:
        s, k = s // 2, k + 1
    if not 4 <= s <= 8:
        raise ValueError(f"StyleGAN needs a square size s * 2**k with 4 <= s <= 8 (e.g. 28, 32, 64), got {size}")
    return s, k


def _channels(width: int, k: int, cap: int) -> list[int]:
    """Channels per resolution level, coarse to fine: width * 2**(k - i), capped at cap * width."""
    return [width * min(2 ** (k - i), cap) for i in range(k + 1)]


def _pixel_norm(x: Tensor) -> Tensor:
    """Scale each row to unit mean square."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


def _up(x: Tensor) -> Tensor:
    """x2 bilinear upsampling, (B, C, H, W) -> (B, C, 2H, 2W)."""
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def _conv(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """conv2d with 'same' padding, fast on CPU: 1x1 as a matmul over channels, k x k in channels-last memory."""
    c_out, c_in, kh, _ = weight.shape
    if kh == 1:  # oneDNN's 1x1 convolutions (above all from 1 channel) are far slower than a matmul
        return F.linear(x.permute(0, 2, 3, 1), weight.view(c_out, c_in), bias).permute(0, 3, 1, 2)
    return F.conv2d(x.contiguous(memory_format=torch.channels_last), weight, bias, padding=kh // 2)


def _nearest_phases() -> Tensor:
    """(2, 3, 3) 0/1 map [phase, low-res tap, 3x3 tap]: which taps of a 3x3 kernel on a nearest-x2 image hit which
    low-resolution pixel (offsets -1, 0, +1), for even (phase 0) and odd (phase 1) output rows."""
    return torch.tensor([[[1.0, 0, 0], [0, 1, 1], [0, 0, 0]], [[0, 0, 0], [1, 1, 0], [0, 0, 1]]])


def _up_conv(x: Tensor, weight: Tensor, phases: Tensor) -> Tensor:
    """Exactly conv3x3(nearest_upsample_x2(x)), computed as a sub-pixel conv at low resolution (no upsampled copy,
    ~2x faster on CPU): one 3x3 kernel per output phase, then pixel shuffle. (B, C_in, H, W) -> (B, C_out, 2H, 2W)."""
    c_out, c_in = weight.shape[:2]
    k = torch.einsum("aph,bqv,oihv->oabipq", phases, phases, weight).reshape(4 * c_out, c_in, 3, 3)
    return F.pixel_shuffle(_conv(x, k), 2)  # (B, 4 C_out, H, W) -> (B, C_out, 2H, 2W)


class EqLinear(nn.Module):
    """Linear layer with equalised learning rate (weight ~N(0, 1/lr_mul^2), scaled by lr_mul/sqrt(fan_in))."""

    def __init__(self, n_in: int, n_out: int, *, bias_init: float = 0.0, lr_mul: float = 1.0, act: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((n_out,), float(bias_init) / lr_mul))
        gain = SQRT2 if act else 1.0  # lrelu(a) * sqrt(2) == lrelu(sqrt(2) * a): folded into the weights
        self.w_gain, self.b_gain, self.act = gain * lr_mul / math.sqrt(n_in), gain * lr_mul, act

    def forward(self, x: Tensor) -> Tensor:
        out = F.linear(x, self.weight * self.w_gain, self.bias * self.b_gain)
        return F.leaky_relu(out, 0.2) if self.act else out


class EqConv(nn.Module):
    """Plain conv2d ('same' padding) with equalised learning rate, optional bias, leaky ReLU and output scale."""

    def __init__(self, c_in: int, c_out: int, kernel: int, *, bias: bool = True, act: bool = True,
                 scale: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.b_gain = scale * (SQRT2 if act else 1.0)  # output scale and lrelu gain folded into weight and bias
        self.w_gain, self.act = self.b_gain / math.sqrt(c_in * kernel * kernel), act

    def forward(self, x: Tensor) -> Tensor:
        out = _conv(x, self.weight * self.w_gain, None if self.bias is None else self.bias * self.b_gain)
        return F.leaky_relu(out, 0.2) if self.act else out


class ModConv(nn.Module):
    """Modulated conv: inputs scaled by the style, one shared conv2d over the batch, per-sample demodulation.

    Equivalent to StyleGAN2's per-sample weights w'_ijk = s_i * w_ijk / sigma_j without a grouped conv.
    With `up`, the input is upsampled x2 (nearest) first; `res` (output size) enables noise and a const buffer.
    With `rgb`, it is a ToRGB layer: 1x1, modulated but not demodulated, no noise, no activation.
    """

    def __init__(self, c_in: int, c_out: int, w_dim: int, *, up: bool = False, res: int | None = None,
                 rgb: bool = False, init_std: float = 1.0) -> None:
        super().__init__()
        kernel = 1 if rgb else 3
        self.affine = EqLinear(w_dim, c_in, bias_init=1.0)  # styles start near 1
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel) * init_std)
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.gain = 1.0 / math.sqrt(c_in * kernel * kernel)
        self.up, self.rgb = up, rgb
        self.noise_strength = nn.Parameter(torch.zeros(())) if res and not rgb else None
        if self.noise_strength is not None:
            self.register_buffer("noise_const", torch.randn(1, 1, res, res))
        if up:
            self.register_buffer("phases", _nearest_phases(), persistent=False)

    def forward(self, x: Tensor, w: Tensor, noise_mode: str = "none", noise_generator: torch.Generator | None = None) -> Tensor:
        s = self.affine(w)  # (B, C_in)
        weight = self.weight * self.gain  # (C_out, C_in, k, k)
        if self.rgb:  # ToRGB: per-sample 1x1 weights as one batched matmul; no demodulation, noise or activation
            b, c_in, h, wd = x.shape
            w_b = weight.view(1, -1, c_in) * s[:, None, :]  # (B, C_out, C_in)
            out = torch.bmm(x.permute(0, 2, 3, 1).reshape(b, h * wd, c_in), w_b.transpose(1, 2))  # (B, HW, C_out)
            return out.view(b, h, wd, -1).permute(0, 3, 1, 2) + self.bias[None, :, None, None]  # (B, C_out, H, W)
        x = x * s[:, :, None, None]  # per-channel scaling commutes with upsampling: do it at low resolution
        x = _up_conv(x, weight, self.phases) if self.up else _conv(x, weight)  # (B, C_out, H, W) or (.., 2H, 2W)
        # demodulate; the sqrt(2) gain of the leaky ReLU is folded into d, the bias and the noise strength
        d = torch.rsqrt(s.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8) * SQRT2  # (B, C_out)
        x = torch.addcmul((self.bias * SQRT2)[None, :, None, None], x, d[:, :, None, None])
        if self.noise_strength is not None and noise_mode != "none":
            if noise_mode == "const":
                noise = self.noise_const
            else:
                b, _, h, wd = x.shape
                g_dev = noise_generator.device if noise_generator is not None else x.device
                noise = torch.randn(b, 1, h, wd, generator=noise_generator, device=g_dev, dtype=x.dtype).to(x.device)
            x = x + noise * (self.noise_strength * SQRT2)
        return F.leaky_relu(x, 0.2)


class StyleGenerator(nn.Module):
    """StyleGAN2-style G: mapping z -> w, constant input, modulated convs with noise, ToRGB skips."""

    def __init__(self, cfg: Any, *, mapping_lr_mul: float = 0.01, max_channels_mult: int = 8,
                 out_tanh: bool = True) -> None:
        super().__init__()
        self.cfg = cfg
        c, h, wd = cfg.data_shape
        if h != wd:
            raise ValueError(f"StyleGAN needs square images, got {h}x{wd}")
        n_map = int(getattr(cfg, "mapping_layers", 2))
        if n_map < 1:
            raise ValueError(f"mapping_layers must be >= 1, got {n_map}")
        self.z_dim = int(cfg.z_dim)
        self.w_dim = int(getattr(cfg, "w_dim", 0)) or self.z_dim
        self.n_classes = int(cfg.n_classes)
        self.start, self.k = _plan(h)
        ch = _channels(int(cfg.width), self.k, max_channels_mult)
        self.num_ws = 2 * self.k + 2
        self.out_tanh = out_tanh

        # mapping: pixel-normed z (+ pixel-normed class embedding) -> mapping_layers x (linear, lrelu)
        self.embed = nn.Parameter(torch.randn(self.n_classes, self.z_dim)) if self.n_classes else None
        dims = [self.z_dim * (2 if self.n_classes else 1)] + [self.w_dim] * n_map
        self.mapping_net = nn.Sequential(*[EqLinear(a, b, lr_mul=mapping_lr_mul, act=True)
                                           for a, b in zip(dims[:-1], dims[1:])])
        self.register_buffer("w_avg", torch.zeros(self.w_dim))
        self.register_buffer("w_avg_count", torch.zeros((), dtype=torch.long))  # 0: next update copies the mean

        # synthesis: convs[0] at s; convs[2i-1] (up) and convs[2i] at level i; torgbs[i] at level i
        s = self.start
        self.const = nn.Parameter(torch.randn(ch[0], s, s))
        convs = [ModConv(ch[0], ch[0], self.w_dim, res=s)]
        for i in range(1, self.k + 1):
            r = s * 2 ** i
            convs += [ModConv(ch[i - 1], ch[i], self.w_dim, up=True, res=r), ModConv(ch[i], ch[i], self.w_dim, res=r)]
        self.convs = nn.ModuleList(convs)
        # ToRGB: 1x1, no demodulation; a small init (std ~0.2 summed over levels) keeps first images in [-1, 1]
        self.torgbs = nn.ModuleList(ModConv(ch[i], c, self.w_dim, rgb=True, init_std=0.2 / math.sqrt(self.k + 1))
                                    for i in range(self.k + 1))
        self.ws_res = tuple([s] + [s * 2 ** ((j + 1) // 2) for j in range(1, 2 * self.k + 1)] + [h])

    def mapping(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """z (B, z_dim) [+ labels y (B,)] -> w (B, w_dim)."""
        x = _pixel_norm(z)
        if self.embed is not None:
            if y is None:
                raise ValueError("this model is class-conditional: pass class labels y")
            x = torch.cat([x, _pixel_norm(self.embed[y])], dim=1)  # (B, 2 * z_dim)
        return self.mapping_net(x)  # (B, w_dim)

    def _noise_mode(self, noise_mode: str | None) -> str:
        mode = noise_mode or ("random" if self.training else "const")
        if mode not in NOISE_MODES:
            raise ValueError(f"unknown noise_mode {mode!r}; choose from {', '.join(NOISE_MODES)}")
        return mode

    def synthesis(self, ws: Tensor, *, noise_mode: str | None = None,
                  noise_generator: torch.Generator | None = None) -> Tensor:
        """ws (B, num_ws, w_dim) -> images (B, C, H, W); noise 'random' in train mode, 'const' in eval by default."""
        if ws.ndim != 3 or ws.shape[1] != self.num_ws:
            raise ValueError(f"ws must be (B, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        nm, gen = self._noise_mode(noise_mode), noise_generator
        x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)  # (B, C0, s, s)
        x = self.convs[0](x, ws[:, 0], nm, gen)
        rgb = self.torgbs[0](x, ws[:, 1])  # (B, C, s, s)
        for i in range(1, self.k + 1):
            x = self.convs[2 * i - 1](x, ws[:, 2 * i - 1], nm, gen)  # (B, C_i, 2H, 2W)
            x = self.convs[2 * i](x, ws[:, 2 * i], nm, gen)
            rgb = _up(rgb) + self.torgbs[i](x, ws[:, 2 * i + 1])  # (B, C, 2H, 2W)
        return torch.tanh(rgb) if self.out_tanh else rgb

    def truncate(self, w: Tensor, psi: float) -> Tensor:
        """w_avg + psi * (w - w_avg); w unchanged (bit for bit) at psi = 1."""
        return w if psi == 1.0 else torch.lerp(self.w_avg.to(w.dtype), w, psi)

    def forward(self, z: Tensor, y: Tensor | None = None, *, psi: float = 1.0, noise_mode: str | None = None,
                noise_generator: torch.Generator | None = None) -> Tensor:
        ws = self.truncate(self.mapping(z, y), psi).unsqueeze(1).expand(-1, self.num_ws, -1)  # (B, num_ws, w_dim)
        return self.synthesis(ws, noise_mode=noise_mode, noise_generator=noise_generator)

    @torch.no_grad()
    def update_w_avg(self, w: Tensor, *, beta: float = 0.995) -> None:
        """w_avg <- beta * w_avg + (1 - beta) * mean(w); the first call copies the mean. w: (B, w_dim) or (B, n, w_dim)."""
        mean = w.detach().reshape(-1, self.w_dim).mean(0).to(self.w_avg.dtype)
        first = self.w_avg_count == 0  # () on the device: no host read, so a GPU step never waits here
        self.w_avg.copy_(torch.where(first, mean, torch.lerp(mean, self.w_avg, beta)))
        self.w_avg_count += 1

    def mix(self, ws_a: Tensor, ws_b: Tensor, crossover: int | Tensor) -> Tensor:
        """Style inputs [0, crossover) from a, the rest from b; ws (B, num_ws, w_dim) or w (B, w_dim); crossover int or (B,)."""
        a = ws_a if ws_a.ndim == 3 else ws_a.unsqueeze(1).expand(-1, self.num_ws, -1)
        b = ws_b if ws_b.ndim == 3 else ws_b.unsqueeze(1).expand(-1, self.num_ws, -1)
        idx = torch.arange(self.num_ws, device=a.device)
        cut = torch.as_tensor(crossover, device=a.device).reshape(-1, 1)  # (B or 1, 1)
        return torch.where((idx[None, :] < cut)[:, :, None], a, b)  # (B, num_ws, w_dim)

    def mixing_regularised_ws(self, z: Tensor, y: Tensor | None = None, *, prob: float = 0.9,
                              generator: torch.Generator | None = None) -> Tensor:
        """Training ws (B, num_ws, w_dim): a fraction `prob` switches from w(z) to w(z2) at a random index in [1, num_ws)."""
        n = z.shape[0]
        g_dev = generator.device if generator is not None else z.device
        z2 = torch.randn(z.shape, generator=generator, device=g_dev, dtype=z.dtype).to(z.device)
        w = self.mapping(torch.cat([z, z2]), None if y is None else torch.cat([y, y]))  # (2B, w_dim), one pass
        cut = torch.randint(1, self.num_ws, (n,), generator=generator, device=g_dev)
        keep = torch.rand(n, generator=generator, device=g_dev) >= prob
        cut = torch.where(keep, torch.full_like(cut, self.num_ws), cut).to(z.device)  # (B,)
        return self.mix(w[:n], w[n:], cut)


def _minibatch_stddev(x: Tensor, group: int) -> Tensor:
    """Append the mean over features of the std within groups of consecutive samples, (B, C, H, W) -> (B, C+1, H, W).

    Consecutive grouping keeps groups within the real or the fake half of a joint D pass when group | B.
    """
    n, c, h, w = x.shape
    g = math.gcd(n, group)
    y = x.reshape(n // g, g, c, h, w)
    std = (y - y.mean(dim=1, keepdim=True)).square().mean(dim=1).add(1e-8).sqrt()  # (B/g, C, H, W)
    std = std.mean(dim=(1, 2, 3)).repeat_interleave(g)  # (B,)
    return torch.cat([x, std.view(n, 1, 1, 1).expand(n, 1, h, w)], dim=1)


class DBlock(nn.Module):
    """Residual D block: 3x3 conv, avg-pool /2, 3x3 conv; skip = 1x1 conv of the pooled input; sum / sqrt(2)."""

    def __init__(self, c_in: int, c_out: int, *, residual: bool = True) -> None:
        super().__init__()
        scale = 1.0 / SQRT2 if residual else 1.0  # (main + skip) / sqrt(2), folded into the last layers
        self.conv0, self.conv1 = EqConv(c_in, c_in, 3), EqConv(c_in, c_out, 3, scale=scale)
        self.skip = EqConv(c_in, c_out, 1, bias=False, act=False, scale=scale) if residual else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.avg_pool2d(self.conv0(x), 2))  # (B, C_out, H/2, W/2)
        if self.skip is None:
            return h
        return h + self.skip(F.avg_pool2d(x, 2))


class StyleDiscriminator(nn.Module):
    """StyleGAN2-style residual D: fromRGB, blocks that halve the size, minibatch stddev, conv + linear -> logit (B,)."""

    def __init__(self, cfg: Any, *, mbstd_group: int = 4, residual: bool = True, max_channels_mult: int = 8) -> None:
        super().__init__()
        self.cfg = cfg
        c, h, wd = cfg.data_shape
        if h != wd:
            raise ValueError(f"StyleGAN needs square images, got {h}x{wd}")
        self.start, self.k = _plan(h)
        ch = _channels(int(cfg.width), self.k, max_channels_mult)
        self.mbstd_group = mbstd_group
        self.from_rgb = EqConv(c, ch[self.k], 1)
        self.blocks = nn.Sequential(*[DBlock(ch[i], ch[i - 1], residual=residual) for i in range(self.k, 0, -1)])
        self.conv = EqConv(ch[0] + 1, ch[0], 3)
        self.fc = EqLinear(ch[0] * self.start ** 2, ch[0], act=True)
        self.out = EqLinear(ch[0], 1)
        self.n_classes = int(cfg.n_classes)
        self.embed = nn.Parameter(torch.randn(self.n_classes, ch[0])) if self.n_classes else None

    def features(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C_0) features before the logit."""
        h = self.blocks(self.from_rgb(x))  # (B, C_0, s, s)
        h = self.conv(_minibatch_stddev(h, self.mbstd_group))  # (B, C_0, s, s)
        return self.fc(h.flatten(1))  # (B, C_0)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.features(x)
        logit = self.out(h).squeeze(1)  # (B,)
        if self.embed is None:
            return logit
        if y is None:
            raise ValueError("this model is class-conditional: pass class labels y")
        return logit + (self.embed[y] * h).sum(dim=1) / math.sqrt(h.shape[1])  # projection term


__all__ = ["StyleGenerator", "StyleDiscriminator", "ModConv", "EqLinear", "EqConv", "NOISE_MODES"]
