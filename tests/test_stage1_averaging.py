"""Stage one's tail averaging (``TrainingConfig.stage1_average_from_epoch``)."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.training import ParagraphClassifier, TrainingConfig, train


def _stage1(config: TrainingConfig, rows: int):
    estimator = ParagraphClassifier(config)
    estimator.config_ = config
    return estimator._new_stage1(rows)


def test_averaging_starts_after_the_given_epochs() -> None:
    assert _stage1(TrainingConfig(stage1_average_from_epoch=5), 1_000).average == 5_000
    assert _stage1(TrainingConfig(stage1_average_from_epoch=None), 1_000).average is False
    assert TrainingConfig().stage1_average_from_epoch == 5  # the shipped recipe
    with pytest.raises(ValueError, match="stage1_average_from_epoch"):
        _stage1(TrainingConfig(stage1_average_from_epoch=10, stage1_epochs=10), 1_000)  # nothing left to average


def test_tail_averaged_weights_are_reproducible_and_not_the_last_step(small_training_table) -> None:
    recipe = dict(folds=3, hidden_layers=(8,), authored_weight=1.0, stage2_iterations=20)
    averaged, _ = train(small_training_table, config=TrainingConfig(**recipe, stage1_average_from_epoch=5))
    again, _ = train(small_training_table, config=TrainingConfig(**recipe, stage1_average_from_epoch=5))
    last, _ = train(small_training_table, config=TrainingConfig(**recipe, stage1_average_from_epoch=None))
    assert np.array_equal(averaged.token_coef, again.token_coef)
    assert not np.allclose(averaged.token_coef, last.token_coef)


def test_stage_one_probabilities_stay_numbers_where_every_sigmoid_underflows(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fold models of the shipped recipe reach scores near -1e5 on some rows: there,
    # scikit-learn before 1.9 divides 0 by 0, and training failed on "Input X contains
    # NaN". Such rows get the exported model's probabilities; the others stay as
    # predict_proba gives them (the shipped recipe gives the shipped model again).
    from classifier.model import link
    from classifier.training import _stage1_proba

    stage1 = _stage1(TrainingConfig(), 6)
    features = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]] * 2)
    stage1.fit(features, np.array([0, 1, 2] * 2))
    expected = stage1.predict_proba(features)
    assert np.array_equal(_stage1_proba(stage1, features), expected)

    def old_release(design: np.ndarray) -> np.ndarray:  # as scikit-learn 1.8 computes it
        with np.errstate(over="ignore", invalid="ignore"):
            scores = 1.0 / (1.0 + np.exp(-stage1.decision_function(design)))
            return scores / scores.sum(axis=1, keepdims=True)

    monkeypatch.setattr(stage1, "predict_proba", old_release)
    underflowing = features.copy()
    underflowing[0] = [-1e6, -1e6]  # one row far out: every score near -1e5 or below
    stage1.coef_ = np.abs(stage1.coef_) + 1.0
    probabilities = _stage1_proba(stage1, underflowing)
    assert np.isnan(old_release(underflowing)[0]).all()
    assert np.isfinite(probabilities).all() and np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.array_equal(probabilities[0], link(stage1.decision_function(underflowing[:1]), "ovr")[0])
    assert np.array_equal(probabilities[1:], old_release(underflowing)[1:])
