from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from classifier.evaluation import drop_mask, evaluate_probabilities


def test_figures_on_a_known_case() -> None:
    data = pd.DataFrame(
        {
            "doc_id": ["d"] * 4,
            "position": range(4),
            "text": ["aaaa", "bb", "cccccc", "dd"],
            "label": ["reporting", "reporting", "donation_appeal", "ui_residue"],
        }
    )
    probabilities = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.6, 0.1, 0.3]])
    report = evaluate_probabilities(data, probabilities, min_confidence=0.75)
    assert report.confusion == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    assert report.per_label["reporting"].precision == pytest.approx(0.5)
    assert report.per_label["donation_appeal"].recall == pytest.approx(1.0)
    # Paragraph 2 (80% not reporting) is dropped; paragraph 3 too (90%).
    assert report.reporting_chars_kept == pytest.approx(4 / 6)
    assert report.non_reporting_chars_removed == pytest.approx(6 / 8)


def test_unsure_means_keep() -> None:
    probabilities = np.array([[0.45, 0.30, 0.25], [0.35, 0.64, 0.01]])
    assert drop_mask(probabilities, min_confidence=0.7).tolist() == [False, False]
    assert drop_mask(probabilities, min_confidence=0.5).tolist() == [False, True]
    assert drop_mask(probabilities, keep=("reporting", "donation_appeal"), min_confidence=0.5).tolist() == [False, False]
