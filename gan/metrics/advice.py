"""Plain-words warnings (mode collapse, translations that stop keeping content) and help for reading losses."""
from __future__ import annotations

import math
from typing import Any

LOG2 = math.log(2.0)


def _rows(history: Any) -> list[dict[str, Any]]:
    """A history as a list of dicts: accepts a list of dicts or a dict of equal-length lists."""
    if history is None:
        return []
    if isinstance(history, dict):
        keys = [k for k, v in history.items() if isinstance(v, (list, tuple))]
        n = min((len(history[k]) for k in keys), default=0)
        return [{k: history[k][i] for k in keys} for i in range(n)]
    return [dict(r) for r in history if isinstance(r, dict)]


def _remedies(loss: str | None, lr: float | None) -> str:
    alts = [name for name in ("wgan-gp", "hinge", "lsgan") if name != loss][:2]
    lower = f"lower the learning rate (e.g. {lr / 2:g})" if lr else "lower the learning rate (e.g. halve it)"
    return f"Try loss {alts[0]} or {alts[1]}, or {lower}."


def _series(rows: list[dict[str, Any]], key: str) -> list[float]:
    out = []
    for r in rows:
        v = r.get(key)
        if isinstance(v, (int, float)) and math.isfinite(float(v)):
            out.append(float(v))
    return out


def _collapsed(values: list[float], low: float, drop: float, warmup: int, patience: int) -> bool:
    """True if the latest value is low and either fell from a clearly higher peak or has stalled there."""
    if not values or values[-1] > low:
        return False
    now = values[-1]
    if max(values) - now >= drop:  # it was better before: a collapse
        return True
    if len(values) < max(warmup, patience + 1):
        return False  # still warming up
    recent, before = values[-patience:], values[:-patience]
    return max(recent) <= max(before)  # no progress for `patience` readings


PR_PRECISION, PR_RECALL = 0.5, 0.25  # "high precision with low recall": samples look real but reach little data
PR_MIN_STEPS = 1000  # a generator's first few hundred steps look real with recall 0 (the default's did): no verdict
PR_RISE = 0.05  # recall that gained less than this over the later half of the run has stalled
PR_DROP = 0.3  # recall this far below its best has fallen: a collapse at once


def _recall_stalled(rows: list[dict[str, Any]], *, warmup: int) -> bool | None:
    """Whether recall gained less than PR_RISE over the later half of the run's steps (from step/2 to now), after
    `warmup` readings and PR_MIN_STEPS steps; None when the rows carry no steps. Judged by steps, not readings,
    so a slow machine's denser readings of the same run give the same verdict. The classic tutorial run sat at
    recall 0.00-0.03 from step 1,000 to 5,000, the default rose 0.11, 0.32, 0.41 (bench/RESULTS.md)."""
    pts = [(float(r["step"]), float(r["recall"])) for r in rows if isinstance(r.get("step"), (int, float))
           and isinstance(r.get("recall"), (int, float)) and math.isfinite(float(r["recall"]))]
    if len(pts) < len(_series(rows, "recall")) or not pts:
        return None
    now = pts[-1][0]
    if len(pts) < warmup or now < PR_MIN_STEPS:
        return False
    before = [v for s, v in pts if s < now / 2]
    later = [v for s, v in pts if s >= now / 2]
    return bool(before) and max(later) < max(before) + PR_RISE


def _precision_recall_collapse(rows: list[dict[str, Any]], *, precision: float, recall: float, warmup: int,
                               patience: int) -> bool:
    """Precision at least `precision` now, and recall below `recall` that either fell from a clearly higher level
    or has stalled (by steps where the rows have them, else for `patience` readings after `warmup`): early in
    training recall is low but rising."""
    p, r = _series(rows, "precision"), _series(rows, "recall")
    if not p or p[-1] < precision:
        return False
    stalled = _recall_stalled(rows, warmup=warmup)
    if stalled is None:  # rows without steps: stalled for `patience` readings
        return _collapsed(r, low=recall, drop=PR_DROP, warmup=warmup, patience=patience)
    return bool(r) and r[-1] <= recall and (stalled or max(r) - r[-1] >= PR_DROP)  # stalled, or fell


