"""A trained model adapted to a team's own sites with a few hundred labels.

Retraining from scratch on a few hundred paragraphs loses what the shipped model
learnt from hundreds of thousands, and retraining on the shipped model's data needs
the benchmark corpora. Adapting needs neither: stage one's word weights move from
the base model's towards what the team's labels say, each move paid for in a penalty
(``strength``), so that words the labels never show, and everything the later passes
learnt, stay as they were. Words of the labels that the vocabulary lacks (a language
the base model never saw) join it first, with no weight until the labels give one.
Only the words' weights move: a paragraph's shape and the label shares mean the same
on every site, and moving them changed the model on sites the labels do not come
from.

The strength is chosen by cross-validation over the team's documents unless given;
the figures of that choice, and the base model's on the same paragraphs, come back
with the model so that a team sees what adapting bought.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from classifier.errors import DataError
from classifier.labels import LABELS

if TYPE_CHECKING:
    import pandas as pd

    from classifier.evaluation import EvaluationReport
    from classifier.model import Model

#: Strengths tried by cross-validation, weakest pull to the base model first.
STRENGTHS: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0)
#: Folds of that cross-validation (fewer when there are fewer documents).
ADAPTATION_FOLDS = 3
#: How much less of the reporting characters a strength may keep, out of fold, than
#: the base model did and still be chosen.
KEPT_TOLERANCE = 0.001
#: Words the base vocabulary lacks join it when this many labelled paragraphs hold
#: them, the most frequent first, at most ``MAX_NEW_WORDS``.
NEW_WORD_PARAGRAPHS = 2
MAX_NEW_WORDS = 20_000


@dataclasses.dataclass(frozen=True)
class Adaptation:
    """What adapting found: the strength used and, where chosen by cross-validation,
    the figures of each strength and of the base model on the same paragraphs."""

    strength: float
    folds: int = 0  # of the cross-validation that chose the strength (0: given)
    base: EvaluationReport | None = None
    by_strength: dict[float, EvaluationReport] = dataclasses.field(default_factory=dict)

    @property
    def adapted(self) -> EvaluationReport | None:
        return self.by_strength.get(self.strength)


def _stage1_inputs(model: Model, texts: list[str]) -> tuple[Any, np.ndarray]:
    """Stage one's word inputs for ``texts`` (term counts scaled as the model scales
    them, a sparse matrix) and its scores from everything else (shape, intercept)."""
    from scipy import sparse

    from classifier.features import paragraph_features

    ids, owners, shapes = paragraph_features(texts, model.token_table, model.n_buckets, tokenizer=model.tokenizer)
    counts = np.bincount(owners, minlength=len(texts))
    norm = np.where(counts > 0, 1.0 / np.sqrt(np.maximum(counts, 1)), 0.0)
    tokens = sparse.csr_matrix((norm[owners], (owners, ids)), shape=(len(texts), model.token_coef.shape[0]))
    rest = ((shapes - model.shape_mean) / model.shape_scale) @ model.shape_coef + model.stage1_intercept
    return tokens, rest


def with_new_words(model: Model, texts: Sequence[str]) -> Model:
    """``model`` with the words of ``texts`` that its vocabulary lacks added (see
    ``NEW_WORD_PARAGRAPHS``), each with no weight yet: a site in a language the
    model never saw is otherwise read as shapes and neighbours alone."""
    from classifier.features import FeatureSpace, words_of

    counts: dict[str, int] = {}
    for text in texts:
        for word in set(words_of(text, model.tokenizer)):
            if word not in model.vocabulary:
                counts[word] = counts.get(word, 0) + 1
    new = sorted((word for word, count in counts.items() if count >= NEW_WORD_PARAGRAPHS), key=lambda w: (-counts[w], w))
    new = new[:MAX_NEW_WORDS]
    if not new:
        return model
    n, buckets = len(model.vocabulary), model.n_buckets
    before, after = FeatureSpace(n, buckets), FeatureSpace(n + len(new), buckets)
    # The same features at their new places: unigrams, bigram buckets (hashed from
    # word ids, which the old words keep), first words, the empty paragraph.
    token_coef = np.zeros((after.size, model.token_coef.shape[1]))
    token_coef[:n] = model.token_coef[:n]
    token_coef[after.bigram_offset : after.bigram_offset + buckets] = model.token_coef[
        before.bigram_offset : before.bigram_offset + buckets
    ]
    token_coef[after.first_offset : after.first_offset + n] = model.token_coef[before.first_offset : before.first_offset + n]
    token_coef[after.empty_feature] = model.token_coef[before.empty_feature]
    vocabulary = dict(model.vocabulary)
    vocabulary.update((word, n + number) for number, word in enumerate(new))
    return dataclasses.replace(model, vocabulary=vocabulary, token_coef=token_coef)


def fit_word_weights(model: Model, texts: Sequence[str], labels: Sequence[str], *, strength: float) -> Model:
    """``model`` with stage one's word weights fitted to labelled ``texts`` around their
    values in ``model`` (an L2 pull of ``strength`` towards them)."""
    from scipy import optimize

    if not (math.isfinite(strength) and strength > 0):
        raise ValueError(f"strength must be a number above 0, got {strength}")
    texts = list(texts)
    if not texts:
        return model  # nothing to learn from: the base weights stand
    target = np.asarray([LABELS.index(label) for label in labels], dtype=np.int64)
    tokens, rest = _stage1_inputs(model, texts)
    offsets = np.asarray(tokens @ model.token_coef) + rest
    # Only the words these paragraphs hold can move; the rest keep the base weights.
    columns = np.unique(tokens.indices)
    active = tokens[:, columns].tocsr()
    k = len(LABELS)
    one_hot = np.eye(k)[target]
    counts = np.bincount(target, minlength=k)
    # Each label weighs as much as the others, as in training (class_weight="balanced").
    weights = (len(target) / (k * np.maximum(counts, 1)))[target][:, None]

    def loss_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        delta = flat.reshape(len(columns), k)
        scores = offsets + active @ delta
        if model.stage1_link == "ovr":
            loss = float((weights * (np.logaddexp(0.0, scores) - one_hot * scores)).sum())
            # The sigmoid in log space: exp(-scores) overflows for scores far below zero.
            residual = weights * (np.exp(-np.logaddexp(0.0, -scores)) - one_hot)
        else:
            top = scores.max(axis=1, keepdims=True)
            log_norm = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))
            loss = float((weights[:, 0] * (log_norm - scores[np.arange(len(target)), target])).sum())
            residual = weights * (np.exp(scores - log_norm[:, None]) - one_hot)
        loss += 0.5 * strength * float((delta * delta).sum())
        gradient = active.T @ residual + strength * delta
        return loss, np.asarray(gradient).ravel()

    found = optimize.minimize(
        loss_and_gradient, np.zeros(len(columns) * k), jac=True, method="L-BFGS-B", options={"maxiter": 500}
    )
    token_coef = model.token_coef.copy()
    token_coef[columns] += found.x.reshape(len(columns), k)
    fitted = dataclasses.replace(model, token_coef=token_coef)
    # The vocabulary is the base model's: share its lookup table rather than build it
    # again (a cached property, kept in the instance's dictionary).
    fitted.__dict__["token_table"] = model.token_table
    return fitted


def choose_strength(by_strength: dict[float, EvaluationReport], base: EvaluationReport) -> float:
    """Among the strengths that keep as much reporting as the base model did (never
    losing reporting comes first), the best macro-F1, and among near ties (within
    0.005) the strongest pull, closest to what the base learnt from every other site.
    Where none keeps as much, the one that keeps most."""
    safe = {
        candidate: found
        for candidate, found in by_strength.items()
        if found.reporting_chars_kept >= base.reporting_chars_kept - KEPT_TOLERANCE
    }
    if safe:
        best = max(found.macro_f1 for found in safe.values())
        return max(candidate for candidate, found in safe.items() if found.macro_f1 >= best - 0.005)
    most = max(found.reporting_chars_kept for found in by_strength.values())
    return max(candidate for candidate, found in by_strength.items() if found.reporting_chars_kept >= most)


def adapt(
    base: Model,
    data: pd.DataFrame,
    *,
    strength: float | None = None,
    groups_column: str = "doc_id",
    folds: int = ADAPTATION_FOLDS,
) -> tuple[Model, Adaptation]:
    """``base`` adapted to the labelled table ``data`` (a team's own pages).

    ``strength`` pulls the word weights towards the base model's; None chooses it
    from ``STRENGTHS`` by cross-validation, folds keeping each ``groups_column`` value
    (default: each document) whole: a team's next pages are new pages of its sites.
    """
    from classifier import __version__
    from classifier.data import check_table, fingerprint, labelled_mask, plain_frame
    from classifier.evaluation import evaluate_probabilities, predict_table
    from classifier.training import _group_folds

    check_table(data, function="adapt")
    if strength is not None and not (math.isfinite(strength) and strength > 0):
        raise ValueError(f"strength must be a number above 0, got {strength}")
    if groups_column not in data.columns:
        raise DataError(f"no column {groups_column!r} to group the folds by: name one of {', '.join(map(str, data.columns))}")
    data = data.reset_index(drop=True)
    learnt = fingerprint(data)  # of the labels as given (evaluate compares it so)
    data = plain_frame(data)  # the form the model reads: new words and weights from it
    labelled = labelled_mask(data)
    threshold = base.default_min_confidence
    report = Adaptation(strength=float(strength) if strength is not None else 0.0)
    if strength is None:
        groups = data[groups_column].astype(str).to_numpy()
        if len(np.unique(groups[labelled])) < 2:
            raise DataError(
                f"choosing the strength needs labelled paragraphs in two or more groups of {groups_column!r}: "
                "label more documents, group by another column (--groups), or give --strength"
            )
        # Folds of the groups that hold labels: a group of context alone would leave a
        # fold with nothing to learn from, scored as the base model.
        with_labels = np.flatnonzero(np.isin(groups, np.unique(groups[labelled])))
        folds = min(folds, len(np.unique(groups[labelled])))
        scored = data[labelled].reset_index(drop=True)
        # Each page is read as plain ``clean`` reads one article, by the base model
        # and by the candidates: no site repeats, which would depend on the folds.
        base_out_of_fold = predict_table(base, data)
        out_of_fold = {candidate: np.zeros((len(data), len(LABELS))) for candidate in STRENGTHS}
        for train_part, test_part in _group_folds(groups[with_labels], folds):
            train_rows, test_rows = with_labels[train_part], with_labels[test_part]
            fit_rows = train_rows[labelled[train_rows]]
            texts, labels = data["text"].iloc[fit_rows].tolist(), data["label"].iloc[fit_rows].tolist()
            # The fold's own new words: those of the paragraphs it learns from.
            grown = with_new_words(base, texts)
            for candidate in STRENGTHS:
                fitted = fit_word_weights(grown, texts, labels, strength=candidate)
                out_of_fold[candidate][test_rows] = predict_table(fitted, data.iloc[test_rows])
        base_report = evaluate_probabilities(scored, base_out_of_fold[labelled], min_confidence=threshold)
        by_strength: dict[float, EvaluationReport] = {
            candidate: evaluate_probabilities(scored, found[labelled], min_confidence=threshold)
            for candidate, found in out_of_fold.items()
        }
        chosen = choose_strength(by_strength, base_report)
        report = Adaptation(strength=chosen, folds=folds, base=base_report, by_strength=by_strength)
    rows = np.flatnonzero(labelled)
    texts = data["text"].iloc[rows].tolist()
    grown = with_new_words(base, texts)
    adapted = fit_word_weights(grown, texts, data["label"].iloc[rows].tolist(), strength=report.strength)
    manifest = {key: value for key, value in base.manifest.items() if key not in ("checksum", "files")}
    manifest["newsclean_version"] = __version__
    manifest["adapted"] = {
        "base_checksum": base.manifest.get("checksum"),
        "base_training_data": base.manifest.get("training_data"),
        # A base adapted before keeps the record of that adaptation.
        "earlier": base.manifest.get("adapted"),
        "strength": report.strength,
        "chosen_by": "cross-validation" if report.by_strength else "given",
        "new_words": len(grown.vocabulary) - len(base.vocabulary),
        "training_data": learnt,
    }
    if report.adapted is not None and report.base is not None:
        manifest["adapted"]["cross_validated"] = {"base": report.base.summary(), "adapted": report.adapted.summary()}
    return dataclasses.replace(adapted, manifest=manifest), report
