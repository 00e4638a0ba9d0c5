"""train and evaluate, from the command line and the API: what they cannot use is
refused before the work, naming the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import classifier
from classifier import DataError
from classifier.cli import app
from classifier.data import read_labelled
from classifier.training import TrainingConfig, train
from tests.conftest import AUTHORED

runner = CliRunner()
GENRE = Path(__file__).resolve().parents[1] / "datasets" / "evaluation" / "appeal_blocks.jsonl"


def invoke(*args: object):
    return runner.invoke(app, [str(arg) for arg in args])


def test_a_file_without_doc_id_names_the_column(tmp_path: Path) -> None:
    path = tmp_path / "noid.csv"
    path.write_text("id,position,text,label\nd1,0,Hello there.,reporting\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"lacks the column\(s\) doc_id"):
        read_labelled([path])


def test_a_label_held_by_one_site_is_named(small_training_table: pd.DataFrame) -> None:
    table = small_training_table.copy()
    appeal_docs = set(table.loc[table["label"] == "donation_appeal", "doc_id"])
    table["domain"] = ["one.example" if doc in appeal_docs else f"site{n % 4}" for n, doc in enumerate(table["doc_id"])]
    with pytest.raises(DataError, match=r"labelled donation_appeal lie in 1 group\(s\) \(one.example\)"):
        train(table, config=TrainingConfig(folds=3, hidden_layers=(8,)))


def test_the_api_refuses_what_it_cannot_use(small_model, small_training_table: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match=r"read files with classifier\.data\.read_labelled"):
        classifier.train("labels.jsonl")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="the model first"):
        classifier.evaluate(small_training_table, small_model)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"lacks the column\(s\) label"):
        classifier.evaluate(small_model, small_training_table.drop(columns=["label"]))
    with pytest.raises(DataError, match="no labelled row"):
        classifier.evaluate(small_model, small_training_table.assign(label=None))


def test_evaluate_refuses_options_that_do_not_apply_before_the_work(tmp_path: Path) -> None:
    cases = [
        (["--cross-validate", "--cross-corpus"], "choose one of --cross-validate and --cross-corpus"),
        (["--cross-validate", "--min-confidence", "0.1"], "--cross-validate and --cross-corpus train their own"),
        (["--cross-validate", "--groups", "domian"], "no column 'domian' for --groups"),
        (["--json", str(tmp_path)], "is a folder: give a file name"),
    ]
    for options, message in cases:
        result = invoke("evaluate", GENRE, *options)
        assert result.exit_code == 1 and message in result.output, result.output


def test_evaluate_says_when_nothing_can_be_scored() -> None:
    result = invoke("evaluate", *AUTHORED, "--cross-validate")
    assert result.exit_code == 1 and "no labelled rows to score" in result.output and "Traceback" not in result.output
    result = invoke("evaluate", GENRE, "--cross-corpus")
    assert result.exit_code == 1 and "needs rows of two corpora or more" in result.output


def test_train_checks_its_destination_first_and_uses_the_folds_there_are(tmp_path: Path, small_training_table) -> None:
    data = tmp_path / "train.jsonl"
    small_training_table[["doc_id", "position", "text", "label", "domain"]].to_json(data, orient="records", lines=True)
    a_file = tmp_path / "a_file"
    a_file.write_text("not a model")
    result = invoke("train", data, "--output", a_file)
    assert result.exit_code == 1 and "is a file: give a folder for the model" in result.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    result = invoke("train", data, "--output", other)
    assert result.exit_code == 1 and "holds other files" in result.output
    groups = small_training_table["domain"].nunique()
    result = invoke("train", data, "--output", tmp_path / "model", "--folds", groups + 5, "--hidden", 8)
    assert result.exit_code == 0, result.output
    assert f"only {groups} groups: using {groups}" in result.output
    assert json.loads((tmp_path / "model" / "manifest.json").read_text())["config"]["folds"] == groups
