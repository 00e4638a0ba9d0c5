"""Labelled files as teams write them: pandas' own types, compressed and BOM-marked
files, mistakes named where they are; and what evaluate writes never overwrites them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier import DataError
from classifier.cli import app
from classifier.data import read_labelled
from classifier.evaluation import evaluate_probabilities

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(arg) for arg in args])


def table(documents: int = 6) -> pd.DataFrame:
    labels = ["reporting", "ui_residue", "donation_appeal", "reporting", None]
    rows = [
        {
            "doc_id": f"d{n // 5}",
            "position": n % 5,
            "text": f"Paragraph {n}: the council met on Monday.",
            "label": labels[n % 5],
            "domain": f"site{n // 10}.org",
        }
        for n in range(5 * documents)
    ]
    return pd.DataFrame(rows)


def test_a_missing_label_as_pandas_na_is_a_context_row(tmp_path: Path) -> None:
    # convert_dtypes() (or astype("string")) writes the empty label as pd.NA.
    path = tmp_path / "typed.parquet"
    table().convert_dtypes().to_parquet(path)
    read = read_labelled([path])
    assert read["label"].isna().sum() == 6 and (read["label"] == "reporting").sum() == 12


def test_zstandard_and_byte_order_marks_are_read(tmp_path: Path) -> None:
    import zstandard

    lines = table().to_json(orient="records", lines=True)
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(lines.encode("utf-8")))
    (tmp_path / "b.jsonl").write_text(lines, encoding="utf-8-sig")
    table().to_csv(tmp_path / "c.csv", index=False, encoding="utf-8-sig")
    for name in ("a.jsonl.zst", "b.jsonl", "c.csv"):
        assert len(read_labelled([tmp_path / name])) == 30, name


def test_a_paragraph_given_twice_is_named_in_both_places(tmp_path: Path) -> None:
    table().iloc[:5].to_csv(tmp_path / "a.csv", index=False)
    table().iloc[:5].to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match=r"in a.csv row 2 and in b.csv row 2.*give each file's doc_ids a prefix"):
        read_labelled([tmp_path / "a.csv", tmp_path / "b.csv"])


def test_a_csv_that_a_spreadsheet_wrote_with_semicolons_or_tabs_is_read(tmp_path: Path) -> None:
    # Spreadsheets set to many European languages separate with semicolons, and a
    # text may hold commas.
    expected = table()
    expected.loc[0, "text"] = "Rain, wind, and snow: the mayor spoke, briefly."
    for sep, name in ((";", "semi.csv"), ("\t", "tabs.csv")):
        expected.to_csv(tmp_path / name, sep=sep, index=False, encoding="utf-8-sig", lineterminator="\r\n")
        read = read_labelled([tmp_path / name])
        assert read["text"].tolist() == expected["text"].tolist(), name


def test_a_folder_and_a_file_in_another_encoding_are_named_for_what_they_are(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a folder"):
        read_labelled([tmp_path])
    frame = table()
    frame.loc[0, "text"] = "Café à la une"
    frame.to_csv(tmp_path / "latin.csv", index=False, encoding="cp1252")
    with pytest.raises(DataError, match="save it as UTF-8"):
        read_labelled([tmp_path / "latin.csv"])


def test_evaluate_never_writes_over_its_input_and_prints_json_with_a_dash(tmp_path: Path, small_model) -> None:
    from classifier.model import save_model

    model = tmp_path / "model"
    save_model(small_model, model)
    data = tmp_path / "labels.jsonl"
    data.write_text(table().to_json(orient="records", lines=True), encoding="utf-8")
    before = data.read_bytes()
    result = invoke("evaluate", data, "--model", model, "--json", data)
    assert result.exit_code == 1 and "is one of the labelled files" in result.output
    assert data.read_bytes() == before
    result = invoke("evaluate", data, "--model", model, "--json", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 24
    assert "precision" in result.stderr and not (Path.cwd() / "-").exists()


def test_options_evaluate_would_ignore_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "labels.jsonl"
    data.write_text(table().to_json(orient="records", lines=True), encoding="utf-8")
    result = invoke("evaluate", data, "--score-authored")
    assert result.exit_code == 1 and "--score-authored applies to --cross-validate" in result.output


@pytest.mark.parametrize("command", [["train", "-o", "m"], ["evaluate", "--cross-validate"]])
def test_one_site_of_labels_is_told_to_fold_by_document(tmp_path: Path, command: list[str]) -> None:
    data = tmp_path / "one.jsonl"
    data.write_text(table().assign(domain="one.org").to_json(orient="records", lines=True), encoding="utf-8")
    arguments = [str(tmp_path / part) if part == "m" else part for part in command]
    result = invoke(arguments[0], data, *arguments[1:])
    assert result.exit_code == 1
    assert "every row has the same domain (one.org)" in result.output and "--groups doc_id" in result.output


def test_a_label_that_is_absent_but_predicted_counts_in_macro_f1() -> None:
    frame = pd.DataFrame({"doc_id": ["d"] * 4, "position": range(4), "text": ["a", "b", "c", "d"]})
    frame["label"] = ["reporting", "reporting", "ui_residue", "ui_residue"]
    right = np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 0, 1.0], [0, 0, 1.0]])
    assert evaluate_probabilities(frame, right, min_confidence=0.5).macro_f1 == 1.0
    false_alarm = right.copy()
    false_alarm[1] = [0, 1.0, 0]  # an appeal where there is none
    report = evaluate_probabilities(frame, false_alarm, min_confidence=0.5)
    assert report.per_label["donation_appeal"].f1 == 0.0
    assert report.macro_f1 == pytest.approx((2 / 3 + 1.0 + 0.0) / 3)


def test_empty_rows_a_spreadsheet_saves_are_not_data(tmp_path: Path) -> None:
    path = tmp_path / "sheet.csv"
    rows = "doc_id,position,text,label\nd,0,The council met.,reporting\nd,1,Share,ui_residue\n"
    path.write_text(rows + ",,,\n,,,\n", encoding="utf-8")
    assert read_labelled([path])["label"].tolist() == ["reporting", "ui_residue"]


def test_fold_options_without_folds_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "labels.jsonl"
    data.write_text(table().to_json(orient="records", lines=True), encoding="utf-8")
    cases = ((["--folds", "3"], "--folds applies to --cross-validate"), (["--groups", "doc_id"], "--groups applies"))
    for options, message in cases:
        result = invoke("evaluate", data, *options)
        assert result.exit_code == 1 and message in result.output


def test_a_position_a_spreadsheet_saved_as_a_decimal_is_read(tmp_path: Path) -> None:
    frame = table()
    frame["position"] = frame["position"].astype(float).astype(str)  # "0.0", "1.0", ...
    frame.to_json(tmp_path / "a.jsonl", orient="records", lines=True)
    assert read_labelled([tmp_path / "a.jsonl"])["position"].tolist() == table()["position"].tolist()


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        (
            "blank.jsonl",
            '{"doc_id":"a","position":0,"text":"x","label":"reporting"}\n\n\n'
            '{"doc_id":"a","position":1,"text":"y","label":"ui_residu"}\n',
            4,
        ),
        ("blank.csv", 'doc_id,position,text,label\na,0,"x\ny",reporting\n,,,\n\na,1,z,ui_residu\n', 6),
    ],
)
def test_a_bad_row_is_named_by_the_line_it_is_on(tmp_path: Path, name: str, content: str, line: int) -> None:
    # Blank lines and a quoted line break: pandas' row numbers would be off.
    from classifier import UnknownLabelError

    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UnknownLabelError, match=rf"unknown label 'ui_residu' in {name} row {line}\b"):
        read_labelled([path])
