"""The collapse warning read from precision and recall: high precision with low recall warns, healthy runs do not."""
from gan.metrics.advice import PR_PRECISION, PR_RECALL, collapse_warning


def rows(pairs):
    return [{"step": 100 * i, "precision": p, "recall": r} for i, (p, r) in enumerate(pairs)]


def test_high_precision_low_recall_warns_in_plain_words():
    msg = collapse_warning(rows([(0.3, 0.2), (0.8, 0.1), (0.85, 0.05)]), loss="bce", lr=2e-4)
    assert msg is not None and "precision 0.85" in msg and "recall 0.05" in msg and "mode collapse" in msg
    assert "0.0001" in msg  # its remedy: half the learning rate


def test_healthy_or_still_learning_runs_do_not_warn():
    assert collapse_warning(rows([(0.6, 0.5), (0.7, 0.6)])) is None  # good samples that reach the data
    assert collapse_warning(rows([(0.1, 0.05), (0.2, 0.1)])) is None  # poor samples: not (yet) a collapse
    assert collapse_warning(rows([(0.8, 0.6), (0.8, 0.1)])) is None  # one low reading is not enough


def test_the_thresholds_are_the_arguments():
    hist = rows([(0.9, 0.3), (0.9, 0.3)])
    assert PR_RECALL <= 0.3 and collapse_warning(hist) is None
    assert collapse_warning(hist, recall=0.35, precision=PR_PRECISION) is not None