def collapse_warning(history: Any, *, loss: str | None = None, lr: float | None = None,
                     warmup: int = 5, patience: int = 3, precision: float = PR_PRECISION,
                     recall: float = PR_RECALL) -> str | None:
    """A plain-words mode-collapse warning with remedies, or None, from a history of metric dicts.

    `history` is a list of dicts (or a dict of lists) of QualityMeter.score or gan.metrics.modes.mode_score
    results, oldest first. It warns when precision is at least `precision` and recall below `recall` (samples
    where real data lives, but reaching little of it: gan.metrics.prdc), or when coverage (classes or modes) or diversity is low and either
    dropped from a clearly higher level or has not improved for `patience` readings after `warmup`.
    """
    rows = _rows(history)
    if not rows:
        return None
    last = rows[-1]
    fix = _remedies(loss, lr)
    if _precision_recall_collapse(rows, precision=precision, recall=recall, warmup=warmup, patience=patience):
        return (f"The samples look real (precision {last['precision']:.2f}: that share falls where real data "
                f"lives) but reach little of the real data (recall {last['recall']:.2f}): the generator is "
                f"collapsing onto a few kinds of image (mode collapse is high precision with low recall). {fix}")
    coverage = (("classes_covered", "n_classes", "classes appear", "a few kinds of image"),
                ("modes", "n_modes", "modes are covered", "a few modes"))
    for key, total, verb, onto in coverage:  # classes for labelled images, modes for ring8/grid25
        if key in last and last.get(total):
            k = int(last[total])
            cov = _series(rows, key)
            if _collapsed(cov, low=math.floor(0.7 * k), drop=max(2, math.ceil(0.2 * k)), warmup=warmup,
                          patience=patience):
                return (f"Only {int(cov[-1])} of {k} {verb}: the generator is collapsing onto {onto} "
                        f"(mode collapse). {fix}")
    div = _series(rows, "diversity")
    if _collapsed(div, low=0.5, drop=0.3, warmup=warmup, patience=patience):
        return (f"The samples look alike: their spread is {100 * div[-1]:.0f}% of the real images'. "
                f"The generator is collapsing (mode collapse). {fix}")
    return None


# (D loss, G loss) when the game is at its equilibrium p_g = p_data with the optimal D; None: not fixed.
LOSS_EQUILIBRIUM: dict[str, tuple[float | None, float | None]] = {
    "bce": (2 * LOG2, LOG2), "minimax": (2 * LOG2, -LOG2), "lsgan": (0.25, 0.125), "hinge": (2.0, None),
    "wgan": (0.0, None), "wgan-gp": (0.0, None), "rpgan": (LOG2, LOG2),
}


_GENERAL_HELP = """\
**How to read the charts.** GAN losses do not go steadily down: D and G play a game, so each one's loss
goes up when the other improves. Judge progress by the samples and the quality metric, and read the losses
for balance:

- **D(x)** is D's mean output on real images and **D(G(z))** on generated ones (the sigmoid of D's score).
  With bce, minimax and lsgan, D(x) near 1 with D(G(z)) near 0 means D tells them apart easily: D is winning.
  Both near **0.5** means D cannot tell real from fake: either G is good (check the samples) or D is too
  weak to judge. With hinge, wgan, wgan-gp and rpgan, D outputs a score with no fixed level: only the **gap**
  between D(x) and D(G(z)) means anything.
- Where a loss has a floor of 0 for D (bce, minimax, lsgan, hinge, rpgan), a **D loss near 0** that stays
  there means D wins outright; G then learns little, and samples stop improving or collapse. Try a lower
  learning rate, or the wgan-gp or hinge loss. (For wgan and wgan-gp a D loss near 0 is the opposite: G is
  close.)
- A **G loss climbing** steadily while the D loss falls is the same story seen from G's side.
- Losses that **swing** around their equilibrium are normal; losses that become **NaN** stop training
  and keep the last good checkpoint.
- **Mode collapse** shows in the quality chart, not in the losses: few classes (or modes) covered, a
  class KL far above 0, a falling diversity, high precision with low recall. The samples then look alike.
"""


