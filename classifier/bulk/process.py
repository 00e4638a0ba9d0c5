"""Turning one chunk of a corpus into output: the work each worker process does.

A chunk's rows are checked (bad rows are reported with their place, and passed
through unchanged), its documents are classified in one batch, and the chunk comes
back as output in the input's own format (bytes of JSONL or CSV, an Arrow record
batch, or files), the removed paragraphs as JSONL bytes, and a report of counts.
The model is loaded once per process (``init_worker``).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import select
import signal
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifier.bulk.formats import CsvPayload, FolderPayload, JsonlPayload, csv_text
from classifier.bulk.report import CorpusReport, domain_of
from classifier.errors import NewscleanError
from classifier.evaluation import drop_mask, min_confidence_of
from classifier.labels import LABELS, REPORTING
from classifier.text import remove_paragraphs, split_paragraphs

#: The column that ``--labels`` adds: each paragraph's label and probability.
LABELS_COLUMN = "paragraph_labels"
#: A row without the text column but with this one is HTML, extracted first.
HTML_COLUMN = "html"
ID_COLUMNS = ("doc_id", "id")

# Undecodable bytes read with "surrogateescape", or lone surrogates escaped in JSON:
# neither can be written back as UTF-8 text.
_SURROGATE = re.compile("[\ud800-\udfff]")
_MISSING = object()


@dataclass(frozen=True)
class JobOptions:
    """What a worker needs to know about the job (picklable)."""

    mode: str = "clean"  # or "classify"
    text_column: str = "text"
    keep: tuple[str, ...] = (REPORTING,)
    min_confidence: float | None = None
    labels: bool = False
    removed: bool = False
    html: bool = False
    model_path: str | None = None
    source: str = ""  # the input's name, for messages
    #: Pages per (site, paragraph) from a first pass (``--site-repeats``), or None.
    site_repeats: Any = None

    @property
    def labels_column(self) -> bool:
        """``classify`` always writes the labels; ``clean`` with ``--labels``."""
        return self.labels or self.mode == "classify"


@dataclass
class ChunkResult:
    first_row: int
    rows: int
    output: Any
    removed: bytes = b""
    report: CorpusReport = field(default_factory=CorpusReport)
    bad: list[tuple[str, str]] = field(default_factory=list)  # (place, reason)
    paragraphs: int = 0


# -- the model, once per process -------------------------------------------------------

_WORKER: dict[str, Any] = {}


def one_blas_thread() -> Any:
    """Limit this process to one BLAS thread (undone by the returned object's
    ``restore`` or on leaving it as a context). Idle BLAS threads spin: a job asked
    for N processes should take N cores, not N times the BLAS threads."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl comes with scikit-learn; without it, no limit
        return contextlib.nullcontext()
    return threadpool_limits(1)


#: Set while a worker works on a chunk (nothing of it is being sent to the job).
_WORKING = threading.Event()
#: How long a worker told to end outside a chunk lets a result it is sending finish.
SENDING_GRACE_SECONDS = 0.5


def _on_terminate(signum: int, _frame: Any) -> None:
    """SIGTERM in a worker (a scheduler's to the process group, or the pool ending its
    workers): end, but never halfway through sending a result to the job, whose pool
    would then wait forever for the rest of it."""
    if _WORKING.is_set():
        os._exit(128 + signum)
    threading.Timer(SENDING_GRACE_SECONDS, os._exit, args=(128 + signum,)).start()


