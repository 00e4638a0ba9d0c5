"""The genre gate: the shipped model on news documents we wrote to test and never train on.

``datasets/evaluation/appeal_blocks.jsonl`` holds 48 documents in eleven languages, the
seed's genre and its neighbours: a story, then (or inside it) a reader-funding drive
whose middle paragraphs read like news, a paywall, a newsletter box, buttons; and
stories *about* fundraising or paywalls, which are reporting. Its figures are pinned
in ``genre_gate.json`` with the file's hash, like the quality gate's, and need no
corpora, so this gate runs everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.cli import app
from classifier.corpus import gate
from tests.conftest import AUTHORED, file_gate_problems

GENRE_GATE = Path(__file__).with_name("genre_gate.json")


def test_shipped_model_holds_the_genre_gate() -> None:
    assert file_gate_problems(GENRE_GATE) == []


def test_genre_set_is_not_training_data() -> None:
    genre = gate.split_file_of(GENRE_GATE, gate.pinned(GENRE_GATE))
    assert genre.resolve() not in {path.resolve() for path in AUTHORED}  # `train datasets/authored/*.jsonl` skips it
    trained = {json.loads(line)["text"] for path in AUTHORED for line in path.read_text(encoding="utf-8").splitlines()}
    tested = [json.loads(line) for line in genre.read_text(encoding="utf-8").splitlines()]
    # Buttons and share lines recur across sites; no sentence of a story or an appeal may.
    sentences = [row["text"] for row in tested if row["label"] != "ui_residue" and len(row["text"]) > 40]
    assert sentences and not [text for text in sentences if text in trained]


def test_a_file_gate_pins_checks_and_notices_a_changed_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    genre = gate.split_file_of(GENRE_GATE, gate.pinned(GENRE_GATE))
    rows = [json.loads(line) for line in genre.read_text(encoding="utf-8").splitlines()]
    sample = tmp_path / "sample.jsonl"
    sample.write_text("".join(json.dumps(row) + "\n" for row in rows[:60]), encoding="utf-8")
    gate_file = tmp_path / "gate.json"
    runner = CliRunner()

    pinned = runner.invoke(app, ["data", "gate", "--file", str(gate_file), "--split-file", str(sample), "--pin"])
    assert pinned.exit_code == 0, pinned.output
    assert json.loads(gate_file.read_text())["split"]["file"] == "sample.jsonl"  # beside the gate: portable
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the file comes from the gate, found from any folder
    checked = runner.invoke(app, ["data", "gate", "--file", str(gate_file)])
    assert checked.exit_code == 0 and "quality gate passed" in checked.output

    rows[0]["label"] = "ui_residue" if rows[0]["label"] != "ui_residue" else "reporting"
    sample.write_text("".join(json.dumps(row) + "\n" for row in rows[:60]), encoding="utf-8")
    changed = runner.invoke(app, ["data", "gate", "--file", str(gate_file)])
    assert changed.exit_code == 1
    assert "split changed" in changed.output and f"--file {gate_file} --pin" in changed.output
    assert "Traceback" not in changed.output


def test_a_corpus_gate_is_not_turned_into_a_file_gate(tmp_path: Path) -> None:
    corpus_gate = tmp_path / "quality_gate.json"
    corpus_gate.write_text(json.dumps({"format": 1, "split": {"hash": "0" * 64, "pages": ["c/1"]}, "floors": {}}))
    genre = gate.split_file_of(GENRE_GATE, gate.pinned(GENRE_GATE))
    result = CliRunner().invoke(
        app, ["data", "gate", "--file", str(corpus_gate), "--split-file", str(genre), "--pin", "--allow-lower"]
    )
    assert result.exit_code == 1 and "held-out corpus pages" in result.output
    assert json.loads(corpus_gate.read_text())["split"]["pages"] == ["c/1"]


def test_an_incomplete_gate_file_is_refused_with_a_message(tmp_path: Path) -> None:
    broken = tmp_path / "gate.json"
    broken.write_text(json.dumps({"format": 1, "split": {"hash": "0" * 64}, "floors": {}}))
    result = CliRunner().invoke(app, ["data", "gate", "--file", str(broken)])
    assert result.exit_code == 1 and "not a complete gate file" in result.output and "Traceback" not in result.output


def test_checking_a_missing_gate_file_says_how_to_make_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["data", "gate", "--file", str(tmp_path / "none.json")])
    assert result.exit_code == 1
    assert "--pin" in result.output
