"""Corpus readers and writers: format detection, chunking, resumable sinks, the report."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from classifier.bulk.formats import (
    FolderSink,
    ParquetSink,
    StreamSink,
    compression_of,
    corpus_format,
    is_corpus,
    iter_documents,
    list_folder,
    open_binary,
    read_chunks,
)
from classifier.bulk.report import CorpusReport, domain_of
from classifier.errors import InputError


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.jsonl", "jsonl"),
        ("a.JSONL.GZ", "jsonl"),
        ("a.jsonl.zst", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.csv", "csv"),
        ("a.csv.gz", "csv"),
        ("a.parquet", "parquet"),
        ("a.txt", None),
        ("a.json", None),
        ("-", None),
    ],
)
def test_corpus_format_by_name(name: str, fmt: str | None, tmp_path: Path) -> None:
    assert corpus_format(name if name == "-" else tmp_path / name) == fmt
    assert is_corpus(tmp_path) and corpus_format(tmp_path) == "folder"


def test_compression_of() -> None:
    assert (compression_of("x.jsonl.gz"), compression_of("x.jsonl.zst"), compression_of("x.jsonl")) == ("gz", "zst", "")


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def test_jsonl_chunks_count_rows_lines_and_skip_to_a_start_row(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    _jsonl(path, [{"text": f"row {n}"} for n in range(10)])
    chunks = list(read_chunks(path, "jsonl", chunk_rows=4))
    assert [(c.first_row, c.rows) for c in chunks] == [(0, 4), (4, 4), (8, 2)]
    assert [c.payload.first_line for c in chunks] == [1, 5, 9]
    assert chunks[-1].position == path.stat().st_size
    resumed = list(read_chunks(path, "jsonl", start_row=7, chunk_rows=4))
    assert [(c.first_row, c.rows) for c in resumed] == [(7, 3)]
    assert json.loads(resumed[0].payload.lines[0]) == {"text": "row 7"}


def test_jsonl_chunks_are_cut_by_bytes_too(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    _jsonl(path, [{"text": "x" * 1000} for _ in range(10)])
    chunks = list(read_chunks(path, "jsonl", chunk_rows=100, chunk_bytes=2500))
    assert [c.rows for c in chunks] == [3, 3, 3, 1]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_chunks_are_cut_by_lines_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    # Pages of short lines: few bytes, many paragraphs, each of which the model holds.
    import classifier.bulk.formats as formats

    monkeypatch.setattr(formats, "CHUNK_LINES", 100)
    texts = ["\n".join(["Menu"] * 40), "\r".join(["Home"] * 40), "One line.", "\n".join(["Tag"] * 40), "Last."]
    path = tmp_path / f"c.{fmt}"
    if fmt == "jsonl":
        _jsonl(path, [{"text": text} for text in texts])
    else:
        with open(path, "w", encoding="utf-8", newline="") as stream:
            csv.writer(stream, quoting=csv.QUOTE_ALL).writerows([["text"], *([text] for text in texts)])
    chunks = list(read_chunks(path, fmt, chunk_rows=100))
    assert [(c.first_row, c.rows) for c in chunks] == [(0, 4), (4, 1)]  # 40 + 40 + 1 + 40 lines reach 100


@pytest.mark.parametrize("compression", ["", "gz", "zst"])
def test_stream_sink_resume_cuts_back_to_the_commit_and_blocks_concatenate(tmp_path: Path, compression: str) -> None:
    partial = tmp_path / "partial"
    sink = StreamSink(partial, compression)
    sink.write(b'{"a": 1}\n')
    committed = sink.commit()
    sink.write(b'{"written after the commit": true}\n')
    sink.close()  # a crash here: the last block must not survive a resume
    sink = StreamSink(partial, compression, resume_at=committed)
    sink.write(b'{"a": 2}\n')
    destination = tmp_path / f"out.jsonl{'.' + compression if compression else ''}"
    sink.finish(destination)
    assert not partial.exists()
    stream, _ = open_binary(destination)
    with stream:
        assert stream.read() == b'{"a": 1}\n{"a": 2}\n'
    if compression == "gz":  # an ordinary gzip reader reads the concatenated members
        assert gzip.decompress(destination.read_bytes()) == b'{"a": 1}\n{"a": 2}\n'


def test_compressed_jsonl_is_read_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.zst"
    sink = StreamSink(tmp_path / "p", "zst")
    for n in range(5):
        sink.write(json.dumps({"text": f"doc {n}"}).encode() + b"\n")  # five zstd frames
    sink.finish(path)
    documents = list(iter_documents(path))
    assert documents == [(str(n + 1), f"doc {n}") for n in range(5)]  # id: the line number


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
@pytest.mark.parametrize("cut", [3, "half"])
def test_a_compressed_file_cut_short_is_refused_not_read_as_a_shorter_corpus(tmp_path: Path, suffix: str, cut: int | str) -> None:
    rows = [f'{{"text": "story {n}"}}' if suffix == "jsonl" else f"story {n}" for n in range(2000)]
    whole = ("" if suffix == "jsonl" else "text\n") + "\n".join(rows) + "\n"
    for compression in ("zst", "gz"):
        path = tmp_path / f"c.{suffix}.{compression}"
        sink = StreamSink(tmp_path / f"p{compression}", compression)
        sink.write(whole[: len(whole) // 2].encode())  # two frames or members
        sink.write(whole[len(whole) // 2 :].encode())
        sink.finish(path)
        assert [text for _, text in iter_documents(path)] == [f"story {n}" for n in range(2000)]
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if cut == "half" else data[:-cut])
        with pytest.raises(InputError, match="cannot read the compressed file"):
            list(iter_documents(path))


def test_csv_chunks_keep_multiline_records_and_their_first_line(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text('id,text\na,"one\ntwo"\nb,three\nc,"four\n\nfive"\n', encoding="utf-8")
    (chunk,) = list(read_chunks(path, "csv"))
    assert chunk.payload.header == ["id", "text"]
    assert chunk.payload.records == [["a", "one\ntwo"], ["b", "three"], ["c", "four\n\nfive"]]
    assert chunk.payload.lines == [2, 4, 5]
    (resumed,) = list(read_chunks(path, "csv", start_row=2))
    assert resumed.first_row == 2 and resumed.payload.records == [["c", "four\n\nfive"]]
    assert list(iter_documents(path)) == [("a", "one\ntwo"), ("b", "three"), ("c", "four\n\nfive")]


def test_parquet_chunks_start_inside_a_row_group(tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"text": [f"t{n}" for n in range(25)]}), path, row_group_size=10)
    chunks = list(read_chunks(path, "parquet", start_row=13, chunk_rows=4))
    assert [c.first_row for c in chunks] == [13, 14, 18, 22]
    assert sum(c.rows for c in chunks) == 12
    assert [v for c in chunks for v in c.payload.column("text").to_pylist()] == [f"t{n}" for n in range(13, 25)]


def test_parquet_sink_keeps_committed_parts_on_resume(tmp_path: Path) -> None:
    schema = pa.schema([("text", pa.string())])

    def batch(values: list[str]) -> pa.RecordBatch:
        return pa.RecordBatch.from_pydict({"text": values}, schema=schema)

    sink = ParquetSink(tmp_path / "parts", schema)
    sink.write(batch(["a", "b"]))
    committed = sink.commit()
    sink.write(batch(["uncommitted"]))
    sink = ParquetSink(tmp_path / "parts", schema, resume_at=committed)
    sink.write(batch(["c"]))
    sink.finish(tmp_path / "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet").column("text").to_pylist() == ["a", "b", "c"]


def test_parquet_output_is_joined_into_large_row_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import classifier.bulk.formats as formats

    monkeypatch.setattr(formats, "ROW_GROUP_ROWS", 25)
    schema = pa.schema([("text", pa.string())])
    sink = ParquetSink(tmp_path / "parts", schema)
    for start in range(0, 60, 5):  # twelve chunks of five rows
        sink.write(pa.RecordBatch.from_pydict({"text": [str(n) for n in range(start, start + 5)]}, schema=schema))
    sink.finish(tmp_path / "out.parquet")
    metadata = pq.ParquetFile(tmp_path / "out.parquet").metadata
    assert [metadata.row_group(n).num_rows for n in range(metadata.num_row_groups)] == [25, 25, 10]
    assert pq.read_table(tmp_path / "out.parquet").column("text").to_pylist() == [str(n) for n in range(60)]


def test_folder_listing_is_sorted_and_leaves_out_hidden_and_other_files(tmp_path: Path) -> None:
    for name in ["b.txt", "a/c.txt", "a/d.md", ".hidden.txt", ".partial/e.txt", "page.html"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n")
    assert list_folder(tmp_path) == ["a/c.txt", "b.txt"]
    assert list_folder(tmp_path, html=True) == ["page.html"]
    sink = FolderSink(tmp_path / ".out")
    sink.write([("x/y.txt", b"kept\n")])
    sink.finish(tmp_path / "out")
    assert (tmp_path / "out" / "x" / "y.txt").read_bytes() == b"kept\n"


def test_domain_of_prefers_the_domain_field_then_the_url_host() -> None:
    assert domain_of({"domain": "Example.org", "url": "https://other.net/x"}) == "example.org"
    assert domain_of({"url": "https://www.example.com/a?b"}) == "example.com"
    assert domain_of({"url": "example.com/path"}) == "example.com"
    assert domain_of({"text": "x"}) is None


def test_report_counts_merge_and_survive_a_resume() -> None:
    first = CorpusReport("clean")
    # two documents: 3 paragraphs (one dropped), then 1 paragraph
    first.add_chunk(
        np.array([0, 1, 2, 0]), np.array([10, 20, 5, 7]), np.array([False, True, False, False]), [3, 1], ["a.com", None]
    )
    first.add_removed_text("Donate now", 1)
    second = CorpusReport.from_state(json.loads(json.dumps(first.to_state())))
    second.merge(first)
    result = second.to_dict()
    assert result["documents"] == 4 and result["documents_changed"] == 2
    assert result["paragraphs"] == {"reporting": 4, "donation_appeal": 2, "ui_residue": 2}
    assert result["characters"]["reporting"] == 34
    assert result["removed"]["characters"] == {"reporting": 0, "donation_appeal": 40, "ui_residue": 0}
    assert result["by_domain"]["a.com"]["documents"] == 2
    assert result["most_removed"] == [{"text": "Donate now", "count": 2, "label": "donation_appeal"}]


def test_report_keeps_the_most_frequent_removed_texts_within_its_capacity() -> None:
    report = CorpusReport("clean", capacity=5)
    for _ in range(50):
        report.add_removed_text("Subscribe", 1)
    for n in range(100):
        report.add_removed_text(f"unique {n}", 2)
    assert len(report.removed_texts) <= 10
    assert report.most_removed()[0]["text"] == "Subscribe"
    assert report.approximate


@pytest.mark.parametrize("compression", ["gz", "zst"])
def test_a_compressed_csv_cut_inside_its_header_is_named(tmp_path: Path, compression: str) -> None:
    from classifier.bulk.formats import csv_header

    path = tmp_path / f"c.csv.{compression}"
    sink = StreamSink(tmp_path / "p", compression)
    sink.write(b"id,text\n" + b"".join(b"%d,story %d\n" % (n, n) for n in range(500)))
    sink.finish(path)
    path.write_bytes(path.read_bytes()[:12])
    with pytest.raises(InputError, match=r"c\.csv\.\w+, line 1: cannot read the compressed file"):
        csv_header(path)


def test_a_zst_file_that_unpacks_to_thousands_of_times_its_size_is_read_in_bounded_steps(tmp_path: Path) -> None:
    import zstandard

    from classifier.bulk.formats import _ZstdFrames

    line = b'{"text": "The same line, over and over."}\n'
    path = tmp_path / "repeated.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor(level=3).compress(line * 2_500_000))  # 100 MB in
    assert path.stat().st_size < 100_000
    with open(path, "rb") as raw:
        frames = _ZstdFrames(raw)
        buffer = bytearray(1 << 16)
        total, largest = 0, 0
        while size := frames.readinto(buffer):
            total += size
            largest = max(largest, len(frames.ready))
    assert total == len(line) * 2_500_000
    assert largest <= 2 * _ZstdFrames.UNPACKED


@pytest.mark.parametrize("start_row", [0, 3, 5, 12, 14, 20, 21, 22, 30])
def test_parquet_chunks_from_any_row_over_row_groups_of_different_sizes(tmp_path, start_row: int) -> None:
    # Groups of 5, 5, 5, 5 and 2 rows: a resumed run starts inside or between them,
    # and the smaller last group must neither be skipped nor read twice.
    import pyarrow as pa
    import pyarrow.parquet as pq

    from classifier.bulk.formats import read_chunks

    path = tmp_path / "groups.parquet"
    with pq.ParquetWriter(path, pa.schema([("text", pa.string())])) as writer:
        for first, size in ((0, 5), (5, 5), (10, 5), (15, 5), (20, 2)):
            writer.write_table(pa.table({"text": [f"row {n}" for n in range(first, first + size)]}))
    assert pq.ParquetFile(path).metadata.num_row_groups == 5
    seen = []
    for chunk in read_chunks(path, "parquet", start_row=start_row, chunk_rows=4):
        texts = chunk.payload.column("text").to_pylist()
        assert texts[0] == f"row {chunk.first_row}" and len(texts) == chunk.rows  # numbered as they are
        seen += texts
    assert seen == [f"row {n}" for n in range(start_row, 22)]


def test_a_long_row_piped_in_small_pieces_comes_out_whole(tmp_path: Path) -> None:
    # The pipe gives at most 64 KB a read: the pieces of one row are joined once.
    import subprocess
    import sys

    reader = (
        "import sys\nfrom classifier.bulk.formats import _piped_lines\n"
        "for line in _piped_lines(sys.stdin.buffer):\n    print('idle' if line is None else len(line))\n"
    )
    rows = b"a" * 300_000 + b"\n" + b"\n" + b"b" * 70_000 + b"\nend"
    shown = subprocess.run([sys.executable, "-c", reader], input=rows, capture_output=True, check=True).stdout.split()
    assert [line for line in shown if line != b"idle"] == [b"300001", b"1", b"70001", b"3"]
