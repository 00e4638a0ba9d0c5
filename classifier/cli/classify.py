"""``newsclean classify``: each paragraph with its label and probabilities.

One article (a text file or stdin) as a table, JSONL or CSV; or a whole corpus, written
in its own format with a paragraph_labels column added.
"""

from __future__ import annotations

import io
import json
from enum import Enum
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
from classifier.cli.clean import CORPUS_HELP, corpus_only
from classifier.errors import InputError
from classifier.labels import LABELS, REPORTING
from classifier.text import shown


class OutputFormat(str, Enum):
    table = "table"
    jsonl = "jsonl"
    csv = "csv"


def _shorten(text: str, width: int) -> str:
    text = shown(text)
    return text if len(text) <= width else text[: width - 1] + "…"


@handle_errors
def classify_command(
    source: str = typer.Argument(
        "-", help=f"Text file of one article, one paragraph a line (- reads stdin); or a corpus: {CORPUS_HELP}."
    ),
    output_format: OutputFormat | None = typer.Option(
        None, "--format", "-f", help="One article: table, jsonl or csv [default: table]. A corpus keeps its format."
    ),
    explain: bool = typer.Option(
        False,
        "--explain",
        help="Show the paragraph's own words and shape features that weighed most toward its label "
        "(the first pass: the label also weighs its neighbours).",
    ),
    output: Path | None = OutputOption,
    text_column: str | None = TextColumnOption,
    labels: bool = typer.Option(
        False,
        "--labels",
        help="Corpus: the paragraph_labels column (label and probability of each paragraph); always written by classify.",
    ),
    resume: bool = ResumeOption,
    on_error: OnError = OnErrorOption,
    jobs: int | None = JobsOption,
    report: Path | None = typer.Option(
        None,
        "--report",
        parser=side_file,
        metavar="FILE",
        help="Write the report (counts by label and domain, what clean would remove) as JSON.",
    ),
    html: bool = typer.Option(False, "--html", help="The input is HTML: extract the text with trafilatura, then classify it."),
    model: Path | None = ModelOption,
    chunk_rows: int | None = ChunkRowsOption,
    site_repeats: bool = SiteRepeatsOption,
    input_format: InputFormat | None = InputFormatOption,
) -> None:
    """Label every paragraph: reporting, donation_appeal or ui_residue.

    Example: newsclean classify seeds/000_5fc31cc41396119c.txt --format table

    Example: newsclean classify articles.parquet -o labelled.parquet --report report.json
    """
    if corpus_source(source, input_format):
        if output_format is not None or explain:
            raise InputError("--format and --explain apply to one article: a corpus is written in its own format")
        from classifier.bulk.command import run_corpus_command
        from classifier.bulk.runner import CorpusJob

        job = CorpusJob(
            source=Path(source),
            output=output,
            mode="classify",
            text_column=text_column or "text",
            labels=True,
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
    check_article_paths(source, output, report)
    output_format = output_format or OutputFormat.table
    from classifier.api import classify

    loaded = load(model)
    text = read_article(source, html=html, input_format=input_format)
    predictions = classify(text, model=loaded)
    if report is not None:
        write_article_report(text, source, report, mode="classify", keep=(REPORTING,), min_confidence=None, model=loaded)
    explanations = [loaded.explain(p.text, p.label) for p in predictions] if explain else [[] for _ in predictions]
    buffer = io.StringIO()
    if output_format is OutputFormat.jsonl:
        for prediction, reasons in zip(predictions, explanations, strict=True):
            record = {
                "position": prediction.index,
                "label": prediction.label,
                "probability": round(prediction.probability, 6),
                "probabilities": {k: round(v, 6) for k, v in prediction.probabilities.items()},
                "text": prediction.text,
            }
            if explain:
                record["explanation"] = [[name, round(weight, 4)] for name, weight in reasons]
            buffer.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif output_format is OutputFormat.csv:
        from classifier.bulk.formats import csv_text

        header = ["position", "label", "probability", *[f"p_{label}" for label in LABELS], "text"]
        header += ["explanation"] if explain else []
        rows = (
            [
                prediction.index,
                prediction.label,
                f"{prediction.probability:.6f}",
                *[f"{prediction.probabilities[label]:.6f}" for label in LABELS],
                prediction.text,
                *([json.dumps([[name, round(weight, 4)] for name, weight in reasons], ensure_ascii=False)] if explain else []),
            ]
            for prediction, reasons in zip(predictions, explanations, strict=True)
        )
        buffer.write(csv_text([header, *rows]))
    else:
        for prediction, reasons in zip(predictions, explanations, strict=True):
            buffer.write(
                f"{prediction.index + 1:>4}  {prediction.label:<16}{prediction.probability:>6.2f}  "
                f"{_shorten(prediction.text.strip(), 90)}\n"
            )
            if reasons:
                buffer.write("      " + ", ".join(f"{name} {weight:+.2f}" for name, weight in reasons) + "\n")
    write_output(buffer.getvalue(), output)
