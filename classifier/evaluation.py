"""Metrics and reports: per-label precision, recall and F1, the confusion matrix, and
what ``clean`` keeps of reporting and removes of everything else (by characters)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from classifier.labels import LABELS, REPORTING, as_labels

if TYPE_CHECKING:
    import pandas as pd

    from classifier.model import Model

BREAKDOWN_COLUMNS = ("corpus", "language", "extractor", "page_type")


def min_confidence_of(value: object, *, default: float) -> float:
    """``value`` as a threshold for ``clean`` (``default`` where it is None).

    Refuses what ``float()`` would let through but no caller means: a bool, a string,
    NaN, a value outside 0 to 1.
    """
    if value is None:
        return float(default)
    refused = TypeError(
        f"min_confidence must be a number from 0 to 1 (or None for the model's default), got {value!r} ({type(value).__name__})"
    )
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise refused
    try:
        threshold = float(value)  # numpy scalars and 0-d arrays, Decimal, Fraction
    except (TypeError, ValueError):
        raise refused from None
    if not 0.0 <= threshold <= 1.0:  # NaN fails this too
        raise ValueError(f"min_confidence must lie between 0 and 1, got {threshold}")
    return threshold


def drop_mask(probabilities: np.ndarray, *, keep: Sequence[str] = (REPORTING,), min_confidence: float) -> np.ndarray:
    """Which paragraphs ``clean`` drops: label not kept, and confident it is not kept.

    Confidence is the probability of the labels not kept, so "unsure" means keep.
    """
    kept_columns = [LABELS.index(label) for label in keep]
    not_kept = np.ones(len(LABELS), dtype=bool)
    not_kept[kept_columns] = False
    predicted_not_kept = not_kept[probabilities.argmax(axis=1)]
    confidence = probabilities[:, not_kept].sum(axis=1)
    return predicted_not_kept & (confidence >= min_confidence)


@dataclass(frozen=True)
class LabelScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvaluationReport:
    """Figures of one model on one labelled table."""

    rows: int
    min_confidence: float
    per_label: dict[str, LabelScores]
    macro_f1: float
    accuracy: float
    confusion: list[list[int]]
    reporting_chars_kept: float
    non_reporting_chars_removed: float
    breakdown: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The headline figures, flat (what manifests and quality gates keep)."""
        figures: dict[str, Any] = {
            "rows": self.rows,
            "macro_f1": round(self.macro_f1, 4),
            "accuracy": round(self.accuracy, 4),
            "reporting_chars_kept": round(self.reporting_chars_kept, 4),
            "non_reporting_chars_removed": round(self.non_reporting_chars_removed, 4),
            "min_confidence": self.min_confidence,
        }
        for label, scores in self.per_label.items():
            figures[f"{label}_f1"] = round(scores.f1, 4)
        return figures

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "min_confidence": self.min_confidence,
            "labels": list(LABELS),
            "per_label": {label: vars(scores) for label, scores in self.per_label.items()},
            "macro_f1": self.macro_f1,
            "accuracy": self.accuracy,
            "confusion": {"rows_true_columns_predicted": self.confusion},
            "reporting_chars_kept": self.reporting_chars_kept,
            "non_reporting_chars_removed": self.non_reporting_chars_removed,
            "breakdown": self.breakdown,
        }

    def render(self) -> str:
        """A plain-text report for a terminal."""
        lines = [f"{self.rows} paragraphs, min_confidence {self.min_confidence:.6g}", ""]
        lines.append(f"{'label':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
        for index, (label, scores) in enumerate(self.per_label.items()):
            if not scores.support and not sum(row[index] for row in self.confusion):
                # Neither in the data nor predicted: no figure, and none in the macro.
                lines.append(f"{label:<16}{'-':>10}{'-':>10}{'-':>10}{0:>10d}  (absent: not in the macro)")
                continue
            lines.append(f"{label:<16}{scores.precision:>10.3f}{scores.recall:>10.3f}{scores.f1:>10.3f}{scores.support:>10d}")
        lines.append(f"{'macro':<16}{'':>10}{'':>10}{self.macro_f1:>10.3f}")
        lines.append(f"accuracy {self.accuracy:.3f}")
        lines.append("")
        lines.append("confusion (rows: true, columns: predicted)")
        lines.append(" " * 16 + "".join(f"{label:>16}" for label in LABELS))
        for label, row in zip(LABELS, self.confusion, strict=True):
            lines.append(f"{label:<16}" + "".join(f"{count:>16d}" for count in row))
        lines.append("")
        lines.append(f"clean keeps {self.reporting_chars_kept:.2%} of reporting characters")
        lines.append(f"clean removes {self.non_reporting_chars_removed:.2%} of non-reporting characters")
        for column, groups in self.breakdown.items():
            lines.append("")
            lines.append(f"by {column}: rows, macro-F1, reporting kept, non-reporting removed")
            for name, figures in groups.items():
                lines.append(
                    f"  {name:<24}{int(figures['rows']):>8d}{figures['macro_f1']:>8.3f}"
                    f"{figures['reporting_chars_kept']:>9.2%}{figures['non_reporting_chars_removed']:>9.2%}"
                )
        return "\n".join(lines)


def _scores(target: np.ndarray, predicted: np.ndarray) -> tuple[dict[str, LabelScores], float, list[list[int]]]:
    k = len(LABELS)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (target, predicted), 1)
    per_label: dict[str, LabelScores] = {}
    f1s = []
    for index, label in enumerate(LABELS):
        true_positive = confusion[index, index]
        predicted_count = confusion[:, index].sum()
        support = confusion[index].sum()
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = LabelScores(float(precision), float(recall), float(f1), int(support))
        # A label that is absent counts only when it was predicted: its false alarms
        # (F1 0) must weigh, but a label nobody needed or used says nothing.
        if support or predicted_count:
            f1s.append(f1)
    return per_label, float(np.mean(f1s)) if f1s else 0.0, confusion.tolist()


