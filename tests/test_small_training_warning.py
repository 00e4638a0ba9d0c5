"""``newsclean train`` says when a model learnt from far less than the shipped one."""

from __future__ import annotations

from classifier.api import default_model_path
from classifier.model import read_manifest
from classifier.training import SMALL_TRAINING_SHARE, smaller_than_shipped


def _manifest(labelled_rows: int) -> dict:
    return {"training_data": {"labelled_rows": labelled_rows}}


def shipped_rows() -> int:
    return int(read_manifest(default_model_path())["training_data"]["labelled_rows"])


def test_a_few_hundred_labels_get_a_note_that_names_the_fix() -> None:
    note = smaller_than_shipped(_manifest(807))
    assert note is not None
    assert "807 labelled paragraphs" in note and f"{shipped_rows():,}" in note
    assert "newsclean data build" in note and "build/corpus/train.parquet" in note


def test_no_note_from_the_share_up() -> None:
    at_share = int(SMALL_TRAINING_SHARE * shipped_rows()) + 1
    assert smaller_than_shipped(_manifest(at_share)) is None
    assert smaller_than_shipped(_manifest(at_share - 2)) is not None
    assert smaller_than_shipped(_manifest(shipped_rows())) is None


def test_a_manifest_without_training_counts_gets_no_note() -> None:
    assert smaller_than_shipped({}) is None
    assert smaller_than_shipped({"training_data": {"labelled_rows": "many"}}) is None
