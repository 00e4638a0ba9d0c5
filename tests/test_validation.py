"""Grouped and cross-corpus evaluation: every score comes from a model that never saw it."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.errors import DataError
from classifier.training import TrainingConfig
from classifier.validation import cross_corpus, cross_validate

QUICK = TrainingConfig(folds=2, hidden_layers=(4,), stage2_iterations=50)


@pytest.fixture(scope="module")
def two_corpora(small_training_table):
    table = small_training_table.copy()
    documents = sorted(table["doc_id"].unique())
    first_half = set(documents[: len(documents) // 2])
    table["corpus"] = np.where(table["doc_id"].isin(first_half), "one", "two")
    return table


def test_cross_validation_scores_every_labelled_row(two_corpora) -> None:
    result = cross_validate(two_corpora, config=QUICK, folds=2, groups_column="doc_id")
    assert result.report.rows == len(two_corpora)
    assert result.probabilities.shape == (len(two_corpora), 3)
    assert np.allclose(result.probabilities.sum(axis=1), 1.0)
    assert (result.thresholds > 0).all()


def test_authored_rows_train_but_are_not_scored(two_corpora) -> None:
    table = two_corpora.copy()
    table.loc[table["corpus"] == "one", "corpus"] = "authored"
    result = cross_validate(table, config=QUICK, folds=2, groups_column="doc_id")
    assert result.report.rows == int((table["corpus"] != "authored").sum())


def test_cross_corpus_holds_out_each_corpus(two_corpora) -> None:
    reports = cross_corpus(two_corpora, config=QUICK, groups_column="doc_id")
    assert set(reports) == {"one", "two"}
    assert reports["one"].rows == int((two_corpora["corpus"] == "one").sum())


def test_cross_corpus_needs_a_corpus_column(small_training_table) -> None:
    with pytest.raises(DataError, match="corpus"):
        cross_corpus(small_training_table.drop(columns=["corpus"]), config=QUICK)


def test_cross_validation_with_nothing_to_score_says_so_before_training(monkeypatch) -> None:
    import classifier.validation as validation
    from classifier.data import read_labelled
    from classifier.errors import DataError
    from tests.conftest import AUTHORED

    def no_training(*args, **kwargs):
        raise AssertionError("a fold was trained")

    monkeypatch.setattr(validation, "_fit_and_predict", no_training)
    with pytest.raises(DataError, match="no labelled rows to score"):
        validation.cross_validate(read_labelled(AUTHORED))
