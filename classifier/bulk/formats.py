"""Streaming readers and writers of corpora, chunk by chunk.

Formats: JSONL (``.jsonl``/``.ndjson``, also ``.gz`` and ``.zst``), CSV (also
``.gz``/``.zst``), Parquet (read and written by row batches through pyarrow) and
folders of ``.txt`` files (one document a file). Readers cut the input into chunks of
a bounded number of rows and bytes, so that memory stays flat however large the
input; a chunk's payload is what a worker process needs and is cheap to pickle (raw
JSONL lines, CSV records, an Arrow record batch, file paths).

Writers ("sinks") write into a partial location beside the destination and move it
into place when the job completes; ``commit`` returns how far the written output is
safe, which is what a resumed run goes back to.

Only the standard library is imported here at module level: pyarrow and zstandard
are imported when a Parquet or ``.zst`` file is met.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from classifier.bulk.names import CORPUS_SUFFIXES, compressed_by, compression_of, corpus_format
from classifier.bulk.names import is_corpus as is_corpus  # re-exported
from classifier.errors import InputError
from classifier.files import move_into_place, target_of

TEXT_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm")

#: Documents a chunk: each chunk is one batch for the model, so one size for any
#: number of processes gives the same probabilities to the last bit with --jobs 1 and
#: --jobs 8 (a batch's size moves float32 results by about 1e-7). Small enough to keep
#: every worker busy to the end: on 2 cores, a 60 MB JSONL corpus with --jobs 2 (median
#: of 4 alternated runs, twice): 64 rows 5.07 s and 4.98 s, 128 rows 5.13 s and 5.11 s,
#: 256 rows 5.35 s; 32 rows 5.21 s. One process loses nothing by it: 20 MB with --jobs 1,
#: median of 3 alternated runs, 64 rows 5.86 s, 128 rows 6.02 s, 256 rows 6.33 s.
DEFAULT_CHUNK_ROWS = 64
#: Compressed output is written in blocks of at least this much text: a block a chunk
#: compresses worse (28% larger as .gz for chunks of 64 documents).
COMPRESSED_BLOCK_BYTES = 1 << 20
DEFAULT_CHUNK_BYTES = 4 << 20
#: A chunk also ends once its rows hold about this many lines: the model keeps some
#: 2 KB a paragraph while it reads them, and pages of short lines (menus, tables)
#: would otherwise fill a chunk of 4 MB with two million paragraphs. Counted as line
#: breaks in the row as it is stored (escaped in JSON), an upper bound.
CHUNK_LINES = 100_000


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """CSV lines ending in "\\n", fields quoted only where needed, and a field that
    holds a carriage return quoted too: with "\\n" line ends the csv module leaves it
    bare, and readers then take it for a line break (a row split in two)."""
    buffer = io.StringIO()
    minimal = csv.writer(buffer, lineterminator="\n")
    quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        (quoted if any(isinstance(value, str) and "\r" in value for value in row) else minimal).writerow(row)
    return buffer.getvalue()


def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError:
        raise InputError(".zst files need the zstandard package: pip install 'newsclean[zstd]'") from None
    return zstandard


class _Counting(io.RawIOBase):
    """A raw file that remembers how many bytes were read (progress of compressed input)."""

    def __init__(self, raw: IO[bytes], *, owned: bool = True) -> None:
        self.raw = raw
        self.owned = owned  # standard input stays open for whoever reads it next
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.count += n or 0
        return n

    def close(self) -> None:
        if self.owned:
            self.raw.close()
        super().close()


def open_binary(path: Path) -> tuple[IO[bytes], _Counting]:
    """A decompressed binary stream of ``path`` and the counter of raw bytes read."""
    if str(path) == "-":
        # Standard input, uncompressed (a pipe from zcat or zstdcat decompresses).
        if sys.stdin is None:
            raise InputError("standard input is closed: give a file, or pipe the corpus in")
        # The unbuffered stream under stdin: a buffered one waits to fill its buffer,
        # holding back rows that a slow producer has already sent.
        raw = _Counting(getattr(sys.stdin.buffer, "raw", sys.stdin.buffer), owned=False)
        stream = io.BufferedReader(raw, buffer_size=1 << 20)
        compression = compressed_by(stream.peek(4)[:4])
        if compression is not None:
            tool = {"gzip": "zcat", "zstd": "zstdcat"}[compression]
            raise InputError(f"standard input is compressed: pipe it through {tool} first")
        return stream, raw
    try:
        raw = _Counting(open(path, "rb", buffering=0))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    compression = compression_of(path)
    buffered = io.BufferedReader(raw, buffer_size=1 << 20)
    if compression == "gz":
        return gzip.GzipFile(fileobj=buffered, mode="rb"), raw  # type: ignore[return-value]
    if compression == "zst":
        return io.BufferedReader(_ZstdFrames(buffered), buffer_size=1 << 20), raw
    return buffered, raw


class _ZstdFrames(io.RawIOBase):
    """The decompressed bytes of a stream of zstd frames, refusing one cut short.

    zstandard's own stream reader ends quietly where the compressed bytes end, even
    inside a frame, so a truncated file would read as a shorter corpus: rows lost
    without a word. Here the end of the file must be the end of a frame.

    Compressed bytes go in a few at a time, fewer when they unpack to much (a file of
    repeated lines may unpack to thousands of times its size), so that what waits to
    be read stays near ``UNPACKED`` bytes whatever the ratio.
    """

    FEED_MOST = 1 << 16
    FEED_LEAST = 64
    UNPACKED = 4 << 20

    def __init__(self, compressed: IO[bytes]) -> None:
        self.compressed = compressed
        self.decompressor = _zstandard().ZstdDecompressor()
        self.frame: Any = None  # the frame being decompressed, None between frames
        self.packed = memoryview(b"")
        self.ready = memoryview(b"")
        self.feed = self.FEED_LEAST  # grows while what it unpacks to stays small

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not len(self.ready):
            if not len(self.packed):
                self.packed = memoryview(self.compressed.read(1 << 20))
                if not len(self.packed):
                    if self.frame is not None:
                        raise EOFError("the file ends inside a zstd frame: it was cut short; copy or download it again")
                    return 0
            data, self.packed = self.packed[: self.feed], self.packed[self.feed :]
            pieces = []
            while len(data):
                if self.frame is None:
                    self.frame = self.decompressor.decompressobj()
                pieces.append(self.frame.decompress(data))
                if not self.frame.eof:
                    break
                data = memoryview(self.frame.unused_data)
                self.frame = None
            unpacked = b"".join(pieces)
            if len(unpacked) > self.UNPACKED:
                self.feed = max(self.FEED_LEAST, self.feed // 8)
            elif len(unpacked) < self.UNPACKED // 16:
                self.feed = min(self.FEED_MOST, self.feed * 2)
            self.ready = memoryview(unpacked)
        size = min(len(buffer), len(self.ready))
        buffer[:size] = self.ready[:size]
        self.ready = self.ready[size:]
        return size

    def close(self) -> None:
        self.compressed.close()
        super().close()


def compress_block(data: bytes, compression: str) -> bytes:
    """One self-contained gzip member or zstd frame: blocks concatenate into a valid file."""
    if compression == "gz":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "zst":
        return _zstandard().ZstdCompressor(level=3).compress(data)
    return data


# -- chunks --------------------------------------------------------------------------


@dataclass(slots=True)
class Chunk:
    """Rows ``first_row .. first_row + rows`` of the input (0-based, every row counted)."""

    first_row: int
    rows: int
    payload: Any
    #: Progress after this chunk, in the units of ``progress_total``.
    position: int = 0


@dataclass(slots=True)
class JsonlPayload:
    lines: list[bytes]
    first_line: int  # 1-based line number of lines[0]


@dataclass(slots=True)
class CsvPayload:
    header: list[str]
    records: list[list[str]]
    lines: list[int]  # 1-based line where each record starts


@dataclass(slots=True)
class FolderPayload:
    root: str
    files: list[str]  # paths relative to root, "/"-separated
    first_index: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def progress_total(path: Path, fmt: str, *, html: bool = False) -> tuple[int, str]:
    """The size of the whole job for a progress bar: (total, unit)."""
    if fmt == "parquet":
        return _parquet_file(path).metadata.num_rows, "rows"
    if fmt == "folder":
        return len(list_folder(path, html=html)), "files"
    return path.stat().st_size, "B"


def list_folder(root: Path, *, html: bool = False) -> list[str]:
    """The documents of a folder: ``.txt`` files (``.html``/``.htm`` with ``html``), sorted.

    Hidden files and folders (a name starting with ".") are left out: partial output
    lives in hidden folders.
    """
    return sorted(_folder_documents(root, html=html))


def folder_has_documents(root: Path, *, html: bool = False) -> bool:
    """Whether ``list_folder`` would list anything: the walk stops at the first."""
    return next(_folder_documents(root, html=html), None) is not None


def _folder_documents(root: Path, *, html: bool) -> Iterator[str]:
    suffixes = HTML_SUFFIXES if html else TEXT_SUFFIXES
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        relative = Path(directory).relative_to(root)
        for name in files:
            if not name.startswith(".") and name.lower().endswith(suffixes):
                yield (relative / name).as_posix()


def read_chunks(
    path: Path,
    fmt: str,
    *,
    start_row: int = 0,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    html: bool = False,
) -> Iterator[Chunk]:
    """The input cut into chunks, from row ``start_row`` on (rows before it are skipped)."""
    if fmt == "jsonl":
        yield from _jsonl_chunks(path, start_row, chunk_rows, chunk_bytes)
    elif fmt == "csv":
        yield from _csv_chunks(path, start_row, chunk_rows, chunk_bytes)
    elif fmt == "parquet":
        yield from _parquet_chunks(path, start_row, chunk_rows)
    elif fmt == "folder":
        files = list_folder(path, html=html)
        for first in range(start_row, len(files), chunk_rows):
            batch = files[first : first + chunk_rows]
            yield Chunk(first, len(batch), FolderPayload(str(path), batch, first), first + len(batch))
    else:
        raise ValueError(f"unknown corpus format {fmt!r}")


def _read_error(path: Path, line: int, error: Exception) -> Exception:
    """An ``InputError`` naming the file and line for a file that cannot be read (a
    damaged or truncated compressed stream); any other error as it was."""
    if isinstance(error, (OSError, EOFError)) or type(error).__name__ == "ZstdError":
        if str(path) == "-":
            return InputError(f"standard input, line {line}: cannot be read ({error})")
        return InputError(f"{path}, line {line}: cannot read the compressed file ({error})")
    return error


def _jsonl_chunks(path: Path, start_row: int, chunk_rows: int, chunk_bytes: int) -> Iterator[Chunk]:
    stream, raw = open_binary(path)
    with stream:
        row = 0
        try:
            for _ in range(start_row):
                if not stream.readline():
                    return
                row += 1
            lines: list[bytes] = []
            size = breaks = 0
            first = row
            for line in _piped_lines(stream) if str(path) == "-" else stream:
                if line is None:  # the pipe went quiet: what has come goes on now
                    if lines:
                        yield Chunk(first, len(lines), JsonlPayload(lines, first + 1), raw.count)
                        lines, size, breaks, first = [], 0, 0, row
                    continue
                lines.append(line)
                size += len(line)
                breaks += line.count(b"\\n") + line.count(b"\\r") + 1
                row += 1
                if len(lines) >= chunk_rows or size >= chunk_bytes or breaks >= CHUNK_LINES:
                    yield Chunk(first, len(lines), JsonlPayload(lines, first + 1), raw.count)
                    lines, size, breaks, first = [], 0, 0, row
            if lines:
                yield Chunk(first, len(lines), JsonlPayload(lines, first + 1), raw.count)
        except Exception as error:
            raise _read_error(path, row + 1, error) from None


#: Seconds a pipe may stay quiet before the rows already read go on without a full chunk.
PIPE_IDLE_SECONDS = 0.5


def _piped_lines(stream: IO[bytes]) -> Iterator[bytes | None]:
    """The lines of standard input as they arrive, and None each time it has been
    quiet for ``PIPE_IDLE_SECONDS``: a slow producer's rows are not held back until
    a chunk fills."""
    import select

    try:
        descriptor = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        descriptor = None  # not a real stream (a test's): read it as a file
    if descriptor is None or os.name != "posix":
        yield from stream
        return
    # The pieces of the line not yet ended: a pipe gives 64 KB a read, and joining
    # them at each read would copy a long row once per read (quadratic).
    pending: list[bytes] = []
    while True:
        if not select.select([descriptor], [], [], PIPE_IDLE_SECONDS)[0]:
            yield None
        data = stream.read1(1 << 20)  # type: ignore[attr-defined]
        if not data:
            break
        *complete, rest = data.split(b"\n")
        for line in complete:
            yield b"".join([*pending, line, b"\n"])
            pending = []
        if rest:
            pending.append(rest)
    if pending:
        yield b"".join(pending)


def _csv_reader(stream: IO[bytes]) -> tuple[Any, io.TextIOWrapper]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    # Undecodable bytes become lone surrogates: the row is reported (or passed through
    # byte for byte, written back with the same error handler), not the whole file.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    # Strict: a quote left open would otherwise swallow every later row into one field.
    return csv.reader(text, strict=True), text


def record_lines(record: Sequence[str]) -> int:
    """The lines a record spans in its file: one, and one more for each line break
    inside a quoted field (a carriage return alone starts no line an editor counts)."""
    return 1 + sum(value.count("\n") for value in record)


def _csv_chunks(path: Path, start_row: int, chunk_rows: int, chunk_bytes: int) -> Iterator[Chunk]:
    stream, raw = open_binary(path)
    reader, text = _csv_reader(stream)
    with text:
        try:
            line = 1  # where the next record starts
            header = next(reader, None)
            if header is None:
                return
            line += record_lines(header)
            row = 0
            for _ in range(start_row):
                skipped = next(reader, None)
                if skipped is None:
                    return
                line += record_lines(skipped)
                row += 1
            records: list[list[str]] = []
            lines: list[int] = []
            size = breaks = 0
            first = row
            for record in reader:
                records.append(record)
                lines.append(line)
                spanned = record_lines(record)
                line += spanned
                size += sum(len(value) for value in record)
                breaks += spanned + sum(value.count("\r") for value in record)
                row += 1
                if len(records) >= chunk_rows or size >= chunk_bytes or breaks >= CHUNK_LINES:
                    yield Chunk(first, len(records), CsvPayload(header, records, lines), raw.count)
                    records, lines, size, breaks, first = [], [], 0, 0, row
            if records:
                yield Chunk(first, len(records), CsvPayload(header, records, lines), raw.count)
        except csv.Error as error:
            if "end of data" in str(error):
                hint = "; a quote opened in this row is never closed"
            elif "expected after" in str(error):
                hint = "; a field that starts with a quote must end with it (a quote inside a field is written twice)"
            else:
                hint = ""
            raise InputError(f"{path}, line {line}: not valid CSV ({error}){hint}") from None
        except Exception as error:
            raise _read_error(path, line, error) from None


def csv_header(path: Path) -> list[str] | None:
    """The header row of a CSV file (None for an empty file)."""
    stream, _ = open_binary(path)
    reader, text = _csv_reader(stream)
    with text:
        try:
            return next(reader, None)
        except csv.Error as error:
            raise InputError(f"{path}, line 1: not valid CSV ({error})") from None
        except Exception as error:
            raise _read_error(path, 1, error) from None


def _parquet_file(path: Path) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{path}: not a readable Parquet file ({error})") from None


def parquet_schema(path: Path) -> Any:
    return _parquet_file(path).schema_arrow


def _parquet_chunks(path: Path, start_row: int, chunk_rows: int) -> Iterator[Chunk]:
    import pyarrow as pa

    parquet = _parquet_file(path)
    metadata = parquet.metadata
    # Skip whole row groups before start_row, then slice the first batch.
    row, first = 0, 0
    while first < metadata.num_row_groups and row + metadata.row_group(first).num_rows <= start_row:
        row += metadata.row_group(first).num_rows
        first += 1
    # Every group from the first that holds start_row on: a later, smaller group must
    # not be measured against start_row again (it would be skipped, its rows lost).
    groups = list(range(first, metadata.num_row_groups))
    if not groups:
        return
    skip = start_row - row
    try:
        for batch in parquet.iter_batches(batch_size=chunk_rows, row_groups=groups):
            if skip:
                if skip >= batch.num_rows:
                    skip -= batch.num_rows
                    row += batch.num_rows
                    continue
                row += skip
                batch = batch.slice(skip)
                skip = 0
            if batch.num_rows:
                yield Chunk(row, batch.num_rows, batch, row + batch.num_rows)
                row += batch.num_rows
    except pa.ArrowException as error:
        raise InputError(f"{path}, row {row + 1}: cannot read the Parquet file ({error})") from None


def _records(
    path: Path, fmt: str, text_column: str, *, strict: bool = False, html_pages: bool = False
) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(document id, text, the row's fields) of every usable row; a folder's files have
    no fields. ``strict``: a row that is not usable raises ``InputError`` with its place.
    ``html_pages``: a row without the text field but with an ``html`` one gives that
    page's HTML as its text."""
    import json

    def unusable(place: str, reason: str) -> None:
        if strict:
            raise InputError(f"{path}, {place}: {reason}: fix or remove the row")

    def text_of(record: Any, place: str) -> str | None:
        if not isinstance(record, dict):
            unusable(place, f"a {type(record).__name__}, not an object")
            return None
        if html_pages and text_column not in record and isinstance(record.get("html"), str):
            return record["html"]  # a page, as a corpus job reads such a row
        text = record.get(text_column)
        if not isinstance(text, str):
            missing = "has no" if text_column not in record else f"has {type(text).__name__} in"
            unusable(place, f"{missing} {text_column!r} (name the text field with --text-column)")
            return None
        return text

    for chunk in read_chunks(path, fmt):
        payload = chunk.payload
        if fmt == "jsonl":
            for number, line in enumerate(payload.lines, start=payload.first_line):
                if not line.strip():
                    continue  # a blank line is no row
                try:
                    record = json.loads(line)
                except ValueError:
                    unusable(f"line {number}", "not valid JSON")
                    continue
                if (text := text_of(record, f"line {number}")) is not None:
                    yield str(record.get("doc_id", record.get("id", number))), text, record
        elif fmt == "csv":
            names = payload.header
            rows = zip(payload.records, payload.lines, strict=True)
            for number, (values, line) in enumerate(rows, start=chunk.first_row + 1):
                if not any(value.strip() for value in values):
                    continue  # a blank line is no row
                record = dict(zip(names, values, strict=False))
                if (text := text_of(record, f"line {line}")) is not None:
                    yield str(record.get("doc_id", record.get("id", number))), text, record
        elif fmt == "parquet":
            for number, record in enumerate(payload.to_pylist(), start=chunk.first_row + 1):
                if (text := text_of(record, f"row {number}")) is not None:
                    yield str(record.get("doc_id", record.get("id", number))), text, record
        else:
            for name in payload.files:
                try:
                    yield name, (Path(payload.root) / name).read_bytes().decode("utf-8-sig"), None
                except UnicodeDecodeError:
                    unusable(name, "not UTF-8 text")
                    continue


