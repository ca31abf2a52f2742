"""Precision and recall (Kynkäänniemi et al. 2019, k = 3) and density and coverage (Naeem et al. 2020, k = 5) of
generated against real feature vectors: pure functions on tensors, `torch.cdist` in row chunks (bounded memory).

Precision: the share of generated samples inside some real sample's k-NN ball (do samples fall where real data
lives?). Recall: the share of real samples inside some generated sample's k-NN ball (how much of the real data do
the samples reach?). Density counts how many real balls hold each sample (about 1 when matched); coverage is the
share of real samples whose own k-NN ball holds at least one generated sample. Mode collapse is high precision
with low recall.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor
K_PR, K_DC = 3, 5  # the papers' neighbour counts
CHUNK = 1024  # rows of a distance matrix computed at a time
PRDC_SAMPLES = 2000  # the most samples of each side a score reads (cost grows with the square)
PRDC_KEYS = ("precision", "recall", "density", "coverage")
PLAIN_WORDS = ("precision: how many samples fall where real data lives; recall and coverage: how much of the real "
               "data the samples reach. Mode collapse is high precision with low recall.")


def _flat(x: Tensor) -> Tensor:
    """(N, ...) -> finite rows (M, D) as float32."""
    f = x.detach().reshape(x.shape[0], -1).float().cpu()
    return f[torch.isfinite(f).all(1)]


def knn_radii(f: Tensor, *, k: int, chunk: int = CHUNK) -> Tensor:
    """The distance of each row of f (N, D) to its k-th nearest other row, (N,); +inf when N <= k."""
    n = f.shape[0]
    if n <= k:
        return torch.full((n,), float("inf"))
    out = []
    for i in range(0, n, chunk):
        d = torch.cdist(f[i:i + chunk], f)  # (c, N), the row's own 0 included
        out.append(d.topk(k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(out)


def prdc(real: Tensor, fake: Tensor, *, k_pr: int = K_PR, k_dc: int = K_DC, chunk: int = CHUNK,
         real_radii: tuple[Tensor, Tensor] | None = None) -> dict[str, float]:
    """Precision, recall, density and coverage of fake (M, ...) against real (N, ...) feature vectors.

    `real_radii`: the real set's (k_pr, k_dc) radii when already known (knn_radii), so a meter computes them once.
    Sets of fewer than k + 1 finite rows score 0."""
    r, f = _flat(real), _flat(fake)
    n, m = r.shape[0], f.shape[0]
    if n <= max(k_pr, k_dc) or m <= k_pr:
        return {key: 0.0 for key in PRDC_KEYS}
    r_pr, r_dc = real_radii if real_radii is not None else (knn_radii(r, k=k_pr, chunk=chunk),
                                                            knn_radii(r, k=k_dc, chunk=chunk))
    f_pr = knn_radii(f, k=k_pr, chunk=chunk)  # (M,)
    inside_pr = torch.zeros(m, dtype=torch.bool)  # fake i in some real ball (precision)
    density = torch.zeros(())
    reach = torch.full((n,), float("inf"))  # min over fakes of d(i, j) - fake radius i (recall: <= 0)
    nearest = torch.full((n,), float("inf"))  # min over fakes of d(i, j) (coverage: < real radius j)
    for i in range(0, m, chunk):
        d = torch.cdist(f[i:i + chunk], r)  # (c, N)
        inside_pr[i:i + chunk] = (d <= r_pr[None]).any(1)
        density = density + (d <= r_dc[None]).sum()
        reach = torch.minimum(reach, (d - f_pr[i:i + chunk, None]).min(0).values)
        nearest = torch.minimum(nearest, d.min(0).values)
    return {"precision": float(inside_pr.float().mean()), "recall": float((reach <= 0).float().mean()),
            "density": float(density) / (k_dc * m), "coverage": float((nearest < r_dc).float().mean())}


class PRDCReference:
    """A real feature set and its k-NN radii, computed once; `score(fake)` compares as many real rows as fakes."""

    def __init__(self, real: Tensor, *, k_pr: int = K_PR, k_dc: int = K_DC, max_n: int = PRDC_SAMPLES) -> None:
        self.real = _flat(real)[:max_n]
        self.k_pr, self.k_dc = k_pr, k_dc
        self._radii: dict[int, tuple[Tensor, Tensor]] = {}

    def score(self, fake: Tensor) -> dict[str, float]:
        """prdc of fake against the first len(fake) real rows (equal sizes: k-NN radii depend on the count)."""
        n = min(self.real.shape[0], max(fake.shape[0], 1))
        r = self.real[:n]
        radii = self._radii.get(n)
        if radii is None:  # runs sharing a meter may score at once: a local copy, and the last size kept only
            radii = (knn_radii(r, k=self.k_pr), knn_radii(r, k=self.k_dc))
            self._radii = {n: radii}
        return prdc(r, fake[:n], k_pr=self.k_pr, k_dc=self.k_dc, real_radii=radii)


__all__ = ["K_DC", "K_PR", "PLAIN_WORDS", "PRDCReference", "PRDC_KEYS", "PRDC_SAMPLES", "knn_radii", "prdc"]