_LOSS_HELP = {
    "bce": ("**bce (non-saturating GAN).** D loss = -log D(x) - log(1 - D(G(z))); G loss = -log D(G(z)). "
            "At the equilibrium D = 1/2 everywhere, so the **D loss is 2 log 2 ≈ 1.386** and the **G loss is "
            "log 2 ≈ 0.693**. A D loss well below 1.386 means D is ahead; above it, G is ahead."),
    "minimax": ("**minimax (the original saturating game).** D loss as in bce; G loss = log(1 - D(G(z))). "
                "Equilibrium: **D loss 2 log 2 ≈ 1.386, G loss -log 2 ≈ -0.693**. When D wins early, G's "
                "gradients vanish (the loss saturates near 0): that is why bce is the default."),
    "wgan": ("**wgan (weight clipping).** D is a critic that outputs a score, not a probability. D loss = "
             "E[D(G(z))] - E[D(x)]: minus an estimate of the Wasserstein distance, so it should rise "
             "towards 0 as G improves. The G loss has no fixed target; only its trend matters."),
    "wgan-gp": ("**wgan-gp.** As wgan, with a gradient penalty instead of clipping. D loss = E[D(G(z))] - "
                "E[D(x)] + 10 x penalty: its minus tracks the Wasserstein distance and should move towards 0 "
                "as samples improve. The G loss has no fixed target. D(x) and D(G(z)) show sigmoid(score): "
                "only their gap matters."),
    "hinge": ("**hinge.** D loss = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))], which is **2** when D cannot "
              "separate the two (equilibrium) and 0 when it separates them with a margin. G loss = -E[D(G(z))] "
              "has no fixed target."),
    "rpgan": ("**rpgan (relativistic pairing, R3GAN).** D loss = E[softplus(D(G(z)) - D(x))] over pairs of a real "
              "and a fake; G loss = E[softplus(D(x) - D(G(z)))]. Both are **log 2 ≈ 0.693** when D cannot tell "
              "real from fake. D's outputs have no level of their own: D(x) and D(G(z)) may drift together (even "
              "both to 0); read their gap."),
    "lsgan": ("**lsgan (least squares).** D loss = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2], G loss = "
              "1/2 E[(D(G(z)) - 1)^2]. At the equilibrium D's output is 1/2 everywhere: **D loss 0.25, "
              "G loss 0.125**."),
}


_PROBABILITY = ("D(x) and D(G(z)) are D's probabilities that its input is real: near 1 and near 0, D tells them "
                "apart easily; both near 1/2, it can no longer tell, which is where the game ends.")
_SCORE = ("D outputs a score, not a probability: the D-outputs chart shows sigmoid(score), so only the gap between "
          "D(x) and D(G(z)) means anything, not their level.")
