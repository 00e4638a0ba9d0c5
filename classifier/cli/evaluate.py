"""``newsclean evaluate``: a model's figures on labelled paragraphs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from classifier.cli._common import ModelOption, fail, handle_errors, load, write_output


@handle_errors
def evaluate_command(
    data: list[Path] = typer.Argument(..., help="Labelled CSV, JSONL or Parquet files (doc_id, position, text, label)."),
    model: Path | None = ModelOption,
    min_confidence: float | None = typer.Option(
        None, "--min-confidence", min=0.0, max=1.0, help="Threshold for clean (default: the model's)."
    ),
    json_output: Path | None = typer.Option(None, "--json", help="Also write the full report as JSON here."),
    fail_under: float | None = typer.Option(None, "--fail-under", min=0.0, max=1.0, help="Exit 1 when macro-F1 is below this."),
) -> None:
    """Per-label precision, recall and F1, the confusion matrix, and what clean keeps.

    Example: newsclean evaluate heldout.jsonl --fail-under 0.9
    """
    from classifier.data import read_labelled
    from classifier.evaluation import evaluate

    report = evaluate(load(model), read_labelled(data), min_confidence=min_confidence)
    typer.echo(report.render())
    if json_output is not None:
        write_output(json.dumps(report.to_dict(), indent=2) + "\n", json_output)
    if fail_under is not None and report.macro_f1 < fail_under:
        raise fail(f"macro-F1 {report.macro_f1:.4f} is below --fail-under {fail_under}")
