"""``newsclean clean`` and ``classify`` over corpora, in process: every format, nothing
lost (kept + removed rebuild each text), bad rows, interrupted and resumed runs,
--jobs, the report, HTML, and one article staying as it was."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import classifier
from classifier import split_paragraphs
from classifier.cli import app
from classifier.labels import LABELS
from classifier.text import restore_paragraphs
from tests.conftest import ROOT, SEED

runner = CliRunner()
SEED_TEXT = SEED.read_text(encoding="utf-8")


def invoke(*args: object, stdin: str | bytes | None = None):
    return runner.invoke(app, [str(arg) for arg in args], input=stdin)


def corpus_rows() -> list[dict]:
    """Small documents with awkward spacing: CRLF, blank lines, no final newline, empty."""
    return [
        {"id": "seed", "url": "https://www.themoscowtimes.com/a", "text": SEED_TEXT},
        {"id": "crlf", "url": "https://www.themoscowtimes.com/b", "text": SEED_TEXT.replace("\n", "\r\n")},
        {"id": "blank-lines", "url": "https://example.org/c", "text": "\n\n" + SEED_TEXT.replace("\n", "\n  \n")},
        {"id": "short", "url": "https://example.org/d", "text": "Officials said the bridge would reopen on Monday.\nRead more"},
        {"id": "empty", "url": "https://example.org/e", "text": ""},
    ]


def compress(data: bytes, suffix: str) -> bytes:
    if suffix.endswith(".gz"):
        return gzip.compress(data)
    if suffix.endswith(".zst"):
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    return data


def write_corpus(folder: Path, suffix: str, rows: list[dict]) -> Path:
    if suffix == "folder":
        path = folder / "in"
        for row in rows:
            (path / f"{row['id']}.txt").parent.mkdir(parents=True, exist_ok=True)
            (path / f"{row['id']}.txt").write_bytes(row["text"].encode("utf-8"))
        return path
    path = folder / f"in{suffix}"
    if suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif suffix.startswith(".csv"):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_bytes(compress(buffer.getvalue().encode("utf-8"), suffix))
    else:
        data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
        path.write_bytes(compress(data, suffix))
    return path


def read_corpus(path: Path, suffix: str) -> list[dict]:
    """The rows of an output, with the text column and parsed labels (when present)."""
    if suffix == "folder":
        rows = []
        for file in sorted(path.glob("*.txt")):
            row = {"id": file.stem, "text": file.read_bytes().decode("utf-8")}
            labels = file.with_name(file.name + ".labels.json")
            if labels.exists():
                row["paragraph_labels"] = json.loads(labels.read_text(encoding="utf-8"))
            rows.append(row)
        order = [row["id"] for row in corpus_rows()]
        return sorted(rows, key=lambda row: order.index(row["id"]))
    if suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    from classifier.bulk.formats import open_binary

    stream, _ = open_binary(path)
    with stream:
        data = stream.read().decode("utf-8")
    if suffix.startswith(".csv"):
        rows = list(csv.DictReader(io.StringIO(data, newline="")))
        for row in rows:
            if row.get("paragraph_labels"):
                row["paragraph_labels"] = json.loads(row["paragraph_labels"])
        return rows
    return [json.loads(line) for line in data.splitlines()]


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


FORMATS = [".jsonl", ".jsonl.gz", ".jsonl.zst", ".csv", ".parquet", "folder"]


@pytest.mark.parametrize("suffix", FORMATS)
def test_clean_keeps_the_format_and_kept_plus_removed_rebuild_every_text(tmp_path: Path, suffix: str) -> None:
    rows = corpus_rows()
    source = write_corpus(tmp_path, suffix, rows)
    output = tmp_path / ("out" if suffix == "folder" else f"out{suffix}")
    removed = tmp_path / "removed.jsonl"
    result = invoke("clean", source, "-o", output, "--removed", removed, "--labels", "--jobs", 1)
    assert result.exit_code == 0, result.output
    cleaned = read_corpus(output, suffix)
    assert [row["id"] for row in cleaned] == [row["id"] for row in rows]
    records = [json.loads(line) for line in removed.read_text(encoding="utf-8").splitlines()]
    assert records, "the seed's appeal is removed"
    for original, row in zip(rows, cleaned, strict=True):
        assert row["text"] == classifier.clean(original["text"])
        if suffix != "folder":
            assert row["url"] == original["url"]  # other columns pass through
        doc_id = f"{original['id']}.txt" if suffix == "folder" else original["id"]
        mine = [record for record in records if record["doc_id"] == doc_id]
        assert restore_paragraphs(row["text"], [(r["start"], r["span"]) for r in mine]) == original["text"]
        labels = row["paragraph_labels"]
        assert len(labels) == len(split_paragraphs(original["text"]))
        assert all(entry["label"] in LABELS and 0.0 <= entry["probability"] <= 1.0 for entry in labels)
        assert [n for n, entry in enumerate(labels) if not entry["kept"]] == [r["position"] for r in mine]
    assert leftovers(tmp_path) == []  # no partial output left behind
    # The report lists the most often removed paragraphs: some removed text is named.
    assert any(record["span"].strip()[:40] in result.stderr for record in records)


def test_the_seed_loses_its_appeal_in_a_corpus(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".jsonl", corpus_rows()[:1])
    result = invoke("clean", source, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    (row,) = read_corpus(tmp_path / "out.jsonl", ".jsonl")
    assert row["text"].startswith("The Kremlin on Thursday")
    # The corpus job cleans exactly as the API does (the seed's own tests judge the model).
    assert row["text"] == classifier.clean(corpus_rows()[0]["text"])
    assert len(row["text"]) < len(corpus_rows()[0]["text"])


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_two_jobs_write_what_one_job_writes(tmp_path: Path, suffix: str) -> None:
    rows = [dict(row, id=f"{row['id']}-{n}") for n in range(4) for row in corpus_rows()]
    source = write_corpus(tmp_path, suffix, rows)
    outputs = []
    for jobs in (1, 2):
        output = tmp_path / f"out{jobs}{suffix}"
        result = invoke("clean", source, "-o", output, "--jobs", jobs, "--chunk-rows", 3, "--labels")
        assert result.exit_code == 0, result.output
        assert f"{jobs} process" in result.stderr
        outputs.append(read_corpus(output, suffix))
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) == 20


BAD_LINES = {
    "malformed JSON": (b'{"id": "bad", "text": "unterminated}\n', "not valid JSON"),
    "missing text": (b'{"id": "bad", "body": "Some text."}\n', "no 'text' field"),
    "null text": (b'{"id": "bad", "text": null}\n', "'text' is null"),
    "number text": (b'{"id": "bad", "text": 42}\n', "'text' is a number"),
    "undecodable byte": (b'{"id": "bad", "text": "caf\xe9"}\n', "not UTF-8"),
    "lone surrogate": (b'{"id": "bad", "text": "half a pair \\ud800"}\n', "lone surrogates"),
    "not an object": (b'["a", "list"]\n', "not an object"),
}


def _jsonl_with_bad_third_line(tmp_path: Path, bad: bytes) -> tuple[Path, list[bytes]]:
    good = [json.dumps(row).encode() + b"\n" for row in corpus_rows()[:3]]
    lines = [good[0], good[1], bad, good[2]]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(lines))
    return source, lines


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_bad_row_fails_naming_file_and_line_and_leaves_no_output(tmp_path: Path, case: str) -> None:
    bad, message = BAD_LINES[case]
    source, _ = _jsonl_with_bad_third_line(tmp_path, bad)
    output, removed = tmp_path / "out.jsonl", tmp_path / "removed.jsonl"
    result = invoke("clean", source, "-o", output, "--removed", removed)
    assert result.exit_code == 1
    assert f"{source}, line 3: " in result.output and message in result.output
    assert "--on-error skip" in result.output
    assert "Traceback" not in result.output
    assert not output.exists() and not removed.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_with_on_error_skip_a_bad_row_passes_through_unchanged_and_is_counted(tmp_path: Path, case: str) -> None:
    bad, _ = BAD_LINES[case]
    source, _lines = _jsonl_with_bad_third_line(tmp_path, bad)
    output, report = tmp_path / "out.jsonl", tmp_path / "report.json"
    result = invoke("clean", source, "-o", output, "--on-error", "skip", "--report", report)
    assert result.exit_code == 0, result.output
    written = output.read_bytes().splitlines(keepends=True)
    assert written[2] == bad
    assert json.loads(written[0])["text"] == classifier.clean(corpus_rows()[0]["text"])
    assert "1 bad row passed through unchanged" in result.stderr and "line 3" in result.stderr
    assert json.loads(report.read_text())["rows_skipped"] == 1
    assert "Warning" not in result.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_bad_rows_in_many_chunks_are_all_counted(tmp_path: Path, jobs: str) -> None:
    # Each chunk counts its own; the job adds them up, whichever worker took which.
    good = [json.dumps(row).encode() + b"\n" for row in corpus_rows()[:3]]
    bad = [line for line, _ in BAD_LINES.values()]
    lines = [line for pair in zip(bad, good * 3, strict=False) for line in pair]
    source, output, report = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "report.json"
    source.write_bytes(b"".join(lines))
    arguments = ["clean", source, "-o", output, "--on-error", "skip", "--report", report, "--chunk-rows", "2"]
    result = invoke(*arguments, "--jobs", jobs)
    assert result.exit_code == 0, result.output
    assert f"{len(bad)} bad rows passed through unchanged" in result.stderr
    assert json.loads(report.read_text())["rows_skipped"] == len(bad)
    assert output.read_bytes().splitlines(keepends=True)[::2] == bad


def test_a_run_that_skips_every_row_says_so(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"body": "Story."}\n{"body": "Donate!"}\n', encoding="utf-8")
    result = invoke("clean", source, "-o", tmp_path / "out.jsonl", "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert "Warning: no row was cleaned or classified: check --text-column" in result.stderr


def test_bad_csv_rows_are_named_by_line_and_skipped_rows_keep_their_bytes(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b'id,text\na,"Officials said so.\nRead more"\nb,caf\xe9 au lait\nc,only,too,many\nd,Fine text.\n')
    output = tmp_path / "out.csv"
    result = invoke("clean", source, "-o", output)
    assert result.exit_code == 1
    assert f"{source}, line 4: undecodable bytes" in result.output
    assert not output.exists() and leftovers(tmp_path) == []
    result = invoke("clean", source, "-o", output, "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert b"b,caf\xe9 au lait\n" in output.read_bytes()  # the same bytes, not re-encoded
    assert "2 bad rows passed through unchanged" in result.stderr
    rows = list(csv.reader(io.StringIO(output.read_bytes().decode("utf-8", "replace"))))
    assert rows[0] == ["id", "text"] and rows[4] == ["d", classifier.clean("Fine text.")]


def test_a_quote_left_open_stops_the_run_at_its_row_rather_than_swallowing_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        'id,text\n1,"Police arrested two men.\rOn Monday."\n2,"Flooding closed schools.\n3,Subscribe now!\n4,Remind me later.\n',
        encoding="utf-8",
    )
    result = invoke("clean", source, "-o", tmp_path / "out.csv")
    # Line 3 as an editor counts it: a carriage return inside a field starts no line.
    assert result.exit_code == 1 and f"{source}, line 3: not valid CSV" in result.output and "never closed" in result.output
    assert leftovers(tmp_path) == []


def test_blank_lines_and_bad_rows_of_a_csv_come_back_as_they_were(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,The council met.\n\n2,short,row,extra\n3,Donate now!\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    result = invoke("clean", source, "-o", output, "--on-error", "skip", "--labels")
    assert result.exit_code == 0, result.output
    lines = output.read_text(encoding="utf-8").splitlines()
    assert lines[2] == "" and lines[3] == "2,short,row,extra"
    assert lines[0] == "id,text,paragraph_labels" and lines[1].startswith("1,The council met.,")


def test_a_carriage_return_inside_a_csv_field_stays_inside_it(tmp_path: Path) -> None:
    texts = ["The mayor spoke on Monday.\rSecond line here.", SEED_TEXT.replace("\n", "\r"), "Plain story."]
    source = tmp_path / "in.csv"
    with open(source, "w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([["id", "text"], *([str(n), text] for n, text in enumerate(texts))])
    output = tmp_path / "out.csv"
    result = invoke("clean", source, "-o", output)
    assert result.exit_code == 0, result.output
    with open(output, encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows == [["id", "text"], *([str(n), classifier.clean(text)] for n, text in enumerate(texts))]

    # In one article a lone carriage return ends a line, as "\n" does.
    result = invoke("classify", "-", "--format", "csv", stdin="A line\rwith a carriage return.\n")
    assert result.exit_code == 0, result.output
    records = list(csv.reader(io.StringIO(result.stdout, newline="")))
    assert [record[-1] for record in records[1:]] == ["A line", "with a carriage return."]


def test_a_missing_or_null_parquet_text_is_a_bad_row(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": [SEED_TEXT, None]}), source)
    result = invoke("clean", source, "-o", tmp_path / "out.parquet")
    assert result.exit_code == 1 and f"{source}, row 2: 'text' is null" in result.output
    result = invoke("clean", source, "-o", tmp_path / "out.parquet", "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert pq.read_table(tmp_path / "out.parquet").column("text").to_pylist() == [classifier.clean(SEED_TEXT), None]
    result = invoke("clean", source, "-o", tmp_path / "out2.parquet", "--text-column", "body")
    assert result.exit_code == 1 and "has no column 'body' (its schema: 'id', 'text')" in result.output


@pytest.mark.parametrize("kind", ["dictionary", "view"])
def test_a_parquet_text_column_as_a_dictionary_or_a_view_is_cleaned_and_keeps_its_type(tmp_path: Path, kind: str) -> None:
    if kind == "view" and not hasattr(pa, "string_view"):
        pytest.skip("pyarrow before 16 has no string views")
    texts = pa.array([SEED_TEXT, "Officials said the bridge would reopen.", SEED_TEXT])
    column = texts.dictionary_encode() if kind == "dictionary" else texts.cast(pa.string_view())
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": column}), source)
    result = invoke("clean", source, "-o", tmp_path / "out.parquet")
    assert result.exit_code == 0, result.output
    out = pq.read_table(tmp_path / "out.parquet").column("text")
    assert out.type == column.type
    assert out.to_pylist() == [classifier.clean(text) for text in texts.to_pylist()]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_column_named_twice_is_refused_before_anything_is_written(tmp_path: Path, fmt: str) -> None:
    source = tmp_path / f"in.{fmt}"
    if fmt == "csv":
        source.write_text("id,text,text\n1,Hello there.,Donate now!\n", encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_arrays([pa.array(["Hello there."]), pa.array(["Donate now!"])], ["text", "text"]), source)
    out = tmp_path / f"out.{fmt}"
    result = invoke("clean", source, "-o", out)
    assert result.exit_code == 1
    assert "names 'text' more than once: give each column its own name" in result.output
    assert not out.exists() and "Traceback" not in result.output


def test_a_folder_file_that_is_not_utf8(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "a.txt").write_text(SEED_TEXT, encoding="utf-8")
    (source / "b.txt").write_bytes("Caf\xe9\n".encode("latin-1"))
    result = invoke("clean", source, "-o", tmp_path / "out")
    assert result.exit_code == 1 and f"{source}, b.txt: undecodable bytes" in result.output
    assert not (tmp_path / "out").exists()
    result = invoke("clean", source, "-o", tmp_path / "out", "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "b.txt").read_bytes() == "Caf\xe9\n".encode("latin-1")


def test_a_folder_file_that_cannot_be_read_is_a_bad_row(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "a.txt").write_text(SEED_TEXT, encoding="utf-8")
    (source / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    result = invoke("clean", source, "-o", tmp_path / "out")
    assert result.exit_code == 1 and f"{source}, gone.txt: cannot be read" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    result = invoke("clean", source, "-o", tmp_path / "out", "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert "1 bad row" in result.stderr
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["a.txt"]


def _many_rows(count: int) -> list[dict]:
    rows = corpus_rows()
    return [dict(rows[n % len(rows)], id=f"doc-{n}") for n in range(count)]


def test_an_interrupted_run_resumes_without_redoing_or_duplicating_rows(tmp_path: Path, monkeypatch) -> None:
    import classifier.bulk.runner as bulk_runner

    source = write_corpus(tmp_path, ".jsonl.gz", _many_rows(12))
    reference, reference_removed = tmp_path / "reference.jsonl.gz", tmp_path / "reference-removed.jsonl"
    assert invoke("clean", source, "-o", reference, "--removed", reference_removed, "--jobs", 1).exit_code == 0

    # Interrupt after the third chunk is written but before it is recorded as done:
    # the resumed run must cut it back and do it again, once.
    calls = []
    real_write_state = bulk_runner._write_state

    def interrupting_write_state(path: Path, state: dict) -> None:
        calls.append(state["rows_done"])
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_write_state(path, state)

    monkeypatch.setattr(bulk_runner, "_write_state", interrupting_write_state)
    monkeypatch.setattr(bulk_runner, "RECORD_SHARE", float("inf"))  # record after every chunk
    monkeypatch.setattr(bulk_runner, "MIN_COMPRESSED_RECORD_SECONDS", 0.0)
    output, removed = tmp_path / "out.jsonl.gz", tmp_path / "removed.jsonl"
    args = ["clean", source, "-o", output, "--removed", removed, "--chunk-rows", 2, "--jobs", 1]
    result = invoke(*args)
    assert result.exit_code == 130
    assert "interrupted after 4 rows" in result.output and "--resume" in result.output
    assert not output.exists() and not removed.exists()
    monkeypatch.setattr(bulk_runner, "_write_state", real_write_state)

    changed = invoke(*args, "--resume", "--min-confidence", "0.99")
    assert changed.exit_code == 1 and "differs in: min_confidence" in changed.output

    result = invoke(*args, "--resume")
    assert result.exit_code == 0, result.output
    assert "resuming" in result.stderr and "8 rows into" in result.stderr  # 12 rows, 4 done before
    assert gzip.decompress(output.read_bytes()) == gzip.decompress(reference.read_bytes())
    assert _same_records(removed, reference_removed)
    assert leftovers(tmp_path) == []


def test_running_out_of_memory_keeps_the_output_so_far_for_resume(tmp_path: Path, monkeypatch) -> None:
    import classifier.bulk.runner as bulk_runner

    source = write_corpus(tmp_path, ".jsonl", _many_rows(12))
    reference = tmp_path / "reference.jsonl"
    assert invoke("clean", source, "-o", reference, "--jobs", 1).exit_code == 0
    real_process_chunk = bulk_runner.process_chunk
    calls = []

    def exhausted_on_the_fourth(*args: object) -> object:
        calls.append(1)
        if len(calls) == 4:
            raise MemoryError
        return real_process_chunk(*args)

    monkeypatch.setattr(bulk_runner, "process_chunk", exhausted_on_the_fourth)
    monkeypatch.setattr(bulk_runner, "RECORD_SHARE", float("inf"))  # record after every chunk
    output = tmp_path / "out.jsonl"
    args = ["clean", source, "-o", output, "--chunk-rows", 2, "--jobs", 1]
    result = invoke(*args)
    assert result.exit_code == 1 and "out of memory" in result.output and "--resume" in result.output
    assert "Traceback" not in result.output and not output.exists()
    monkeypatch.setattr(bulk_runner, "process_chunk", real_process_chunk)
    result = invoke(*args, "--resume")
    assert result.exit_code == 0 and "resuming" in result.stderr, result.output
    assert output.read_bytes() == reference.read_bytes()


def _same_records(path: Path, reference: Path) -> bool:
    """The same JSON lines, probabilities (written to six decimals) equal to 2e-6:
    stage two computes in single precision, and a batch of another size may round its
    last bit otherwise, which can move the sixth decimal by one."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    expected = [json.loads(line) for line in reference.read_text(encoding="utf-8").splitlines()]
    if len(records) != len(expected):
        return False
    for record, wanted in zip(records, expected, strict=True):
        if abs(record.pop("probability") - wanted.pop("probability")) > 2e-6 or record != wanted:
            return False
    return True


