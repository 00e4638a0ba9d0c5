from __future__ import annotations

from pathlib import Path

import pytest

from classifier.data import fingerprint, read_labelled
from classifier.errors import DataError, UnknownLabelError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_csv_jsonl_and_keeps_extra_columns(tmp_path: Path) -> None:
    header = "doc_id,position,text,label,language\n"
    csv = _write(tmp_path / "a.csv", header + "d1,0,Hello there.,reporting,en\nd1,1,Share,ui_residue,en\n")
    jsonl = _write(tmp_path / "b.jsonl", '{"doc_id": "d2", "position": 0, "text": "Give now", "label": "donation_appeal"}\n')
    frame = read_labelled([csv, jsonl])
    assert list(frame["label"]) == ["reporting", "ui_residue", "donation_appeal"]
    assert frame.loc[0, "language"] == "en"


def test_unknown_label_names_the_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", "doc_id,position,text,label\nd1,0,Hi.,reporting\nd1,1,Ad,advert\n")
    with pytest.raises(UnknownLabelError, match=r"'advert' in a.csv row 3"):
        read_labelled([path])


def test_empty_text_names_the_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", '{"doc_id": "d", "position": 0, "text": "  ", "label": "reporting"}\n')
    with pytest.raises(DataError, match=r"a\.jsonl row 1"):
        read_labelled([path])


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", "doc_id,text,label\nd1,Hi.,reporting\n")
    with pytest.raises(DataError, match="position"):
        read_labelled([path])


def test_duplicate_position_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", "doc_id,position,text,label\nd1,0,A.,reporting\nd1,0,B.,reporting\n")
    with pytest.raises(DataError, match="appears twice"):
        read_labelled([path])


def test_fingerprint_changes_with_a_label(tmp_path: Path) -> None:
    one = read_labelled([_write(tmp_path / "a.csv", "doc_id,position,text,label\nd,0,A.,reporting\n")])
    two = read_labelled([_write(tmp_path / "b.csv", "doc_id,position,text,label\nd,0,A.,ui_residue\n")])
    assert fingerprint(one)["sha256"] != fingerprint(two)["sha256"]
    assert fingerprint(one)["label_counts"] == {"reporting": 1, "donation_appeal": 0, "ui_residue": 0}


def test_a_bad_jsonl_line_is_named_by_its_number(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    good = '{"doc_id": "d", "position": 0, "text": "Hi there.", "label": "reporting"}'
    path.write_text(f"{good}\n\n{good.replace('0', '1')}\n{{oops}}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"labels\.jsonl, line 4: not valid JSON"):
        read_labelled([path])


def test_positions_in_messages_read_as_plain_numbers() -> None:
    import pandas as pd

    from classifier.data import validate

    with pytest.raises(DataError, match=r"^position -1 in row 1 is not a whole number"):
        validate(pd.DataFrame({"doc_id": ["a"], "position": [-1], "text": ["x"], "label": ["reporting"]}))
