"""What ``newsclean clean`` and ``newsclean classify`` share for corpus input and reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from classifier.bulk.report import CorpusReport
from classifier.bulk.runner import CorpusJob, JobResult, run_corpus
from classifier.errors import InputError


def run_corpus_command(job: CorpusJob, report_path: Path | None) -> JobResult:
    """Run the job, then print the report on stderr (and write it as JSON when asked)."""
    from classifier.cli._common import check_writable, write_output
    from classifier.files import same_file

    if report_path is not None:
        taken = [path for path in (job.source, job.output, job.removed) if path is not None]
        if any(same_file(report_path, path) for path in taken):
            raise InputError(f"--report {report_path} is the input, the output or --removed: give the report a file of its own")
        check_writable(report_path)  # now, not after the whole corpus
    result = run_corpus(job, notify=_say)
    # The report file first: a closed standard error must not cost it.
    if report_path is not None:
        write_output(json.dumps(report_document(result.report, job, result), ensure_ascii=False, indent=2) + "\n", report_path)
    rate = result.paragraphs / result.seconds if result.seconds > 0 else 0.0
    where = f" into {result.output}" if result.output is not None else ""
    resumed = f", resumed after row {result.resumed_from:,}" if result.resumed_from else ""
    _say(
        f"newsclean {job.mode}: {result.rows:,} row{'s' if result.rows != 1 else ''}{where} in {result.seconds:.1f} s "
        f"({rate:,.0f} paragraphs/s, {result.jobs} process{'es' if result.jobs != 1 else ''}{resumed})"
    )
    _say(result.report.render())
    return result


def _say(message: str) -> None:
    """A line on standard error; the job's files are complete whether or not anyone reads it."""
    try:
        typer.echo(message, err=True)
    except OSError:  # standard error closed (``2>&1 | head -1``) or full
        pass


def report_document(report: CorpusReport, job: CorpusJob | None = None, result: JobResult | None = None) -> dict[str, Any]:
    document = report.to_dict()
    if job is not None:
        document["input"] = str(job.source)
        document["output"] = str(job.output) if job.output is not None else None
    if result is not None:
        document["rows_this_run"] = result.rows
        document["resumed_after_row"] = result.resumed_from
        document["seconds"] = round(result.seconds, 3)
        document["jobs"] = result.jobs
    return document


def single_report(texts: list[str], mode: str, keep: tuple[str, ...], min_confidence: float | None, model: Any) -> CorpusReport:
    """The corpus report of one article (``--report`` without a corpus)."""
    from classifier.bulk.process import Documents, JobOptions, analyse
    from classifier.evaluation import min_confidence_of

    threshold = min_confidence_of(min_confidence, default=model.default_min_confidence)
    documents = Documents()
    for number, text in enumerate(texts, start=1):
        documents.add(text, number, number, None)
    options = JobOptions(mode=mode, keep=keep, min_confidence=threshold)
    return analyse(documents, options, model=model, threshold=threshold).report
