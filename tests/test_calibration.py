"""Calibration of the second stage: temperature plus a per-label shift, fitted on real rows."""

from __future__ import annotations

import numpy as np

from classifier.model import softmax
from classifier.training import _capped_rows, fit_calibration


def test_shift_moves_probabilities_to_the_real_label_shares() -> None:
    rng = np.random.default_rng(0)
    # A model trained on a balanced mix says 1/3 each; on real pages 80% are label 0.
    target = rng.choice(3, size=3000, p=[0.8, 0.1, 0.1])
    log_probabilities = np.log(np.full((3000, 3), 1 / 3)) + rng.normal(0, 0.01, (3000, 3))
    temperature, bias = fit_calibration(log_probabilities, target)
    calibrated = softmax(log_probabilities / temperature + bias)
    assert bias[0] == 0.0
    assert abs(calibrated[:, 0].mean() - 0.8) < 0.02
    assert abs(calibrated[:, 1].mean() - 0.1) < 0.02


def test_capped_rows_keep_each_labels_total_weight() -> None:
    target = np.array([0] * 100 + [1] * 10 + [2] * 5 + [0] * 3)
    labelled = np.array([True] * 115 + [False] * 3)
    weights = np.where(np.arange(118) % 7 == 0, 20.0, 1.0)
    chosen, scaled = _capped_rows(labelled, target, weights, 20, seed=0)
    assert chosen[:100].sum() == 20 and chosen[100:115].all() and not chosen[115:].any()
    for label in range(3):
        rows = labelled & (target == label)
        assert np.isclose(scaled[chosen & rows].sum(), weights[rows].sum())
