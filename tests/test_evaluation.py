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


def test_a_table_is_read_as_clean_reads_each_page_unless_site_repeats_are_asked() -> None:
    import classifier
    from classifier.evaluation import predict_table

    model = classifier.load_model()
    stories = [f"The council met on day {n} and voted on the budget for the harbour." for n in range(6)]
    pages = [[story, "Follow us on our channels for more updates"] for story in stories]
    table = pd.DataFrame(
        {
            "doc_id": np.repeat([f"p{n}" for n in range(6)], 2),
            "position": [0, 1] * 6,
            "text": [text for page in pages for text in page],
            "label": ["reporting", "ui_residue"] * 6,
            "domain": "example.org",
        }
    )
    alone = np.vstack([model.predict_proba(page) for page in pages])
    # Equal to single precision: stage two runs batches of other sizes through BLAS.
    np.testing.assert_allclose(predict_table(model, table), alone, atol=1e-6)
    # Over these pages the line repeats on six of the site's pages: the model reads it so.
    assert np.abs(predict_table(model, table, site_repeats=True) - alone).max() > 1e-3


def test_a_label_neither_present_nor_predicted_shows_no_figure() -> None:
    table = pd.DataFrame({"text": ["The council met.", "Donate now"], "label": ["reporting", "donation_appeal"]})
    probabilities = np.array([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0]])
    text = evaluate_probabilities(table, probabilities, min_confidence=0.5).render()
    line = next(line for line in text.splitlines() if line.startswith("ui_residue"))
    assert "absent: not in the macro" in line and "0.000" not in line
