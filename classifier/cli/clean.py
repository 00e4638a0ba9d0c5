"""``newsclean clean``: the text without the paragraphs that are not reporting.

One article (a text file or stdin), or a whole corpus: a folder of .txt files or a
.jsonl (.gz, .zst), .csv or .parquet file, cleaned into the same format.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from classifier.cli._common import (
    ChunkRowsOption,
    InputFormat,
    InputFormatOption,
    JobsOption,
    ModelOption,
    OnError,
    OnErrorOption,
    OutputOption,
    ResumeOption,
    SiteRepeatsOption,
    TextColumnOption,
    check_article_paths,
    corpus_source,
    handle_errors,
    load,
    read_article,
    side_file,
    write_article_report,
    write_output,
)
from classifier.errors import InputError
from classifier.files import check_writable, write_file
from classifier.labels import LABELS, REPORTING

CORPUS_HELP = "a folder of .txt files, or a .jsonl/.ndjson/.csv (each also .gz/.zst) or .parquet file"


def corpus_only(
    *, text_column: str | None, labels: bool, resume: bool, on_error: OnError, jobs: int | None, site_repeats: bool
) -> None:
    """Refuse corpus options given with one article."""
    given = {
        "--text-column": text_column,
        "--labels": labels,
        "--resume": resume,
        "--on-error skip": on_error is OnError.skip,
        "--jobs": jobs,
        "--site-repeats": site_repeats,
    }
    used = [name for name, value in given.items() if value]
    if used:
        raise InputError(f"{', '.join(used)} applies to a corpus ({CORPUS_HELP}), not to one article")


@handle_errors
def clean_command(
    source: str = typer.Argument(
        "-", help=f"Text file of one article, one paragraph a line (- reads stdin); or a corpus: {CORPUS_HELP}."
    ),
    output: Path | None = OutputOption,
    keep: list[str] = typer.Option(
        [REPORTING], "--keep", "-k", help=f"A label to keep ({', '.join(LABELS)}); repeat -k for more than one."
    ),
    min_confidence: float | None = typer.Option(
        None, "--min-confidence", min=0.0, max=1.0, help="Drop only at this confidence or more (default: the model's)."
    ),
    text_column: str | None = TextColumnOption,
    labels: bool = typer.Option(
        False,
        "--labels",
        help="Corpus: add a paragraph_labels column: each paragraph's label, probability and whether it was kept.",
    ),
    removed: Path | None = typer.Option(
        None,
        "--removed",
        parser=side_file,
        metavar="FILE",
        help="Write every removed paragraph here as JSONL (.gz/.zst): document id, row, position, label, probability and the "
        "exact span, so that kept plus removed rebuild each text.",
    ),
    resume: bool = ResumeOption,
    on_error: OnError = OnErrorOption,
    jobs: int | None = JobsOption,
    report: Path | None = typer.Option(
        None,
        "--report",
        parser=side_file,
        metavar="FILE",
        help="Write the report (counts by label and domain, most removed) as JSON.",
    ),
    html: bool = typer.Option(False, "--html", help="The input is HTML: extract the text with trafilatura, then clean it."),
    model: Path | None = ModelOption,
    chunk_rows: int | None = ChunkRowsOption,
    site_repeats: bool = SiteRepeatsOption,
    input_format: InputFormat | None = InputFormatOption,
) -> None:
    """Print the article without donation appeals and interface residue.

    A paragraph goes only when the model is confident that it is not a kept label;
    the rest comes back unchanged and in order. Given a corpus, every document is
    cleaned on every core into the same format, with a report at the end.

    Example: newsclean clean seeds/000_5fc31cc41396119c.txt

    Example: newsclean clean articles.jsonl.zst -o clean.jsonl.zst --removed removed.jsonl --report report.json
    """
    if corpus_source(source, input_format):
        from classifier.bulk.command import run_corpus_command
        from classifier.bulk.runner import CorpusJob

        job = CorpusJob(
            source=Path(source),
            output=output,
            mode="clean",
            text_column=text_column or "text",
            keep=tuple(keep),
            min_confidence=min_confidence,
            labels=labels,
            removed=removed,
            resume=resume,
            on_error=on_error.value,
            jobs=jobs,
            html=html,
            model=model,
            chunk_rows=chunk_rows,
            site_repeats=site_repeats,
        )
        run_corpus_command(job, report)
        return

    corpus_only(text_column=text_column, labels=labels, resume=resume, on_error=on_error, jobs=jobs, site_repeats=site_repeats)
    check_article_paths(source, output, removed, report)
    if removed is not None:
        check_writable(removed)  # before the work, as the output is
    from classifier.api import clean_document

    text = read_article(source, html=html, input_format=input_format)
    loaded = load(model)
    cleaned = clean_document(text, keep=tuple(keep), min_confidence=min_confidence, model=loaded)
    if removed is not None:
        _write_removed(cleaned.removed(text), cleaned, source, removed)
    if report is not None:
        write_article_report(text, source, report, mode="clean", keep=tuple(keep), min_confidence=min_confidence, model=loaded)
    write_output(cleaned.text, output)


def _write_removed(spans: list, cleaned: object, source: str, destination: Path) -> None:
    from classifier.bulk.formats import compress_block, compression_of

    probabilities = cleaned.probabilities  # type: ignore[attr-defined]
    lines = []
    for paragraph, span in spans:
        best = int(probabilities[paragraph.index].argmax())
        record = {
            "doc_id": source,
            "row": 1,
            "position": paragraph.index,
            "start": paragraph.start,
            "end": paragraph.end,
            "label": LABELS[best],
            "probability": round(float(probabilities[paragraph.index, best]), 6),
            "span": span,
        }
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    data = compress_block("".join(lines).encode("utf-8"), compression_of(destination))
    write_file(data, destination)
