"""``newsclean data`` refusals that need no corpora: each names what is missing and
the command or option that fixes it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from classifier.cli import app

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, ["data", *[str(arg) for arg in args]])


def test_commands_without_a_build_say_which_command_makes_it(tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "a.jsonl").write_text("", encoding="utf-8")
    result = invoke("join", "--build", tmp_path / "build", "--labels", labels)
    assert result.exit_code == 1 and "run 'newsclean data build' first" in result.output
    result = invoke("card", "--build", tmp_path / "build")
    assert result.exit_code == 1 and "run 'newsclean data join'" in result.output


def test_join_refuses_a_missing_label_folder_rather_than_emptying_the_tables(tmp_path: Path) -> None:
    result = invoke("join", "--build", tmp_path, "--labels", tmp_path / "nosuch")
    assert result.exit_code == 1 and "no such folder; give the committed labels with --labels" in result.output


def test_ingest_refuses_empty_answers_and_a_folder_to_write_into(tmp_path: Path) -> None:
    keys = tmp_path / "batch_001.keys.jsonl"
    row = {"id": "001-001", "corpus": "c", "page_id": "p", "extractor": "e", "position": 0, "text_hash": "h"}
    keys.write_text(json.dumps(row) + "\n", encoding="utf-8")
    empty = tmp_path / "empty.tsv"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    result = invoke("ingest", keys, empty, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 1 and "holds no answers" in result.output
    assert not (tmp_path / "out.jsonl").exists()
    answers = tmp_path / "answers.tsv"
    answers.write_text("\ufeff001-001\tr\n", encoding="utf-8")  # a byte-order mark from an editor
    result = invoke("ingest", keys, answers, "-o", tmp_path)
    assert result.exit_code == 1 and "is a folder: name the label file" in result.output
    result = invoke("ingest", keys, answers, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))["label"] == "reporting"


def test_build_refuses_a_file_as_its_folder(tmp_path: Path) -> None:
    taken = tmp_path / "afile"
    taken.write_text("x", encoding="utf-8")
    result = invoke("build", "--limit", 1, "-o", taken)
    assert result.exit_code == 1 and "is a file: give a folder for the build" in result.output


def test_a_gate_file_that_is_not_one_is_named(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not json", encoding="utf-8")
    listed = tmp_path / "list.json"
    listed.write_text("[1]", encoding="utf-8")
    for path, message in ((text, "cannot be read as a gate file"), (listed, "is not a gate file"), (tmp_path, "is a folder")):
        result = invoke("gate", "--file", path)
        assert result.exit_code == 1 and message in result.output, result.output


def test_an_installed_package_finds_the_corpora_beside_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    from classifier.corpus import sources

    monkeypatch.delenv("NEWSCLEAN_CORPORA", raising=False)
    installed = tmp_path / "venv" / "lib" / "site-packages" / "classifier" / "corpus" / "sources.py"
    monkeypatch.setattr(sources, "__file__", str(installed))
    (tmp_path / "shared" / "corpora").mkdir(parents=True)
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    assert sources.default_corpora_dir() == (tmp_path / "shared" / "corpora").resolve()
    monkeypatch.setenv("NEWSCLEAN_CORPORA", str(tmp_path / "mine"))
    assert sources.default_corpora_dir() == tmp_path / "mine"
