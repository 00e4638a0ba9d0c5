from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# The same examples on every run, and no example database written into the checkout:
# a rare input must not fail one CI run at random and pass the next.
# HYPOTHESIS_PROFILE=explore draws new examples each run, to hunt for such inputs.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_5fc31cc41396119c.txt"
AUTHORED = sorted((ROOT / "datasets" / "authored").glob("*.jsonl"))

# LABELLING.md's worked example for the seed, paragraph by paragraph (1-based ranges).
SEED_LABELS = ["reporting"] * 6 + ["donation_appeal"] * 7 + ["ui_residue"]


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def small_training_table():
    """A few authored documents of every file: enough for every label, quick to fit."""
    from classifier.data import read_labelled

    frame = read_labelled(AUTHORED)
    documents = sorted(frame["doc_id"].unique())
    chosen = set(documents[::4])
    return frame[frame["doc_id"].isin(chosen)].reset_index(drop=True)


@pytest.fixture(scope="session")
def fitted(small_training_table):
    """(exported model, scikit-learn estimator) trained on the small table."""
    from classifier.training import TrainingConfig, train

    # Every row here is ours ("authored"): the weight that lifts our examples over real
    # pages would only scale the learning rate of a table made of them alone.
    return train(small_training_table, config=TrainingConfig(folds=3, hidden_layers=(8,), authored_weight=1.0))


@pytest.fixture(scope="session")
def small_model(fitted):
    return fitted[0]


@pytest.fixture
def fit_arguments(monkeypatch) -> dict:
    """What ``train`` hands ``ParagraphClassifier.fit``: the frame (as ``frame``) and
    every keyword argument, filled in when a test trains."""
    import classifier.training as training

    seen: dict = {}
    real_fit = training.ParagraphClassifier.fit

    def recording_fit(self, X, y, **options):
        seen.update(frame=X, **options)
        return real_fit(self, X, y, **options)

    monkeypatch.setattr(training.ParagraphClassifier, "fit", recording_fit)
    return seen


def file_gate_problems(gate_file: Path) -> list[str]:
    """What a gate on a written labelled file (genre, endings) finds wrong with the
    shipped model, after checking that every row of the file is labelled and counted."""
    from classifier.corpus import gate

    pinned = gate.pinned(gate_file)
    split = gate.file_split(gate.split_file_of(gate_file, pinned))
    assert split.table["label"].notna().all() and len(split.table) == pinned["split"]["labelled_rows"]
    return gate.check(pinned, split.hash, gate.measure(split))
