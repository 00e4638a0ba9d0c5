"""The block pass: a paragraph judged once more by its neighbours' second-pass judgements."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classifier.evaluation import predict_table
from classifier.features import NEIGHBOUR_OFFSETS, block_features
from classifier.model import load_model_folder, save_model
from classifier.training import TrainingConfig, train


def _probabilities(labels: str) -> np.ndarray:
    """One row per letter: r reporting, d donation_appeal, u ui_residue (sure of it)."""
    rows = {"r": [1.0, 0.0, 0.0], "d": [0.0, 1.0, 0.0], "u": [0.0, 0.0, 1.0]}
    return np.asarray([rows[letter] for letter in labels])


def test_a_paragraph_between_appeals_is_inside_an_appeal_block() -> None:
    features = block_features(_probabilities("rrdrdu"), [6])
    inside = features[:, -2:]  # donation_appeal, ui_residue
    assert inside[3].tolist() == [1.0, 0.0]  # appeals before and after it; the button only after
    assert inside[1].tolist() == [0.0, 0.0]  # nothing before it
    width = 3 + len(NEIGHBOUR_OFFSETS) * 4 + 2 * 3 + 2
    assert features.shape == (6, width)


def test_no_feature_reaches_across_documents() -> None:
    together = block_features(_probabilities("rrd" + "urr"), [3, 3])
    alone = np.vstack([block_features(_probabilities("rrd"), [3]), block_features(_probabilities("urr"), [3])])
    assert np.array_equal(together, alone)


def test_a_model_with_a_block_pass_exports_saves_and_loads_exactly(small_training_table, tmp_path: Path) -> None:
    config = TrainingConfig(folds=3, hidden_layers=(8,), authored_weight=1.0, block_pass=True)
    model, estimator = train(small_training_table, config=config)
    assert model.block_layer is not None
    expected = estimator.predict_proba(small_training_table)
    assert np.abs(predict_table(model, small_training_table) - expected).max() < 1e-5
    save_model(model, tmp_path / "m")
    loaded = load_model_folder(tmp_path / "m")
    assert loaded.block_layer is not None
    assert np.array_equal(predict_table(loaded, small_training_table), predict_table(model, small_training_table))
    # The pass changes what the model says.
    plain = TrainingConfig(folds=3, hidden_layers=(8,), authored_weight=1.0, block_pass=False)
    without, _ = train(small_training_table, config=plain)
    assert without.block_layer is None
    assert not np.allclose(predict_table(without, small_training_table), predict_table(model, small_training_table))
