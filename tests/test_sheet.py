"""``newsclean data sheet``: a team's pages as rows to label, the model's guess
beside an empty label, and back into ``train --adapt``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import classifier
from classifier.cli import app
from classifier.sheet import labelling_sheet
from tests.conftest import SEED

runner = CliRunner()
SEED_TEXT = SEED.read_text(encoding="utf-8")


def pages(tmp_path: Path, count: int = 6) -> Path:
    path = tmp_path / "pages.jsonl"
    rows = [
        {"id": f"page-{n}", "url": f"https://courier{n % 2}.example/{n}", "text": SEED_TEXT.replace("Kremlin", f"Kremlin {n}")}
        for n in range(count)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_every_paragraph_in_order_with_the_guess_beside_an_empty_label(tmp_path: Path) -> None:
    sheet = labelling_sheet(pages(tmp_path, 2))
    first = sheet[sheet["doc_id"] == "page-0"]
    paragraphs = [p for p in classifier.classify(SEED_TEXT.replace("Kremlin", "Kremlin 0"))]
    assert first["position"].tolist() == list(range(len(paragraphs)))
    assert first["text"].tolist() == [p.text for p in paragraphs]
    assert first["suggested_label"].tolist() == [p.label for p in paragraphs]
    assert sheet["label"].isna().all()
    assert set(sheet["domain"]) == {"courier0.example", "courier1.example"}


def test_a_drawn_sample_is_the_same_for_the_same_seed(tmp_path: Path) -> None:
    path = pages(tmp_path)
    drawn = labelling_sheet(path, documents=3, seed=7)
    assert drawn["doc_id"].nunique() == 3
    assert drawn.equals(labelling_sheet(path, documents=3, seed=7))
    path = pages(tmp_path, 40)
    samples = {tuple(sorted(labelling_sheet(path, documents=5, seed=seed)["doc_id"].unique())) for seed in range(4)}
    # Drawn, not the first pages: four seeds give more than one sample, none of them page-0 to page-4.
    assert len(samples) > 1 and tuple(f"page-{n}" for n in range(5)) not in samples


def test_the_sheet_command_takes_documents_and_seed(tmp_path: Path) -> None:
    path = pages(tmp_path, 40)
    sheets = []
    for seed in ("1", "1", "2"):
        out = tmp_path / f"sheet{len(sheets)}.csv"
        result = runner.invoke(app, ["data", "sheet", str(path), "-o", str(out), "--documents", "4", "--seed", seed])
        assert result.exit_code == 0, result.output
        sheets.append(pd.read_csv(out, dtype=str))
    assert sheets[0]["doc_id"].nunique() == 4
    assert sheets[0].equals(sheets[1]) and not sheets[0].equals(sheets[2])


def test_the_sheet_labelled_goes_back_into_adapt(tmp_path: Path) -> None:
    sheet_path = tmp_path / "sheet.csv"
    result = runner.invoke(app, ["data", "sheet", str(pages(tmp_path)), "-o", str(sheet_path)])
    assert result.exit_code == 0, result.output
    assert "fill the label column" in result.output
    sheet = pd.read_csv(sheet_path, dtype={"label": object})
    # A person labels two pages; the rest stay context.
    chosen = sheet["doc_id"].isin(["page-0", "page-1"])
    sheet.loc[chosen, "label"] = sheet.loc[chosen, "suggested_label"]
    sheet.to_csv(sheet_path, index=False)
    result = runner.invoke(app, ["train", str(sheet_path), "--adapt", "--strength", "1", "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["adapted"]["training_data"]["labelled_rows"] == int(chosen.sum())


def test_a_sheet_name_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "sheet", str(pages(tmp_path)), "-o", str(tmp_path / "sheet.xlsx")])
    assert result.exit_code == 1 and "name the sheet .csv, .jsonl or .parquet" in result.output


def test_rows_sharing_an_id_or_without_one_stay_apart(tmp_path: Path) -> None:
    path = tmp_path / "pages.jsonl"
    rows = [{"id": "same", "text": "One.\nTwo."}, {"id": "same", "text": "Three."}, {"id": None, "text": "Four."}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    sheet = labelling_sheet(path)
    assert sheet["doc_id"].tolist() == ["same", "same", "row-2", "row-3"]


def test_the_sheet_never_replaces_the_corpus_or_an_earlier_sheet(tmp_path: Path) -> None:
    corpus = pages(tmp_path)
    before = corpus.read_bytes()
    result = runner.invoke(app, ["data", "sheet", str(corpus), "-o", str(corpus)])
    assert result.exit_code == 1 and "is the corpus" in result.output and corpus.read_bytes() == before
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("labels already\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "sheet", str(corpus), "-o", str(sheet)])
    assert result.exit_code == 1 and "may hold labels already" in result.output
    assert sheet.read_text(encoding="utf-8") == "labels already\n"


def test_labels_typed_by_hand_are_read_whatever_their_case_and_spaces(tmp_path: Path) -> None:
    from classifier.data import read_labelled

    path = tmp_path / "typed.csv"
    path.write_text("doc_id,position,text,label\nd,0,The council met.,Reporting \nd,1,Share,UI_RESIDUE\n", encoding="utf-8")
    assert read_labelled([path])["label"].tolist() == ["reporting", "ui_residue"]


def test_a_bad_row_stops_the_sheet_with_its_place(tmp_path: Path) -> None:
    path = pages(tmp_path, 3)
    lines = path.read_text(encoding="utf-8").splitlines()
    for bad, reason in (('{"id": "x", "text": ', "not valid JSON"), ('{"id": "x", "text": null}', "has NoneType in 'text'")):
        path.write_text("\n".join([*lines[:2], bad, lines[2]]) + "\n", encoding="utf-8")
        result = runner.invoke(app, ["data", "sheet", str(path), "-o", str(tmp_path / "sheet.csv")])
        assert result.exit_code == 1 and f"{path}, line 3: {reason}" in result.output, result.output
        assert not (tmp_path / "sheet.csv").exists()


def test_the_corpus_fields_come_along_and_excel_reads_the_csv_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "pages.jsonl"
    rows = [{"id": f"p{n}", "language": "es", "tags": ["a"], "text": "El alcalde habló.\nDona hoy."} for n in range(2)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    output = tmp_path / "sheet.csv"
    assert runner.invoke(app, ["data", "sheet", str(path), "-o", str(output)]).exit_code == 0
    assert output.read_bytes().startswith("\ufeff".encode())
    sheet = pd.read_csv(output, encoding="utf-8-sig")
    assert sheet["language"].tolist() == ["es"] * 4 and "tags" not in sheet.columns  # a list is no plain field
    assert sheet["text"].tolist()[:2] == ["El alcalde habló.", "Dona hoy."]


def test_a_corpus_of_html_pages_gives_the_paragraphs_clean_html_sees(tmp_path: Path) -> None:
    paragraphs = [line for line in SEED_TEXT.splitlines() if line.strip()]
    page = "<html><body><article>" + "".join(f"<p>{text}</p>" for text in paragraphs) + "</article></body></html>"
    path = tmp_path / "pages.jsonl"
    path.write_text(json.dumps({"id": "p", "text": page}) + "\n", encoding="utf-8")
    sheet = labelling_sheet(path, html=True)
    from classifier.html import extract_text

    assert sheet["text"].tolist() == [p.text for p in classifier.classify(extract_text(page))]
    assert "<p>" not in " ".join(sheet["text"])


def test_cells_a_spreadsheet_would_read_as_formulas_are_kept_text_and_read_back_whole(tmp_path: Path) -> None:
    from classifier.data import read_labelled

    texts = ["-5 degrees tonight, forecasters said.", "= Related =", "+ More sport", "@reporter on the scene", "Plain."]
    corpus = tmp_path / "pages.jsonl"
    corpus.write_text(json.dumps({"id": "p", "text": "\n".join(texts)}) + "\n", encoding="utf-8")
    sheet_path = tmp_path / "sheet.csv"
    assert runner.invoke(app, ["data", "sheet", str(corpus), "-o", str(sheet_path)]).exit_code == 0
    cells = pd.read_csv(sheet_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")["text"].tolist()
    assert cells == ["'" + text for text in texts[:4]] + ["Plain."]
    sheet = pd.read_csv(sheet_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    sheet["label"] = "reporting"
    sheet.to_csv(sheet_path, index=False)
    assert read_labelled([sheet_path])["text"].tolist() == texts


def test_a_text_that_starts_with_a_quote_and_a_formula_sign_comes_back_whole(tmp_path: Path) -> None:
    from classifier.data import guard_formulas, read_labelled

    texts = ["'-5C tonight,' forecasters said on Monday.", "''=x", "'quoted' and plain", "Plain."]
    table = pd.DataFrame({"doc_id": "d", "position": range(len(texts)), "text": texts, "label": "reporting"})
    path = tmp_path / "sheet.csv"
    table.assign(text=guard_formulas(table["text"]), suggested_label="reporting").to_csv(path, index=False)
    assert read_labelled([path])["text"].tolist() == texts
    # A CSV of one's own, not a sheet: its texts are read as they are.
    table.to_csv(path, index=False)
    assert read_labelled([path])["text"].tolist() == texts
