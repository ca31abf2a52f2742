"""The collapse warning read from precision and recall: high precision with low recall that fell or stalled warns;
healthy runs, poor samples and the low but rising recall of early training do not."""
from gan.metrics.advice import PR_MIN_STEPS, PR_PRECISION, PR_RECALL, collapse_warning


def rows(pairs, every=500):
    return [{"step": every * (i + 1), "precision": p, "recall": r} for i, (p, r) in enumerate(pairs)]


STALLED = [(0.3, 0.0), (0.6, 0.05), (0.8, 0.08), (0.85, 0.06), (0.85, 0.07), (0.9, 0.05)]
# precision/recall on 2,000 samples every 500 steps of MNIST (bench/bench_synth.py's live rows): the classic
# tutorial settings, whose recall sat near 0 for thousands of steps, and the default, whose recall rose at once
CLASSIC = [(0.02, 0.0), (0.88, 0.0), (0.84, 0.0), (0.63, 0.0), (0.68, 0.0), (0.72, 0.0), (0.77, 0.0), (0.57, 0.02)]
DEFAULT = [(0.72, 0.0), (0.82, 0.11), (0.91, 0.32), (0.90, 0.41), (0.91, 0.52)]


def test_high_precision_with_stalled_low_recall_warns_in_plain_words():
    msg = collapse_warning(rows(STALLED), loss="bce", lr=2e-4)
    assert msg is not None and "precision 0.90" in msg and "recall 0.05" in msg and "mode collapse" in msg
    assert "0.0001" in msg  # its remedy: half the learning rate


def test_recall_that_falls_from_a_higher_level_warns_at_once():
    assert collapse_warning(rows([(0.7, 0.6), (0.9, 0.1)])) is not None


def test_healthy_poor_or_still_learning_runs_do_not_warn():
    assert collapse_warning(rows([(0.6, 0.5), (0.7, 0.6)])) is None  # good samples that reach the data
    assert collapse_warning(rows([(0.1, 0.0)] * 3 + [(0.2, 0.01)] * 3)) is None  # poor samples: not a collapse
    rising = [(0.0, 0.0), (0.74, 0.0), (0.68, 0.02), (0.78, 0.06), (0.75, 0.09), (0.79, 0.14)]  # learning
    assert collapse_warning(rows(rising)) is None


def test_the_classic_run_warns_and_the_default_never_does():
    fired = [i for i in range(1, len(CLASSIC) + 1) if collapse_warning(rows(CLASSIC[:i]))]
    assert fired and 500 * fired[0] >= PR_MIN_STEPS  # not in the first steps, then while recall stays ~0
    assert not any(collapse_warning(rows(DEFAULT[:i])) for i in range(1, len(DEFAULT) + 1))


def test_the_verdict_is_by_steps_so_denser_readings_of_the_same_run_agree():
    dense = rows([pair for pair in DEFAULT for _ in range(5)], every=100)  # a slow machine: 5 readings per 500
    assert not any(collapse_warning(dense[:i]) for i in range(1, len(dense) + 1))
    dense = rows([pair for pair in CLASSIC for _ in range(5)], every=100)
    assert collapse_warning(dense) is not None
    assert collapse_warning(rows(CLASSIC[:3] * 2, every=100)) is None  # 600 steps: too early for a verdict


def test_the_thresholds_are_the_arguments():
    hist = rows([(0.9, 0.3)] * 6)
    assert PR_RECALL <= 0.3 and collapse_warning(hist) is None
    assert collapse_warning(hist, recall=0.35, precision=PR_PRECISION) is not None
    assert collapse_warning(rows(STALLED), precision=0.95) is None