def _char_shares(target: np.ndarray, dropped: np.ndarray, lengths: np.ndarray) -> tuple[float, float]:
    reporting = target == LABELS.index(REPORTING)
    reporting_chars = lengths[reporting].sum()
    other_chars = lengths[~reporting].sum()
    kept = 1.0 - lengths[reporting & dropped].sum() / reporting_chars if reporting_chars else 1.0
    removed = lengths[~reporting & dropped].sum() / other_chars if other_chars else 1.0
    return float(kept), float(removed)


def evaluate_probabilities(
    data: pd.DataFrame,
    probabilities: np.ndarray,
    *,
    min_confidence: float | np.ndarray,
    keep: Sequence[str] = (REPORTING,),
) -> EvaluationReport:
    """Figures for given probabilities of the rows of ``data`` (same order).

    Only labelled rows are scored (unlabelled ones are context). ``min_confidence``
    may differ per row (cross-validation: each fold's own model).
    """
    labelled = data["label"].isin(LABELS).to_numpy()
    if not labelled.all():
        data = data[labelled].reset_index(drop=True)
        probabilities = probabilities[labelled]
        if isinstance(min_confidence, np.ndarray):
            min_confidence = min_confidence[labelled]
    if not len(data):
        from classifier.errors import DataError

        raise DataError("no labelled rows to score: every row is context or authored (see --score-authored)")
    target = np.asarray([LABELS.index(label) for label in data["label"]])
    predicted = probabilities.argmax(axis=1)
    lengths = np.asarray([len(text) for text in data["text"]])
    dropped = drop_mask(probabilities, keep=keep, min_confidence=min_confidence)
    per_label, macro, confusion = _scores(target, predicted)
    kept, removed = _char_shares(target, dropped, lengths)
    breakdown: dict[str, dict[str, dict[str, float]]] = {}
    for column in BREAKDOWN_COLUMNS:
        if column not in data.columns or data[column].nunique() < 2:
            continue
        values = np.asarray([str(value) if isinstance(value, str) else "none" for value in data[column]])
        groups: dict[str, dict[str, float]] = {}
        for name in sorted(set(values)):
            rows = values == name
            _, group_macro, _ = _scores(target[rows], predicted[rows])
            group_kept, group_removed = _char_shares(target[rows], dropped[rows], lengths[rows])
            groups[name] = {
                "rows": int(rows.sum()),
                "macro_f1": group_macro,
                "reporting_chars_kept": group_kept,
                "non_reporting_chars_removed": group_removed,
            }
        breakdown[column] = groups
    return EvaluationReport(
        rows=len(target),
        min_confidence=float(np.mean(min_confidence)) if len(target) else 0.0,
        per_label=per_label,
        macro_f1=macro,
        accuracy=float((target == predicted).mean()) if len(target) else 0.0,
        confusion=confusion,
        reporting_chars_kept=kept,
        non_reporting_chars_removed=removed,
        breakdown=breakdown,
    )


def predict_table(model: Model, data: pd.DataFrame, *, site_repeats: bool = False) -> np.ndarray:
    """The model's probabilities for every row of a labelled table, rows in table order.

    Each document is read as ``clean`` reads one article. With ``site_repeats``, a
    model that reads them is also given how many pages of the table's site hold each
    paragraph, as ``clean --site-repeats`` gives it over a corpus: counts that depend
    on which pages the table holds."""
    from classifier.data import documents

    texts = data["text"].tolist()
    positions = data["position"].to_numpy()
    groups = [sorted(rows, key=lambda row: positions[row]) for _, rows in documents(data)]
    repeats = None
    if site_repeats and getattr(model, "site_repeats", False):
        from classifier.repeats import frame_site_repeats

        counts = frame_site_repeats(data)
        repeats = [counts[rows] for rows in groups]
    results = model.predict_proba_documents([[texts[row] for row in rows] for rows in groups], site_repeats=repeats)
    probabilities = np.zeros((len(texts), len(LABELS)))
    for rows, result in zip(groups, results, strict=True):
        probabilities[rows] = result
    return probabilities


def evaluate(
    model: Model,
    data: pd.DataFrame,
    *,
    min_confidence: float | None = None,
    keep: Sequence[str] = (REPORTING,),
    site_repeats: bool = False,
) -> EvaluationReport:
    """Evaluate ``model`` on a validated labelled table (see ``classifier.data``), as
    ``clean`` reads it; with ``site_repeats``, as ``clean --site-repeats`` does over a
    corpus of these pages (see ``predict_table``)."""
    from classifier.data import check_table
    from classifier.model import Model

    if not isinstance(model, Model):
        raise TypeError(f"evaluate takes the model first, then the table: got {type(model).__name__} as the model")
    check_table(data, function="evaluate")
    keep = as_labels(keep)
    threshold = min_confidence_of(min_confidence, default=model.default_min_confidence)
    probabilities = predict_table(model, data, site_repeats=site_repeats)
    return evaluate_probabilities(data, probabilities, min_confidence=threshold, keep=keep)
