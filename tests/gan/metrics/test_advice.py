"""The collapse warning read from precision and recall: high precision with low recall that fell or stalled warns;
healthy runs, poor samples and the low but rising recall of early training do not."""
from gan.metrics.advice import PR_PRECISION, PR_RECALL, collapse_warning


def rows(pairs):
    return [{"step": 100 * i, "precision": p, "recall": r} for i, (p, r) in enumerate(pairs)]


STALLED = [(0.3, 0.0), (0.6, 0.05), (0.8, 0.08), (0.85, 0.06), (0.85, 0.07), (0.9, 0.05)]


def test_high_precision_with_stalled_low_recall_warns_in_plain_words():
    msg = collapse_warning(rows(STALLED), loss="bce", lr=2e-4)
    assert msg is not None and "precision 0.90" in msg and "recall 0.05" in msg and "mode collapse" in msg
    assert "0.0001" in msg  # its remedy: half the learning rate


def test_recall_that_falls_from_a_higher_level_warns_at_once():
    assert collapse_warning(rows([(0.7, 0.6), (0.9, 0.1)])) is not None


def test_healthy_poor_or_still_learning_runs_do_not_warn():
    assert collapse_warning(rows([(0.6, 0.5), (0.7, 0.6)])) is None  # good samples that reach the data
    assert collapse_warning(rows([(0.1, 0.0)] * 3 + [(0.2, 0.01)] * 3)) is None  # poor samples: not a collapse
    rising = [(0.0, 0.0), (0.74, 0.0), (0.68, 0.0), (0.78, 0.02), (0.75, 0.03), (0.79, 0.12)]  # early training
    assert collapse_warning(rows(rising)) is None


def test_the_thresholds_are_the_arguments():
    hist = rows([(0.9, 0.3)] * 6)
    assert PR_RECALL <= 0.3 and collapse_warning(hist) is None
    assert collapse_warning(hist, recall=0.35, precision=PR_PRECISION) is not None
    assert collapse_warning(rows(STALLED), precision=0.95) is None