def _end_with_the_job() -> None:
    """Exit when the process that runs the job is gone, even killed outright: an
    executor's workers hold their end of the task queue, and would wait on it forever.

    The job's process is watched by its pid: the parent sentinel of a worker that the
    fork server made follows the server, which a SIGTERM to the process group ends
    first; workers that left with it broke the pool while the job stopped, and its
    exit could hang on the pool's pipes."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return
    pid = parent.pid

    def watch() -> None:
        try:
            handle = os.pidfd_open(pid)
        except (AttributeError, OSError):  # not Linux 5.3 or later: ask once a second
            while _running(pid):
                time.sleep(1.0)
        else:
            select.select([handle], [], [])  # readable once the process has ended
        os._exit(1)

    threading.Thread(target=watch, name="end-with-the-job", daemon=True).start()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        pass
    return True


def init_worker(options: JobOptions, ignore_interrupt: bool = True) -> None:
    """Load the model into this process (a pool's initializer)."""
    if ignore_interrupt:
        # Ctrl-C is the job's to handle: it stops the pool and keeps partial output.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _on_terminate)
        _end_with_the_job()
    one_blas_thread()  # the workers are the parallelism
    from classifier.api import load_model
    from classifier.model import ModelVersionWarning

    # The job's own process has said so once already.
    warnings.simplefilter("ignore", ModelVersionWarning)
    try:
        model = load_model(options.model_path)
    except Exception as error:
        # An initializer that raises only logs a traceback, and the job would see a
        # worker "killed"; the chunk this worker takes reports what went wrong instead.
        _WORKER.update(failed=WorkerStartError(f"a worker process could not load the model: {error}"), options=options)
        return
    threshold = min_confidence_of(options.min_confidence, default=model.default_min_confidence)
    _WORKER.update(model=model, threshold=threshold, options=options)


def set_worker_model(model: Any, options: JobOptions) -> None:
    """Use ``model`` in this process (the job runs without a pool)."""
    threshold = min_confidence_of(options.min_confidence, default=model.default_min_confidence)
    _WORKER.update(model=model, threshold=threshold, options=options)


class WorkerStartError(NewscleanError):
    """A worker process could not get ready (its model did not load)."""


class _HtmlError(Exception):
    pass


def extract_html(html: str) -> str:
    from classifier.errors import NewscleanError
    from classifier.html import extract_text

    if html.strip() and "<" not in html:
        # Text given as HTML would come out empty, and the row's text be lost.
        raise _HtmlError("holds no HTML (no tags): leave out --html for plain text")
    try:
        text = extract_text(html)
    except NewscleanError:
        raise
    except Exception as error:  # a page trafilatura cannot read is a bad row, not a failed job
        raise _HtmlError(f"trafilatura could not read the HTML ({type(error).__name__}: {error})") from None
    if html.strip() and not text:
        # An empty result would replace the row's text with nothing, silently.
        raise _HtmlError("trafilatura found no article text in the HTML (--on-error skip keeps such rows as they are)")
    return text


# -- documents -------------------------------------------------------------------------


@dataclass
class Documents:
    """The usable rows of a chunk, analysed together."""

    texts: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # 1-based row number
    ids: list[Any] = field(default_factory=list)
    domains: list[str | None] = field(default_factory=list)

    def add(self, text: str, row: int, doc_id: Any, domain: str | None) -> int:
        self.texts.append(text)
        self.rows.append(row)
        self.ids.append(doc_id)
        self.domains.append(domain)
        return len(self.texts) - 1


@dataclass
class Analysis:
    outputs: list[str]  # cleaned text (clean) or the text (classify), per document
    labels: list[list[dict[str, Any]]] | None
    removed: bytes
    report: CorpusReport
    paragraphs: int


def analyse(documents: Documents, options: JobOptions, *, model: Any = None, threshold: float | None = None) -> Analysis:
    """Classify the documents in one batch; clean them, count them, list what goes."""
    model = model if model is not None else _WORKER["model"]
    threshold = threshold if threshold is not None else _WORKER["threshold"]
    report = CorpusReport(options.mode)
    splits = [split_paragraphs(text) for text in documents.texts]
    counts = [len(paragraphs) for paragraphs in splits]
    total = sum(counts)
    if total:
        texts = [[paragraph.text for paragraph in paragraphs] for paragraphs in splits]
        repeats = None
        if options.site_repeats is not None:
            repeats = [options.site_repeats.lookup(domain, page) for domain, page in zip(documents.domains, texts, strict=True)]
        probabilities = np.concatenate(model.predict_proba_documents(texts, site_repeats=repeats))
    else:
        probabilities = np.zeros((0, len(LABELS)))
    best = probabilities.argmax(axis=1) if total else np.zeros(0, dtype=np.int64)
    best_probability = probabilities[np.arange(total), best] if total else np.zeros(0)
    dropped = drop_mask(probabilities, keep=options.keep, min_confidence=threshold) if total else np.zeros(0, dtype=bool)
    lengths = np.fromiter((len(p.text) for paragraphs in splits for p in paragraphs), dtype=np.int64, count=total)
    has_domains = any(domain is not None for domain in documents.domains)
    report.add_chunk(best, lengths, dropped, counts, documents.domains if has_domains else None)
    report.input_characters = sum(len(text) for text in documents.texts)

    outputs: list[str] = []
    labels: list[list[dict[str, Any]]] | None = [] if options.labels_column else None
    removed_lines: list[str] = []
    dropped_at = np.flatnonzero(dropped)
    cursor = 0  # into dropped_at
    offset = 0
    cleaning = options.mode == "clean"
    for number, (text, paragraphs) in enumerate(zip(documents.texts, splits, strict=True)):
        count = counts[number]
        end = offset + count
        first = cursor
        while cursor < len(dropped_at) and dropped_at[cursor] < end:
            cursor += 1
        gone = [int(index) - offset for index in dropped_at[first:cursor]]
        for index in gone:
            paragraph = paragraphs[index]
            label = int(best[offset + index])
            report.add_removed_text(paragraph.text, label)
            if options.removed and cleaning:
                removed_lines.append(
                    json.dumps(
                        {
                            "doc_id": documents.ids[number],
                            "row": documents.rows[number],
                            "position": index,
                            "start": paragraph.start,
                            "end": paragraph.end,
                            "label": LABELS[label],
                            "probability": round(float(best_probability[offset + index]), 6),
                            "span": text[paragraph.start : paragraph.end],
                        },
                        ensure_ascii=False,
                    )
                )
        outputs.append(remove_paragraphs(text, paragraphs, gone) if cleaning and gone else text)
        if labels is not None:
            entries = []
            for index in range(count):
                entry: dict[str, Any] = {
                    "label": LABELS[best[offset + index]],
                    "probability": round(float(best_probability[offset + index]), 4),
                }
                if cleaning:
                    entry["kept"] = not dropped[offset + index]
                entries.append(entry)
            labels.append(entries)
        offset = end
    report.output_characters = sum(len(text) for text in outputs)
    removed = json_bytes("\n".join(removed_lines) + "\n") if removed_lines else b""
    return Analysis(outputs, labels, removed, report, total)


def _document_id(record: dict[str, Any], row: int) -> Any:
    for name in ID_COLUMNS:
        value = record.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return value
    return row


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "an array", bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _text_of(record: dict[str, Any], options: JobOptions) -> tuple[str | None, str | None, bool]:
    """(text, reason it is bad, whether it came from the html column)."""
    try:
        return _text_or_reason(record, options)
    except _HtmlError as error:
        return None, str(error), False


def _text_or_reason(record: dict[str, Any], options: JobOptions) -> tuple[str | None, str | None, bool]:
    value = record.get(options.text_column, _MISSING)
    if value is _MISSING:
        html = record.get(HTML_COLUMN, _MISSING)
        if isinstance(html, str):
            return extract_html(html), None, True
        names = ", ".join(list(record)[:8]) or "none"
        return None, f"no '{options.text_column}' field (fields: {names}): name the text field with --text-column", False
    if value is None:
        return None, f"'{options.text_column}' is null, not a text", False
    if not isinstance(value, str):
        return None, f"'{options.text_column}' is {_type_name(value)}, not a text", False
    if _SURROGATE.search(value):
        return None, "undecodable bytes or lone surrogates (not UTF-8 text)", False
    if options.html:
        return extract_html(value), None, False
    return value, None, False


# -- formats ---------------------------------------------------------------------------


def process_chunk(fmt: str, payload: Any, first_row: int, rows: int) -> ChunkResult:
    """One chunk of input in, one chunk of output (and its removed paragraphs and counts) out."""
    if "failed" in _WORKER:
        raise _WORKER["failed"]
    options: JobOptions = _WORKER["options"]
    _WORKING.set()
    try:
        if fmt == "jsonl":
            return _jsonl(payload, first_row, rows, options)
        if fmt == "csv":
            return _csv(payload, first_row, rows, options)
        if fmt == "parquet":
            return _parquet(payload, first_row, rows, options)
        if fmt == "folder":
            return _folder(payload, first_row, rows, options)
        raise ValueError(f"unknown corpus format {fmt!r}")
    finally:
        _WORKING.clear()


def _finish(result: ChunkResult, analysis: Analysis) -> ChunkResult:
    analysis.report.rows_skipped = 0
    source = _WORKER["options"].source
    for place, reason in result.bad:
        analysis.report.add_skipped(f"{source}, {place}: {reason}" if source else f"{place}: {reason}")
    result.report = analysis.report
    result.removed = analysis.removed
    result.paragraphs = analysis.paragraphs
    return result


def _jsonl(payload: JsonlPayload, first_row: int, rows: int, options: JobOptions) -> ChunkResult:
    result = ChunkResult(first_row, rows, None)
    out: list[bytes] = list(payload.lines)
    documents = Documents()
    records: list[tuple[int, dict[str, Any], bool]] = []  # (line index, record, text came from html)
    for index, line in enumerate(payload.lines):
        number = payload.first_line + index
        if not line.strip():
            continue  # blank lines pass through; they are not rows of data
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError as error:
            result.bad.append((f"line {number}", f"undecodable bytes (not UTF-8) at byte {error.start}"))
            continue
        if number == 1 and decoded.startswith("\ufeff"):
            decoded = decoded[1:]  # a byte order mark
        try:
            record = json.loads(decoded)
        except ValueError as error:
            # json's own messages may end in " at" ("Invalid control character at").
            message = getattr(error, "msg", str(error)).removesuffix(" at")
            column = getattr(error, "colno", None)
            where = f" at column {column}" if column else ""
            result.bad.append((f"line {number}", f"not valid JSON ({message}{where})"))
            continue
        if not isinstance(record, dict):
            result.bad.append((f"line {number}", f"a JSON {_type_name(record).split()[-1]}, not an object"))
            continue
        text, reason, from_html = _text_of(record, options)
        if reason is not None:
            result.bad.append((f"line {number}", reason))
            continue
        documents.add(text, number, _document_id(record, number), domain_of(record))  # type: ignore[arg-type]
        records.append((index, record, from_html))
    analysis = analyse(documents, options)
    for slot, (index, record, _from_html) in enumerate(records):
        record[options.text_column] = analysis.outputs[slot]
        if analysis.labels is not None:
            record[LABELS_COLUMN] = analysis.labels[slot]
        try:
            out[index] = json_bytes(json.dumps(record, ensure_ascii=False) + "\n")
        except UnicodeEncodeError:  # a lone surrogate in another field: keep it escaped
            out[index] = (json.dumps(record) + "\n").encode("ascii")
    result.output = b"".join(out)
    return _finish(result, analysis)


def csv_output_header(header: Sequence[str], options: JobOptions) -> list[str]:
    names = list(header)
    if options.text_column not in names and HTML_COLUMN in names:
        names.append(options.text_column)
    if options.labels_column and LABELS_COLUMN not in names:
        names.append(LABELS_COLUMN)
    return names


def _csv(payload: CsvPayload, first_row: int, rows: int, options: JobOptions) -> ChunkResult:
    result = ChunkResult(first_row, rows, None)
    header = payload.header
    out_header = csv_output_header(header, options)
    width = len(header)
    text_at = header.index(options.text_column) if options.text_column in header else None
    documents = Documents()
    good: list[tuple[int, dict[str, Any]]] = []
    for index, values in enumerate(payload.records):
        number = payload.lines[index]
        if len(values) != width:
            if not any(value.strip() for value in values):
                continue  # a blank line
            result.bad.append((f"line {number}", f"{len(values)} fields where the header has {width}"))
            continue
        if _SURROGATE.search("".join(values)):
            result.bad.append((f"line {number}", "undecodable bytes (not UTF-8)"))
            continue
        record = dict(zip(header, values, strict=True))
        if text_at is None and HTML_COLUMN not in record:
            names = ", ".join(header[:8])
            result.bad.append(
                (f"line {number}", f"no '{options.text_column}' column (columns: {names}): name it with --text-column")
            )
            continue
        text, reason, _ = _text_of(record, options)
        if reason is not None:
            result.bad.append((f"line {number}", reason))
            continue
        documents.add(text, first_row + index + 1, _document_id(record, first_row + index + 1), domain_of(record))  # type: ignore[arg-type]
        good.append((index, record))
    analysis = analyse(documents, options)
    # Rows not cleaned go back as they came: a blank line stays blank, a bad row keeps
    # its own fields; rows of the header's width get the columns the output adds.
    extra = [""] * (len(out_header) - width)
    rendered: list[list[str]] = [list(values) + extra if len(values) == width else list(values) for values in payload.records]
    for slot, (index, record) in enumerate(good):
        record[options.text_column] = analysis.outputs[slot]
        if analysis.labels is not None:
            record[LABELS_COLUMN] = json.dumps(analysis.labels[slot], ensure_ascii=False)
        rendered[index] = [record.get(name, "") for name in out_header]
    result.output = csv_text(rendered).encode("utf-8", "surrogateescape")
    return _finish(result, analysis)


def labels_type(mode: str) -> Any:
    import pyarrow as pa

    fields = [pa.field("label", pa.string()), pa.field("probability", pa.float64())]
    if mode == "clean":
        fields.append(pa.field("kept", pa.bool_()))
    return pa.list_(pa.struct(fields))


def holds_text(arrow_type: Any) -> bool:
    """An Arrow string type: plain, large, a view, or a dictionary of one (pandas
    writes a categorical column as a dictionary)."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    is_view = getattr(pa.types, "is_string_view", lambda _: False)  # pyarrow 16 and later
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or is_view(arrow_type))


def parquet_output_schema(schema: Any, options: JobOptions) -> Any:
    import pyarrow as pa

    names = schema.names
    if options.text_column not in names and HTML_COLUMN in names:
        schema = schema.append(pa.field(options.text_column, pa.large_string()))
    if options.labels_column:
        field_ = pa.field(LABELS_COLUMN, labels_type(options.mode))
        if LABELS_COLUMN in names:
            schema = schema.set(names.index(LABELS_COLUMN), field_)
        else:
            schema = schema.append(field_)
    return schema


def _parquet(batch: Any, first_row: int, rows: int, options: JobOptions) -> ChunkResult:
    import pyarrow as pa

    result = ChunkResult(first_row, rows, None)
    schema = batch.schema
    names = schema.names
    out_schema = parquet_output_schema(schema, options)
    column = options.text_column
    documents = Documents()
    slots: list[int] = []
    texts_ok = column in names and holds_text(schema.field(column).type)
    html_route = column not in names and HTML_COLUMN in names
    if not texts_ok and not html_route:
        if column in names:
            reason = f"the '{column}' column holds {schema.field(column).type}, not text: name the text column with --text-column"
        else:
            reason = f"no '{column}' column (columns: {', '.join(names[:8])}): name it with --text-column"
        for index in range(batch.num_rows):
            result.bad.append((f"row {first_row + index + 1}", reason))
        values: list[Any] = []
    else:
        values = batch.column(names.index(column if texts_ok else HTML_COLUMN)).to_pylist()
        lookups = {name: batch.column(names.index(name)).to_pylist() for name in ("domain", "url", *ID_COLUMNS) if name in names}
        for index, value in enumerate(values):
            row = first_row + index + 1
            if value is None:
                result.bad.append((f"row {row}", f"'{column if texts_ok else HTML_COLUMN}' is null, not a text"))
                continue
            if html_route or options.html:
                try:
                    value = extract_html(value)
                except _HtmlError as error:
                    result.bad.append((f"row {row}", str(error)))
                    continue
            record = {name: lookup[index] for name, lookup in lookups.items()}
            documents.add(value, row, _document_id(record, row), domain_of(record))
            slots.append(index)
    analysis = analyse(documents, options)
    arrays = [batch.column(number) for number in range(batch.num_columns)]
    if texts_ok or html_route:
        new_values = list(values) if texts_ok else [None] * batch.num_rows
        for slot, index in enumerate(slots):
            new_values[index] = analysis.outputs[slot]
        field_ = out_schema.field(column)
        text_array = pa.array(new_values, type=field_.type)
        if texts_ok:
            arrays[names.index(column)] = text_array
        else:
            arrays.append(text_array)
    if options.labels_column:
        labels: list[Any] = [None] * batch.num_rows
        if analysis.labels is not None:
            for slot, index in enumerate(slots):
                labels[index] = analysis.labels[slot]
        label_array = pa.array(labels, type=labels_type(options.mode))
        if LABELS_COLUMN in names:
            arrays[names.index(LABELS_COLUMN)] = label_array
        else:
            arrays.append(label_array)
    result.output = pa.RecordBatch.from_arrays(arrays, schema=out_schema)
    return _finish(result, analysis)


def json_bytes(text: str) -> bytes:
    """JSON text as UTF-8. A lone surrogate (a file name that was not UTF-8, a field
    that held "\\ud800") cannot be UTF-8: it is written as the same JSON escape."""
    return text.encode("utf-8", "backslashreplace")


def folder_output_name(relative: str, options: JobOptions) -> str:
    if options.html:
        return str(Path(relative).with_suffix(".txt").as_posix())
    return relative


def _folder(payload: FolderPayload, first_row: int, rows: int, options: JobOptions) -> ChunkResult:
    result = ChunkResult(first_row, rows, None)
    root = Path(payload.root)
    files: list[tuple[str, bytes] | None] = []
    documents = Documents()
    slots: list[tuple[int, str]] = []
    for index, relative in enumerate(payload.files):
        try:
            data = (root / relative).read_bytes()
        except OSError as error:  # a dangling link, a file without read permission
            # Nothing to pass through: it is left out of the output, and counted.
            files.append(None)
            result.bad.append((relative, f"cannot be read ({error.strerror or error})"))
            continue
        files.append((relative, data))
        try:
            text = data.decode("utf-8")  # a byte order mark stays, as in an article's text
        except UnicodeDecodeError as error:
            result.bad.append((relative, f"undecodable bytes (not UTF-8) at byte {error.start}"))
            continue
        if options.html:
            try:
                text = extract_html(text.removeprefix("\ufeff"))
            except _HtmlError as error:
                result.bad.append((relative, str(error)))
                continue
        documents.add(text, first_row + index + 1, relative, None)
        slots.append((index, relative))
    analysis = analyse(documents, options)
    for slot, (index, relative) in enumerate(slots):
        name = folder_output_name(relative, options)
        files[index] = (name, analysis.outputs[slot].encode("utf-8"))
        if analysis.labels is not None:
            files.append((name + ".labels.json", json.dumps(analysis.labels[slot], ensure_ascii=False).encode("utf-8")))
    result.output = [file for file in files if file is not None]
    return _finish(result, analysis)
