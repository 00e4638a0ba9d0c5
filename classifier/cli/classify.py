"""``newsclean classify``: each paragraph with its label and probabilities."""

from __future__ import annotations

import csv
import io
import json
from enum import Enum
from pathlib import Path

import typer

from classifier.cli._common import ModelOption, handle_errors, load, read_text, write_output
from classifier.labels import LABELS


class OutputFormat(str, Enum):
    table = "table"
    jsonl = "jsonl"
    csv = "csv"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@handle_errors
def classify_command(
    source: str = typer.Argument("-", help="Text file of one article, one paragraph a line; - reads stdin."),
    output_format: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table, jsonl or csv."),
    explain: bool = typer.Option(False, "--explain", help="Show the features that weighed most toward each label."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
    model: Path | None = ModelOption,
) -> None:
    """Label every paragraph: reporting, donation_appeal or ui_residue.

    Example: newsclean classify seeds/000_5fc31cc41396119c.txt --format table
    """
    from classifier.api import classify

    loaded = load(model)
    predictions = classify(read_text(source), model=loaded)
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
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["position", "label", "probability", *[f"p_{label}" for label in LABELS], "text"])
        for prediction in predictions:
            writer.writerow(
                [
                    prediction.index,
                    prediction.label,
                    f"{prediction.probability:.6f}",
                    *[f"{prediction.probabilities[label]:.6f}" for label in LABELS],
                    prediction.text,
                ]
            )
    else:
        for prediction, reasons in zip(predictions, explanations, strict=True):
            buffer.write(
                f"{prediction.index + 1:>4}  {prediction.label:<16}{prediction.probability:>6.2f}  "
                f"{_shorten(prediction.text.strip(), 90)}\n"
            )
            if reasons:
                buffer.write("      " + ", ".join(f"{name} {weight:+.2f}" for name, weight in reasons) + "\n")
    write_output(buffer.getvalue(), output)
