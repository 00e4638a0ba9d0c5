"""The labelling commands refuse what would be lost later, and say what happened."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier.cli import app

runner = CliRunner()


def _batch(folder: Path) -> tuple[Path, Path]:
    keys = folder / "batch_001.keys.jsonl"
    rows = [
        {"id": f"a{n}", "corpus": "c", "page_id": "p", "extractor": "fulltext", "position": n, "text_hash": f"h{n}"}
        for n in range(3)
    ]
    keys.write_text("\ufeff" + "".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")  # a BOM, as editors write
    answers = folder / "answers.tsv"
    answers.write_text("a0\tui_residue\na1\treporting\n", encoding="utf-8")
    return keys, answers


def test_ingest_writes_only_what_the_join_reads(tmp_path: Path) -> None:
    keys, answers = _batch(tmp_path)
    result = runner.invoke(app, ["data", "ingest", str(keys), str(answers), "-o", str(tmp_path / "reviewed_001.json")])
    assert result.exit_code == 1 and "name the label file .jsonl" in result.output
    assert not (tmp_path / "reviewed_001.json").exists()


def test_ingest_refuses_a_file_of_aligned_labels(tmp_path: Path) -> None:
    keys, answers = _batch(tmp_path)
    aligned = tmp_path / "aligned.jsonl"
    row = {"corpus": "c", "page_id": "p", "extractor": "fulltext", "position": 0, "text_hash": "h0", "label": "reporting"}
    aligned.write_text(json.dumps(dict(row, method="aligned")) + "\n", encoding="utf-8")
    before = aligned.read_bytes()
    result = runner.invoke(app, ["data", "ingest", str(keys), str(answers), "-o", str(aligned)])
    # The export writes aligned files again: reviewed rows put there would be lost.
    assert result.exit_code == 1 and "not a reviewed label row (method 'aligned')" in result.output
    assert aligned.read_bytes() == before


def test_a_correction_counts_the_ids_still_unlabelled_in_the_file(tmp_path: Path) -> None:
    keys, answers = _batch(tmp_path)
    out = tmp_path / "reviewed_001.jsonl"
    assert runner.invoke(app, ["data", "ingest", str(keys), str(answers), "-o", str(out)]).exit_code == 0
    correction = tmp_path / "correction.tsv"
    correction.write_text("a1\tui_residue\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "ingest", str(keys), str(correction), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 changed" in result.output and "1 ids of the batch left unanswered" in result.output


def test_a_keys_row_without_its_text_hash_is_named(tmp_path: Path) -> None:
    keys, answers = _batch(tmp_path)
    keys.write_text(json.dumps({"id": "a0", "corpus": "c", "page_id": "p", "extractor": "fulltext", "position": 0}) + "\n")
    result = runner.invoke(app, ["data", "ingest", str(keys), str(answers), "-o", str(tmp_path / "r.jsonl")])
    assert result.exit_code == 1 and "missing text_hash" in result.output and "Traceback" not in result.output


def test_a_limited_build_may_not_replace_a_whole_one(tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    (build / "paragraphs.parquet").write_bytes(b"a whole build")
    result = runner.invoke(app, ["data", "build", "--limit", "2", "-o", str(build), "--corpora", str(tmp_path)])
    assert result.exit_code == 1 and "give --output a folder of its own" in result.output
    assert (build / "paragraphs.parquet").read_bytes() == b"a whole build"


def test_a_sheet_of_blank_documents_is_refused_and_blank_ones_are_counted(tmp_path: Path) -> None:
    from classifier.errors import InputError
    from classifier.sheet import labelling_sheet

    corpus = tmp_path / "pages.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": "  \n "}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="hold no paragraph to label"):
        labelling_sheet(corpus)
    with corpus.open("a", encoding="utf-8") as stream:
        stream.write(json.dumps({"id": "b", "text": "The council met on Tuesday."}) + "\n")
    result = runner.invoke(app, ["data", "sheet", str(corpus), "-o", str(tmp_path / "sheet.csv")])
    assert result.exit_code == 0, result.output
    assert "1 paragraph of 1 document in" in result.output and "(1 drawn document had no text and is not in it)" in result.output


def test_adapting_folds_only_the_documents_that_hold_labels(small_model, monkeypatch) -> None:
    import classifier.adaptation as adaptation

    rows = []
    for document in ("U1", "U2", "U3", "U4"):  # context only
        rows += [{"doc_id": document, "position": n, "text": f"Line {n} of {document}.", "label": None} for n in range(5)]
    for document in ("L1", "L2"):
        rows += [
            {"doc_id": document, "position": 0, "text": "The council voted on the budget on Tuesday.", "label": "reporting"},
            {"doc_id": document, "position": 1, "text": "Subscribe to our newsletter today.", "label": "ui_residue"},
        ]
    learnt_from: list[int] = []
    real = adaptation.fit_word_weights

    def counting(model, texts, labels, **options):
        learnt_from.append(len(texts))
        return real(model, texts, labels, **options)

    monkeypatch.setattr(adaptation, "fit_word_weights", counting)
    _, report = adaptation.adapt(small_model, pd.DataFrame(rows))
    # Two documents with labels: two folds, each learning from the other's two rows.
    assert report.folds == 2
    assert learnt_from[:-1] and min(learnt_from[:-1]) == 2


def test_the_card_counts_authored_labels_as_training_reads_them(tmp_path: Path) -> None:
    from classifier.corpus.card import dataset_card

    real = pd.DataFrame(
        {
            "text": ["The mayor said."],
            "label": ["reporting"],
            "method": ["reviewed"],
            "corpus": ["c"],
            "extractor": ["fulltext"],
            "page_type": ["article"],
            "language": ["en"],
        }
    )
    real.to_parquet(tmp_path / "labelled.parquet")
    authored = tmp_path / "authored.jsonl"
    rows = [
        {"doc_id": "a", "position": 0, "text": "The council met.", "label": "Reporting", "language": "en"},
        {"doc_id": "a", "position": 1, "text": "Context only.", "label": None, "language": "en"},
        {"doc_id": "a", "position": 2, "text": "Donate now.", "label": "donation_appeal", "language": "en"},
    ]
    authored.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    card = dataset_card(tmp_path / "labelled.parquet", [authored])
    # "Reporting" is reporting to training; a row without a label is context, not counted.
    assert "(1 real, of which 1 reviewed and 0 propagated; 2 authored)" in card
    assert "| authored | 1 | 1 | 0 | 2 |" in card
    assert "2 authored" in dataset_card(tmp_path / "labelled.parquet", [authored])
    assert "; 0 authored)" in dataset_card(tmp_path / "labelled.parquet", [])


def test_ingest_names_an_older_row_that_lacks_a_field(tmp_path: Path) -> None:
    keys, answers = _batch(tmp_path)
    out = tmp_path / "reviewed_009.jsonl"
    row = {"corpus": "c", "page_id": "p", "extractor": "fulltext", "position": 7, "label": "reporting", "method": "reviewed"}
    out.write_text(json.dumps(row) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "ingest", str(keys), str(answers), "-o", str(out)])
    assert result.exit_code == 1 and "row 1: not a label row (missing text_hash)" in result.output
    assert "Traceback" not in result.output


def test_the_labelling_errors_are_newsclean_errors() -> None:
    # Code that catches NewscleanError (as the CLI does) catches these too.
    from classifier.corpus.build import LabelConflictError, LabelFormatError, StaleLabelError
    from classifier.corpus.review import ReviewAnswerError
    from classifier.errors import DataError, NewscleanError

    for error in (ReviewAnswerError, StaleLabelError, LabelConflictError, LabelFormatError):
        assert issubclass(error, DataError) and issubclass(error, NewscleanError) and issubclass(error, ValueError)
