"""The quality gate: the shipped model against floors pinned in tests/quality_gate.json.

The gate itself needs the benchmark corpora (../shared/corpora or NEWSCLEAN_CORPORA)
to rebuild its split; without them that test is skipped with a message. The rules of
the gate (floors, hash, never lowering silently) are tested everywhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from classifier.corpus import gate
from classifier.corpus.sources import CORPORA, default_corpora_dir

GATE_FILE = Path(__file__).with_name("quality_gate.json")
#: The same pages as trafilatura and readability leave them, labelled by propagation.
PRECISION_GATE_FILE = Path(__file__).with_name("precision_gate.json")
ROOT = Path(__file__).resolve().parents[1]


def _split(labels: list[str | None]) -> gate.GateSplit:
    table = pd.DataFrame(
        {"doc_id": ["d"] * len(labels), "position": range(len(labels)), "text": ["a"] * len(labels), "label": labels}
    )
    return gate.GateSplit(table=table, pages=("c/1",), hash=gate.split_hash(table))


def _figures(value: float) -> dict[str, float]:
    return dict.fromkeys(gate.GATED_FIGURES, value)


@pytest.mark.parametrize(
    ("gate_file", "extractors"),
    [(GATE_FILE, ["trafilatura_recall", "fulltext"]), (PRECISION_GATE_FILE, ["trafilatura", "readability"])],
)
def test_pinned_gate_file_is_complete(gate_file: Path, extractors: list[str]) -> None:
    pinned = gate.pinned(gate_file)
    assert pinned["split"]["extractors"] == extractors
    assert pinned["split"]["pages"] == gate.pinned(GATE_FILE)["split"]["pages"]  # the same held-out pages
    assert set(pinned["floors"]) == set(gate.GATED_FIGURES)
    assert re.fullmatch(r"[0-9a-f]{64}", pinned["split"]["hash"])
    assert pinned["split"]["pages"] and pinned["split"]["labelled_rows"] > 10_000
    for name, floor in pinned["floors"].items():
        assert 0.0 < floor <= pinned["figures"][name]


def test_check_reports_a_figure_under_its_floor_and_a_changed_split(tmp_path: Path) -> None:
    split = _split(["reporting", None])
    pinned = gate.pin(tmp_path / "gate.json", split, _figures(0.9), model_checksum="x")
    assert gate.check(pinned, split.hash, _figures(0.9)) == []
    low = _figures(0.9) | {"donation_appeal_f1": 0.5}
    [problem] = gate.check(pinned, split.hash, low)
    assert "donation_appeal_f1" in problem
    changed = _split(["reporting", "ui_residue"])
    [problem] = gate.check(pinned, changed.hash, _figures(0.9))
    assert "re-pin" in problem


def test_split_hash_sees_a_changed_label() -> None:
    assert _split(["reporting", None]).hash != _split(["reporting", "ui_residue"]).hash
    table = _split(["reporting", None]).table
    changed = [table.assign(text=["b", "a"]), table.assign(doc_id=["e", "d"]), table.assign(position=[1, 2])]
    assert len({gate.split_hash(table), *(gate.split_hash(other) for other in changed)}) == 4
    assert gate.split_hash(table.copy()) == gate.split_hash(table)  # a copy of the same data, the same hash


def test_pin_never_lowers_a_floor_silently(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    split = _split(["reporting"])
    gate.pin(path, split, _figures(0.9), model_checksum="x")
    with pytest.raises(gate.GateError, match="allow-lower"):
        gate.pin(path, split, _figures(0.8), model_checksum="y")
    assert json.loads(path.read_text())["model_checksum"] == "x"
    gate.pin(path, split, _figures(0.95), model_checksum="z")
    gate.pin(path, split, _figures(0.8), model_checksum="w", allow_lower=True)
    assert gate.pinned(path)["floors"]["macro_f1"] == pytest.approx(0.795)


def test_a_split_records_its_extractors_and_refuses_unknown_ones(tmp_path: Path) -> None:
    split = _split(["reporting"])
    pinned = gate.pin(tmp_path / "gate.json", split, _figures(0.9), model_checksum="x")
    assert pinned["split"]["extractors"] == list(gate.GATE_EXTRACTORS)
    precision = gate.GateSplit(table=split.table, pages=split.pages, hash=split.hash, extractors=("trafilatura",))
    assert gate.pin(tmp_path / "other.json", precision, _figures(0.9), model_checksum="x")["split"]["extractors"] == [
        "trafilatura"
    ]
    with pytest.raises(gate.GateError, match="extractors"):
        gate.build_split(split.pages, extractors=("newspaper",))


def test_gate_format_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    path.write_text(json.dumps({"format": 99}))
    with pytest.raises(gate.GateError, match="format"):
        gate.pinned(path)


@pytest.mark.skipif(
    not all((default_corpora_dir() / name).is_dir() for name in CORPORA),
    reason=f"no benchmark corpora in {default_corpora_dir()}: the quality gate rebuilds its split from them",
)
@pytest.mark.parametrize("gate_file", [GATE_FILE, PRECISION_GATE_FILE])
def test_shipped_model_passes_the_quality_gate(gate_file: Path) -> None:
    pinned = gate.pinned(gate_file)
    split = gate.build_split(
        pinned["split"]["pages"], labels_dir=ROOT / "datasets" / "labels", jobs=2, extractors=pinned["split"]["extractors"]
    )
    figures = gate.measure(split)
    assert gate.check(pinned, split.hash, figures) == []


def test_a_pinned_gate_keeps_its_extractors() -> None:
    from typer.testing import CliRunner

    from classifier.cli import app

    result = CliRunner().invoke(app, ["data", "gate", "--file", str(PRECISION_GATE_FILE), "--extractors", "fulltext"])
    assert result.exit_code == 1
    assert "holds its own extractors (trafilatura, readability)" in result.output
