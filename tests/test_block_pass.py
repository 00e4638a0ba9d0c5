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


def test_at_end_the_last_line_of_each_document_has_its_own_columns() -> None:
    probabilities = _probabilities("rrd" + "rrrd")
    plain = block_features(probabilities, [3, 4])
    features = block_features(probabilities, [3, 4], at_end=True)
    assert np.array_equal(features[:, : plain.shape[1]], plain)  # the same columns first
    extra = features[:, plain.shape[1] :]
    last = np.array([False, False, True, False, False, False, True])
    assert extra[:, -1].tolist() == last.tolist()
    assert np.array_equal(extra[last, :3], plain[last, :3])  # its own log-probabilities again
    assert not extra[~last].any()


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
    assert loaded.block_layer is not None and loaded.block_at_end
    assert np.array_equal(predict_table(loaded, small_training_table), predict_table(model, small_training_table))
    # The pass changes what the model says.
    plain = TrainingConfig(folds=3, hidden_layers=(8,), authored_weight=1.0, block_pass=False)
    without, _ = train(small_training_table, config=plain)
    assert without.block_layer is None
    assert not np.allclose(predict_table(without, small_training_table), predict_table(model, small_training_table))


def test_a_block_pass_without_the_last_line_columns_is_format_two(small_training_table, tmp_path: Path) -> None:
    # Releases that read format 2 compute the narrower block pass: a model that needs
    # the last line's columns is format 3, which they refuse rather than misread.
    import json

    config = TrainingConfig(folds=3, hidden_layers=(8,), authored_weight=1.0, block_at_end=False)
    model, _ = train(small_training_table, config=config)
    assert model.block_layer is not None and not model.block_at_end
    folder = save_model(model, tmp_path / "m")
    assert json.loads((folder / "manifest.json").read_text())["format_version"] == 2
    loaded = load_model_folder(folder)
    assert not loaded.block_at_end
    assert np.array_equal(predict_table(loaded, small_training_table), predict_table(model, small_training_table))
