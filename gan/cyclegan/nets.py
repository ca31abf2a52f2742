"""CycleGAN (Zhu et al. 2017) for small images on CPU: ResNet generators, a PatchGAN discriminator, the
history pool of fakes and the generator's loss terms (the linear learning-rate decay is the trainer's lr_factor).

Sizes follow the paper's 256 px design scaled down for 28-64 px: two stride-2 downsamplings (28 -> 7),
a few residual blocks, and a PatchGAN whose receptive field (34 px at n_layers=2) covers a digit.
Upsampling is nearest-neighbour x2 + a 3x3 conv rather than the paper's transposed conv: a stride-2
transposed conv with a 3x3 kernel overlaps unevenly and paints checkerboard patterns (Odena et al. 2016),
which at 28 px are as large as a stroke. Weights start from N(0, 0.02) as in the authors' code.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import g_least_squares

Tensor = torch.Tensor
_LUMA = torch.tensor([0.299, 0.587, 0.114])

__all__ = ["ResnetGenerator", "PatchDiscriminator", "ImagePool", "init_weights",
           "match_channels", "generator_losses", "DIRECTIONS", "translate", "to_domain"]
DIRECTIONS = ("a2b", "b2a")
FILL = 0.75  # a sketch's ink box fills this share of the image (procedural digits: 21 of 28 px tall)


def init_weights(module: nn.Module, *, std: float = 0.02) -> None:
    """The paper code's init: conv weights N(0, std), norm scales N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.InstanceNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def _conv_norm_relu(c_in: int, c_out: int, k: int, *, stride: int = 1) -> list[nn.Module]:
    """Reflection-padded conv (no bias: the affine norm has one), instance norm, ReLU."""
    return [nn.ReflectionPad2d(k // 2), nn.Conv2d(c_in, c_out, k, stride=stride, bias=False),
            nn.InstanceNorm2d(c_out, affine=True), nn.ReLU(inplace=True)]


class ResidualBlock(nn.Module):
    """x + (conv3 -> IN -> ReLU -> conv3 -> IN)(x), reflection padded; shape unchanged."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv_norm_relu(channels, channels, 3),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False),
            nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's ResNet generator: 7x7 stem, two stride-2 downs, residual blocks, two x2 ups, 7x7 conv, tanh."""

    def __init__(self, in_channels: int, out_channels: int, *, width: int = 16, n_blocks: int = 3) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        w = width
        self.stem = nn.Sequential(*_conv_norm_relu(in_channels, w, 7))
        self.down1 = nn.Sequential(*_conv_norm_relu(w, 2 * w, 3, stride=2))
        self.down2 = nn.Sequential(*_conv_norm_relu(2 * w, 4 * w, 3, stride=2))
        self.blocks = nn.Sequential(*[ResidualBlock(4 * w) for _ in range(n_blocks)])
        self.up1 = nn.Sequential(*_conv_norm_relu(4 * w, 2 * w, 3))
        self.up2 = nn.Sequential(*_conv_norm_relu(2 * w, w, 3))
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(w, out_channels, 7), nn.Tanh())
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        h0 = self.stem(x)  # (B, w, H, W)
        h1 = self.down1(h0)  # (B, 2w, H/2, W/2), e.g. 28 -> 14
        h = self.blocks(self.down2(h1))  # (B, 4w, H/4, W/4), e.g. 14 -> 7
        # upsample to the encoder's own sizes, so odd sizes (e.g. 30 -> 15 -> 8) come back exactly
        h = self.up1(F.interpolate(h, size=h1.shape[-2:], mode="nearest"))  # (B, 2w, H/2, W/2)
        h = self.up2(F.interpolate(h, size=h0.shape[-2:], mode="nearest"))  # (B, w, H, W)
        return self.head(h)  # (B, out_channels, H, W) in [-1, 1]