_CAPTIONS = {
    "bce": "A D loss near 0 means D wins easily; at the game's end the D loss is 2 log 2 ≈ 1.39 and the G loss "
           "log 2 ≈ 0.69. " + _PROBABILITY,
    "minimax": "A D loss near 0 means D wins easily (and G's loss then saturates near 0); at the game's end the D "
               "loss is 2 log 2 ≈ 1.39 and the G loss −log 2 ≈ −0.69. " + _PROBABILITY,
    "lsgan": "D's outputs are pulled to 1 for real and 0 for fake: at the game's end both are 1/2, the D loss 0.25 "
             "and the G loss 0.125. A D loss near 0 means D wins easily.",
    "hinge": "The D loss is 2 when D cannot separate real from fake and 0 when it separates them with a margin; "
             "the G loss, −E[D(G(z))], has no target and is often negative. " + _SCORE,
    "wgan": "D is a critic: minus its loss estimates how far the fakes are from the data, so the D loss rises "
            "towards 0 as G improves; the G loss has no target. " + _SCORE,
    "wgan-gp": "D is a critic: minus its loss (penalty aside) estimates how far the fakes are from the data, so the "
               "D loss rises towards 0 as G improves; the G loss has no target. " + _SCORE,
    "rpgan": "Relativistic: D only learns how much more real each x looks than a fake, so D(x) and D(G(z)) can "
             "drift together (even both to 0) and only their gap matters. The D loss is log 2 ≈ 0.69 when D "
             "cannot tell them apart and falls towards 0 as it wins; the G loss mirrors it.",
}


def chart_caption(loss: str | None) -> str:
    """One paragraph on reading the loss and D-output charts for a run trained with `loss` (its levels at the
    game's end, or why the outputs have none)."""
    text = _CAPTIONS.get(str(loss or ""), "Read the D and G losses for balance rather than level; the samples and "
                                          "the quality metric tell progress.")
    return f"*Reading the charts ({loss or 'this loss'}):* {text}"


def loss_help(loss: str | None = None) -> str:
    """Markdown help on reading the losses, D(x) and D(G(z)); with `loss`, that loss's equilibrium values."""
    if loss is None:
        return _GENERAL_HELP + "\n" + "\n\n".join(_LOSS_HELP.values())
    return _GENERAL_HELP + "\n" + _LOSS_HELP.get(loss, f"**{loss}.** No notes for this loss.")


def translation_warning(rows: Any) -> str | None:
    """A plain-words warning when translations stop keeping content, or None.

    `rows`: PairMeter.score results, oldest first (a list of dicts, or one dict). It warns when a direction's
    label kept has fallen by 20 points or more from a peak of at least 50% (the generators stop carrying the
    digit across; if the cycle still reconstructs, they hide it in patterns too faint to see), or when a
    direction's translations collapse to nearly one output (diversity under 0.25 in the last two readings)."""
    rows = [rows] if isinstance(rows, dict) else [r for r in (rows or []) if isinstance(r, dict)]
    if not rows:
        return None
    fix = "Load an earlier checkpoint, or train again with a higher identity weight or a lower learning rate."
    for d, name in (("ab", "A→B"), ("ba", "B→A")):
        kept = [float(r[f"label_kept_{d}"]) for r in rows if f"label_kept_{d}" in r]
        if kept and max(kept) >= 0.5 and kept[-1] <= max(kept) - 0.2:
            cyc = rows[-1].get("cycle_aba" if d == "ab" else "cycle_bab")
            hidden = (f" The reconstructions are still close (cycle L1 {cyc:.2f}), so the content is being hidden in "
                      f"patterns too faint to see rather than drawn.") if isinstance(cyc, float) and cyc < 0.25 else ""
            return (f"Translations {name} have stopped keeping their content: the digit survives in {kept[-1]:.0%} "
                    f"of them, down from {max(kept):.0%}.{hidden} {fix}")
        div = [float(r[f"diversity_{d}"]) for r in rows if f"diversity_{d}" in r]
        if len(div) >= 2 and max(div[-2:]) < 0.25:
            return (f"Translations {name} all look alike (their spread is {div[-1]:.0%} of real images'): the "
                    f"generator is collapsing to one output whatever its input. {fix}")
    return None


__all__ = ["LOSS_EQUILIBRIUM", "PR_MIN_STEPS", "PR_PRECISION", "PR_RECALL", "chart_caption", "collapse_warning",
           "loss_help", "translation_warning"]
