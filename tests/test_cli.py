"""The CLI, in process: happy paths, stdin and stdout, and errors as one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import classifier
from classifier import __version__, split_paragraphs
from classifier.cli import app
from tests.conftest import AUTHORED, ROOT, SEED

runner = CliRunner()
COMMANDS = ["clean", "classify", "train", "evaluate", "info"]
DATA_COMMANDS = ["build", "join", "review", "ingest", "sheet", "card", "gate"]


def invoke(*args: str, stdin: str | bytes | None = None):
    return runner.invoke(app, list(args), input=stdin)


@pytest.mark.parametrize("command", COMMANDS + [f"data {name}" for name in DATA_COMMANDS])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = invoke(*command.split(), "--help")
    assert result.exit_code == 0
    assert "Example: newsclean " + command in " ".join(result.output.split())


def test_every_data_command_is_listed_here() -> None:
    # A data command added later gets the help test above only if it is named there.
    import typer

    group = typer.main.get_command(app).commands["data"]
    assert sorted(group.commands) == sorted(DATA_COMMANDS)


def test_clean_reads_min_confidence_for_an_article_and_a_corpus(seed_text: str, tmp_path: Path) -> None:
    threshold = "0.9999"
    expected = classifier.clean(seed_text, min_confidence=float(threshold))
    assert expected != classifier.clean(seed_text)  # so a run that ignored it would show
    article = invoke("clean", str(SEED), "--min-confidence", threshold)
    assert article.exit_code == 0, article.output
    assert article.stdout == expected
    corpus, output = tmp_path / "c.jsonl", tmp_path / "out.jsonl"
    corpus.write_text(json.dumps({"text": seed_text}) + "\n", encoding="utf-8")
    result = invoke("clean", str(corpus), "-o", str(output), "--min-confidence", threshold)
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text(encoding="utf-8"))["text"] == expected


def test_clean_reads_keep_for_an_article_and_a_corpus(seed_text: str, tmp_path: Path) -> None:
    keep = ["--keep", "reporting", "--keep", "donation_appeal"]
    expected = classifier.clean(seed_text, keep=("reporting", "donation_appeal"))
    # The appeal stays, the button goes: a run that ignored --keep would lose the appeal.
    assert "Remind me later" not in expected and expected != classifier.clean(seed_text)
    assert invoke("clean", str(SEED), *keep).stdout == expected
    corpus, output = tmp_path / "c.jsonl", tmp_path / "out.jsonl"
    corpus.write_text(json.dumps({"text": seed_text}) + "\n", encoding="utf-8")
    result = invoke("clean", str(corpus), "-o", str(output), *keep)
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text(encoding="utf-8"))["text"] == expected


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"newsclean {__version__}"


def test_clean_prints_the_reporting_of_the_seed() -> None:
    result = invoke("clean", str(SEED))
    assert result.exit_code == 0, result.output
    text = SEED.read_text(encoding="utf-8")
    expected = [p.text for p in split_paragraphs(text)]
    printed = [p.text for p in split_paragraphs(result.stdout)]
    assert printed[:6] == expected[:6]  # never a sentence of reporting lost
    assert result.stdout == classifier.clean(text)


def test_clean_reads_stdin_and_writes_a_file(tmp_path: Path) -> None:
    out = tmp_path / "clean.txt"
    text = SEED.read_text(encoding="utf-8")
    result = invoke("clean", "-", "--output", str(out), stdin=text)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == classifier.clean(text)
    assert out.read_text(encoding="utf-8").startswith("The Kremlin on Thursday")


def test_clean_keeping_every_label_changes_nothing() -> None:
    text = SEED.read_text(encoding="utf-8")
    args = ["clean", "-", "-k", "reporting", "-k", "donation_appeal", "-k", "ui_residue"]
    result = invoke(*args, stdin=text)
    assert result.stdout == text


@pytest.mark.parametrize("fmt", ["table", "jsonl", "csv"])
def test_classify_formats(fmt: str) -> None:
    result = invoke("classify", str(SEED), "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "jsonl":
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert [row["label"] for row in rows][-1] == "ui_residue"
        assert len(rows) == 14
    elif fmt == "csv":
        assert result.stdout.splitlines()[0].startswith("position,label,probability,p_reporting")
        assert len(result.stdout.splitlines()) == 15
    else:
        assert "ui_residue" in result.stdout.splitlines()[-1]


def test_classify_explain_names_features() -> None:
    result = invoke("classify", "-", "--explain", "--format", "jsonl", stdin="Support us from just $2 a month.\n")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["explanation"] and all(isinstance(name, str) for name, _ in row["explanation"])


def test_missing_file_is_one_line_without_traceback() -> None:
    result = invoke("clean", "no/such/file.txt")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: no/such/file.txt: no such file"


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Caf\xe9 au lait\n".encode("latin-1"))
    result = invoke("classify", str(path))
    assert result.exit_code == 1
    assert "not UTF-8" in result.output and "iconv" in result.output
    assert "Traceback" not in result.output


def test_empty_file_gives_empty_output(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("")
    for arguments in (["clean"], ["classify", "--format", "jsonl"]):
        result = invoke(*arguments, str(path))
        assert result.exit_code == 0, result.output
        assert result.stdout == "" and result.stderr == ""


def test_train_evaluate_info_round_trip(tmp_path: Path, small_training_table) -> None:
    data = tmp_path / "train.jsonl"
    small_training_table[["doc_id", "position", "text", "label", "language"]].to_json(
        data, orient="records", lines=True, force_ascii=False
    )
    model_dir = tmp_path / "model"
    result = invoke("train", str(data), "--output", str(model_dir), "--folds", "3", "--hidden", "8")
    assert result.exit_code == 0, result.output
    assert (model_dir / "manifest.json").is_file()
    # A tiny table: the command says how far it is from the shipped model's data.
    assert "Warning: this model learnt from" in result.output

    report_path = tmp_path / "report.json"
    result = invoke("evaluate", str(AUTHORED[0]), "--model", str(model_dir), "--json", str(report_path))
    assert result.exit_code == 0, result.output
    assert "macro" in result.stdout
    report = json.loads(report_path.read_text())
    assert set(report["per_label"]) == {"reporting", "donation_appeal", "ui_residue"}

    result = invoke("evaluate", str(AUTHORED[0]), "--model", str(model_dir), "--fail-under", "1.0")
    assert result.exit_code == 1
    assert "below --fail-under" in result.output

    result = invoke("info", "--model", str(model_dir))
    assert result.exit_code == 0, result.output
    assert "labels: reporting, donation_appeal, ui_residue" in result.stdout


def test_train_seed_gives_the_same_file_again_and_is_recorded(tmp_path: Path, small_training_table) -> None:
    data = tmp_path / "train.jsonl"
    small_training_table[["doc_id", "position", "text", "label"]].to_json(data, orient="records", lines=True)
    folders = {}
    for name, seed in [("a", "3"), ("b", "3"), ("c", "4")]:
        folders[name] = tmp_path / name
        result = invoke("train", str(data), "--output", str(folders[name]), "--folds", "3", "--hidden", "8", "--seed", seed)
        assert result.exit_code == 0, result.output
    weights = {name: (folder / "weights.npz").read_bytes() for name, folder in folders.items()}
    assert weights["a"] == weights["b"] != weights["c"]
    assert json.loads((folders["c"] / "manifest.json").read_text())["config"]["random_state"] == 4


def test_train_refuses_bad_data_with_the_row(tmp_path: Path) -> None:
    data = tmp_path / "bad.csv"
    data.write_text("doc_id,position,text,label\nd,0,Hi.,reporting\nd,1,Buy,spam\n")
    result = invoke("train", str(data), "--output", str(tmp_path / "m"))
    assert result.exit_code == 1
    assert "unknown label 'spam' in bad.csv row 3" in result.output
    assert not (tmp_path / "m").exists()


def test_info_of_the_shipped_model() -> None:
    result = invoke("info", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["labels"] == ["reporting", "donation_appeal", "ui_residue"]
    result = invoke("info")
    data = json.loads(invoke("info", "--json").stdout)["training_data"]
    counts = ", ".join(f"{label} {data['label_counts'][label]:,}" for label in ["reporting", "donation_appeal", "ui_residue"])
    assert f"{data['labelled_rows']:,} of them labelled ({counts})" in result.stdout


def test_broken_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = invoke("clean", str(SEED), "--model", str(tmp_path))
    assert result.exit_code == 1
    assert result.output.startswith("Error: no model at")


@pytest.mark.parametrize("command", ["clean", "classify", "info"])
def test_an_empty_model_path_is_refused_not_read_as_the_current_folder(command: str) -> None:
    arguments = [command, str(SEED)] if command != "info" else [command]
    result = invoke(*arguments, "--model", "")
    assert result.exit_code == 2
    assert "the model folder is empty" in result.output
    assert "no model at" not in result.output


def test_a_file_given_as_the_model_is_named_as_a_file() -> None:
    result = invoke("clean", str(SEED), "--model", str(SEED))
    assert result.exit_code == 1
    assert f"Error: {SEED} is a file: a model is a folder holding manifest.json" in result.output
    assert "--output " + str(SEED) not in result.output


@pytest.mark.parametrize(("name", "advice"), [("rows.json", "rename it"), ("a.tsv", "CSV"), ("a.txt.gz", "gunzip")])
def test_a_file_named_as_data_is_not_cleaned_as_one_article(tmp_path: Path, name: str, advice: str) -> None:
    path = tmp_path / name
    path.write_text('{"text": "One story."}\n{"text": "Donate now!"}\n', encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("clean", str(path), "--output", str(out))
    assert result.exit_code == 1
    assert "is not read as one article's text" in result.output and advice in result.output
    assert not out.exists()


def test_an_article_is_not_cleaned_over_itself(tmp_path: Path) -> None:
    path = tmp_path / "article.txt"
    path.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    for args in (["--output", str(path)], ["--removed", str(path)], ["--report", str(path)]):
        result = invoke("clean", str(path), *args)
        assert result.exit_code == 1 and "is the input" in result.output
    assert path.read_text(encoding="utf-8") == SEED.read_text(encoding="utf-8")


def test_written_files_get_the_mode_a_plain_open_gives(tmp_path: Path) -> None:
    import os

    out = tmp_path / "clean.txt"
    previous = os.umask(0o022)
    try:
        assert invoke("clean", str(SEED), "--output", str(out)).exit_code == 0
    finally:
        os.umask(previous)
    assert out.stat().st_mode & 0o777 == 0o644


def test_a_folder_given_as_an_output_file_is_refused_by_name(tmp_path: Path) -> None:
    result = invoke("clean", str(SEED), "--output", str(tmp_path))
    assert result.exit_code == 1 and result.output.strip() == f"Error: {tmp_path} is a folder: give a file name"


def test_a_corpus_report_that_cannot_be_written_is_refused_before_the_work(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": SEED.read_text(encoding="utf-8")}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = invoke("clean", str(source), "--output", str(out), "--report", str(tmp_path))
    assert result.exit_code == 1 and "is a folder: give a file name" in result.output
    assert not out.exists()


def test_a_missing_optional_package_names_the_group_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    for name in [module for module in sys.modules if module.startswith("classifier.corpus")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "regex", None)
    result = invoke("data", "gate", "--file", str(ROOT / "tests" / "genre_gate.json"))
    assert result.exit_code == 1
    assert result.output.strip() == "Error: this command needs regex, which is not installed: pip install 'newsclean[corpus]'"


def test_explanations_name_only_what_the_paragraph_has_and_reach_csv() -> None:
    result = invoke("classify", "-", "--explain", "--format", "jsonl", stdin="Dear readers,\n")
    reasons = json.loads(result.stdout)["explanation"]
    names = [name for name, _ in reasons]
    assert not {"[has_price]", "[digit_ratio]", "[starts_bullet]", "[no_letters]"} & set(names)
    assert all(weight > 0 for _, weight in reasons)
    result = invoke("classify", str(SEED), "--explain", "--format", "csv")
    assert result.exit_code == 0, result.output
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 14 and all(json.loads(row["explanation"]) for row in rows[6:10])


def test_data_ingest_reports_in_words_and_names_a_bad_keys_line(tmp_path: Path) -> None:
    keys = tmp_path / "batch_001.keys.jsonl"
    row = {"id": "a1", "corpus": "c", "page_id": "p", "extractor": "fulltext", "position": 3, "text_hash": "h"}
    keys.write_text(json.dumps(row) + "\n", encoding="utf-8")
    answers = tmp_path / "answers.tsv"
    answers.write_text("a1\tui_residue\n", encoding="utf-8")
    out = tmp_path / "reviewed.jsonl"
    result = invoke("data", "ingest", str(keys), str(answers), "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"1 answer ingested into {out}") and "IngestStats" not in result.output
    keys.write_text(json.dumps({"corpus": "c"}) + "\n", encoding="utf-8")
    result = invoke("data", "ingest", str(keys), str(answers), "--output", str(out))
    assert result.exit_code == 1 and f"{keys}, line 1: a key row needs id" in result.output
    assert "Traceback" not in result.output


def test_a_corpus_report_may_not_overwrite_the_input_or_the_output(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": SEED.read_text(encoding="utf-8")}) + "\n", encoding="utf-8")
    before = source.read_bytes()
    out = tmp_path / "out.jsonl"
    for report in (source, out):
        result = invoke("clean", str(source), "--output", str(out), "--report", str(report))
        assert result.exit_code == 1 and "give the report a file of its own" in result.output
    assert source.read_bytes() == before and not out.exists()


def test_html_without_an_article_is_an_error_not_an_empty_result() -> None:
    result = invoke("clean", str(SEED), "--html")
    assert result.exit_code == 1
    assert "trafilatura found no article text" in result.output and "Without --html" in result.output
    assert result.stdout == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("arguments", [["--help"], ["--version"]])
def test_help_into_a_full_disk_is_one_line(arguments: list[str]) -> None:
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "classifier", *arguments], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60
        )
    assert done.returncode == 1
    assert done.stderr == "Error: cannot write the output: No space left on device\n"


def test_a_closed_standard_input_is_named() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m classifier clean - <&-'], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr == "Error: standard input is closed: give a file, or pipe the text in\n"


def test_a_compressed_article_is_named() -> None:
    import gzip

    result = invoke("clean", "-", stdin=gzip.compress(SEED.read_bytes()))
    assert result.exit_code == 1 and "standard input is compressed: decompress it first (gunzip)" in result.output


@pytest.mark.parametrize("option", [["--jobs", "2"], ["--site-repeats"]])
def test_corpus_options_given_with_one_article_are_refused(option: list[str]) -> None:
    result = invoke("clean", str(SEED), *option)
    assert result.exit_code == 1 and f"{option[0]} applies to a corpus" in result.output


def test_evaluate_reads_min_confidence() -> None:
    figures = {}
    for threshold in ("0.5", "0.99999"):
        result = invoke("evaluate", str(AUTHORED[0]), "--min-confidence", threshold)
        assert result.exit_code == 0, result.output
        assert f"min_confidence {threshold}" in result.output  # as given, not rounded to 1.00
        figures[threshold] = next(line for line in result.output.splitlines() if line.startswith("clean removes"))
    assert figures["0.5"] != figures["0.99999"]


@pytest.mark.parametrize(
    ("stdin", "refused"),
    [
        ('id,text,url\na1,"The council met.\nDonate now",https://a.example/1\n', "starts with a CSV header"),
        ("<!DOCTYPE html>\n<html><body><p>The council met.</p></body></html>\n", "is an HTML page: add --html"),
        ("<!-- saved from url=(0014)about:internet -->\n<html><body><p>The council met.</p></body></html>\n", "--html"),
    ],
)
def test_a_table_or_a_page_piped_in_as_an_article_is_refused(stdin: str, refused: str) -> None:
    # Read as one article, each line would be a paragraph: rows and tags cut apart.
    result = invoke("clean", "-", stdin=stdin)
    assert result.exit_code == 1 and refused in result.stderr and result.stdout == ""
    assert invoke("clean", "-", "--input-format", "text", stdin=stdin).exit_code == 0


@pytest.mark.parametrize(
    "text",
    [
        "Apple, Google and Microsoft report earnings\nThe three companies said on Tuesday that sales rose.\n",
        "Mind, Body, Soul\nThe retreat opened on Monday with 40 guests.\n",
        "HTML, CSS, JavaScript\nBrowsers now agree on the new layout rules, the group said.\n",
        "Content, not clicks\n",
    ],
)
def test_a_headline_with_commas_is_an_article_not_a_table(text: str) -> None:
    # Words that name text columns, but a paragraph under them, not a row of as many fields.
    result = invoke("clean", "-", stdin=text)
    assert result.exit_code == 0 and result.stdout == classifier.clean(text)


def test_a_page_named_html_is_refused_without_html(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<p>The council met on Tuesday.</p>\n", encoding="utf-8")
    result = invoke("clean", str(page))
    assert result.exit_code == 1 and "add --html" in result.stderr


def test_dash_is_standard_output_and_no_file_name_for_side_files(tmp_path: Path, seed_text: str, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("clean", str(SEED), "-o", "-")
    assert result.exit_code == 0 and result.stdout == classifier.clean(seed_text)
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"text": seed_text}) + "\n", encoding="utf-8")
    result = invoke("clean", str(corpus), "-o", "-")
    assert result.exit_code == 0 and json.loads(result.stdout)["text"] == classifier.clean(seed_text)
    for option in ("--removed", "--report"):
        result = invoke("clean", str(SEED), option, "-")
        assert result.exit_code == 2 and "give a file name" in result.output
    assert invoke("clean", str(corpus), "--text-column", "").exit_code == 2
    assert not (tmp_path / "-").exists()


def test_short_help_option() -> None:
    result = invoke("clean", "-h")
    assert result.exit_code == 0 and "Example: newsclean clean" in " ".join(result.output.split())


def test_a_folder_that_is_no_model_is_named_without_advice_to_train_into_it(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    result = invoke("info", "--model", str(tmp_path))
    assert result.exit_code == 1 and "is not a model folder" in result.stderr and "--output" not in result.stderr


def test_a_model_prints_in_one_line() -> None:
    text = repr(classifier.load_model())
    assert len(text) < 300 and "100,000 tokens" in text


def test_an_output_under_a_file_names_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "article.txt"
    blocker.write_text("x", encoding="utf-8")
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"text": "The council met."}) + "\n", encoding="utf-8")
    for source, name in ((str(SEED), "x.txt"), (str(corpus), "x.jsonl")):
        result = invoke("clean", source, "-o", str(blocker / name))
        assert result.exit_code == 1 and f"{blocker} is a file, not a folder" in result.stderr


def test_running_out_of_memory_is_a_message_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A document of millions of short lines needs gigabytes (about 2 KB a paragraph).
    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr("classifier.api.clean_document", exhausted)
    result = invoke("clean", str(SEED), "-o", str(tmp_path / "out.txt"))
    assert result.exit_code == 1 and "out of memory" in result.output and "split very long documents" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out.txt").exists()


def test_the_table_shows_control_characters_escaped(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("The council met \x1b[2J\x1b[31mon Tuesday.\nSubscribe now\x07!\n", encoding="utf-8")
    result = invoke("classify", str(article))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "met \\x1b[2J\\x1b[31mon Tuesday." in result.stdout and "Subscribe now\\x07!" in result.stdout


def test_an_article_with_a_byte_order_mark_is_rebuilt_exactly(tmp_path: Path) -> None:
    from classifier.text import restore_paragraphs

    source = tmp_path / "a.txt"
    source.write_bytes(b"\xef\xbb\xbfShare on Facebook\n" + SEED.read_bytes())
    result = invoke("clean", str(source), "-o", str(tmp_path / "out.txt"), "--removed", str(tmp_path / "removed.jsonl"))
    assert result.exit_code == 0, result.output
    removed = [json.loads(line) for line in (tmp_path / "removed.jsonl").read_text(encoding="utf-8").splitlines()]
    cleaned = (tmp_path / "out.txt").read_bytes().decode("utf-8")
    assert restore_paragraphs(cleaned, [(r["start"], r["span"]) for r in removed]).encode("utf-8") == source.read_bytes()


def test_info_of_an_older_manifest_without_the_label_counts(tmp_path: Path) -> None:
    import shutil

    from classifier.model import load_model_folder, save_model

    folder = tmp_path / "old"
    shutil.copytree(classifier.default_model_path(), folder)
    model = load_model_folder(folder)
    for field in ("labelled_rows", "label_counts"):
        model.manifest["training_data"].pop(field)
    save_model(model, folder)
    result = invoke("info", "--model", str(folder))
    assert result.exit_code == 0, result.output
    assert "None" not in result.stdout and "documents\n" in result.stdout