class PatchDiscriminator(nn.Module):
    """PatchGAN: n_layers stride-2 4x4 convs, then two stride-1 4x4 convs; raw patch logits (B, 1, h, w)."""

    def __init__(self, in_channels: int, *, width: int = 16, n_layers: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, stride=2, padding=1),
                                   nn.LeakyReLU(0.2, inplace=True)]  # no norm on the first layer
        c = width
        for i in range(1, n_layers + 1):  # n_layers - 1 more stride-2 convs, then one stride-1
            c_out = width * min(2 ** i, 8)
            layers += [nn.Conv2d(c, c_out, 4, stride=2 if i < n_layers else 1, padding=1, bias=False),
                       nn.InstanceNorm2d(c_out, affine=True), nn.LeakyReLU(0.2, inplace=True)]
            c = c_out
        layers.append(nn.Conv2d(c, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        self.receptive_field = self.receptive_field_of(n_layers)
        init_weights(self)

    @staticmethod
    def receptive_field_of(n_layers: int) -> int:
        """Pixels one patch logit sees: 16 for n_layers=1, 34 for 2, 70 for 3 (the paper's 70x70 PatchGAN)."""
        rf = 1
        for stride in [1, 1] + [2] * n_layers:  # from the output back to the input, 4x4 kernels
            rf = (rf - 1) * stride + 4
        return rf

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # (B, 1, h, w): 28 px -> 5x5, 32 -> 6x6, 64 -> 14x14 at n_layers=2


class ImagePool:
    """The paper's history of generated images: D sees fakes from past generators as well (Shrivastava et al.)."""

    def __init__(self, size: int = 50) -> None:
        self.size = size
        self.count = 0  # images stored so far (<= size)
        self.images: Tensor | None = None  # (size, C, H, W) buffer, allocated on the first query

    def query(self, images: Tensor, generator: torch.Generator) -> Tensor:
        """For each image: store and return it while there is room; then with p = 1/2 swap it for a stored one."""
        images = images.detach()
        if self.size <= 0:
            return images
        if self.images is None:
            self.images = images.new_empty(self.size, *images.shape[1:])
        elif self.images.device != images.device or self.images.dtype != images.dtype:
            self.images = self.images.to(images)
        out = []
        for img in images:
            if self.count < self.size:
                self.images[self.count] = img
                self.count += 1
                out.append(img)
            elif float(torch.rand((), generator=generator)) < 0.5:
                i = int(torch.randint(0, self.size, (), generator=generator))
                out.append(self.images[i].clone())
                self.images[i] = img
            else:
                out.append(img)
        return torch.stack(out)  # (B, C, H, W), detached

    def state_dict(self) -> dict[str, int | Tensor | None]:
        """The stored images (count, C, H, W) on CPU and the pool size: enough to resume exactly."""
        stored = None if self.images is None else self.images[:self.count].detach().cpu().clone()
        return {"size": self.size, "count": self.count, "images": stored}

    def load_state_dict(self, state: dict[str, int | Tensor | None]) -> None:
        """Restore what state_dict returned."""
        self.size, self.count = int(state["size"]), int(state["count"])  # type: ignore[arg-type]
        stored = state["images"]
        if stored is None:
            self.images = None
            return
        assert isinstance(stored, Tensor) and stored.shape[0] == self.count
        self.images = stored.new_empty(self.size, *stored.shape[1:])
        self.images[:self.count] = stored


def match_channels(x: Tensor, channels: int) -> Tensor:
    """Grey <-> colour for the identity loss: (B, 1, H, W) repeated to 3 channels, or 3 averaged to 1."""
    if x.shape[1] == channels:
        return x
    if x.shape[1] == 1:
        return x.expand(-1, channels, -1, -1)  # (B, channels, H, W)
    if channels == 1:
        return x.mean(1, keepdim=True)  # (B, 1, H, W)
    raise ValueError(f"cannot match {x.shape[1]} channels to {channels}")


def generator_losses(
    g_ab: nn.Module, g_ba: nn.Module, d_a: nn.Module, d_b: nn.Module, real_a: Tensor, real_b: Tensor, *,
    lambda_cycle: float = 10.0, lambda_identity: float = 0.5, g_loss: Callable[[Tensor], Tensor] = g_least_squares,
) -> tuple[Tensor, dict[str, float], Tensor, Tensor]:
    """Both generators' loss: adversarial + lambda_cycle * (L1 cycle + lambda_identity * L1 identity).

    Returns (total loss, its parts as floats, fake_a, fake_b); the fakes feed the discriminators' step.
    The identity term feeds each generator an image of its output domain (channels matched, see
    `match_channels`) and asks for that image back; with lambda_identity = 0 it is skipped.
    """
    fake_b = g_ab(real_a)  # (B, C_b, H, W)
    fake_a = g_ba(real_b)  # (B, C_a, H, W)
    adv = g_loss(d_b(fake_b)) + g_loss(d_a(fake_a))
    cycle = F.l1_loss(g_ba(fake_b), real_a) + F.l1_loss(g_ab(fake_a), real_b)
    total = adv + lambda_cycle * cycle
    parts = {"adv": adv.item(), "cycle": cycle.item()}
    if lambda_identity > 0:
        identity = (F.l1_loss(g_ab(match_channels(real_b, real_a.shape[1])), real_b)
                    + F.l1_loss(g_ba(match_channels(real_a, real_b.shape[1])), real_a))
        total = total + lambda_cycle * lambda_identity * identity
        parts["identity"] = identity.item()
    parts["total"] = total.item()
    return total, parts, fake_a, fake_b


@torch.no_grad()
def translate(nets: dict[str, nn.Module], x: Tensor, direction: str, *, batch: int = 256) -> tuple[Tensor, Tensor]:
    """Translate source-domain images x (N, C_src, H, W) in [-1, 1] with CycleGAN's nets {"G_ab", "G_ba"}:
    direction "a2b" gives (G_ab(x), G_ba(G_ab(x))), "b2a" (G_ba(x), G_ab(G_ba(x))), as CPU float32.

    The nets have no batch statistics (instance norm), so their train/eval mode is left as it is: frozen copies
    may be used from several threads at once."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'a2b' or 'b2a', got {direction!r}")
    fwd, back = (nets["G_ab"], nets["G_ba"]) if direction == "a2b" else (nets["G_ba"], nets["G_ab"])
    if x.dim() != 4 or x.shape[1] != fwd.in_channels:
        src = "A" if direction == "a2b" else "B"
        raise ValueError(f"{direction} needs domain {src} images of shape (N, {fwd.in_channels}, H, W), got "
                         f"{tuple(x.shape)}; convert them with gan.cyclegan.nets.to_domain")
    dev = next(fwd.parameters()).device
    ys, recs = [], []
    for i in range(0, x.shape[0], batch):
        y = fwd(x[i:i + batch].to(dev).float())  # (b, C_dst, H, W)
        ys.append(y.float().cpu())
        recs.append(back(y).float().cpu())  # (b, C_src, H, W)
    if not ys:
        return x.new_empty(0, fwd.out_channels, *x.shape[2:]), x.new_empty(0, *x.shape[1:])
    return torch.cat(ys), torch.cat(recs)


def _as_unit_tensor(image: object) -> Tensor:
    """A PIL image, numpy array (H, W), (H, W, 3) or (H, W, 4) (uint8, or float in [0, 1]) or tensor (C, H, W) /
    (N, C, H, W) in [-1, 1] -> (N, C, H, W) float in [0, 1]; transparency is composited over white."""
    if isinstance(image, Tensor):
        t = image.detach().float().cpu()
        t = t.unsqueeze(0) if t.dim() == 3 else t
        if t.dim() != 4:
            raise ValueError(f"an image tensor must be (C, H, W) or (N, C, H, W), got {tuple(image.shape)}")
        return ((t + 1) / 2).clamp(0, 1)
    import numpy as np

    if hasattr(image, "convert") and hasattr(image, "mode"):  # PIL
        image = np.asarray(image.convert("RGBA"))
    a = np.asarray(image)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)) or a.size == 0:
        raise ValueError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    t = torch.from_numpy(a.astype(np.float32))
    if a.dtype == np.uint8 or float(t.max()) > 1.0:
        t = t / 255.0
    t = t.unsqueeze(-1) if t.dim() == 2 else t
    if t.shape[-1] == 4:  # over white, as a sketch on paper
        t = t[..., :3] * t[..., 3:] + (1 - t[..., 3:])
    return t.permute(2, 0, 1).unsqueeze(0).clamp(0, 1)  # (1, C, H, W)


def _border(x: Tensor) -> Tensor:
    """The border pixels of (N, C, H, W), as (N, C, K)."""
    return torch.cat([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], -1)


def _crop_to_ink(x: Tensor, bg: float, fill: float) -> Tensor:
    """(1, C, H, W) on a plain background `bg` -> the ink's bounding box, centred on a square of that background
    whose side makes the box's longer side `fill` of it."""
    ink = ((x - bg).abs().amax(1)[0] > 0.2)  # (H, W)
    if not bool(ink.any()):
        return x
    rows, cols = torch.nonzero(ink.any(1)).flatten(), torch.nonzero(ink.any(0)).flatten()
    box = x[..., int(rows[0]):int(rows[-1]) + 1, int(cols[0]):int(cols[-1]) + 1]
    side = int(round(max(box.shape[-2:]) / fill))
    out = torch.full((1, x.shape[1], side, side), bg)
    top, left = (side - box.shape[-2]) // 2, (side - box.shape[-1]) // 2
    out[..., top:top + box.shape[-2], left:left + box.shape[-1]] = box
    return out


def to_domain(image: object, shape: tuple[int, ...], *, like: Tensor | None = None) -> Tensor:
    """Convert any image (a drawn sketch, an upload, a tensor) to a domain's input: (N, C, H, W) in [-1, 1] for
    `shape` = (C, H, W) (grey from colour by luma, colour from grey by repetition; resized with antialiasing).

    With `like` (images of that domain, e.g. held-out ones) a sketch is made to look like them: it is inverted
    when its background is light and the domain's is dark (or the other way round), and when both backgrounds
    are plain it is cropped to its ink, centred and scaled like a digit, with its contrast stretched.
    """
    c, h, w = shape
    x = _as_unit_tensor(image)  # (N, C0, H0, W0) in [0, 1]
    if like is not None:
        ref = _border((like.float().cpu() + 1) / 2).mean(1)  # (M, K) grey border of the domain's images
        bg_ref, plain_ref = float(ref.mean()), float(ref.std(1).mean()) < 0.05
        outs = []
        for xi in x.split(1):
            b = _border(xi).mean(1)  # (1, K)
            bg, plain = float(b.median()), float(b.std()) < 0.05
            if abs(bg_ref - 0.5) > 0.25 and (bg > 0.5) != (bg_ref > 0.5):
                xi, bg = 1 - xi, 1 - bg
            if plain and plain_ref:
                xi = _crop_to_ink(xi, bg, FILL)
                xi = F.interpolate(xi, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
                far = (xi - bg).abs().amax().clamp_min(1e-3)  # faint thin strokes come back to full contrast
                xi = (bg + (xi - bg) / far).clamp(0, 1)
            outs.append(xi if xi.shape[-2:] == (h, w) else
                        F.interpolate(xi, size=(h, w), mode="bilinear", align_corners=False, antialias=True))
        x = torch.cat(outs)
    elif x.shape[-2:] != (h, w):
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    if x.shape[1] != c:
        x = (x * _LUMA.view(1, 3, 1, 1)).sum(1, keepdim=True) if c == 1 and x.shape[1] == 3 else match_channels(x, c)
    return (x * 2 - 1).clamp(-1, 1).contiguous()  # (N, C, H, W)
