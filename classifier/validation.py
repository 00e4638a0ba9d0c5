"""Evaluation that cannot flatter: folds grouped by site, and whole corpora held out.

Every figure comes from a model that never saw the site (or the corpus) it is
scored on. Rows whose ``corpus`` is ``authored`` (text we wrote) train but are not
scored unless asked: the figures describe real scraped pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from classifier.errors import DataError
from classifier.evaluation import EvaluationReport, evaluate_probabilities, predict_table
from classifier.training import TrainingConfig, _group_folds, train

if TYPE_CHECKING:
    import pandas as pd

AUTHORED = "authored"


@dataclass(frozen=True)
class ValidationResult:
    report: EvaluationReport
    probabilities: np.ndarray
    thresholds: np.ndarray
    scored: np.ndarray


def _scored_rows(data: pd.DataFrame, score_authored: bool) -> np.ndarray:
    if score_authored or "corpus" not in data.columns:
        return np.ones(len(data), dtype=bool)
    return (data["corpus"].fillna("").astype(str) != AUTHORED).to_numpy()


def _fit_and_predict(
    data: pd.DataFrame,
    train_rows: np.ndarray,
    test_rows: np.ndarray,
    config: TrainingConfig,
    groups_column: str,
    site_repeats: bool,
) -> tuple[np.ndarray, float]:
    train_part = data.iloc[train_rows].reset_index(drop=True)
    test_part = data.iloc[test_rows].reset_index(drop=True)
    model, _ = train(train_part, config=config, groups_column=groups_column)
    return predict_table(model, test_part, site_repeats=site_repeats), model.default_min_confidence


def _report(data: pd.DataFrame, probabilities: np.ndarray, thresholds: np.ndarray, scored: np.ndarray) -> EvaluationReport:
    return evaluate_probabilities(data[scored].reset_index(drop=True), probabilities[scored], min_confidence=thresholds[scored])


def cross_validate(
    data: pd.DataFrame,
    *,
    config: TrainingConfig | None = None,
    groups_column: str = "domain",
    folds: int = 5,
    score_authored: bool = False,
    site_repeats: bool = False,
) -> ValidationResult:
    """Out-of-fold figures with folds grouped by ``groups_column`` (a site never
    straddles folds); each fold's pages read as ``clean`` reads them, with
    ``site_repeats`` as ``clean --site-repeats`` does (see ``predict_table``)."""
    config = config or TrainingConfig()
    scored = _scored_rows(data, score_authored)
    if not (scored & data["label"].notna().to_numpy()).any():
        # Said before the folds train, not after.
        raise DataError("no labelled rows to score: every row is context or authored (see --score-authored)")
    groups = data[groups_column].astype(str).to_numpy() if groups_column in data.columns else data["doc_id"].to_numpy()
    probabilities = np.zeros((len(data), 3))
    thresholds = np.zeros(len(data))
    for train_rows, test_rows in _group_folds(groups, folds):
        probabilities[test_rows], thresholds[test_rows] = _fit_and_predict(
            data, train_rows, test_rows, config, groups_column, site_repeats
        )
    return ValidationResult(_report(data, probabilities, thresholds, scored), probabilities, thresholds, scored)


def cross_corpus(
    data: pd.DataFrame,
    *,
    config: TrainingConfig | None = None,
    groups_column: str = "domain",
    corpora: list[str] | None = None,
    site_repeats: bool = False,
) -> dict[str, EvaluationReport]:
    """For each corpus: train on every other row, score that corpus (``site_repeats``
    as for ``cross_validate``)."""
    if "corpus" not in data.columns:
        raise DataError("cross-corpus evaluation needs a 'corpus' column in the labelled data")
    config = config or TrainingConfig()
    names = data["corpus"].fillna("").astype(str).to_numpy()
    reports: dict[str, EvaluationReport] = {}
    scored = corpora or sorted(set(names) - {AUTHORED, ""})
    if (corpora is None and len(set(names) - {""}) < 2) or not scored:
        raise DataError(
            "cross-corpus evaluation needs rows of two corpora or more, one of them not 'authored' "
            f"(this data holds: {', '.join(sorted(set(names))) or 'none'})"
        )
    for corpus in scored:
        test_rows = np.flatnonzero(names == corpus)
        train_rows = np.flatnonzero(names != corpus)
        if len(test_rows) == 0:
            raise DataError(f"no rows of corpus {corpus!r} in the labelled data")
        probabilities, threshold = _fit_and_predict(data, train_rows, test_rows, config, groups_column, site_repeats)
        reports[corpus] = evaluate_probabilities(
            data.iloc[test_rows].reset_index(drop=True), probabilities, min_confidence=threshold
        )
    return reports
