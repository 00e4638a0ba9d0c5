"""A recheck round changes labels in the reviewed files that hold them, nowhere else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.corpus.build import load_labels
from classifier.corpus.review import ReviewAnswerError, apply_recheck


def _row(position: int, label: str) -> dict:
    return {
        "corpus": "c",
        "page_id": "p",
        "extractor": "fulltext",
        "position": position,
        "text_hash": f"h{position}",
        "label": label,
        "method": "reviewed",
    }


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def test_recheck_rewrites_each_key_in_its_own_file(tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    labels.mkdir()
    _write(labels / "reviewed_001.jsonl", [_row(0, "ui_residue"), _row(1, "reporting")])
    _write(labels / "reviewed_002.jsonl", [_row(2, "reporting")])
    keys = tmp_path / "recheck.keys.jsonl"
    _write(
        keys, [{"id": f"R01-{i}", **{k: v for k, v in _row(i, "x").items() if k not in ("label", "method")}} for i in range(3)]
    )
    answers = tmp_path / "answers.tsv"
    answers.write_text("R01-0\tdonation_appeal\nR01-1\treporting\nR01-2\tui_residue\n", encoding="utf-8")

    results = apply_recheck(keys, answers, labels)

    assert {name: stats.changed for name, stats in results.items()} == {"reviewed_001.jsonl": 1, "reviewed_002.jsonl": 1}
    reviewed = load_labels(labels)["reviewed"]
    assert {key[3]: row["label"] for key, (row, _) in reviewed.items()} == {0: "donation_appeal", 1: "reporting", 2: "ui_residue"}
    assert [len(path.read_text().splitlines()) for path in sorted(labels.iterdir())] == [2, 1]


def test_recheck_refuses_an_answer_for_a_key_never_reviewed(tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    labels.mkdir()
    _write(labels / "reviewed_001.jsonl", [_row(0, "ui_residue")])
    keys = tmp_path / "recheck.keys.jsonl"
    _write(keys, [{"id": "R01-9", **{k: v for k, v in _row(9, "x").items() if k not in ("label", "method")}}])
    answers = tmp_path / "answers.tsv"
    answers.write_text("R01-9\treporting\n", encoding="utf-8")
    with pytest.raises(ReviewAnswerError, match="no reviewed key"):
        apply_recheck(keys, answers, labels)
    assert "ui_residue" in (labels / "reviewed_001.jsonl").read_text()


def test_a_bad_answer_for_one_file_rewrites_no_file_and_is_named_in_the_answers(tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    labels.mkdir()
    _write(labels / "reviewed_001.jsonl", [_row(0, "ui_residue")])
    _write(labels / "reviewed_002.jsonl", [_row(1, "reporting")])
    before = {path.name: path.read_bytes() for path in labels.iterdir()}
    keys = tmp_path / "recheck.keys.jsonl"
    _write(keys, [{"id": f"R01-{i}", **{k: v for k, v in _row(i, "x").items() if k not in ("label", "method")}} for i in (0, 1)])
    answers = tmp_path / "answers.tsv"
    answers.write_text("\ufeffR01-0\tdonation_appeal\nR01-1\treportng\n", encoding="utf-8")  # a BOM, and a typo
    with pytest.raises(ReviewAnswerError, match=rf"(?s){answers}; .*line 2: unknown label 'reportng'"):
        apply_recheck(keys, answers, labels)
    assert {path.name: path.read_bytes() for path in labels.iterdir()} == before
    answers.write_text("\ufeffR01-0\tdonation_appeal\nR01-1\treporting\n", encoding="utf-8")
    assert apply_recheck(keys, answers, labels)["reviewed_001.jsonl"].changed == 1
