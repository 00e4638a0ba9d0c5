"""Running a corpus job: read in chunks, classify on N processes, write in order.

The output goes to a hidden partial location beside the destination
(``.NAME.newsclean-partial``) and is moved into place only when the whole input is
done, so that a failed run leaves no output file. Every so often (``RECORD_SHARE``)
the job records in that folder how many input rows are done and how far each output
is complete; an interrupted run (Ctrl-C, a kill, a crash) continues from there with
``resume``, cutting back whatever was written after the last record, so that no row
is done twice or written twice.

Each worker process loads the model once (``process.init_worker``); at most two
chunks per worker are in flight, so memory stays flat however large the input.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any

from classifier.bulk.formats import (
    DEFAULT_CHUNK_ROWS,
    Chunk,
    FolderSink,
    ParquetSink,
    StdoutSink,
    StreamSink,
    compression_of,
    corpus_format,
    csv_header,
    csv_text,
    folder_has_documents,
    parquet_schema,
    progress_total,
    read_chunks,
)
from classifier.bulk.names import reads_stdin, source_name
from classifier.bulk.process import (
    HTML_COLUMN,
    ChunkResult,
    JobOptions,
    WorkerStartError,
    csv_output_header,
    init_worker,
    one_blas_thread,
    parquet_output_schema,
    process_chunk,
    set_worker_model,
)
from classifier.bulk.report import CorpusReport
from classifier.errors import InputError, NewscleanError
from classifier.evaluation import min_confidence_of
from classifier.files import check_folder_takes_files, check_writable, same_file
from classifier.labels import REPORTING, as_labels

STATE_VERSION = 1
#: At most this share of a run's time goes to recording its progress (the state file,
#: written and synced to disk): a run records after a chunk once this long has passed
#: since its last record, measured in multiples of what that record cost.
RECORD_SHARE = 0.05
#: With compressed output, at least this long between records as well: a record ends
#: a compressed block, and blocks of a chunk or two compress a quarter worse. A stop
#: redoes at most this much more.
MIN_COMPRESSED_RECORD_SECONDS = 2.0
#: An input of fewer documents runs in one process: starting workers would cost more.
SMALL_INPUT_ROWS = 1000
#: A parallel job over an input file at least this large starts the server that forks
#: its workers first thing, so that the server's start (its imports, about 0.2 s)
#: overlaps the job's own loading of the model rather than follows it.
EARLY_START_BYTES = 4 * 2**20
PARTIAL_SUFFIX = ".newsclean-partial"


class Interrupted(NewscleanError):
    """The job was stopped; its partial output is kept for ``--resume``."""

    exit_code = 130


class _Terminated(KeyboardInterrupt):
    """SIGTERM, stopping the job as Ctrl-C does; the exit status says which it was."""


class WorkerLost(NewscleanError):
    """A worker process died; the partial output is kept for ``--resume``."""


class OutOfMemory(NewscleanError):
    """The run ran out of memory; the partial output is kept for ``--resume``."""


@dataclass
class CorpusJob:
    """A corpus to clean (``mode="clean"``) or classify, and where the results go."""

    source: Path  # "-": standard input, read as JSON Lines
    output: Path | None = None  # None: standard output (uncompressed JSONL or CSV only)
    mode: str = "clean"
    text_column: str = "text"
    keep: tuple[str, ...] = (REPORTING,)
    min_confidence: float | None = None
    labels: bool = False
    removed: Path | None = None
    resume: bool = False
    on_error: str = "fail"  # or "skip"
    jobs: int | None = None  # None: every core
    html: bool = False
    model: str | os.PathLike[str] | None = None
    chunk_rows: int | None = None  # None: DEFAULT_CHUNK_ROWS
    #: Count in a first pass how many pages of each site hold each paragraph, and give
    #: the model that count (sites come from a ``domain`` or ``url`` field).
    site_repeats: bool = False
    progress: bool | None = None  # None: a bar when standard error is a terminal


@dataclass
class JobResult:
    report: CorpusReport
    rows: int  # input rows handled by this run
    resumed_from: int  # rows done by earlier runs
    paragraphs: int  # paragraphs classified by this run
    seconds: float
    jobs: int
    output: Path | None = None
    removed: Path | None = None
    notes: list[str] = field(default_factory=list)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


#: The lock a run holds beside its output (``_only_run_on``).
LOCK_SUFFIX = ".newsclean-lock"


def partial_path(destination: Path) -> Path:
    return destination.parent / f".{destination.name}{PARTIAL_SUFFIX}"


class _BadRow(InputError):
    """A bad row stopped the run (``on_error="fail"``); ``what`` names it without advice."""

    def __init__(self, message: str, what: str) -> None:
        super().__init__(message)
        self.what = what


def _check(job: CorpusJob) -> str:
    source = Path(job.source)
    if reads_stdin(job.source):
        # One pass over a stream: nothing may need to read the input again.
        if job.resume:
            raise InputError(
                "--resume skips the rows an earlier run did by reading the input again, and standard input "
                "cannot be read twice: save the corpus to a .jsonl file and clean that"
            )
        if job.site_repeats:
            raise InputError(
                "--site-repeats counts paragraphs in a first pass over the input, and standard input cannot be "
                "read twice: save the corpus to a .jsonl file and clean that"
            )
        fmt = "jsonl"
    else:
        if not source.exists():
            raise InputError(f"{source}: no such file or folder")
        fmt = corpus_format(source)
    if fmt == "folder" and job.site_repeats:
        raise InputError(
            f"{source} is a folder of files, which name no site: --site-repeats needs a JSONL, CSV or "
            "Parquet corpus with a domain or url field"
        )
    if fmt == "folder" and job.text_column != "text":
        raise InputError(f"{source} is a folder of text files, which have no columns: leave out --text-column")
    if fmt is None:
        raise InputError(f"{source} is not a corpus: give a folder of .txt files or a .jsonl(.gz/.zst), .csv or .parquet file")
    if fmt == "folder" and not folder_has_documents(source, html=job.html):
        # A folder that cannot be read lists as empty too: say so rather than clean nothing.
        kinds = ".html or .htm" if job.html else ".txt"
        raise InputError(f"{source} holds no {kinds} files that can be read: check the folder, or its permissions")
    if fmt == "folder" and job.html:
        _refuse_clashing_names(source)
    if job.mode not in ("clean", "classify"):
        raise ValueError(f"mode must be clean or classify, not {job.mode!r}")
    if job.on_error not in ("fail", "skip"):
        raise InputError(f"--on-error must be fail or skip, not {job.on_error!r}")
    as_labels(job.keep)
    try:
        min_confidence_of(job.min_confidence, default=0.5)
    except (TypeError, ValueError) as error:
        raise InputError(str(error)) from None
    if job.removed is not None and job.mode != "clean":
        raise InputError("--removed applies to clean: classify removes nothing")
    if job.removed is not None:
        check_writable(Path(job.removed))
    if job.jobs is not None and job.jobs < 1:
        raise InputError(f"--jobs must be 1 or more, not {job.jobs}")
    if job.output is None:
        if fmt not in ("jsonl", "csv") or (compression_of(source) and not reads_stdin(source)):
            raise InputError(
                f"{source} cannot go to standard output (only uncompressed JSONL and CSV can): give --output a file or folder"
            )
        if job.resume:
            raise InputError("--resume needs an output file: output to standard output cannot be resumed")
        return fmt
    output = Path(job.output)
    check_folder_takes_files(output, output.parent)
    if job.resume and output.exists() and not partial_path(output).exists():
        # The run that wrote it finished: doing it all again is not what --resume asks.
        raise InputError(
            f"nothing to resume: {output} is complete (no run on it was left unfinished); run without --resume to write it again"
        )
    if not reads_stdin(source) and same_file(output, source):
        raise InputError(f"the output {output} is the input: write to another file or folder")
    if fmt == "folder":
        if output.exists() and (not output.is_dir() or any(output.iterdir())):
            raise InputError(f"{output} exists and is not an empty folder: choose another output folder or remove it")
        if Path(os.path.realpath(output)).is_relative_to(os.path.realpath(source)):
            raise InputError(f"the output folder {output} is inside the input folder: write it elsewhere")
    else:
        if output.is_dir():
            raise InputError(f"{output} is a folder: give a {fmt} file name for the output")
        if corpus_format(output) != fmt:
            raise InputError(
                f"{output}: the output keeps the input's format, so give it a {fmt} name "
                + ("(.jsonl, .jsonl.gz or .jsonl.zst)" if reads_stdin(source) else f"(like the input {source.name})")
            )
    if job.removed is not None and (same_file(job.removed, output) or same_file(job.removed, source)):
        raise InputError("--removed must name a file of its own")
    return fmt


def _refuse_clashing_names(source: Path) -> None:
    """Refuse pages that would be written to one text file (``a.html`` and ``a.htm``
    both give ``a.txt``): the second would replace the first."""
    from classifier.bulk.formats import list_folder
    from classifier.bulk.process import JobOptions, folder_output_name

    options = JobOptions(html=True)
    seen: dict[str, str] = {}
    for relative in list_folder(source, html=True):
        name = folder_output_name(relative, options)
        if name in seen:
            raise InputError(f"{source / seen[name]} and {source / relative} would both be written as {name}: rename one of them")
        seen[name] = relative


def _check_columns(source: Path, fmt: str, text_column: str) -> None:
    """Refuse a CSV header or Parquet schema that names a column twice (which of the
    two holds the text would be a guess, and the other would be lost on output), or
    that lacks the text column: a whole file's mistake, named before any row."""
    if fmt == "csv":
        names, where = csv_header(source) or [], "header"
    elif fmt == "parquet":
        names, where = parquet_schema(source).names, "schema"
    else:
        return
    if fmt == "csv" and len(names) == 1 and any(mark in names[0] for mark in ";\t"):
        mark = "semicolons" if ";" in names[0] else "tabs"
        raise InputError(
            f"{source}: its header is separated by {mark}, and a corpus CSV is comma-separated: "
            "save it with commas (or as JSONL or Parquet)"
        )
    if names and text_column not in names and HTML_COLUMN not in names:
        shown = ", ".join(repr(name) for name in names[:8])
        raise InputError(
            f"{source} has no column {text_column!r} (its {where}: {shown}): name the text column with --text-column"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if "" in repeated:
        raise InputError(
            f"{source}: its {where} has {names.count('')} columns without a name (as spreadsheets export empty "
            "columns): name them or remove them, since each column's values are kept by name"
        )
    if repeated:
        raise InputError(
            f"{source}: its {where} names {', '.join(repr(name) for name in repeated)} more than once: "
            "give each column its own name"
        )


def _signature(job: CorpusJob, fmt: str, model: Any, threshold: float) -> dict[str, Any]:
    stdin = reads_stdin(job.source)
    source = Path(job.source).resolve()
    stat = None if stdin else source.stat()
    return {
        "version": STATE_VERSION,
        "mode": job.mode,
        "source": "-" if stdin else str(source),
        "source_size": stat.st_size if stat else None,
        "source_mtime_ns": stat.st_mtime_ns if stat else None,
        "format": fmt,
        "output": str(Path(job.output).resolve()) if job.output else None,
        "text_column": job.text_column,
        "keep": sorted(job.keep),
        "min_confidence": threshold,
        "labels": job.labels,
        "html": job.html,
        "site_repeats": job.site_repeats,
        "removed": str(Path(job.removed).resolve()) if job.removed else None,
        "model": model.manifest.get("checksum"),
    }


def _write_state(path: Path, state: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def _pool_context() -> Any:
    """Workers are forked from a server that has imported the processing code (safe
    with threads, unlike a plain fork), or spawned where there is no such server."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # ``server`` first: it keeps the server through a SIGTERM to the process group.
        context.set_forkserver_preload(["classifier.bulk.server", "classifier.bulk.process"])
    return context


def _start_worker_server() -> None:
    """Start the server that forks the workers, in the background (see ``EARLY_START_BYTES``)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        from multiprocessing import forkserver

        _pool_context()
        forkserver.ensure_running()


def _is_large(source: Path) -> bool:
    try:
        return source.is_file() and source.stat().st_size >= EARLY_START_BYTES
    except OSError:
        return False


def _results(
    fmt: str, chunks: Iterator[Chunk], jobs: int, options: JobOptions, model: Any, used: list[int]
) -> Iterator[tuple[int, ChunkResult]]:
    """(progress position, result) of each chunk, in input order; ``used`` gets the process count."""
    first = list(islice(chunks, 2 * jobs)) if jobs > 1 else []
    small = len(first) < 2 * jobs and sum(chunk.rows for chunk in first) < SMALL_INPUT_ROWS
    used.append(1 if jobs <= 1 or small else jobs)
    if jobs <= 1 or small:
        # One job, or an input too small to pay for starting processes.
        set_worker_model(model, options)
        with one_blas_thread():
            for chunk in chain(first, chunks):
                yield chunk.position, process_chunk(fmt, chunk.payload, chunk.first_row, chunk.rows)
        return
    # An executor rather than multiprocessing.Pool: a worker killed outright (a SIGTERM
    # sent to the whole process group, as by a job scheduler, or the out-of-memory
    # killer) may die holding the lock on the queue of tasks, and Pool.terminate then
    # waits for that lock forever; the executor reports the pool broken instead.
    executor = ProcessPoolExecutor(jobs, mp_context=_pool_context(), initializer=init_worker, initargs=(options,))
    try:
        pending: deque[tuple[int, Any]] = deque()
        for chunk in chain(first, chunks):
            pending.append((chunk.position, executor.submit(process_chunk, fmt, chunk.payload, chunk.first_row, chunk.rows)))
            del chunk
            if len(pending) >= 2 * jobs:
                position, future = pending.popleft()
                yield position, future.result()
        while pending:
            position, future = pending.popleft()
            yield position, future.result()
        executor.shutdown(wait=True)
    finally:
        # When stopped early: drop the chunks not started; each worker ends after the
        # one it is on.
        executor.shutdown(wait=False, cancel_futures=True)


class _Progress:
    """A bar of rows, paragraphs, rate and time left on a terminal; nothing when piped."""

    def __init__(self, enabled: bool, total: int, unit: str) -> None:
        self.bar: Any = None
        self.position = 0
        self.started = time.perf_counter()
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(
            total=total, unit=unit, unit_scale=unit == "B", file=sys.stderr, dynamic_ncols=True, smoothing=0.1, leave=False
        )

    def update(self, position: int, rows: int, paragraphs: int) -> None:
        if self.bar is None:
            return
        seconds = max(time.perf_counter() - self.started, 1e-9)
        self.bar.set_postfix_str(f"{rows:,} rows, {paragraphs:,} ¶, {paragraphs / seconds:,.0f} ¶/s", refresh=False)
        self.bar.update(max(0, position - self.position))
        self.position = max(self.position, position)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.refresh()
            self.bar.close()


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the job like Ctrl-C: the partial output stays for --resume."""

    def handler(signum: int, frame: Any) -> None:
        raise _Terminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_corpus(job: CorpusJob, *, notify: Callable[[str], None] | None = None) -> JobResult:
    """Clean or classify a whole corpus; see ``CorpusJob``. Returns the counts and report.

    ``notify`` receives the notes a run makes on its way; without it they go to the
    "newsclean" logger: what a first pass counted, and where a run resumes, at INFO;
    an option without effect, or a partial output discarded, as a warning.

    Raises ``InputError`` naming the file and line of the first bad row (unless
    ``on_error="skip"``), or when another run is writing the same output, and
    ``Interrupted`` when stopped (the partial output is kept for ``resume``).
    """
    with _only_run_on(None if job.output is None or reads_stdin(job.output) else Path(job.output)):
        return _run_corpus(job, notify=notify)


@contextlib.contextmanager
def _only_run_on(output: Path | None) -> Iterator[None]:
    """Hold a lock beside ``output`` while the job runs: a second run started on the
    same output (a scheduler's retry, a double start) would discard the first one's
    partial output while it is being written."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    if output is None:
        yield
        return
    lock = output.parent / f".{output.name}{LOCK_SUFFIX}"
    # The lock lives beside the output, so its folder must exist first (the run would
    # create it anyway); folders made here and left empty go again at the end.
    made = [folder for folder in (output.parent, *output.parent.parents) if not folder.exists()]
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # the checks after say what is wrong
        made = []
    try:
        yield from _locked(lock, output, fcntl)
    finally:
        for folder in made:  # innermost first
            try:
                folder.rmdir()
            except OSError:  # holds the output now, or something else
                break


def _locked(lock: Path, output: Path, fcntl: Any) -> Iterator[None]:
    for _ in range(5):
        try:
            # Made again if another run, whose folder it was too, removed it when it ended.
            lock.parent.mkdir(parents=True, exist_ok=True)
            handle = open(lock, "a")
        except OSError:  # a folder that takes no new files: the checks after say so
            yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise InputError(f"another newsclean run is writing {output}: let it end, or write elsewhere") from None
        # A run that ended between our open and our lock removed the file we hold:
        # a lock on it keeps no one out, so take the one the path names now.
        try:
            current = os.stat(lock)
        except FileNotFoundError:
            current = None
        held = os.fstat(handle.fileno())
        if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
            break
        handle.close()
    else:
        raise InputError(f"could not take the lock {lock} beside {output}: try again")
    with handle:
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)


def _run_corpus(job: CorpusJob, *, notify: Callable[[str], None] | None = None) -> JobResult:
    from classifier.api import load_model

    # A library logs (what it did at INFO, what the caller may not expect as a
    # warning); the command line gives ``notify`` and prints both.
    logger = logging.getLogger("newsclean")
    say = notify or logger.info
    warn = notify or logger.warning
    fmt = _check(job)
    source = Path(job.source)
    stdin = reads_stdin(source)
    _check_columns(source, fmt, job.text_column)
    jobs = job.jobs or available_cores()
    if jobs > 1 and _is_large(source):
        _start_worker_server()
    model = load_model(job.model)
    threshold = min_confidence_of(job.min_confidence, default=model.default_min_confidence)
    model_path = None if job.model is None else str(Path(job.model).resolve())
    site_repeats = None
    if job.site_repeats and job.html:
        raise InputError("--site-repeats counts paragraphs of the text column; it cannot be combined with --html yet")
    if job.site_repeats:
        if getattr(model, "site_repeats", False):
            from classifier.bulk.formats import count_site_repeats

            started_count = time.perf_counter()
            site_repeats = count_site_repeats(source, text_column=job.text_column)
            if not len(site_repeats.keys):
                # Every count would read 1, as without the option: say so rather than carry on.
                raise InputError(
                    f"--site-repeats found no page to count in {source}: it needs rows with text in the "
                    f"'{job.text_column}' field and a domain or url field (HTML rows are not counted yet); "
                    "leave the option out"
                )
            say(
                f"counted {len(site_repeats.keys):,} distinct paragraphs per site "
                f"in {time.perf_counter() - started_count:.1f}s (first pass)"
            )
        else:
            warn("this model does not read site repeats (it was trained without them): --site-repeats has no effect")
    options = JobOptions(
        mode=job.mode,
        text_column=job.text_column,
        keep=as_labels(job.keep),
        min_confidence=threshold,
        labels=job.labels,
        removed=job.removed is not None,
        html=job.html,
        model_path=model_path,
        source=source_name(source),
        site_repeats=site_repeats,
    )
    signature = _signature(job, fmt, model, threshold)
    output = Path(job.output) if job.output is not None else None
    partial = partial_path(output) if output is not None else None
    state_path = partial / "state.json" if partial is not None else None
    notes: list[str] = []

    state: dict[str, Any] | None = None
    if partial is not None and state_path is not None:
        if job.resume and state_path.is_file():
            state = json.loads(state_path.read_text(encoding="utf-8"))
            changed = sorted(key for key in signature if state.get("signature", {}).get(key) != signature[key])
            if changed:
                raise InputError(
                    f"the partial output in {partial} comes from another input or other options "
                    f"(differs in: {', '.join(changed)}): run without --resume to start over"
                )
        elif job.resume:
            notes.append(f"nothing to resume for {output}: starting from the beginning")
        if state is None and partial.exists():
            shutil.rmtree(partial)
            if not job.resume:
                notes.append(f"discarded the partial output of an earlier run in {partial} (--resume continues one)")
        partial.mkdir(parents=True, exist_ok=True)
    for note in notes:
        warn(note)

    rows_done = int(state["rows_done"]) if state else 0
    report = CorpusReport.from_state(state["report"]) if state else CorpusReport(job.mode)
    removed_partial = partial_path(Path(job.removed)) if job.removed is not None else None

    sinks: list[Any] = []
    try:
        # Output sink in the input's format.
        if fmt in ("jsonl", "csv"):
            header = b""
            if fmt == "csv":
                names = csv_header(source)
                if names is not None:
                    header = csv_text([csv_output_header(names, options)]).encode("utf-8", "surrogateescape")
            if output is None:
                out_sink: Any = StdoutSink(header)
            else:
                assert partial is not None
                out_sink = StreamSink(
                    partial / "data", compression_of(output), resume_at=state["output_at"] if state else None, header=header
                )
        elif fmt == "parquet":
            assert partial is not None
            schema = parquet_output_schema(parquet_schema(source), options)
            out_sink = ParquetSink(partial / "parts", schema, resume_at=state["output_at"] if state else None)
        else:
            assert partial is not None
            out_sink = FolderSink(partial, resume_at=state["output_at"] if state else None)
        sinks.append(out_sink)
        removed_sink: Any = None
        if job.removed is not None and removed_partial is not None:
            removed_sink = StreamSink(
                removed_partial,
                compression_of(job.removed),
                resume_at=state["removed_at"] if state and state.get("removed_at") is not None else None,
            )
            sinks.append(removed_sink)

        enabled = sys.stderr.isatty() if job.progress is None else job.progress
        total, unit = progress_total(source, fmt, html=job.html) if enabled and not stdin else (0, "B")
        progress = _Progress(enabled, total, unit)
        started = time.perf_counter()
        rows = paragraphs = 0
        used: list[int] = []
        last_record, record_cost = 0.0, 0.0
        if rows_done:
            say(f"resuming {source} after row {rows_done:,}")
        compressed = any(getattr(sink, "compression", "") for sink in sinks)
        record_floor = MIN_COMPRESSED_RECORD_SECONDS if compressed else 0.0
        with _terminate_as_interrupt(), contextlib.ExitStack() as stack:
            try:
                chunk_rows = job.chunk_rows or DEFAULT_CHUNK_ROWS
                chunks = read_chunks(source, fmt, start_row=rows_done, chunk_rows=chunk_rows, html=job.html)
                results = stack.enter_context(contextlib.closing(_results(fmt, chunks, jobs, options, model, used)))
                for position, result in results:
                    if result.bad and job.on_error == "fail":
                        place, reason = result.bad[0]
                        # Standard output cannot be taken back: say what is already there.
                        written = f" ({rows:,} rows before it were written to standard output)" if output is None else ""
                        # Every row so far without the field: more likely a misnamed
                        # column than bad rows, and skipping would pass every row through.
                        misnamed = "--text-column" in reason and rows == 0 and result.paragraphs == 0
                        advice = "" if misnamed else ". Fix the row, or pass --on-error skip to pass bad rows through unchanged"
                        what = f"{source_name(source)}, {place}: {reason}{written}"
                        raise _BadRow(what + advice, what)
                    out_sink.write(result.output)
                    if removed_sink is not None:
                        removed_sink.write(result.removed)
                    report.merge(result.report)
                    # Record progress when enough time has passed for the record to cost
                    # at most RECORD_SHARE of it. Rows written after the last record are
                    # cut back and redone on resume, so a stop loses at most that time.
                    if state_path is not None and time.perf_counter() - last_record >= max(
                        record_cost / RECORD_SHARE, record_floor
                    ):
                        record_started = time.perf_counter()
                        _write_state(
                            state_path,
                            {
                                "signature": signature,
                                "rows_done": result.first_row + result.rows,
                                "output_at": out_sink.commit(),
                                "removed_at": removed_sink.commit() if removed_sink is not None else None,
                                "report": report.to_state(),
                            },
                        )
                        last_record = time.perf_counter()
                        record_cost = last_record - record_started
                        rows_done = result.first_row + result.rows  # now safe on disk
                    rows += result.rows
                    paragraphs += result.paragraphs
                    progress.update(position, result.first_row + result.rows, paragraphs)
            finally:
                progress.close()
        if removed_sink is not None and job.removed is not None:
            removed_sink.finish(Path(job.removed))
        out_sink.finish(output)
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
    except (BrokenProcessPool, KeyboardInterrupt, WorkerStartError, MemoryError) as stop:
        # Stopped from outside (Ctrl-C, SIGTERM) or a worker killed (a signal, or out
        # of memory): what was recorded stays for --resume.
        for sink in sinks:
            sink.close()
        if output is None and removed_partial is not None:
            removed_partial.unlink(missing_ok=True)
        if stdin and partial is not None:
            # Nothing can resume a stream: what was written goes, as after an error.
            shutil.rmtree(partial, ignore_errors=True)
            if removed_partial is not None:
                removed_partial.unlink(missing_ok=True)
        if output is None:
            where = f"after {rows:,} rows of {source_name(source)} were written: run it again"
        elif stdin:
            where = f"after {rows:,} rows of standard input, keeping none of the output: run it again"
        else:
            where = f"after {rows_done:,} rows of {source}: run the same command with --resume to continue"
        if isinstance(stop, KeyboardInterrupt):
            interrupted = Interrupted(f"interrupted {where}" if output is not None else "interrupted")
            if isinstance(stop, _Terminated):
                interrupted.exit_code = 128 + signal.SIGTERM  # 143, as a process that SIGTERM ended
            raise interrupted from None
        if isinstance(stop, WorkerStartError):
            raise WorkerStartError(f"{stop} ({where})") from None
        if isinstance(stop, MemoryError):
            raise OutOfMemory(
                "out of memory: the model holds about 2 KB for each paragraph it reads at once, so a document of "
                f"millions of lines needs gigabytes; give fewer --jobs, or split such documents ({where})"
            ) from None
        raise WorkerLost(f"a worker process stopped (killed by a signal, or out of memory) {where}") from None
    except BaseException as error:
        for sink in sinks:
            sink.close()
        if isinstance(error, _BadRow) and state is not None and partial is not None:
            # A resumed run: what the earlier runs recorded stays (the rows this run
            # wrote after it are cut back at the next resume).
            # Fixing the row changes the input, and a changed input cannot resume.
            raise InputError(
                f"{error.what}. The output so far is kept ({rows_done:,} rows): run again with --resume "
                "--on-error skip to pass bad rows through unchanged, or fix the row and run without --resume"
            ) from None
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
        if removed_partial is not None:
            removed_partial.unlink(missing_ok=True)
        raise
    return JobResult(
        report=report,
        rows=rows,
        resumed_from=int(state["rows_done"]) if state else 0,
        paragraphs=paragraphs,
        seconds=time.perf_counter() - started,
        jobs=used[0] if used else 1,
        output=output,
        removed=Path(job.removed) if job.removed else None,
        notes=notes,
    )