def test_a_killed_run_resumes(tmp_path: Path) -> None:
    """A real process killed mid-run (SIGKILL: no chance to clean up), then resumed."""
    source = write_corpus(tmp_path, ".jsonl", _many_rows(3000))
    output, reference = tmp_path / "out.jsonl", tmp_path / "reference.jsonl"
    assert invoke("clean", source, "-o", reference, "--jobs", 1).exit_code == 0
    state = tmp_path / ".out.jsonl.newsclean-partial" / "state.json"
    command = [sys.executable, "-m", "classifier", "clean", str(source), "-o", str(output), "--chunk-rows", "5", "--jobs", "1"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if state.exists() and json.loads(state.read_text())["rows_done"] >= 20:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()  # type: ignore[union-attr]
    assert not output.exists()
    done = json.loads(state.read_text())["rows_done"]
    result = invoke("clean", source, "-o", output, "--resume", "--chunk-rows", 5, "--jobs", 1)
    assert result.exit_code == 0, result.output
    assert f"{3000 - done:,} rows into" in result.stderr
    assert output.read_bytes() == reference.read_bytes()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_rows_written_after_the_last_record_are_redone_once_on_resume(tmp_path: Path, monkeypatch, suffix: str) -> None:
    """Stopped at a fixed point: the third chunk's rows are written, not yet recorded."""
    import classifier.bulk.formats as formats
    import classifier.bulk.runner as runner_module

    source = write_corpus(tmp_path, suffix, _many_rows(40))
    output, reference = tmp_path / f"out{suffix}", tmp_path / f"reference{suffix}"
    common = ["--chunk-rows", 5, "--jobs", 1, "--removed"]
    assert invoke("clean", source, "-o", reference, *common, tmp_path / "reference-removed.jsonl").exit_code == 0
    monkeypatch.setattr(runner_module, "RECORD_SHARE", float("inf"))  # a record after every chunk
    sink = {".parquet": formats.ParquetSink}.get(suffix, formats.StreamSink)
    real_write, writes = sink.write, []

    def write_then_stop(self, data) -> None:
        real_write(self, data)
        writes.append(self)
        if sum(other is writes[0] for other in writes) == 3:
            raise KeyboardInterrupt  # as Ctrl-C between the write and its record

    monkeypatch.setattr(sink, "write", write_then_stop)
    stopped = invoke("clean", source, "-o", output, *common, tmp_path / "removed.jsonl")
    assert stopped.exit_code != 0 and "--resume" in stopped.output
    monkeypatch.undo()
    result = invoke("clean", source, "-o", output, *common, tmp_path / "removed.jsonl", "--resume")
    assert result.exit_code == 0, result.output
    assert "30 rows into" in result.stderr  # two chunks recorded: the third is redone
    assert read_corpus(output, suffix) == read_corpus(reference, suffix)
    assert (tmp_path / "removed.jsonl").read_bytes() == (tmp_path / "reference-removed.jsonl").read_bytes()


def _descendants(pid: int) -> list[int]:
    """Processes below ``pid`` (Linux /proc): the workers are the worker server's children."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers through /proc (Linux)")
@pytest.mark.parametrize(
    ("how", "after"),
    [
        ("SIGTERM to the process group", 20),
        ("SIGTERM to the process group", 200),
        ("one worker killed", 20),
    ],
)
def test_a_parallel_run_stopped_from_outside_ends_and_resumes(tmp_path: Path, how: str, after: int) -> None:
    """As a scheduler stops a job (SIGTERM to every process), or the out-of-memory
    killer takes one worker: the run ends, keeps what it recorded, and resumes. (When
    the SIGTERM also ended the server that forks the workers, the pool broke while
    the job stopped, and its exit hung in about one run of three.)"""
    source = write_corpus(tmp_path, ".jsonl", _many_rows(4000))
    output, reference = tmp_path / "out.jsonl", tmp_path / "reference.jsonl"
    assert invoke("clean", source, "-o", reference, "--jobs", 1).exit_code == 0
    state = tmp_path / ".out.jsonl.newsclean-partial" / "state.json"
    removed = ["--removed", str(tmp_path / "removed.jsonl")]
    command = [sys.executable, "-m", "classifier", "clean", str(source), "-o", str(output), "--chunk-rows", "5", "--jobs", "2"]
    process = subprocess.Popen(
        [*command, *removed], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if state.exists() and json.loads(state.read_text())["rows_done"] >= after:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be stopped"
    if how == "one worker killed":
        workers = [pid for pid in _descendants(process.pid) if pid not in _children_of(process.pid)]
        assert workers, "no worker processes found"
        os.kill(workers[0], signal.SIGKILL)
    else:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        _, error = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"the run hung after {how}")
    message = error.decode()
    # 143: ended by SIGTERM, as the shell reports it; 1: a worker lost.
    assert process.returncode in (1, 143) and "--resume" in message and "Traceback" not in message, message
    assert not output.exists()
    result = invoke("clean", source, "-o", output, "--resume", "--chunk-rows", 5, "--jobs", 2, *removed)
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == reference.read_bytes()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers through /proc (Linux)")
def test_workers_end_when_the_job_process_is_killed_outright(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".jsonl", _many_rows(20000))
    command = [sys.executable, "-m", "classifier", "clean", str(source), "-o", str(tmp_path / "out.jsonl")]
    process = subprocess.Popen([*command, "--chunk-rows", "5", "--jobs", "2"], cwd=ROOT, stderr=subprocess.DEVNULL)
    state = tmp_path / ".out.jsonl.newsclean-partial" / "state.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None and not state.exists():
        time.sleep(0.02)
    below = _descendants(process.pid)
    assert process.poll() is None and below, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_running(pid) for pid in below):
        time.sleep(0.1)
    left = [pid for pid in below if _running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left running after the job was killed: {left}"


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children_of(pid: int) -> list[int]:
    return [child for child in _descendants(pid) if Path(f"/proc/{child}/stat").exists() and _parent(child) == pid]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


def test_a_reader_that_stops_reading_ends_the_run_quietly(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".jsonl", _many_rows(2000))
    command = [sys.executable, "-m", "classifier", "clean", str(source), "--jobs", "1"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline()
    process.stdout.close()  # as `| head -1` does
    _, error = process.communicate(timeout=60)
    assert process.returncode == 141 and error.decode().strip() == "", error.decode()


def test_a_closed_standard_error_costs_neither_the_output_nor_the_report(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".jsonl", _many_rows(50))
    output, report = tmp_path / "out.jsonl", tmp_path / "report.json"
    command = [sys.executable, "-m", "classifier", "clean", str(source), "-o", str(output), "--report", str(report)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    process.stderr.close()  # as `2>&1 | head -1` does once it has its line
    assert process.wait(timeout=60) == 0
    assert json.loads(report.read_text(encoding="utf-8"))["documents"] == 50
    assert len(output.read_text(encoding="utf-8").splitlines()) == 50


def test_the_report_counts_labels_domains_and_the_most_removed(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".jsonl", corpus_rows())
    report_path = tmp_path / "report.json"
    result = invoke("clean", source, "-o", tmp_path / "out.jsonl", "--report", report_path)
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["documents"] == 5
    assert sum(report["paragraphs"].values()) == sum(len(split_paragraphs(row["text"])) for row in corpus_rows())
    removed: Counter[str] = Counter()
    removed_labels: Counter[str] = Counter()
    for row in corpus_rows():
        document = classifier.clean_document(row["text"])
        for paragraph in document.paragraphs:
            if document.dropped[paragraph.index]:
                removed[paragraph.text] += 1
                removed_labels[LABELS[int(document.probabilities[paragraph.index].argmax())]] += 1
    assert {label: count for label, count in report["removed"]["paragraphs"].items() if count} == dict(removed_labels)
    assert set(report["by_domain"]) == {"themoscowtimes.com", "example.org"}
    assert report["by_domain"]["themoscowtimes.com"]["documents"] == 2
    top = {entry["text"]: entry["count"] for entry in report["most_removed"]}
    most_text, most_count = removed.most_common(1)[0]
    assert top[most_text] == most_count
    assert "by domain" in result.stderr  # and printed at the end


def test_classify_a_corpus_adds_labels_and_keeps_the_text(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".parquet", corpus_rows())
    output = tmp_path / "labelled.parquet"
    result = invoke("classify", source, "-o", output)
    assert result.exit_code == 0, result.output
    rows = pq.read_table(output).to_pylist()
    assert [row["text"] for row in rows] == [row["text"] for row in corpus_rows()]
    seed_labels = [entry["label"] for entry in rows[0]["paragraph_labels"]]
    assert seed_labels == [p.label for p in classifier.classify(SEED_TEXT)]
    assert set(rows[0]["paragraph_labels"][0]) == {"label", "probability"}
    result = invoke("classify", source, "-o", output, "--format", "csv")
    assert result.exit_code == 1 and "--format and --explain apply to one article" in result.output


def test_jsonl_to_standard_output(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".jsonl", corpus_rows()[:2])
    result = invoke("clean", source)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["seed", "crlf"]
    assert "\r" not in result.stderr and "it/s" not in result.stderr  # no progress bar when not a terminal


def test_a_jsonl_corpus_on_standard_input_is_cleaned_like_the_file(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".jsonl", corpus_rows())
    from_file = invoke("clean", source, "-o", tmp_path / "file.jsonl")
    assert from_file.exit_code == 0, from_file.output
    piped = invoke("clean", "-", "--input-format", "jsonl", stdin=source.read_bytes())
    assert piped.exit_code == 0, piped.output
    assert piped.stdout == (tmp_path / "file.jsonl").read_text(encoding="utf-8")
    # Into a compressed file, with the removed spans: kept plus removed rebuild each text.
    output, removed = tmp_path / "piped.jsonl.gz", tmp_path / "removed.jsonl"
    result = invoke("clean", "-", "--input-format", "jsonl", "-o", output, "--removed", removed, stdin=source.read_bytes())
    assert result.exit_code == 0, result.output
    kept = [json.loads(line) for line in gzip.decompress(output.read_bytes()).decode("utf-8").splitlines()]
    spans = [json.loads(line) for line in removed.read_text(encoding="utf-8").splitlines()]
    for row, original in zip(kept, corpus_rows(), strict=True):
        mine = [(span["start"], span["span"]) for span in spans if span["doc_id"] == row["id"]]
        assert restore_paragraphs(row["text"], mine) == original["text"]


def test_a_bad_row_on_standard_input_is_named_by_its_line(tmp_path: Path) -> None:
    result = invoke("clean", "-", "--input-format", "jsonl", stdin='{"text": "One story."}\n{oops\n')
    assert result.exit_code == 1
    assert result.output.startswith("Error: standard input, line 2: not valid JSON")


def test_json_lines_read_as_one_article_are_refused_not_cleaned_row_by_row(tmp_path: Path) -> None:
    rows = '{"id": 1, "text": "The council met."}\n{"id": 2, "text": "Remind me later."}\n'
    result = invoke("clean", "-", stdin=rows)
    assert result.exit_code == 1
    assert "standard input holds JSON Lines" in result.output and "--input-format jsonl" in result.output
    assert result.stdout == ""
    named = tmp_path / "rows.txt"
    named.write_text(rows, encoding="utf-8")
    result = invoke("classify", named)
    assert result.exit_code == 1 and f"{named} holds JSON Lines" in result.output and "name it .jsonl" in result.output
    # An article that merely holds a brace is an article.
    result = invoke("clean", "-", stdin="{The council met.}\nIt voted on Tuesday.\n")
    assert result.exit_code == 0, result.output
    # A last row cut short does not let the others through as paragraphs.
    result = invoke("clean", "-", stdin=rows + '{"id": 3, "text": "cut\n')
    assert result.exit_code == 1 and "standard input holds JSON Lines" in result.output
    # Cut at the start, or behind a header line: still JSON Lines.
    result = invoke("clean", "-", stdin=rows[5:] + rows)
    assert result.exit_code == 1 and "standard input holds JSON Lines" in result.output
    result = invoke("clean", "-", "--input-format", "text", stdin=rows)
    assert result.exit_code == 0 and set(result.stdout.splitlines()) <= set(rows.splitlines())


def test_compressed_standard_input_is_named(tmp_path: Path) -> None:
    result = invoke("clean", "-", "--input-format", "jsonl", stdin=gzip.compress(b'{"text": "One story."}\n'))
    assert result.exit_code == 1 and "standard input is compressed: pipe it through zcat first" in result.output


def test_text_given_as_html_in_a_corpus_is_a_bad_row(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".jsonl", corpus_rows()[3:4])
    result = invoke("clean", source, "--html")
    assert result.exit_code == 1 and "holds no HTML (no tags): leave out --html" in result.output
    # HTML with no article in it: its text would be replaced by nothing.
    source = write_corpus(tmp_path, ".jsonl", [{"id": "x", "text": "Shares fell after the <b>Fed</b> decision."}])
    result = invoke("clean", source, "--html")
    assert result.exit_code == 1 and "trafilatura found no article text in the HTML" in result.output
    output = tmp_path / "kept.jsonl"
    result = invoke("clean", source, "--html", "--on-error", "skip", "-o", output)
    assert result.exit_code == 0 and json.loads(output.read_text(encoding="utf-8"))["text"].startswith("Shares fell")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--resume", "-o", "out.jsonl"], "standard input cannot be read twice"),
        (["--site-repeats"], "standard input cannot be read twice"),
    ],
)
def test_what_needs_a_second_reading_is_refused_for_standard_input(tmp_path: Path, arguments: list[str], message: str) -> None:
    output = tmp_path / "out.jsonl"
    arguments = [str(output) if argument == "out.jsonl" else argument for argument in arguments]
    result = invoke("clean", "-", "--input-format", "jsonl", *arguments, stdin='{"text": "One story."}\n')
    assert result.exit_code == 1 and message in result.output
    assert not output.exists()


def test_an_interrupted_run_from_standard_input_keeps_nothing(tmp_path: Path, monkeypatch) -> None:
    import classifier.bulk.runner as bulk_runner

    calls = []

    def interrupting_write_state(path: Path, state: dict) -> None:
        calls.append(state["rows_done"])
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(bulk_runner, "_write_state", interrupting_write_state)
    monkeypatch.setattr(bulk_runner, "RECORD_SHARE", float("inf"))  # record after every chunk
    rows = "".join(json.dumps(row) + "\n" for row in _many_rows(8))
    output, removed = tmp_path / "out.jsonl", tmp_path / "removed.jsonl"
    arguments = ["clean", "-", "--input-format", "jsonl", "-o", output, "--removed", removed, "--chunk-rows", 2, "--jobs", 1]
    result = invoke(*arguments, stdin=rows)
    assert result.exit_code == 130
    assert "keeping none of the output: run it again" in result.output and "--resume" not in result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_the_input_format_is_for_standard_input_only(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".jsonl", corpus_rows()[:1])
    result = invoke("clean", source, "--input-format", "jsonl")
    assert result.exit_code == 1 and "--input-format applies to standard input" in result.output


def test_the_output_keeps_the_input_format(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".jsonl", corpus_rows())
    result = invoke("clean", source, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1 and "give it a jsonl name" in result.output
    result = invoke("clean", write_corpus(tmp_path, ".parquet", corpus_rows()))
    assert result.exit_code == 1 and "give --output" in result.output


def test_an_html_column_is_extracted_then_cleaned(tmp_path: Path) -> None:
    from classifier.html import clean_html

    page = "<html><body><nav>Home | World</nav><article>{}</article></body></html>".format(
        "".join(f"<p>{line}</p>" for line in SEED_TEXT.splitlines() if line.strip())
    )
    source = tmp_path / "pages.jsonl"
    source.write_text(json.dumps({"id": "p", "html": page}) + "\n", encoding="utf-8")
    result = invoke("clean", source, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    (row,) = read_corpus(tmp_path / "out.jsonl", ".jsonl")
    assert row["html"] == page and row["text"] == clean_html(page)
    assert row["text"].startswith("The Kremlin on Thursday")
    html_file = tmp_path / "page.html"
    html_file.write_text(page, encoding="utf-8")
    result = invoke("clean", html_file, "--html")
    assert result.exit_code == 0, result.output
    assert result.stdout == clean_html(page)


def test_one_article_refuses_corpus_options_and_writes_removed_spans(tmp_path: Path) -> None:
    result = invoke("clean", SEED, "--labels")
    assert result.exit_code == 1 and "--labels applies to a corpus" in result.output
    removed, report = tmp_path / "removed.jsonl", tmp_path / "report.json"
    result = invoke("clean", SEED, "--removed", removed, "--report", report)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in removed.read_text(encoding="utf-8").splitlines()]
    assert restore_paragraphs(result.stdout, [(r["start"], r["span"]) for r in records]) == SEED_TEXT
    assert json.loads(report.read_text())["documents"] == 1


def test_cleaning_one_article_imports_no_corpus_machinery() -> None:
    code = (
        "import sys\n"
        "from classifier.cli import main\n"
        f"sys.argv = ['newsclean', 'clean', {str(SEED)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('pandas', 'pyarrow', 'dask', 'trafilatura', 'sklearn', 'scipy', 'tqdm', 'classifier.bulk.runner')\n"
        "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.startswith("The Kremlin on Thursday")
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_a_byte_order_mark_and_a_lone_surrogate_in_another_field_are_fine(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    rows = [b'\xef\xbb\xbf{"id": "a", "text": "Officials said so."}\n', b'{"id": "\\udc80", "text": "Officials said so."}\n']
    source.write_bytes(b"".join(rows))
    result = invoke("clean", source, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_bytes().splitlines()]
    assert [row["id"] for row in written] == ["a", "\udc80"]


def test_a_progress_bar_on_a_terminal(tmp_path: Path, capsys) -> None:
    from classifier.bulk.runner import CorpusJob, run_corpus

    source = write_corpus(tmp_path, ".jsonl", _many_rows(6))
    result = run_corpus(CorpusJob(source, tmp_path / "out.jsonl", jobs=1, chunk_rows=2, progress=True), notify=print)
    assert result.rows == 6
    bar = capsys.readouterr().err
    assert "6 rows" in bar and "¶/s" in bar and "100%" in bar


def test_a_folder_of_html_pages_with_html(tmp_path: Path) -> None:
    from classifier.html import clean_html

    page = "<html><body><article>{}</article></body></html>".format(
        "".join(f"<p>{line}</p>" for line in SEED_TEXT.splitlines() if line.strip())
    )
    source = tmp_path / "pages"
    (source / "site").mkdir(parents=True)
    (source / "site" / "a.html").write_text(page, encoding="utf-8")
    (source / "notes.txt").write_text("not a page\n", encoding="utf-8")
    result = invoke("clean", source, "-o", tmp_path / "out", "--html", "--labels")
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file()) == [
        "site/a.txt",
        "site/a.txt.labels.json",
    ]
    assert (tmp_path / "out" / "site" / "a.txt").read_text(encoding="utf-8") == clean_html(page)


def test_a_large_parallel_job_starts_its_worker_server_before_loading_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from classifier import api
    from classifier.bulk import runner

    events: list[str] = []
    start_server, load_model = runner._start_worker_server, api.load_model
    monkeypatch.setattr(runner, "_start_worker_server", lambda: (events.append("server"), start_server())[1])
    monkeypatch.setattr(api, "load_model", lambda *a, **k: (events.append("model"), load_model(*a, **k))[1])
    rows = [dict(row, id=f"{row['id']}-{n}") for n in range(4) for row in corpus_rows()]
    source = write_corpus(tmp_path, ".jsonl", rows)
    monkeypatch.setattr(runner, "EARLY_START_BYTES", source.stat().st_size)  # "large" from this size on
    for jobs, expected in ((1, ["model"]), (2, ["server", "model"])):
        events.clear()
        result = invoke("clean", source, "-o", tmp_path / f"out{jobs}.jsonl", "--jobs", jobs, "--chunk-rows", 3)
        assert result.exit_code == 0, result.output
        assert events == expected
        assert f"{jobs} process" in result.stderr  # the server was for a job that used it
    monkeypatch.setattr(runner, "EARLY_START_BYTES", source.stat().st_size + 1)
    events.clear()
    assert invoke("clean", source, "-o", tmp_path / "out3.jsonl", "--jobs", 2, "--chunk-rows", 3).exit_code == 0
    assert events == ["model"]  # a smaller file may run in this process: nothing started ahead


def test_a_small_corpus_runs_in_one_process_whatever_jobs_says(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".jsonl", corpus_rows())
    result = invoke("clean", source, "-o", tmp_path / "out.jsonl", "--jobs", 4)
    assert result.exit_code == 0, result.output
    assert "1 process)" in result.stderr  # starting four workers for five documents would cost more than it saves


def test_a_folder_without_text_files_is_refused_not_cleaned_into_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "a.html").write_text("<p>Hi</p>", encoding="utf-8")
    result = invoke("clean", folder, "-o", tmp_path / "out")
    assert result.exit_code == 1 and "holds no .txt files that can be read" in result.output
    assert not (tmp_path / "out").exists()


def test_a_page_held_twice_by_a_corpus_counts_once_for_its_site(tmp_path: Path) -> None:
    # Duplicate rows of one article must not make its story look like the site's furniture.
    rows = [{"id": f"copy-{n}", "url": "https://www.themoscowtimes.com/2024/story", "text": SEED_TEXT} for n in range(8)]
    source = write_corpus(tmp_path, ".jsonl", rows)
    output = tmp_path / "out.jsonl"
    result = invoke("clean", source, "-o", output, "--site-repeats")
    assert result.exit_code == 0, result.output
    expected = classifier.clean(SEED_TEXT)
    assert [json.loads(line)["text"] for line in output.read_text(encoding="utf-8").splitlines()] == [expected] * 8


def test_a_csv_without_the_text_column_is_refused_before_any_row(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,body\na,Story.\n", encoding="utf-8")
    result = invoke("clean", source, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1 and "has no column 'text' (its header: 'id', 'body')" in result.output
    assert "--on-error skip" not in result.output


def test_a_json_message_says_at_column_once(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "a\tb"}\n', encoding="utf-8")
    result = invoke("clean", source)
    assert result.exit_code == 1 and "Invalid control character at column" in result.output


@pytest.mark.skipif(os.name != "posix", reason="select on a pipe is POSIX")
def test_rows_piped_slowly_come_out_before_the_pipe_closes(tmp_path: Path) -> None:
    import select

    process = subprocess.Popen(
        [sys.executable, "-m", "classifier", "clean", "-", "--input-format", "jsonl", "--jobs", "1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps({"id": "a", "text": "The council met on Monday.\nShare"}).encode() + b"\n")
        process.stdin.flush()
        # The pipe stays open: the row must not wait for a chunk of 256 to fill.
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "no output while the pipe was open"
        assert json.loads(process.stdout.readline())["id"] == "a"
        process.stdin.close()
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()


def test_a_worker_that_cannot_load_the_model_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An initializer that raises would only log a traceback, and the job would report a
    worker killed; the worker's first chunk raises the reason instead."""
    from classifier.bulk import process

    monkeypatch.setattr(process, "_WORKER", {})
    broken = tmp_path / "model"
    broken.mkdir()
    process.init_worker(process.JobOptions(model_path=str(broken)), ignore_interrupt=False)
    with pytest.raises(process.WorkerStartError, match="could not load the model") as raised:
        process.process_chunk("jsonl", None, 0, 0)
    assert str(broken) in str(raised.value)


def test_a_run_stopped_while_joining_parquet_parts_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import classifier.bulk.formats as bulk_formats

    source = write_corpus(tmp_path, ".parquet", _many_rows(12))
    reference = tmp_path / "reference.parquet"
    assert invoke("clean", source, "-o", reference, "--jobs", 1).exit_code == 0

    def interrupted_move(*_: object) -> None:
        raise KeyboardInterrupt

    real_move = bulk_formats.move_into_place
    monkeypatch.setattr(bulk_formats, "move_into_place", interrupted_move)
    output = tmp_path / "out.parquet"
    args = ["clean", source, "-o", output, "--chunk-rows", 2, "--jobs", 1]
    assert invoke(*args).exit_code == 130
    assert not output.exists()
    monkeypatch.setattr(bulk_formats, "move_into_place", real_move)

    result = invoke(*args, "--resume")
    assert result.exit_code == 0, result.output
    assert pq.read_table(output).equals(pq.read_table(reference))
    assert leftovers(tmp_path) == []


def _say_ready_then_sleep(ready) -> None:
    ready.set()
    time.sleep(30)


def test_the_server_that_forks_workers_outlives_a_sigterm_to_the_process_group() -> None:
    """Each worker's liveness reaches the job through that server: had the SIGTERM
    that a scheduler sends to every process ended it, the pool would read every worker
    as dead while the job stopped, and the job's exit could hang on the pool's pipes."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import forkserver

    from classifier.bulk.runner import _pool_context

    context = _pool_context()
    if context.get_start_method() != "forkserver":
        pytest.skip("workers are spawned here: no fork server")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        assert list(pool.map(abs, [-1, -2])) == [1, 2]
        os.kill(forkserver._forkserver._forkserver_pid, signal.SIGTERM)  # type: ignore[attr-defined]
        time.sleep(0.5)
        assert list(pool.map(abs, [-3, -4])) == [3, 4]
    # Only the server ignores it: what else it forks can still be terminated.
    ready = context.Event()
    other = context.Process(target=_say_ready_then_sleep, args=(ready,))
    other.start()
    # Its target runs only after the fork, where the child takes the default back.
    assert ready.wait(60)
    other.terminate()
    other.join(10)
    assert other.exitcode == -signal.SIGTERM


@pytest.mark.skipif(sys.platform == "win32", reason="the lock is POSIX's flock")
def test_a_second_run_on_the_same_output_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    from classifier.bulk.runner import _only_run_on

    source = write_corpus(tmp_path, ".jsonl", _many_rows(4))
    output = tmp_path / "out.jsonl"
    with _only_run_on(output):  # as a first run holds it
        result = invoke("clean", source, "-o", output)
        assert result.exit_code == 1 and f"another newsclean run is writing {output}" in result.output
    assert invoke("clean", source, "-o", output).exit_code == 0
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="the lock is POSIX's flock")
def test_the_lock_holds_for_an_output_in_a_folder_not_made_yet(tmp_path: Path) -> None:
    from classifier.bulk.runner import _only_run_on

    source = write_corpus(tmp_path, ".jsonl", _many_rows(4))
    output = tmp_path / "new" / "deeper" / "out.jsonl"
    with _only_run_on(output):
        result = invoke("clean", source, "-o", output)
        assert result.exit_code == 1 and "another newsclean run is writing" in result.output
    # Made for the lock, and gone again with nothing in them.
    assert not (tmp_path / "new").exists()
    assert invoke("clean", source, "-o", output).exit_code == 0 and output.is_file()


def test_a_semicolon_csv_corpus_is_named_for_what_it_is(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id;text\n1;The council met.\n", encoding="utf-8")
    result = invoke("clean", source, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1 and "separated by semicolons" in result.output and "--text-column" not in result.output


def test_a_bad_row_says_how_much_standard_output_already_holds(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".jsonl", [*_many_rows(300), {"id": "bad", "text": None}])
    result = invoke("clean", source, "--chunk-rows", 100, "--jobs", 1)
    assert result.exit_code == 1 and "(300 rows before it were written to standard output)" in result.output


def test_a_folder_corpus_refuses_a_text_column(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "a.txt").write_text("The council met.\n", encoding="utf-8")
    for command in (["clean", folder, "-o", tmp_path / "out"], ["data", "sheet", folder, "-o", tmp_path / "sheet.csv"]):
        result = invoke(*command, "--text-column", "body")
        assert result.exit_code == 1 and "leave out --text-column" in result.output, result.output


def test_resume_of_a_finished_run_is_refused_not_redone(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, ".jsonl", _many_rows(4))
    output = tmp_path / "out.jsonl"
    assert invoke("clean", source, "-o", output).exit_code == 0
    before = output.stat().st_mtime_ns
    result = invoke("clean", source, "-o", output, "--resume")
    assert result.exit_code == 1 and "nothing to resume" in result.output and "is complete" in result.output
    assert output.stat().st_mtime_ns == before


def test_site_repeats_with_nothing_to_count_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "a.txt").write_text("The council met.\n", encoding="utf-8")
    result = invoke("clean", folder, "-o", tmp_path / "out", "--site-repeats")
    assert result.exit_code == 1 and "which name no site" in result.output
    pages = tmp_path / "pages.jsonl"
    pages.write_text(json.dumps({"html": "<p>The council met.</p>", "url": "https://a.example/1"}) + "\n", encoding="utf-8")
    result = invoke("clean", pages, "-o", tmp_path / "out.jsonl", "--site-repeats")
    assert result.exit_code == 1 and "found no page to count" in result.output
    assert leftovers(tmp_path) == [] and not (tmp_path / "out.jsonl").exists()


def test_a_misnamed_text_column_is_not_answered_with_skip(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"body": "Story."}\n', encoding="utf-8")
    result = invoke("clean", source, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 1 and "--text-column" in result.output and "--on-error skip" not in result.output


def test_a_bad_row_met_by_a_resumed_run_keeps_the_earlier_progress(tmp_path: Path, monkeypatch) -> None:
    import classifier.bulk.formats as formats
    import classifier.bulk.runner as runner_module

    lines = [json.dumps(row).encode() + b"\n" for row in _many_rows(40)]
    lines[29] = b'{"id": "bad", "text": null}\n'
    source, output, reference = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "reference.jsonl"
    source.write_bytes(b"".join(lines))
    common = ["--chunk-rows", 5, "--jobs", 1]
    assert invoke("clean", source, "-o", reference, *common, "--on-error", "skip").exit_code == 0
    monkeypatch.setattr(runner_module, "RECORD_SHARE", float("inf"))
    real_write, writes = formats.StreamSink.write, []

    def write_then_stop(self, data) -> None:
        real_write(self, data)
        writes.append(data)
        if len(writes) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(formats.StreamSink, "write", write_then_stop)
    assert invoke("clean", source, "-o", output, *common).exit_code != 0
    monkeypatch.undo()
    stopped = invoke("clean", source, "-o", output, *common, "--resume")
    assert stopped.exit_code == 1 and "line 30" in stopped.output and "The output so far is kept" in stopped.output
    # A fixed input is another input, which cannot resume: only skipping can.
    assert "--resume --on-error skip" in stopped.output and "Fix the row, or" not in stopped.output
    result = invoke("clean", source, "-o", output, *common, "--resume", "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert "resumed after row" in result.stderr  # the earlier progress was kept, not started over
    assert output.read_bytes() == reference.read_bytes()


def test_pages_that_would_share_a_text_file_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    for name in ("p1.html", "p1.htm"):
        (folder / name).write_text("<html><body><p>The council met on Tuesday.</p></body></html>", encoding="utf-8")
    result = invoke("clean", folder, "-o", tmp_path / "out", "--html")
    assert result.exit_code == 1 and "would both be written as p1.txt" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(sys.platform != "linux", reason="a file name that is not UTF-8 needs a byte-named file system")
def test_a_file_name_that_is_not_utf8_is_named_in_removed_as_a_json_escape(tmp_path: Path, seed_text: str) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as handle:
        handle.write(seed_text.encode("utf-8"))
    removed = tmp_path / "removed.jsonl"
    result = invoke("clean", folder, "-o", tmp_path / "out", "--removed", removed)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in removed.read_text(encoding="utf-8").splitlines()]
    assert rows and {row["doc_id"] for row in rows} == {"caf\udce9.txt"}
    assert os.fsencode(rows[0]["doc_id"]) == b"caf\xe9.txt"


def test_one_process_and_two_write_the_same_bytes(tmp_path: Path, seed_text: str) -> None:
    # Same chunks, so the same batches for the model: the same probabilities to the
    # last bit and the same decisions near the threshold. (Compressed blocks end where
    # progress is recorded, which is timed: the text is the same, not the gzip bytes.)
    rows = [{"id": n, "text": seed_text.replace("Kremlin", f"Kremlin {n}")} for n in range(300)]
    source = write_corpus(tmp_path, ".jsonl", rows)
    outputs = {}
    for jobs in (1, 2):
        output, removed = tmp_path / f"out{jobs}.jsonl.gz", tmp_path / f"removed{jobs}.jsonl"
        result = invoke("clean", source, "-o", output, "--removed", removed, "--labels", "--jobs", jobs)
        assert result.exit_code == 0, result.output
        assert f"{jobs} process" in result.stderr
        outputs[jobs] = (output.read_bytes(), removed.read_bytes())
        # Written in blocks of text, not one per chunk of 64 rows (five here).
        assert _gzip_members(outputs[jobs][0]) <= 2
    assert gzip.decompress(outputs[1][0]) == gzip.decompress(outputs[2][0])
    assert outputs[1][1] == outputs[2][1]


def _gzip_members(data: bytes) -> int:
    import zlib

    members = 0
    while data:
        stream = zlib.decompressobj(wbits=31)
        stream.decompress(data)
        data = stream.unused_data
        members += 1
    return members


def test_the_corpus_report_shows_control_characters_escaped(tmp_path: Path) -> None:
    rows = [{"text": f"The council met on day {n}.\nShare\x1b]0;pwned\x07 this"} for n in range(3)]
    result = invoke("clean", write_corpus(tmp_path, ".jsonl", rows), "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stderr and "Share\\x1b]0;pwned\\x07 this" in result.stderr