def _corpus_format(path: Path) -> str:
    fmt = corpus_format(path)
    if fmt is None:
        raise InputError(f"{path} is not a corpus: give a folder or a {', '.join(CORPUS_SUFFIXES)} file")
    return fmt


def iter_records(
    path: str | os.PathLike[str], *, text_column: str = "text", strict: bool = False, html_pages: bool = False
) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(document id, text, the row's fields) of every usable row of a corpus (see
    ``iter_documents``); a folder's files have no fields. ``strict``: a row without a
    usable text raises ``InputError`` naming the file and line, rather than being
    left out."""
    path = Path(path)
    yield from _records(path, _corpus_format(path), text_column, strict=strict, html_pages=html_pages)


def iter_documents(path: str | os.PathLike[str], *, text_column: str = "text") -> Iterator[tuple[str, str]]:
    """(document id, text) of every usable row of a corpus, streaming.

    The id is the row's ``doc_id`` or ``id`` field when it has one, else its row
    number (1-based; for a folder, the file's relative path). Rows without a text
    are left out.
    """
    path = Path(path)
    for doc_id, text, _ in _records(path, _corpus_format(path), text_column):
        yield doc_id, text


def count_site_repeats(path: str | os.PathLike[str], *, text_column: str = "text") -> Any:
    """How many pages of each site hold each paragraph: a first pass over a corpus
    (rows with the same text count once).

    The site is the row's ``domain`` field, else its ``url``'s host; rows with
    neither (and folders of .txt files) are not counted. Returns a
    ``classifier.repeats.SiteRepeats``.
    """
    from classifier.bulk.report import domain_of
    from classifier.repeats import SiteRepeats
    from classifier.text import split_paragraphs

    path = Path(path)

    def pages() -> Iterator[tuple[str | None, list[str]]]:
        for _, text, record in _records(path, _corpus_format(path), text_column):
            domain = domain_of(record)
            if domain:
                yield domain, [paragraph.text for paragraph in split_paragraphs(text)]

    return SiteRepeats.count(pages(), distinct=True)


# -- sinks ---------------------------------------------------------------------------


class StreamSink:
    """A JSONL or CSV file written by appending blocks (compressed block by block).

    ``commit`` flushes to disk and returns the byte length that is complete; a resumed
    run truncates the file back to it, so that nothing is written twice.
    """

    def __init__(self, path: Path, compression: str, *, resume_at: int | None = None, header: bytes = b"") -> None:
        self.path = path
        self.compression = compression
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume_at is None:
            self.file: IO[bytes] = open(path, "wb")
            if header:
                self.file.write(compress_block(header, compression))
        else:
            self.file = open(path, "r+b")
            self.file.truncate(resume_at)
            self.file.seek(resume_at)
        self.pending: list[bytes] = []
        self.pending_bytes = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self.compression:
            self.file.write(data)
            return
        self.pending.append(data)
        self.pending_bytes += len(data)
        if self.pending_bytes >= COMPRESSED_BLOCK_BYTES:
            self._compress_pending()

    def _compress_pending(self) -> None:
        if self.pending:
            self.file.write(compress_block(b"".join(self.pending), self.compression))
            self.pending, self.pending_bytes = [], 0

    def commit(self) -> int:
        # A block ends at every commit: what a resumed run keeps is whole blocks.
        self._compress_pending()
        self.file.flush()
        os.fsync(self.file.fileno())
        return self.file.tell()

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()

    def finish(self, destination: Path) -> None:
        self.commit()
        self.close()
        move_into_place(self.path, destination)


class StdoutSink:
    """Uncompressed JSONL or CSV to standard output (no partial file, no resume)."""

    def __init__(self, header: bytes = b"") -> None:
        self.stream: IO[bytes] = sys.stdout.buffer
        if header:
            self.stream.write(header)

    def write(self, data: bytes) -> None:
        if data:
            self.stream.write(data)
            # A chunk at a time: the reader downstream sees rows as they are done.
            self.stream.flush()

    def commit(self) -> int:
        self.stream.flush()
        return 0

    def close(self) -> None:
        self.stream.flush()

    def finish(self, destination: Path | None) -> None:
        self.close()


#: Parquet output's row groups: at most this many rows, or this many bytes in memory.
ROW_GROUP_ROWS = 128 * 1024
ROW_GROUP_BYTES = 64 << 20


class ParquetSink:
    """Parquet output as one part file per chunk, joined into one file at the end.

    A Parquet file cannot be appended to or cut back, so the parts are what a resumed
    run keeps; joining them reads one part at a time (memory stays flat).
    """

    def __init__(self, folder: Path, schema: Any, *, resume_at: int | None = None) -> None:
        self.folder = folder
        self.schema = schema
        folder.mkdir(parents=True, exist_ok=True)
        self.parts = resume_at or 0
        for part in folder.glob("part-*.parquet"):
            if resume_at is None or int(part.stem.split("-")[1]) >= self.parts:
                part.unlink()

    def _part(self, number: int) -> Path:
        return self.folder / f"part-{number:08d}.parquet"

    def write(self, batch: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if batch is None or batch.num_rows == 0:
            return
        pq.write_table(pa.Table.from_batches([batch], schema=self.schema), self._part(self.parts))
        self.parts += 1

    def commit(self) -> int:
        return self.parts

    def close(self) -> None:
        pass

    def finish(self, destination: Path) -> None:
        """Join the parts into row groups of ``ROW_GROUP_ROWS`` rows or ``ROW_GROUP_BYTES``
        (whichever comes first), not one small group per chunk, which readers pay for.

        The parts stay until the joined file is in place: a run stopped while joining
        resumes from them."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        joined = self.folder / "joined.parquet"
        with pq.ParquetWriter(joined, self.schema) as writer:
            pending: list[Any] = []
            rows = size = 0
            for number in range(self.parts):
                part = self._part(number)
                table = pq.read_table(part, schema=self.schema)
                pending.append(table)
                rows += table.num_rows
                size += table.nbytes
                if rows >= ROW_GROUP_ROWS or size >= ROW_GROUP_BYTES:
                    writer.write_table(pa.concat_tables(pending), row_group_size=rows)
                    pending, rows, size = [], 0, 0
            if pending:
                writer.write_table(pa.concat_tables(pending), row_group_size=rows)
        move_into_place(joined, destination)
        for number in range(self.parts):
            self._part(number).unlink()


class FolderSink:
    """A folder of text files, built in a partial folder and renamed when complete."""

    def __init__(self, folder: Path, *, resume_at: int | None = None) -> None:
        self.tree = folder / "tree"
        if resume_at is None and self.tree.exists():
            import shutil

            shutil.rmtree(self.tree)
        self.tree.mkdir(parents=True, exist_ok=True)
        self.done = resume_at or 0

    def write(self, files: list[tuple[str, bytes]]) -> None:
        for relative, data in files:
            target = self.tree / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    def commit(self) -> int:
        return 0

    def close(self) -> None:
        pass

    def finish(self, destination: Path) -> None:
        destination = target_of(destination)  # a link to a folder: the folder
        if destination.exists():
            destination.rmdir()  # empty (checked before the job started)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.tree, destination)
